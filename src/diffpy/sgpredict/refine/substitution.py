"""Element substitution by stoichiometry: put a composition's elements
on the sites of a structure with the same integer ratio.

A structure type (a bundled prototype or a CIF of the user's library)
is used for a composition when the two have the same multiset of
integer counts; elements with equal counts are paired by
electronegativity (the most electropositive with the most
electropositive), so that NaCl's Na -> Mg and Cl -> O for MgO.

Examples
--------
>>> from diffpy.sgpredict.refine.substitution import element_mapping
>>> element_mapping({"Na": 1, "Cl": 1}, {"Mg": 1.0, "O": 1.0})
{'Na': 'Mg', 'Cl': 'O'}
"""

import math

import numpy

from diffpy.sgpredict.chemistry import electronegativity

__all__ = [
    "integer_ratio",
    "electronegativity",
    "element_mapping",
    "composition_label",
]


def integer_ratio(comp, maxmult=12):
    """Return the smallest integer counts proportional to ``comp``.

    Parameters
    ----------
    comp : dict
        Element -> amount.
    maxmult : int
        Largest multiplier tried to make fractional amounts integer.

    Returns
    -------
    dict or None
        Element -> integer count, or None when no multiplier up to
        ``maxmult`` gives integers (within 0.02).

    Examples
    --------
    >>> integer_ratio({"Ti": 0.5, "O": 1.0})
    {'Ti': 1, 'O': 2}
    """
    values = numpy.array(list(comp.values()), dtype=float)
    values = values / values.min()
    for mult in range(1, maxmult + 1):
        scaled = values * mult
        if numpy.allclose(scaled, numpy.round(scaled), atol=0.02):
            ints = numpy.round(scaled).astype(int)
            g = math.gcd(*ints.tolist()) if len(ints) > 1 else ints[0]
            return dict(zip(comp, (ints // g).tolist()))
    return None


def element_mapping(formula, comp):
    """Map the elements of ``formula`` to those of ``comp``, or None.

    Parameters
    ----------
    formula : dict
        Element -> count of the structure (prototype or CIF).
    comp : dict
        Element -> amount of the wanted composition.

    Returns
    -------
    dict or None
        Structure element -> composition element; None when the two
        integer ratios differ.

    Examples
    --------
    >>> element_mapping({"Ti": 2, "O": 4}, {"Sn": 1.0, "O": 2.0})
    {'Ti': 'Sn', 'O': 'O'}
    >>> element_mapping({"Ti": 1, "O": 2}, {"Ni": 1.0}) is None
    True
    """
    target = integer_ratio(comp)
    proto = integer_ratio({k: float(v) for k, v in formula.items()})
    if target is None or proto is None or len(target) != len(proto):
        return None
    if sorted(target.values()) != sorted(proto.values()):
        return None
    mapping = {}
    for count in set(target.values()):
        pe = [e for e, c in proto.items() if c == count]
        te = [e for e, c in target.items() if c == count]
        pe.sort(key=electronegativity)
        te.sort(key=electronegativity)
        mapping.update(zip(pe, te))
    return mapping


def composition_label(comp):
    """A composition as a compact formula string (for messages).

    Examples
    --------
    >>> composition_label({"Sr": 1, "Fe": 2, "As": 2.0})
    'SrFe2As2'
    """
    return "".join(
        f"{k}{'' if v == 1 else ('%g' % v)}" for k, v in comp.items()
    )

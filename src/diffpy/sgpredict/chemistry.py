"""Chemistry: element labels, compositions and Wyckoff bookkeeping.

This module is the one place of the package that turns text into
chemistry:

* :func:`element_symbol` reads an atom label or type of a CIF or a
  diffpy structure (``"O2-"``, ``"Ti4+"``, ``"Fe1"``, ``"13C"``, ``"D"``);
* :func:`parse_composition` reads a formula (``"SrFe2As2"``,
  ``"Ti O2"``, ``"(Ba0.5Sr0.5)TiO3"``, ``"CuSO4·5H2O"``);
* :func:`reduced_formula` names a structure the way the shared
  structure tables do (for display); :func:`formula_key` and
  :func:`formula_group_key` give the order-independent key by which
  training rows, evaluation structures and libraries are matched;
* :func:`expected_volume` estimates the volume a composition fills
  from atomic volumes (volume additivity), with
  :func:`volume_spread` the spread of that estimate;

Whether, and how, the Wyckoff positions of a space group hold a
composition is :mod:`diffpy.sgpredict.wyckoff`.

Rules for atom labels
---------------------
The label is read from its start: an isotope mass number (``13C``) is
dropped, then the longest element symbol of one or two letters is
taken (``"FE3+"`` and ``"Fe1"`` are iron, ``"Co"`` and ``"CO"`` cobalt);
whatever follows (site numbers, charges) is ignored.  Only the elements
H to Cf, which have X-ray form factors, are recognised.

* **Deuterium and tritium** (``"D"``, ``"T"``, ``"2H"``, ``"3H"``) are
  hydrogen: :func:`element_symbol` returns ``"H"``.  With
  ``isotopes=True`` it returns ``"D"`` or ``"T"``, for the scattering
  code, where the neutron table has its own length for D (6.67 fm
  against -3.74 fm for H) and X-rays see hydrogen.
* **Molecular ions** (``"OH-"``, ``"NH4+"``) are read as the first
  element of the label, the heavy atom that sits on the site
  (``"OH-"`` is O, ``"NH4+"`` is N).  The hydrogen atoms are not
  added; a CIF that locates them lists them as atoms of their own.

Examples
--------
>>> from diffpy.sgpredict.chemistry import parse_composition
>>> parse_composition("SrFe2As2")
{'Sr': 1.0, 'Fe': 2.0, 'As': 2.0}
>>> formula_key("Fe4Sr2As4")
'As2Fe2Sr'
"""

import csv
import functools
import math
import re
import warnings
from collections import Counter
from importlib import resources

from diffpy.sgpredict.errors import InputError

__all__ = [
    "ANIONS",
    "anions",
    "ELEMENTS",
    "atomic_number",
    "element_symbol",
    "parse_composition",
    "reduced_formula",
    "formula_key",
    "formula_group_key",
    "atomic_volumes",
    "ionic_radii",
    "expected_volume",
    "volume_spread",
    "mixed_sites",
    "species_count",
    "species_code",
    "stoichiometry",
    "anonymous_formula",
    "stoichiometry_class",
    "element_block",
    "composition_kind",
    "kind_stoichiometry",
    "electronegativity",
    "electronegativity_ranks",
]

#: Element symbols H to Cf, in order of atomic number.
ELEMENTS = (
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe "
    "Co Ni Cu Zn Ga Ge As Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In "
    "Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf "
    "Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm "
    "Bk Cf"
).split()

#: Elements that form the anions of ionic compounds, most electronegative
#: first (Pauling: F 3.98, O 3.44, Cl 3.16, N 3.04, Br 2.96, I 2.66,
#: S 2.58, Se 2.55, P 2.19, As 2.18, Te 2.10); without the metalloids Sb
#: and Bi and without H, a cation in hydroxides.  See :func:`anions`.
ANIONS = ("F", "O", "Cl", "N", "Br", "I", "S", "Se", "P", "As", "Te")

_Z = {s: i + 1 for i, s in enumerate(ELEMENTS)}
_ISOTOPES = {"D": "H", "T": "H"}
_MASS_ISOTOPES = {("2", "H"): "D", ("3", "H"): "T"}
_LABEL = re.compile(r"^\s*(\d*)\s*([A-Za-z]+)")


def _symbol_of(letters):
    """Longest element symbol at the start of ``letters`` or None."""
    two = letters[:2]
    if len(two) == 2:
        # "Co" as written, or an all-caps label "CO" -> "Co"
        cand = two[0].upper() + two[1].lower()
        if (two[1].islower() or two.isupper()) and cand in _Z:
            return cand
        if cand in _ISOTOPES and two[1].islower():
            return None
    one = letters[:1].upper()
    if one in _Z or one in _ISOTOPES:
        return one
    return None


def element_symbol(label, isotopes=False, strict=True):
    """Return the element symbol of an atom label or type.

    Parameters
    ----------
    label : str
        Atom type or label, e.g. ``"O2-"``, ``"Ti4+"``, ``"Fe1"``,
        ``"13C"``, ``"OH-"`` or ``"D"``.
    isotopes : bool
        Keep deuterium and tritium as ``"D"`` and ``"T"`` (for
        scattering lengths) instead of ``"H"``.
    strict : bool
        Raise on a label that names no element; with ``False`` return
        None instead.

    Returns
    -------
    str or None
        The element symbol.

    Raises
    ------
    InputError
        (a ValueError) when ``strict`` and no element H to Cf starts the
        label.

    Examples
    --------
    >>> [element_symbol(s) for s in ("O2-", "Ti4+", "FE3+", "13C", "Fe1")]
    ['O', 'Ti', 'Fe', 'C', 'Fe']
    >>> element_symbol("D"), element_symbol("D", isotopes=True)
    ('H', 'D')
    >>> element_symbol("OH-"), element_symbol("NH4+")
    ('O', 'N')
    >>> element_symbol("Xx", strict=False) is None
    True
    """
    m = _LABEL.match(str(label))
    symbol = None
    if m:
        mass, letters = m.groups()
        symbol = _symbol_of(letters)
        if symbol is not None and mass:
            symbol = _MASS_ISOTOPES.get((mass, symbol), symbol)
    if symbol is None:
        if strict:
            raise InputError(
                f"{label!r} is not an element symbol (H to Cf); write "
                "atom types such as 'Fe', 'O2-' or 'Ti4+'"
            )
        return None
    if not isotopes:
        symbol = _ISOTOPES.get(symbol, symbol)
    return symbol


def atomic_number(label):
    """Return the atomic number of an atom label.

    Examples
    --------
    >>> atomic_number("Ni"), atomic_number("O2-"), atomic_number("D")
    (28, 8, 1)
    """
    return _Z[element_symbol(label)]


_TOKEN = re.compile(
    r"\s*(?:(?P<el>[A-Z][a-z]?)|(?P<num>\d+(?:\.\d*)?|\.\d+)"
    r"|(?P<open>[(\[])|(?P<close>[)\]])|(?P<dot>[·•*+])|(?P<bad>\S))"
)


def parse_composition(text, isotopes=False):
    """Return the amount of each element in a formula.

    Parameters
    ----------
    text : str or dict
        A formula.  Elements are written with their usual capitals and
        may be separated by spaces (``"Ti O2"``); amounts may be
        decimal; parentheses and brackets group (``"(Ba0.5Sr0.5)TiO3"``,
        ``"Ca3[PO4]2"``); ``·``, ``*`` or ``+`` add a part with an
        optional leading count (``"CuSO4·5H2O"``).  A dict is checked
        and returned as floats.
    isotopes : bool
        Keep D and T as species of their own (see
        :func:`element_symbol`).

    Returns
    -------
    dict
        Element symbol to amount, in order of first appearance.

    Raises
    ------
    InputError
        (a ValueError) for empty text, an unknown element, a character
        that belongs to no formula or unbalanced parentheses.

    Examples
    --------
    >>> parse_composition("Ti O2")
    {'Ti': 1.0, 'O': 2.0}
    >>> parse_composition("(Ba0.5Sr0.5)TiO3")
    {'Ba': 0.5, 'Sr': 0.5, 'Ti': 1.0, 'O': 3.0}
    >>> parse_composition("CuSO4·5H2O")
    {'Cu': 1.0, 'S': 1.0, 'O': 9.0, 'H': 10.0}
    """
    if isinstance(text, dict):
        out = {}
        for key, value in text.items():
            el = element_symbol(key, isotopes=isotopes)
            value = float(value)
            if not value >= 0:
                raise InputError(f"composition {text!r}: bad amount {value}")
            out[el] = out.get(el, 0.0) + value
        if not any(out.values()):
            raise InputError(f"composition {text!r} holds no atoms")
        return out
    src = str(text)
    if not src.strip():
        raise InputError(
            "empty composition; give a formula such as 'SrFe2As2'"
        )
    stack = [Counter()]
    last = None  # what a following number multiplies
    part_factor = [1.0]
    pos = 0
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if m is None or m.end() == pos:
            break
        pos = m.end()
        kind = m.lastgroup
        if kind == "bad":
            raise InputError(
                f"composition {src!r}: unexpected {m.group('bad')!r}; "
                "write a formula such as 'SrFe2As2' or 'Ti O2'"
            )
        if kind == "el":
            sym = m.group("el")
            if sym not in _Z and sym not in _ISOTOPES:
                raise InputError(
                    f"composition {src!r}: unknown element {sym!r}"
                )
            if not isotopes:
                sym = _ISOTOPES.get(sym, sym)
            last = Counter({sym: part_factor[-1]})
            stack[-1].update(last)
        elif kind == "num":
            value = float(m.group("num"))
            if last is None:
                # a leading count of a part: "5H2O"
                part_factor[-1] = value
                continue
            for key, amount in last.items():
                stack[-1][key] += amount * (value - 1.0)
            last = None
        elif kind == "open":
            stack.append(Counter())
            part_factor.append(part_factor[-1])
            last = None
        elif kind == "close":
            if len(stack) == 1:
                raise InputError(f"composition {src!r}: unbalanced ')'")
            group = stack.pop()
            part_factor.pop()
            stack[-1].update(group)
            last = group
        elif kind == "dot":
            if len(stack) != 1:
                raise InputError(f"composition {src!r}: unbalanced '('")
            part_factor[-1] = 1.0
            last = None
    if len(stack) != 1:
        raise InputError(f"composition {src!r}: unbalanced '('")
    out = {k: float(v) for k, v in stack[0].items() if v > 0}
    if not out:
        raise InputError(f"composition {src!r} holds no atoms")
    return out


def anions(composition):
    """The elements that are anions in a composition.

    An element of :data:`ANIONS` is an anion unless a more electronegative
    one is at least three times as abundant: then it is the centre of an
    oxyanion (P in PO4, S in SO4, Cl in ClO4, P in PS4) and a cation.  O
    and F are always anions (oxyfluorides).  The starting-structure
    search keeps anions around cations and apart from each other
    (:mod:`diffpy.sgpredict.refine.packing`).

    Parameters
    ----------
    composition : dict
        Element (or atom label) -> amount.

    Returns
    -------
    set of str
        The keys of ``composition`` that are anions.

    Examples
    --------
    >>> sorted(anions({"Zr": 1, "P": 2, "O": 9, "H": 4}))
    ['O']
    >>> sorted(anions({"Co": 1, "As": 1, "S": 1}))
    ['As', 'S']
    >>> sorted(anions({"Li": 2, "Ti": 1, "O": 2, "F": 6}))
    ['F', 'O']
    """
    rank = {}
    for label in composition:
        symbol = element_symbol(label, strict=False)
        if symbol in ANIONS:
            rank[label] = ANIONS.index(symbol)
    out = set()
    for label, k in rank.items():
        centre = k > 1 and any(
            rank[other] < k and composition[other] >= 3 * composition[label]
            for other in rank
        )
        if not centre:
            out.add(label)
    return out


def _counts(species):
    if isinstance(species, str):
        return parse_composition(species)
    if isinstance(species, dict):
        return parse_composition(species)
    return dict(Counter(element_symbol(s) for s in species))


def reduced_formula(species):
    """Return the reduced formula of a structure or composition.

    pymatgen's convention (elements ordered by electronegativity, as in
    the shared ``structures.csv`` and the ICSD tables) is used when
    pymatgen is installed; otherwise Hill order.

    Parameters
    ----------
    species : list of str, dict or str
        Atom labels of every atom, element amounts, or a formula.

    Examples
    --------
    >>> reduced_formula(["O", "Ti", "O", "O", "Ti", "O"])
    'TiO2'
    >>> reduced_formula("Fe4Sr2As4")
    'Sr(FeAs)2'
    """
    counts = _counts(species)
    try:
        from pymatgen.core import Composition
    except ImportError:  # pragma: no cover - pymatgen ships with pyxtal
        Composition = None
    if Composition is not None:
        with warnings.catch_warnings():
            # noble gases have no Pauling electronegativity: pymatgen
            # warns and orders them last, which is what we want
            warnings.simplefilter("ignore", UserWarning)
            return Composition(counts).reduced_formula
    if not all(float(v).is_integer() for v in counts.values()):
        g = 1
    else:
        g = 0
        for v in counts.values():
            g = math.gcd(g, int(v))
    keys = sorted(counts)
    if "C" in counts:
        keys = (
            ["C"]
            + (["H"] if "H" in counts else [])
            + sorted(k for k in counts if k not in ("C", "H"))
        )

    def amount(k):
        v = counts[k] / g
        if v == 1:
            return ""
        return str(int(v)) if float(v).is_integer() else f"{v:g}"

    return "".join(k + amount(k) for k in keys)


def formula_key(formula):
    """Return the matching key of a formula: reduced, elements sorted.

    Every formula convention maps to one text (``"Ti2O4"``, ``"O2Ti"``
    and pymatgen's ``"TiO2"`` all give ``"O2Ti"``), independent of
    whether pymatgen is installed: integer amounts are divided by
    their greatest common divisor and the elements sorted
    alphabetically.  A text that is not a formula (``"CdSe
    nanoparticle"``) is returned stripped, so that it matches only
    itself.

    Parameters
    ----------
    formula : str, dict or list of str
        A formula, element amounts, or the labels of every atom.

    Examples
    --------
    >>> formula_key("Ti2O4"), formula_key("O2Ti"), formula_key("TiO2")
    ('O2Ti', 'O2Ti', 'O2Ti')
    >>> formula_key("Na2LiB5(PO7)2")
    'B5LiNa2O14P2'
    """
    try:
        counts = _counts(formula)
    except InputError:
        return str(formula).strip()
    values = list(counts.values())
    if all(abs(v - round(v)) < 1e-6 for v in values):
        g = 0
        for v in values:
            g = math.gcd(g, int(round(v)))
        values = [int(round(v)) // max(g, 1) for v in values]
    else:
        values = [round(v, 4) for v in values]
    return "".join(
        el + ("" if v == 1 else f"{v:g}")
        for el, v in sorted(zip(counts, values))
    )


def formula_group_key(species, group):
    """Return the ``(formula key, space-group number)`` matching key.

    This is the key by which training rows, evaluation structures and
    refinement libraries are matched ("seen in training"); the formula
    part is :func:`formula_key`, so the key does not depend on the
    formula convention of the source.

    Examples
    --------
    >>> formula_group_key(["Na", "Cl", "Na", "Cl"], "225")
    ('ClNa', 225)
    >>> formula_group_key("Cl2Na2", 225) == formula_group_key("NaCl", 225)
    True
    """
    return formula_key(species), int(group)


@functools.lru_cache(maxsize=1)
def _volume_table():
    ref = resources.files("diffpy.sgpredict").joinpath(
        "data", "volumes", "element_volumes.csv"
    )
    text = ref.read_text(encoding="utf-8")
    spread = None
    for line in text.splitlines():
        if line.startswith("# robust spread"):
            spread = float(line.rsplit(":", 1)[1])
    rows = csv.DictReader(ln for ln in text.splitlines() if ln[:1] != "#")
    return {r["element"]: float(r["volume"]) for r in rows}, spread


def atomic_volumes():
    """Atomic volumes (A^3) of the elements, from the bundled table.

    Fitted by ``scripts/build_element_volumes.py`` to the cell volumes
    of the experimental structures of the Materials Project table (CC BY
    4.0), :math:`V = \\sum_e n_e v_e`; elements in fewer than 20 of
    them are not in it.

    Examples
    --------
    >>> v = atomic_volumes()
    >>> 9.0 < v["O"] < 12.0, "Cf" in v
    (True, False)
    """
    return dict(_volume_table()[0])


@functools.lru_cache(maxsize=1)
def _radius_table():
    ref = resources.files("diffpy.sgpredict").joinpath(
        "data", "radii", "ionic_radii.csv"
    )
    text = ref.read_text(encoding="utf-8")
    rows = csv.DictReader(ln for ln in text.splitlines() if ln[:1] != "#")
    return {
        r["element"]: tuple(
            float(r[k]) if r[k] else None for k in ("cation", "anion")
        )
        for r in rows
    }


def ionic_radii():
    """Ionic radii (A) of the elements: ``{element: (cation, anion)}``.

    Shannon's radii (Acta Cryst. A 32, 751 (1976)) as pymatgen
    tabulates them, each averaged over the element's positive or
    negative oxidation states; None where there is none (H, the noble
    gases; As has no anion radius).  Built by
    ``python scripts/build_ionic_radii.py``.

    Examples
    --------
    >>> r = ionic_radii()
    >>> r["Li"], r["O"]
    ((0.9, None), (None, 1.26))
    """
    return dict(_radius_table())


def volume_spread():
    """Spread (robust standard deviation) of :math:`\\ln(V / V_e)`
    over the structures the atomic volumes were fitted to: how far a
    real cell volume :math:`V` strays from :func:`expected_volume`.

    Examples
    --------
    >>> 0.05 < volume_spread() < 0.2
    True
    """
    return _volume_table()[1]


def expected_volume(composition):
    """Volume (A^3) that the given amounts of elements fill.

    .. math::

        V_e = \\sum_e n_e v_e

    with the atomic volumes :math:`v_e` of :func:`atomic_volumes`
    (Biltz's volume increments, fitted to relaxed structures, whose
    cells are a few per cent larger than measured ones).

    Parameters
    ----------
    composition : str or dict
        Formula or element amounts (per formula unit, or per cell).

    Returns
    -------
    float or None
        None when an element has no atomic volume.

    Examples
    --------
    >>> round(expected_volume("CdSe"), 1)   # wurtzite: 56.1 A^3
    52.3
    >>> expected_volume({"Cf": 1.0}) is None
    True
    """
    table = _volume_table()[0]
    total = 0.0
    for label, amount in parse_composition(composition).items():
        if label not in table:
            return None
        total += float(amount) * table[label]
    return total


def mixed_sites(composition):
    """Group elements of fractional amount into mixed sites.

    Consecutive elements (in the order of the formula) whose amounts add
    up to a whole number share a site; the site is occupied by its
    majority element in the enumeration.

    Returns
    -------
    counts : dict
        Site species (majority element) to amount.
    notes : list of str

    Examples
    --------
    >>> mixed_sites(parse_composition("Ba0.7K0.3(Zn0.85Mn0.15)2As2"))
    ({'Ba': 1.0, 'Zn': 2.0, 'As': 2.0}, ['Ba0.7K0.3 on one site as Ba', \
'Zn1.7Mn0.3 on one site as Zn'])
    """
    counts, notes, pool = {}, [], []
    for el, amount in composition.items():
        if abs(amount - round(amount)) < 1e-6 and not pool:
            counts[el] = counts.get(el, 0.0) + float(round(amount))
            continue
        pool.append((el, amount))
        total = sum(a for _, a in pool)
        if abs(total - round(total)) < 1e-6:
            major = max(pool, key=lambda p: p[1])[0]
            counts[major] = counts.get(major, 0.0) + float(round(total))
            label = "".join(f"{e}{a:g}" for e, a in pool)
            notes.append(f"{label} on one site as {major}")
            pool = []
    if pool:
        raise InputError(
            "composition "
            + "".join(f"{e}{a:g}" for e, a in composition.items())
            + ": fractional amounts that add up to no whole site"
        )
    return counts, notes


def species_count(composition):
    """Number of species of a composition, a mixed site counted once.

    A doped site is one species (its majority element, as in
    :func:`mixed_sites`), because the structure has one site kind
    there; when the fractional amounts make no whole sites, every
    element counts.

    Parameters
    ----------
    composition : str or dict

    Returns
    -------
    int

    Examples
    --------
    >>> species_count("Ni"), species_count("SrTiO3")
    (1, 3)
    >>> species_count("Ba0.7K0.3(Zn0.85Mn0.15)2As2"), species_count("TiO1.37")
    (3, 2)
    """
    if isinstance(composition, str):
        composition = parse_composition(composition)
    try:
        counts, _ = mixed_sites(composition)
    except InputError:
        counts = {el: n for el, n in composition.items() if n > 0}
    return len(counts)


def species_code(composition, ncodes):
    """The species code a model reads: ``min(k, ncodes) - 1``, else -1.

    ``k`` is :func:`species_count`; -1 (unknown) when there is no
    composition, it cannot be read, or the model reads none
    (``ncodes`` 0).  See :mod:`diffpy.sgpredict.models.resnet`.

    Examples
    --------
    >>> [species_code(c, 4) for c in ("Ni", "TiO2", "Ca3Al2Si3O12")]
    [0, 1, 3]
    >>> species_code(None, 4), species_code("Ni nanoparticles", 4)
    (-1, -1)
    """
    if not composition or int(ncodes) <= 0:
        return -1
    try:
        return min(species_count(composition), int(ncodes)) - 1
    except InputError:
        return -1


def stoichiometry(composition, maxmult=12, atol=0.02):
    """Sorted smallest integer counts of a composition, or None.

    Parameters
    ----------
    composition : str or dict
        Formula (``"SrFe2As2"``) or element -> amount; fractional amounts
        are scaled by up to ``maxmult`` to reach integers.
    maxmult : int
        Largest multiplier tried.
    atol : float
        Tolerance of an amount times the multiplier to an integer.

    Returns
    -------
    tuple of int or None
        None when no multiple up to ``maxmult`` is integer.

    Examples
    --------
    >>> stoichiometry("SrFe2As2"), stoichiometry({"Ti": 2, "O": 4})
    ((1, 2, 2), (1, 2))
    >>> stoichiometry("Ba0.7K0.3Zn2As2")
    (3, 7, 20, 20)
    """
    ints = _smallest_integers(composition, maxmult, atol)
    return None if ints is None else tuple(sorted(ints.values()))


def anonymous_formula(composition):
    """The smallest integer amounts of a composition and its anonymous
    formula (the amounts sorted, as letters).

    Integer amounts are divided by their greatest common divisor;
    fractional ones are scaled as by :func:`stoichiometry`.

    Parameters
    ----------
    composition : str or dict
        Formula or element -> amount (see :func:`stoichiometry`).

    Returns
    -------
    amounts : dict or None
        Element -> smallest integer amount; None when there is none.
    name : str or None
        ``"AB2C6"`` for Li2MnF6.

    Examples
    --------
    >>> anonymous_formula({"Li": 4, "Mn": 2, "F": 12})
    ({'Li': 2, 'Mn': 1, 'F': 6}, 'AB2C6')
    >>> anonymous_formula("NaCl")[1], anonymous_formula("Ti3O5")[1]
    ('AB', 'A3B5')
    """
    if isinstance(composition, str):
        composition = parse_composition(composition)
    values = [float(v) for v in composition.values()]
    if values and all(v > 0 and v.is_integer() for v in values):
        g = math.gcd(*(int(v) for v in values))
        amounts = {el: int(v) // g for el, v in composition.items()}
    else:
        amounts = _smallest_integers(composition)
    if amounts is None:
        return None, None
    name = "".join(
        chr(ord("A") + i) + (str(n) if n > 1 else "")
        for i, n in enumerate(sorted(amounts.values()))
    )
    return amounts, name


def _smallest_integers(composition, maxmult=12, atol=0.02):
    """Element -> smallest integer count, or None (see
    :func:`stoichiometry`)."""
    if isinstance(composition, str):
        composition = parse_composition(composition)
    values = [float(v) for v in composition.values()]
    if not values or min(values) <= 0:
        return None
    low = min(values)
    values = [v / low for v in values]
    for mult in range(1, maxmult + 1):
        scaled = [v * mult for v in values]
        if all(abs(v - round(v)) <= atol for v in scaled):
            ints = [int(round(v)) for v in scaled]
            g = math.gcd(*ints)
            return {el: v // g for el, v in zip(composition, ints)}
    return None


def stoichiometry_class(composition):
    """The stoichiometry of a composition's sites, as text, or None.

    Fractional amounts that share a site (:func:`mixed_sites`) count as
    one species, so that a doped sample falls in the class of its
    parent compound; the class is the sorted smallest integer counts
    (:func:`stoichiometry`) joined by ``":"``.  None when the amounts
    make no whole sites.

    Examples
    --------
    >>> stoichiometry_class("SrFe2As2"), stoichiometry_class("Ni")
    ('1:2:2', '1')
    >>> stoichiometry_class("Ba0.7K0.3(Zn0.85Mn0.15)2As2")
    '1:2:2'
    >>> stoichiometry_class("TiO1.37") is None
    True
    """
    kind = composition_kind(composition)
    return None if kind is None else kind_stoichiometry(kind)


#: Lanthanides and actinides (La-Lu, Ac-Lr; Z 57-71 and 89-103).
_F_BLOCK = set(range(57, 72)) | set(range(89, 104))
#: Transition metals of the d block (Sc-Zn, Y-Cd, Hf-Hg).
_D_BLOCK = set(range(21, 31)) | set(range(39, 49)) | set(range(72, 81))
#: s block: H, He, the alkali and alkaline-earth metals.
_S_BLOCK = {1, 2, 3, 4, 11, 12, 19, 20, 37, 38, 55, 56, 87, 88}


def element_block(label):
    """Periodic-table block of an element: ``"s"``, ``"p"``, ``"d"`` or
    ``"f"``.

    He is counted with the s block, La and Ac with the f block, Zn, Cd
    and Hg with the d block.

    Examples
    --------
    >>> [element_block(e) for e in ("Na", "Ni", "Si", "Nd", "O2-")]
    ['s', 'd', 'p', 'f', 'p']
    """
    z = atomic_number(label)
    if z in _S_BLOCK:
        return "s"
    if z in _D_BLOCK:
        return "d"
    if z in _F_BLOCK:
        return "f"
    return "p"


def composition_kind(composition):
    """The kind of a composition: site counts with their elements'
    blocks, as text, or None.

    The sites are those of :func:`mixed_sites` (a doped site counts as
    its majority element), their amounts the smallest integers of
    :func:`stoichiometry`; each is written as count and block
    (:func:`element_block`), sorted: ``"1d:2p"`` for TiO2, ``"1p:2d"``
    for Fe2P.  :func:`kind_stoichiometry` drops the blocks.

    Examples
    --------
    >>> composition_kind("TiO2"), composition_kind("Ni")
    ('1d:2p', '1d')
    >>> composition_kind("Ba0.7K0.3(Zn0.85Mn0.15)2As2")
    '1s:2d:2p'
    >>> composition_kind("TiO1.37") is None
    True
    """
    if isinstance(composition, str):
        composition = parse_composition(composition)
    try:
        counts, _ = mixed_sites(composition)
    except InputError:
        return None
    ints = _smallest_integers(counts)
    if ints is None:
        return None
    parts = sorted((n, element_block(el)) for el, n in ints.items())
    return ":".join(f"{n}{block}" for n, block in parts)


def kind_stoichiometry(kind):
    """The stoichiometry class of a :func:`composition_kind`.

    Examples
    --------
    >>> kind_stoichiometry("1s:2d:2p")
    '1:2:2'
    """
    counts = sorted(int(part[:-1]) for part in kind.split(":"))
    return ":".join(str(n) for n in counts)


def electronegativity(elem):
    """Pauling electronegativity (pymatgen), else Z / 40 as a stand-in.

    The site patterns of ``data/site_patterns.json.gz`` were ranked with
    pymatgen's values (:func:`electronegativity_ranks`); pymatgen comes
    with the ``refine`` extra, and without it the stand-in can rank
    elements otherwise (O below Ce), so that a pattern's own placement
    is tried later.

    Examples
    --------
    >>> electronegativity("Na") < electronegativity("Cl")
    True
    """
    try:  # optional: pymatgen comes with pyxtal, not a dependency
        from pymatgen.core import Element
    except ImportError:  # pragma: no cover - pymatgen ships with pyxtal
        Element = None
    if Element is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = Element(element_symbol(elem)).X
        if value and not math.isnan(value):
            return float(value)
    return float(atomic_number(elem)) / 40.0


def electronegativity_ranks(counts):
    """Rank of each element among the elements of the same amount, by
    :func:`electronegativity` (0 the most electropositive; ties by
    symbol).

    The site patterns of real structures keep these ranks, so that a
    composition of the same anonymous formula places its elements of
    equal amounts as the real structures do (the 1111 pnictides: the
    rare earth, Fe, As, O on 2c, 2b, 2c, 2a of P4/nmm).

    Parameters
    ----------
    counts : dict
        Element -> amount (any multiple of the formula).

    Examples
    --------
    >>> electronegativity_ranks({"Ce": 1, "Fe": 1, "As": 1, "O": 1})
    {'Ce': 0, 'Fe': 1, 'As': 2, 'O': 3}
    >>> electronegativity_ranks({"Ti": 1, "O": 2})
    {'Ti': 0, 'O': 0}
    """
    out = {}
    for amount in set(counts.values()):
        same = [e for e, a in counts.items() if a == amount]
        same.sort(key=lambda e: (electronegativity(e), element_symbol(e)))
        out.update({e: i for i, e in enumerate(same)})
    return {e: out[e] for e in counts}

"""The bundled structure-type library as starting structures.

The package's one structure-type library
(:mod:`diffpy.sgpredict.structures.library`,
``data/structure_types/structure_types.json.gz``) holds at least one
real structure type for each of the 45 groups (asymmetric unit in
diffpy's setting, lattice, source, licence and citation).  The
refinement uses the entries whose ``uses`` holds ``"refine"``
(:func:`~diffpy.sgpredict.structures.library.find_types`);
:func:`prototype_starts` returns those of a group that fit a
composition, with their elements substituted.

Examples
--------
>>> from diffpy.sgpredict.refine.library_lookup import prototype_starts
>>> [s.name for s in prototype_starts(225, {"Mg": 1.0, "O": 1.0})]
['AB_cF8_225_a_b']
"""

import functools

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.refine import settings
from diffpy.sgpredict.refine.startmodel import DEFAULT_UISO, StartingStructure
from diffpy.sgpredict.refine.substitution import element_mapping
from diffpy.sgpredict.structures.library import (
    find_types,
    library_info,
    load_types,
)

__all__ = ["load_prototypes", "prototype_structure", "prototype_starts"]


@functools.lru_cache(maxsize=1)
def load_prototypes():
    """Return the refinement's part of the structure-type library.

    Returns
    -------
    dict
        With keys ``sources`` (the library's) and ``prototypes``: the
        entries whose ``uses`` holds ``"refine"``, in the preferred
        order (keys ``key``, ``id``, ``name``, ``number``,
        ``composition``, ``lattice``, ``sites``, ``source``,
        ``licence``, ``citation``; see
        :mod:`diffpy.sgpredict.structures.library`).

    Examples
    --------
    >>> lib = load_prototypes()
    >>> len({p["number"] for p in lib["prototypes"]})
    45
    """
    return {
        "sources": library_info()["sources"],
        "prototypes": [e for e in load_types() if "refine" in e["uses"]],
    }


def prototype_structure(entry, mapping=None, uiso=DEFAULT_UISO):
    """The full cell of a library entry, elements renamed by ``mapping``.

    Examples
    --------
    >>> entry = load_prototypes()["prototypes"][0]
    >>> len(prototype_structure(entry)) >= len(entry["sites"])
    True
    """
    sites = [
        [mapping.get(s[0], s[0]) if mapping else s[0], *s[1:]]
        for s in entry["sites"]
    ]
    return settings.expand(entry["lattice"], sites, entry["number"], uiso)


def prototype_starts(number, comp, uiso=DEFAULT_UISO, limit=2):
    """Library entries of a group that fit the composition, as starts.

    Parameters
    ----------
    number : int
        Space-group number.
    comp : dict or None
        Element -> amount.  Entries with the same integer ratio are
        used with their elements substituted; without a composition the
        entries keep their own elements (the note says so).
    uiso : float
        Isotropic ADP of every atom (A^2).
    limit : int
        Most entries returned, in library order (the preferred first).

    Returns
    -------
    list of StartingStructure
        ``source`` is ``"prototype"``; unscaled.

    Examples
    --------
    >>> [s.notes[0] for s in prototype_starts(227, None, limit=1)]
    ['prototype A_cF8_227_a (diamond); elements C kept']
    """
    info = spacegroups.get(number)
    out = []
    for entry in find_types(number, comp or None, use="refine"):
        mapping = None
        if comp:
            mapping = element_mapping(entry["composition"], comp)
            if mapping is None:
                continue
        stru = prototype_structure(entry, mapping, uiso)
        label = entry["name"] or entry["id"]
        if mapping and any(k != v for k, v in mapping.items()):
            subst = ", ".join(f"{k}->{v}" for k, v in mapping.items())
            note = f"prototype {entry['id']} ({label}) with {subst}"
        else:
            note = f"prototype {entry['id']} ({label})"
        if not comp:
            elements = sorted({a.element for a in stru})
            note += f"; elements {', '.join(elements)} kept"
        out.append(
            StartingStructure(
                number,
                info.symbol,
                stru,
                "prototype",
                entry["id"],
                entry["licence"],
                notes=[note],
            )
        )
        if len(out) >= limit:
            break
    return out

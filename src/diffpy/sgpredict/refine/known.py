"""Known compounds: the sample's own structure, when it is a known one.

Most measured samples are compounds whose structure has been solved
before.  The package ships the structures of the Materials Project's
experimental entries in the 45 groups (``experimental`` = 1 in the
training table: relaxed structures of compounds in the ICSD; CC BY 4.0,
Jain et al., APL Materials 1, 011002 (2013)), up to three relaxations
per (reduced formula, space group), stored as asymmetric unit plus
lattice in diffpy's setting of the group
(``data/known_compounds/known_compounds.json.gz``, written by
``scripts/build_known_compounds.py``).

:func:`known_starts` is the refinement's ``known`` route: for a
candidate group, the entries of that group whose formula is the
composition's.  The match is by compound, never by stoichiometry alone
(that is a structure type: the bundled library's and the Wyckoff
enumeration's work), so an unknown material gets nothing here.
Hydrogen is set aside when matching, because X-ray compositions often
leave it out: ZrP2O9 finds Zr(HPO4)2.H2O, whose hydrogen atoms are then
dropped from the start, while a composition with hydrogen keeps them.
The PBE-relaxed cells are 1-3 % larger than measured ones; the
refinement scales them to the data like every ready-made start.

Examples
--------
>>> from diffpy.sgpredict.refine.known import find_known
>>> [e["id"] for e in find_known(14, {"Zr": 1, "P": 2, "O": 9})]
['mp-540737', 'mp-1199622']
>>> find_known(225, {"Zr": 1, "P": 2, "O": 9})
[]
"""

import functools
import gzip
import json
import os

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.refine import settings
from diffpy.sgpredict.refine.startmodel import DEFAULT_UISO, StartingStructure
from diffpy.sgpredict.refine.substitution import integer_ratio

__all__ = [
    "KNOWN_PATH",
    "MAX_SITES",
    "PER_COMPOUND",
    "LICENCE",
    "compound_key",
    "load_known",
    "find_known",
    "known_structure",
    "known_starts",
    "build_known_compounds",
]

KNOWN_PATH = os.path.join(
    os.path.dirname(os.path.dirname(__file__)),
    "data",
    "known_compounds",
    "known_compounds.json.gz",
)
#: Largest asymmetric unit (sites, hydrogen included) that is stored:
#: the refinement's budget fits about this many.
MAX_SITES = 30
#: Relaxations of one compound in one group that are stored (the
#: Materials Project may hold a compound's structure relaxed from
#: several ICSD entries, and they can differ: alpha-Zr(HPO4)2.H2O's two
#: differ by 3 degrees in beta and 8 % in c).
PER_COMPOUND = 3
#: Licence of every entry.
LICENCE = "CC BY 4.0 (Materials Project)"


def compound_key(comp):
    """The lookup key of a composition: its integer ratio without H.

    Parameters
    ----------
    comp : dict
        Element -> amount.

    Returns
    -------
    str or None
        ``"El:n El:n ..."`` sorted by element, or None when the amounts
        make no small integer ratio.

    Examples
    --------
    >>> compound_key({"Zr": 1, "H": 4, "P": 2, "O": 9})
    'O:9 P:2 Zr:1'
    >>> compound_key({"Ti": 0.5, "O": 1.0})
    'O:2 Ti:1'
    """
    heavy = {k: float(v) for k, v in comp.items() if k != "H" and v > 0}
    if not heavy:
        return None
    ratio = integer_ratio(heavy)
    if ratio is None:
        return None
    return " ".join(f"{k}:{ratio[k]}" for k in sorted(ratio))


@functools.lru_cache(maxsize=None)
def load_known(path=None):
    """Return the known-compound file: header and entries by key.

    Returns
    -------
    dict
        ``source``, ``licence``, ``counts`` and ``compounds``: key
        (:func:`compound_key`) -> list of entries (``id``, ``formula``,
        ``number``, ``lattice``, ``sites``: one ``[element, x, y, z]``
        per orbit in diffpy's setting); do not modify it.

    Examples
    --------
    >>> load_known()["counts"]["entries"] > 30000
    True
    """
    with gzip.open(path or KNOWN_PATH, "rt", encoding="utf-8") as f:
        return json.load(f)


def find_known(number, comp, path=None):
    """Known compounds of a group with a composition's formula.

    Parameters
    ----------
    number : int
        Space-group number.
    comp : dict or None
        Element -> amount (whole sites; a doped site by its majority
        element).
    path : str, optional
        A known-compound file; default the package's.

    Returns
    -------
    list of dict
        The entries, those whose hydrogen content also matches first;
        empty without a composition.

    Examples
    --------
    >>> [e["formula"] for e in find_known(62, {"Zr": 1, "P": 2})]
    ['ZrP2']
    """
    if not comp:
        return []
    key = compound_key(comp)
    entries = load_known(path)["compounds"].get(key, []) if key else []
    found = [e for e in entries if e["number"] == int(number)]
    want = integer_ratio({k: float(v) for k, v in comp.items() if v > 0})
    return sorted(found, key=lambda e: _ratio(e) != want)


def _ratio(entry):
    counts = {}
    for site, mult in zip(entry["sites"], entry["multiplicity"]):
        counts[site[0]] = counts.get(site[0], 0) + mult
    return integer_ratio({k: float(v) for k, v in counts.items()})


def known_structure(entry, keep_hydrogen=True, uiso=DEFAULT_UISO):
    """The full cell of a known compound in diffpy's setting.

    Examples
    --------
    >>> entry = find_known(62, {"Zr": 1, "P": 2})[0]
    >>> len(known_structure(entry))
    12
    """
    sites = [s for s in entry["sites"] if keep_hydrogen or s[0] != "H"]
    return settings.expand(entry["lattice"], sites, entry["number"], uiso)


def known_starts(number, comp, uiso=DEFAULT_UISO, limit=PER_COMPOUND):
    """The known compound of a group with the composition's formula.

    Parameters
    ----------
    number : int
        Space-group number.
    comp : dict or None
        Element -> amount (whole sites).
    uiso : float
        Isotropic ADP of every atom (A^2).
    limit : int
        Most starts returned (the refinement screens them with a short
        fit each).

    Returns
    -------
    list of StartingStructure
        ``source`` is ``"known"``; unscaled.  Hydrogen atoms are kept
        only when the composition has hydrogen.

    Examples
    --------
    >>> [s.notes[0] for s in known_starts(62, {"Zr": 1, "P": 2})]
    ['known compound ZrP2 (Materials Project mp-1523, CC BY 4.0)']
    """
    info = spacegroups.get(number)
    keep_h = bool(comp) and comp.get("H", 0) > 0
    out = []
    for entry in find_known(number, comp)[:limit]:
        note = (
            f"known compound {entry['formula']} (Materials Project "
            f"{entry['id']}, CC BY 4.0)"
        )
        if not keep_h and any(s[0] == "H" for s in entry["sites"]):
            note += "; its H atoms left out, as the composition has none"
        out.append(
            StartingStructure(
                number,
                info.symbol,
                known_structure(entry, keep_h, uiso),
                "known",
                entry["id"],
                LICENCE,
                notes=[note],
            )
        )
    return out


def build_known_compounds(
    table, path=KNOWN_PATH, max_sites=MAX_SITES, progress=None
):
    """Write the known compounds of a structure table.

    Rows of the 45 groups flagged ``experimental``, up to
    :data:`PER_COMPOUND` per (reduced formula, group) in the order of
    :func:`~diffpy.sgpredict.structures.tables.dedupe_rows`, put into
    diffpy's setting of their group
    (:func:`~diffpy.sgpredict.refine.settings.standardize`) and stored
    as their asymmetric unit when it has at most ``max_sites`` sites.

    Parameters
    ----------
    table : str
        The Materials Project's ``mp_structures.csv.gz`` (CC BY 4.0).
    path : str
        Output (gzip JSON).
    max_sites : int
        Largest asymmetric unit stored.
    progress : callable, optional
        Wraps the iteration over rows (``tqdm.tqdm``).

    Returns
    -------
    dict
        ``rows``, ``entries``, ``too_large`` and ``skipped`` counts.

    Examples
    --------
    >>> build_known_compounds("mp_structures.csv.gz", "known.json.gz")
    ... # doctest: +SKIP
    {'rows': 42992, 'too_large': 1501, 'skipped': 75, 'entries': 41416}
    """
    from diffpy.sgpredict.structures.tables import (
        dedupe_rows,
        read_structure_table,
    )

    rows = read_structure_table(
        table, groups=spacegroups.NUMBERS, experimental_only=True
    )
    rows, _ = dedupe_rows(rows, keep=PER_COMPOUND)
    compounds, counts = {}, {"rows": len(rows), "too_large": 0, "skipped": 0}
    for row in progress(rows) if progress else rows:
        entry = _entry(row, max_sites)
        if entry in ("too_large", "skipped"):
            counts[entry] += 1
            continue
        comp = {}
        for site, mult in zip(entry["sites"], entry["multiplicity"]):
            comp[site[0]] = comp.get(site[0], 0) + mult
        key = compound_key(comp)
        if key is None:  # no small integer ratio: not looked up
            counts["skipped"] += 1
            continue
        compounds.setdefault(key, []).append(entry)
    counts["entries"] = sum(len(v) for v in compounds.values())
    data = {
        "format": "diffpy.sgpredict.known_compounds",
        "version": 1,
        "source": "Materials Project structures (Jain et al., APL "
        "Materials 1, 011002 (2013)) of "
        f"{os.path.basename(str(table))}: experimental entries of the 45 "
        f"groups, up to {PER_COMPOUND} per (reduced formula, group), "
        "asymmetric unit in "
        "diffpy's setting (spglib symprec 0.01), PBE-relaxed cells",
        "licence": LICENCE,
        "counts": counts,
        "compounds": dict(sorted(compounds.items())),
    }
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        json.dump(data, f, separators=(",", ":"))
    load_known.cache_clear()
    return counts


def _entry(row, max_sites):
    """One row as an entry, or ``"too_large"``/``"skipped"`` (spglib
    finds another group, or the sites do not expand to the cell)."""
    from diffpy.structure import Atom, Lattice, Structure

    from diffpy.sgpredict.errors import InputError
    from diffpy.sgpredict.structures.tables import row_crystal

    number = int(row["sg_number"])
    crystal = row_crystal(row)
    stru = Structure(
        [Atom(el, xyz) for el, xyz in zip(crystal.species, crystal.frac)],
        lattice=Lattice(base=crystal.lattice),
    )
    try:
        std = settings.standardize(stru, number)
        found = settings.orbits(std, number)
    except InputError:
        return "skipped"
    if len(found) > max_sites:
        return "too_large"
    lat = std.lattice
    entry = {
        "id": row["id"],
        "formula": row["formula"],
        "number": number,
        "lattice": [
            round(float(v), 4)
            for v in (lat.a, lat.b, lat.c, lat.alpha, lat.beta, lat.gamma)
        ],
        "sites": [[s[0]] + [float(v) for v in s[1:]] for s, _ in found],
        "multiplicity": [m for _, m in found],
    }
    # the stored sites must expand to the cell they came from
    if len(known_structure(entry)) != len(std):
        return "skipped"
    return entry

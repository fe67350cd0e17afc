"""Statistics of real structures shipped with the package.

``data/generation_stats.json.gz`` holds real formulas per group with
their ICSD counts and the occupied Wyckoff-site combinations of real
structures; read by :mod:`diffpy.sgpredict.structures.generate` and
:mod:`diffpy.sgpredict.structures.prototypes`, written by
:func:`build_statistics` (maintainers).

``data/site_patterns.json.gz`` holds, per group and anonymous formula,
the site patterns of the Materials Project's structures: which Wyckoff
sites hold the element of each amount of the formula
(:func:`site_pattern`); read by :func:`site_patterns` for the
refinement's Wyckoff enumeration, written by
:func:`build_site_patterns` (``scripts/build_site_patterns.py``).

Examples
--------
>>> from diffpy.sgpredict.structures.stats import formulas_for_group
>>> comp, w = formulas_for_group(225)[0]
>>> isinstance(comp, dict), w > 0
(True, True)
"""

import csv
import gzip
import json
import os
from collections import Counter
from functools import lru_cache

import numpy

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.chemistry import (
    anonymous_formula,
    electronegativity_ranks,
)
from diffpy.sgpredict.structures import ELEMENTS, symmetry_dataset
from diffpy.sgpredict.structures.library import generator_types
from diffpy.sgpredict.structures.tables import (
    read_structure_table,
    row_crystal,
)
from diffpy.sgpredict.wyckoff import wyckoff_positions

__all__ = [
    "STATS_PATH",
    "stats",
    "formulas_for_group",
    "wyckoff_combinations",
    "build_statistics",
    "PATTERNS_PATH",
    "site_pattern",
    "site_patterns",
    "build_site_patterns",
]

_DATA = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data")
STATS_PATH = os.path.join(_DATA, "generation_stats.json.gz")
PATTERNS_PATH = os.path.join(_DATA, "site_patterns.json.gz")


@lru_cache(maxsize=None)
def stats(path=STATS_PATH):
    """The statistics file as a dict (cached)."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return json.load(f)


@lru_cache(maxsize=None)
def formulas_for_group(sg):
    """Real formulas of a group with their weights.

    Returns
    -------
    list of (dict, float)
        element -> count of the reduced formula, and the weight
        (square root of the number of ICSD entries).
    """
    rows = stats()["formulas"].get(str(sg), [])
    out = []
    for elems, counts, n in rows:
        out.append((dict(zip(elems, counts)), float(numpy.sqrt(n))))
    return out


@lru_cache(maxsize=None)
def wyckoff_combinations(sg):
    """Occupied-site combinations of real structures of a group.

    Returns
    -------
    tuple of (tuple of (int, str), float)
        Sites as (multiplicity, letter) and the weight, most frequent
        first.  A tuple: the result is cached and shared by every
        caller.
    """
    return tuple(
        (tuple((int(s[:-1]), s[-1]) for s in sites), float(w))
        for sites, w in stats()["wyckoff"].get(str(sg), [])
    )


# --------------------------------------------------------------------------
# statistics file


def build_statistics(
    counts_csv, path=STATS_PATH, max_elements=6, max_formula_atoms=60, top=400
):
    """Write the generation statistics shipped with the package.

    Parameters
    ----------
    counts_csv : str
        ``icsd_sg_formula_counts.csv`` (``sg_number, reduced_formula,
        count``; derived from the dara-xrd catalogue, MIT).
    path : str
        Output (gzip JSON).
    max_elements, max_formula_atoms : int
        Formulas with more elements or atoms are left out.
    top : int
        Most Wyckoff combinations kept per group.

    Examples
    --------
    >>> build_statistics("icsd_sg_formula_counts.csv")  # doctest: +SKIP
    """
    formulas = _icsd_formulas(counts_csv, max_elements, max_formula_atoms)
    wyckoff = _wyckoff_statistics(top)
    data = {
        "format": "diffpy.sgpredict.generation_stats",
        "version": 1,
        "sources": {
            "formulas": "reduced formulas per space group with ICSD entry "
            "counts, derived from the catalogue of the dara-xrd 1.3.0 wheel "
            "(dara/data/icsd_filtered_info_2025_v3.json.gz, MIT); formula "
            "and group only",
            "wyckoff": "occupied Wyckoff-site combinations per group: "
            "pyxtal/database/spg_num_wps_mp.csv (pyxtal, MIT; Materials "
            "Project statistics, conventional cells) plus one count per "
            "structure type the generator uses in the package's library",
        },
        "formulas": formulas,
        "wyckoff": wyckoff,
    }
    with gzip.open(path, "wt", encoding="utf-8") as f:
        json.dump(data, f, separators=(",", ":"))
    stats.cache_clear()
    formulas_for_group.cache_clear()
    wyckoff_combinations.cache_clear()
    return {k: len(v) for k, v in formulas.items()}


def _icsd_formulas(counts_csv, max_elements, max_formula_atoms):
    """Integer formulas per group with their ICSD counts (see above)."""
    # pymatgen is an optional dependency (the ``generate`` extra)
    from pymatgen.core import Composition

    known = set(ELEMENTS)
    formulas = {}
    with open(counts_csv, newline="") as f:
        for row in csv.DictReader(f):
            sg = int(row["sg_number"])
            try:
                comp = Composition(row["reduced_formula"])
            except ValueError:  # pymatgen's CompositionError is one
                continue
            els = [str(e) for e in comp.elements]
            amounts = [comp[e] for e in comp.elements]
            if any(abs(a - round(a)) > 1e-6 for a in amounts):
                continue
            amounts = [int(round(a)) for a in amounts]
            if not set(els) <= known or len(els) > max_elements:
                continue
            if sum(amounts) > max_formula_atoms:
                continue
            formulas.setdefault(str(sg), []).append(
                [els, amounts, int(row["count"])]
            )
    return formulas


def _wyckoff_statistics(top):
    """Occupied-site combinations per group, most frequent first.

    pyxtal's Materials Project table plus one count per structure type
    the generator uses.
    """
    # pyxtal is an optional dependency (the ``generate`` extra)
    import pyxtal
    from pyxtal.symmetry import Group

    table = os.path.join(
        os.path.dirname(pyxtal.__file__), "database", "spg_num_wps_mp.csv"
    )
    wyck = {}
    groups = {}
    with open(table, newline="") as f:
        for row in csv.DictReader(f):
            sg = int(row["spg"])
            if sg not in spacegroups.NUMBERS:
                continue
            g = groups.setdefault(sg, Group(sg))
            try:
                wps = [g[int(i)] for i in str(row["wps"]).split("-")]
            except (IndexError, ValueError):
                continue
            sites = tuple(sorted(f"{w.multiplicity}{w.letter}" for w in wps))
            d = wyck.setdefault(sg, {})
            d[sites] = d.get(sites, 0) + int(row["count"])
    for entry in generator_types().values():
        d = wyck.setdefault(entry["number"], {})
        sites = tuple(sorted(entry["wyckoff"]))
        d[sites] = d.get(sites, 0) + 1
    wyckoff = {}
    for sg, d in wyck.items():
        best = sorted(d.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        wyckoff[str(sg)] = [[list(s), n] for s, n in best]
    return wyckoff


# --------------------------------------------------------------------------
# site patterns of real structures, by anonymous formula


def site_pattern(crystal, symprec=0.01):
    """The site pattern of a crystal: its anonymous formula, group and
    the Wyckoff site of each symmetry-unique atom with the amount of
    that atom's element in the reduced formula.

    The pattern is the structure type with the roles of the elements
    kept as their amounts (Li2MnF6 in P-3m1: ``1:1a``, ``1:2d``,
    ``2:6g``, ``6:6i`` three times -- Mn on 1a and 2d, Li on 6g, F on
    three 6i sites), so that a composition of the same anonymous
    formula can be placed on the same sites, and, among elements of
    equal amounts, as their electronegativity ranks
    (:func:`~diffpy.sgpredict.chemistry.electronegativity_ranks`:
    LaFeAsO in P4/nmm ``1:2a:3``, ``1:2b:1``, ``1:2c:0``, ``1:2c:2``, O
    on 2a, Fe on 2b, La and As on 2c).  Multiplicities are those of
    :func:`~diffpy.sgpredict.wyckoff.wyckoff_positions`.

    Returns
    -------
    tuple or None
        ``(name, number, sites)`` with ``sites`` the sorted strings
        ``"amount:multiplicity letter:rank"``; None when spglib finds no
        symmetry or a letter its table does not hold.

    Examples
    --------
    >>> from diffpy.sgpredict.structures import Crystal
    >>> nacl = Crystal(numpy.eye(3) * 5.6, [[0, 0, 0], [0, 0.5, 0.5],
    ...     [0.5, 0, 0.5], [0.5, 0.5, 0], [0.5, 0.5, 0.5], [0.5, 0, 0],
    ...     [0, 0.5, 0], [0, 0, 0.5]], ["Na"] * 4 + ["Cl"] * 4)
    >>> site_pattern(nacl)
    ('AB', 225, ('1:4a:0', '1:4b:1'))
    """
    ds = symmetry_dataset(
        crystal.lattice, crystal.frac, crystal.species, symprec
    )
    if ds is None:
        return None
    number = int(ds.number)
    mult = {w: m for m, w, _, _ in wyckoff_positions(number)}
    amounts, name = anonymous_formula(Counter(crystal.species))
    ranks = electronegativity_ranks(amounts)
    sites = []
    for i in sorted(set(int(k) for k in ds.equivalent_atoms)):
        letter = ds.wyckoffs[i]
        if letter not in mult:
            return None
        el = crystal.species[i]
        sites.append(f"{amounts[el]}:{mult[letter]}{letter}:{ranks[el]}")
    return name, number, tuple(sorted(sites))


@lru_cache(maxsize=None)
def _patterns(path=PATTERNS_PATH):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return json.load(f)["patterns"]


def site_patterns(number, counts, path=PATTERNS_PATH):
    """Site patterns of real structures of a group with the anonymous
    formula of ``counts``, most frequent first.

    Parameters
    ----------
    number : int
        Space-group number.
    counts : dict
        Element -> count (any multiple of the formula).
    path : str
        The patterns file (:func:`build_site_patterns`).

    Returns
    -------
    list of (list of tuple, int)
        Each pattern as ``(amount, multiplicity, letter, rank)`` per
        site (``rank``: :func:`site_pattern`'s; patterns of an older
        file, ``(amount, multiplicity, letter)``), and the number of
        distinct Materials Project compounds with it.

    Examples
    --------
    >>> patterns = site_patterns(139, {"Sr": 1, "Fe": 2, "As": 2})
    >>> sorted(patterns[0][0])
    [(1, 2, 'a', 0), (2, 4, 'd', 0), (2, 4, 'e', 1)]
    """
    _, name = anonymous_formula(counts)
    out = []
    for sites, n in _patterns(path).get(str(number), {}).get(name, []):
        parsed = []
        for s in sites:
            amount, site, *rank = s.split(":")
            item = (int(amount), int(site[:-1]), site[-1])
            parsed.append(item + tuple(int(r) for r in rank))
        out.append((parsed, int(n)))
    return out


def build_site_patterns(table, path=PATTERNS_PATH, progress=None):
    """Write the site patterns of a structure table's crystals in the
    45 groups (:func:`site_pattern`), counted once per (reduced formula,
    pattern).

    Parameters
    ----------
    table : str
        A structure table (:mod:`~diffpy.sgpredict.structures.tables`;
        the Materials Project's ``mp_structures.csv.gz``, CC BY 4.0).
    path : str
        Output (gzip JSON).
    progress : callable, optional
        Wraps the iteration over rows (``tqdm.tqdm``).

    Returns
    -------
    dict
        ``rows``, ``patterns`` and ``skipped`` counts.
    """
    rows = read_structure_table(table, groups=spacegroups.NUMBERS)
    seen, counts, skipped = set(), {}, 0
    for row in progress(rows) if progress else rows:
        found = site_pattern(row_crystal(row))
        if found is None or found[1] != int(row["sg_number"]):
            skipped += 1
            continue
        name, number, sites = found
        if (row["formula"], number, sites) in seen:
            continue
        seen.add((row["formula"], number, sites))
        d = counts.setdefault(str(number), {}).setdefault(name, {})
        d[sites] = d.get(sites, 0) + 1
    patterns = {
        sg: {
            name: [
                [list(s), n]
                for s, n in sorted(d.items(), key=lambda kv: (-kv[1], kv[0]))
            ]
            for name, d in sorted(by_name.items())
        }
        for sg, by_name in sorted(counts.items(), key=lambda kv: int(kv[0]))
    }
    data = {
        "format": "diffpy.sgpredict.site_patterns",
        "version": 1,
        "source": "Materials Project structures (CC BY 4.0; Jain et al., "
        "APL Materials 1, 011002 (2013)) of "
        f"{os.path.basename(str(table))}, spglib symprec 0.01; each "
        "(reduced formula, group, pattern) counted once",
        "patterns": patterns,
    }
    with gzip.open(path, "wt", encoding="utf-8") as f:
        json.dump(data, f, separators=(",", ":"))
    _patterns.cache_clear()
    return {
        "rows": len(rows),
        "patterns": sum(len(v) for d in patterns.values() for v in d.values()),
        "skipped": skipped,
    }

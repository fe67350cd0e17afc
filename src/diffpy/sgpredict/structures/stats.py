"""Statistics shipped for the generator: real formulas and sites per group.

``data/generation_stats.json.gz`` holds real formulas per group with
their ICSD counts and the occupied Wyckoff-site combinations of real
structures; read by :mod:`diffpy.sgpredict.structures.generate` and
:mod:`diffpy.sgpredict.structures.prototypes`, written by
:func:`build_statistics` (maintainers).

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
from functools import lru_cache

import numpy

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.structures import ELEMENTS
from diffpy.sgpredict.structures.library import generator_types

__all__ = [
    "STATS_PATH",
    "stats",
    "formulas_for_group",
    "wyckoff_combinations",
    "build_statistics",
]

_DATA = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data")
STATS_PATH = os.path.join(_DATA, "generation_stats.json.gz")


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

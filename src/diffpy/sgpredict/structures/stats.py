"""ICSD statistics shipped for the generator: real formulas per group.

Shared by :mod:`diffpy.sgpredict.structures.generate` and
:mod:`diffpy.sgpredict.structures.prototypes` (which used to import each
other for it).

Examples
--------
>>> from diffpy.sgpredict.structures.stats import formulas_for_group
>>> comp, w = formulas_for_group(225)[0]
>>> isinstance(comp, dict), w > 0
(True, True)
"""

import gzip
import json
import os
from functools import lru_cache

import numpy

__all__ = ["STATS_PATH", "stats", "formulas_for_group"]

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

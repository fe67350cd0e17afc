"""Candidates, folder names and the data header: shared by the refine
modules (so that ``ranking`` and ``templates`` do not import each other).

Examples
--------
>>> from diffpy.sgpredict.refine.candidates import as_candidates, folder_name
>>> as_candidates(["Fm-3m"])[0].number, folder_name(14)
(225, 'sg014_P21_c')
"""

import re

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.errors import SgpredictError
from diffpy.sgpredict.io import load_pdf
from diffpy.sgpredict.refine.usercifs import read_cif
from diffpy.sgpredict.results import Candidate

__all__ = [
    "as_candidates",
    "folder_name",
    "usable_cif",
    "header_composition",
]


def as_candidates(groups):
    """Turn numbers, symbols or prediction candidates into Candidates.

    The candidates are :class:`diffpy.sgpredict.results.Candidate`, the
    prediction's own class (one Candidate class for both).

    Examples
    --------
    >>> [c.number for c in as_candidates([225, "Pm-3m"])]
    [225, 221]
    """
    out = []
    for item in groups:
        if isinstance(item, Candidate):
            out.append(item)
        elif hasattr(item, "number"):
            out.append(
                Candidate.for_group(
                    item.number, getattr(item, "probability", None)
                )
            )
        else:
            out.append(Candidate.for_group(item))
    return out


def folder_name(candidate):
    """Return the folder name of a candidate group.

    Examples
    --------
    >>> folder_name(14)
    'sg014_P21_c'
    """
    number = getattr(candidate, "number", candidate)
    info = spacegroups.lookup(number)
    safe = re.sub(r"[^A-Za-z0-9-]+", "_", info.symbol)
    return f"sg{info.number:03d}_{safe}"


def usable_cif(cif):
    """Return ``(cif, None)`` or ``(None, message)`` for a bad CIF.

    Examples
    --------
    >>> usable_cif(None)
    (None, None)
    """
    if cif is None:
        return None, None
    try:
        read_cif(cif)
    except SgpredictError as exc:
        return None, f"{exc}; prototypes are used instead"
    return cif, None


def header_composition(data):
    """Return the ``composition`` of a data file's header, or None.

    Examples
    --------
    >>> header_composition("missing.gr") is None
    True
    """
    try:
        meta = load_pdf(data).meta or {}
    except (SgpredictError, OSError, ValueError):
        return None
    comp = {str(k).lower(): v for k, v in meta.items()}.get("composition")
    return str(comp) if comp else None

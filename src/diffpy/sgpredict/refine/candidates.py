"""Candidates, folder names and the data header: shared by the refine
modules (so that ``ranking`` and ``templates`` do not import each other).

Examples
--------
>>> from diffpy.sgpredict.refine.candidates import as_candidates, folder_name
>>> as_candidates(["Fm-3m"])[0].number, folder_name(14)
(225, 'sg014_P21_c')
"""

import math
import re
from pathlib import Path

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.chemistry import parse_composition
from diffpy.sgpredict.errors import InputError, SgpredictError
from diffpy.sgpredict.io import load_pdf
from diffpy.sgpredict.refine.fitdata import RADIATIONS
from diffpy.sgpredict.refine.usercifs import read_cif
from diffpy.sgpredict.refine.work import CANDIDATE_BUDGET
from diffpy.sgpredict.results import Candidate

__all__ = [
    "as_candidates",
    "folder_name",
    "check_options",
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


def check_options(
    composition=None,
    cif=None,
    library=None,
    rmin=1.5,
    rmax=20.0,
    qmax=None,
    timeout=CANDIDATE_BUDGET,
    jobs=None,
    enumerate_budget=0.0,
    radiation=None,
    seed=0,
):
    """Raise a one-line InputError for the first option that cannot work.

    The options of :func:`~diffpy.sgpredict.refine.fit_candidates` and
    :func:`~diffpy.sgpredict.refine.write_templates`, checked before any
    folder is written or fit started: a composition that names unknown
    elements, a CIF (``--cif``) that cannot be read, a library folder
    that does not exist, a fit range with ``rmin >= rmax`` or below 0,
    a non-positive Qmax or time budget, fewer than one job, a negative
    enumeration budget, a radiation other than X-rays or neutrons, a
    seed that is not a whole number of at least 0.

    Raises
    ------
    InputError

    Examples
    --------
    >>> check_options(composition="SrFe2As2", rmin=1.5, rmax=20)
    >>> check_options(rmin=20, rmax=5)
    Traceback (most recent call last):
    ...
    diffpy.sgpredict.errors.InputError: fit range 20 to 5 A: rmin must \
be below rmax (--rmin, --rmax)
    """
    if composition is not None:
        try:
            parse_composition(str(composition))
        except (InputError, ValueError) as exc:
            raise InputError(f"{exc} (--composition)") from None
    if radiation is not None and radiation not in RADIATIONS:
        raise InputError(
            f"--radiation must be one of {', '.join(RADIATIONS)}, not "
            f"{radiation!r}"
        )
    if cif is not None:
        read_cif(cif)
    if library is not None and not Path(str(library)).is_dir():
        raise InputError(
            f"{library}: no such folder; give a folder of CIFs (--library)"
        )
    numbers = {"rmin": rmin, "rmax": rmax, "timeout": timeout}
    numbers["enumerate"] = enumerate_budget
    if qmax is not None:
        numbers["qmax"] = qmax
    for name, value in numbers.items():
        if not math.isfinite(float(value)):
            raise InputError(f"--{name} must be a finite number, not {value}")
    if not 0 <= rmin < rmax:
        raise InputError(
            f"fit range {rmin:g} to {rmax:g} A: rmin must be below rmax "
            "(--rmin, --rmax)"
            if rmin >= rmax
            else f"fit range {rmin:g} to {rmax:g} A: rmin must not be "
            "negative (--rmin)"
        )
    if qmax is not None and qmax <= 0:
        raise InputError(f"--qmax must be positive (1/A), not {qmax:g}")
    if timeout <= 0:
        raise InputError(
            f"--timeout must be a positive number of seconds, not "
            f"{timeout:g}"
        )
    if enumerate_budget < 0:
        raise InputError(
            f"--enumerate must be 0 (off) or a positive number of "
            f"seconds, not {enumerate_budget:g}"
        )
    if jobs is not None and int(jobs) < 1:
        raise InputError(f"--jobs must be at least 1, not {jobs}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(f"--seed must be a whole number >= 0, not {seed}")


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

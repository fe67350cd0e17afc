"""Read a folder of CIFs into labelled, deduplicated crystals.

Each CIF below a folder is read with ``diffpy.structure`` (which expands
the symmetry to P1), its element labels are made neutral, and spglib
labels it.  CIFs that cannot be used are skipped with a reason, never
fatally:

``unparseable``
    diffpy.structure cannot read the file.
``partial occupancy``
    a site has occupancy below 1 and the policy is ``"skip"``.
``atoms too close``
    two atoms closer than ``min_distance`` (duplicated atoms, as in
    diffpy.structure issue 86, or unresolved disorder).
``too many atoms``
    more atoms in the cell than ``max_atoms``.
``unknown element``
    an element without x-ray scattering factor.
``no symmetry``
    spglib fails.
``group not among the 45``
    unless ``all_groups=True``.
``duplicate of <path>``
    the same reduced formula and space group as an earlier file (and,
    with ``matcher=True``, the same structure by pymatgen's
    ``StructureMatcher``).

Examples
--------
>>> entries, skipped = read_cif_folder("cifs")  # doctest: +SKIP
>>> entries[0].meta["sg_number"], skipped[0]  # doctest: +SKIP
(225, ('bad.cif', 'unparseable: ...'))
"""

import contextlib
import io
import logging
import os
from pathlib import Path

import numpy
from diffpy.structure.parsers import getParser
from diffpy.structure.structureerrors import (
    LatticeError,
    StructureFormatError,
    SymmetryError,
)

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.chemistry import element_symbol
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.parallel import parallel_map
from diffpy.sgpredict.structures import Crystal

__all__ = [
    "OCCUPANCY_POLICIES",
    "SkipStructure",
    "find_cifs",
    "read_structure",
    "read_cif",
    "read_cif_folder",
    "write_skip_report",
]

logger = logging.getLogger(__name__)

#: What diffpy.structure's parsers raise for a file they cannot read.
PARSE_ERRORS = (
    StructureFormatError,
    SymmetryError,
    LatticeError,
    ValueError,
    IndexError,
    KeyError,
)

OCCUPANCY_POLICIES = ("skip", "majority", "keep")


class SkipStructure(Exception):
    """A structure that cannot be used; the message says why."""


def find_cifs(folder):
    """Return the CIF files below ``folder`` (sorted relative paths).

    Examples
    --------
    >>> find_cifs("cifs")  # doctest: +SKIP
    ['a.cif', 'sub/b.cif']
    """
    folder = os.fspath(folder)
    out = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in files:
            if name.lower().endswith(".cif"):
                out.append(
                    os.path.relpath(os.path.join(root, name), folder).replace(
                        os.sep, "/"
                    )
                )
    return sorted(out)


def _parse(path, fmt="auto"):
    """Parse a structure file; return ``(structure, parser)``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if fmt == "auto" and path.suffix.lower() in (".cif", ".mcif"):
        fmt = "cif"
    parser = getParser(fmt)
    sink = io.StringIO()  # the CIF parser prints its syntax errors
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(
            sink
        ):
            stru = parser.parseFile(str(path))
    except PARSE_ERRORS as exc:
        msg = " ".join(str(exc).split()) or type(exc).__name__
        if len(msg) > 160:
            msg = msg[:157] + "..."
        raise InputError(
            f"{path}: cannot read the structure "
            f"({type(exc).__name__}: {msg})"
        ) from exc
    if len(stru) == 0:
        raise InputError(f"{path}: the file holds no atoms")
    return stru, parser


def read_structure(path, fmt="auto", neutral=False):
    """Read a structure file (CIF, ...) into a diffpy Structure.

    This is the package's one structure-file reader:
    :func:`read_cif` and :func:`diffpy.sgpredict.pdfcalc.load_structure`
    use it.  CIF symmetry is expanded to P1 by ``diffpy.structure``.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.  ``.cif`` and ``.mcif`` files are read as CIF.
    fmt : str
        A format of ``diffpy.structure.parsers`` (``"auto"`` tries all).
    neutral : bool
        Make element labels neutral (``"O2-"`` -> ``"O"``, see
        :func:`diffpy.sgpredict.chemistry.element_symbol`).

    Returns
    -------
    diffpy.structure.Structure

    Raises
    ------
    InputError
        For a missing, unreadable or empty file (the parser's message is
        kept), or with ``neutral`` an unknown element.

    Examples
    --------
    >>> read_structure("missing.cif")
    Traceback (most recent call last):
    ...
    diffpy.sgpredict.errors.InputError: missing.cif: no such file
    """
    stru, _ = _parse(path, fmt)
    if neutral:
        for atom in stru:
            el = element_symbol(atom.element, strict=False)
            if el is None:
                raise InputError(
                    f"{path}: unknown element {atom.element!r} (H to Cf)"
                )
            atom.element = el
    return stru


def _merge_partial(crystal, cluster=0.5):
    """Keep the majority species of each cluster of overlapping sites.

    A cluster whose summed occupancy is below 0.5 is a vacancy and is
    dropped.  The kept sites get occupancy 1.
    """
    lat = crystal.lattice
    frac = crystal.frac % 1.0
    n = len(frac)
    used = numpy.zeros(n, dtype=bool)
    keep = []
    for i in range(n):
        if used[i]:
            continue
        d = frac - frac[i]
        d -= numpy.round(d)
        dist = numpy.linalg.norm(d @ lat, axis=1)
        members = numpy.flatnonzero((dist < cluster) & ~used)
        used[members] = True
        occ = crystal.occupancy[members]
        if occ.sum() < 0.5 - 1e-6:
            continue
        keep.append(members[int(numpy.argmax(occ))])
    keep = numpy.array(sorted(keep), dtype=int)
    return Crystal(
        lat,
        crystal.frac[keep],
        [crystal.species[k] for k in keep],
        numpy.ones(len(keep)),
        dict(crystal.meta),
    )


def read_cif(
    path,
    symprec=0.01,
    occupancy="skip",
    min_distance=0.5,
    max_atoms=500,
    all_groups=False,
):
    """Read one CIF into a labelled :class:`Crystal`.

    Parameters
    ----------
    path : str
        The CIF file.
    symprec : float
        spglib tolerance (A).
    occupancy : {"skip", "majority", "keep"}
        Partial occupancy policy: skip the file, keep the majority
        species of each site (vacancy when its total occupancy is below
        0.5), or keep the occupancies as they are (the label then comes
        from the majority structure).
    min_distance : float
        Shortest allowed distance between two atoms (A).
    max_atoms : int
        Most atoms allowed in the cell after symmetry expansion.
    all_groups : bool
        Keep all 230 groups instead of the 45 of the model.

    Returns
    -------
    Crystal
        ``meta`` holds ``sg_number`` (spglib), ``declared_sg`` (CIF, -1
        when it has none) and ``formula``.

    Raises
    ------
    SkipStructure
        With the reason the file cannot be used.

    Examples
    --------
    >>> c = read_cif("rs0001.cif")  # doctest: +SKIP
    >>> c.meta["sg_number"], c.meta["formula"]  # doctest: +SKIP
    (225, 'TiF2')
    """
    if occupancy not in OCCUPANCY_POLICIES:
        raise ValueError(
            f"occupancy policy must be one of {OCCUPANCY_POLICIES}"
        )
    try:
        stru, parser = _parse(path, "cif")
    except InputError as exc:
        cause = exc.__cause__
        if cause is None:  # no such file, no atoms
            reason = str(exc).split(": ", 1)[-1]
            raise SkipStructure(f"unparseable: {reason}") from exc
        msg = " ".join(str(cause).split())[:120]
        raise SkipStructure(
            f"unparseable: {type(cause).__name__}: {msg}"
        ) from exc
    declared = -1
    sg = getattr(parser, "spacegroup", None)
    if sg is not None and getattr(sg, "number", None):
        declared = int(sg.number)
    bad = sorted(
        {
            a.element
            for a in stru
            if element_symbol(a.element, strict=False) is None
        }
    )
    if bad:
        raise SkipStructure(f"unknown element: {', '.join(map(str, bad))}")
    if len(stru) > max_atoms:
        raise SkipStructure(f"too many atoms: {len(stru)} > {max_atoms}")
    crystal = Crystal.from_diffpy(stru)
    if not numpy.all(numpy.isfinite(crystal.frac)) or crystal.volume <= 0:
        raise SkipStructure("unparseable: invalid cell or coordinates")
    partial = bool(numpy.any(crystal.occupancy < 1 - 1e-6))
    labelled = crystal
    if partial:
        if occupancy == "skip":
            raise SkipStructure("partial occupancy")
        labelled = _merge_partial(crystal)
        if occupancy == "majority":
            crystal = labelled
        if labelled.natoms == 0:
            raise SkipStructure("partial occupancy: no majority sites")
    dmin = labelled.min_distance()
    if dmin < min_distance:
        raise SkipStructure(
            f"atoms too close: {dmin:.3f} A < {min_distance} A"
        )
    number = labelled.label(symprec)
    if number == 0:
        raise SkipStructure("no symmetry: spglib failed")
    if not all_groups and number not in spacegroups.NUMBERS:
        raise SkipStructure(f"group not among the 45: {number}")
    crystal.meta.update(
        sg_number=number,
        declared_sg=declared,
        formula=labelled.reduced_formula,
        partial=partial,
    )
    return crystal


def _read_one(args):
    """Read one CIF of a folder; never fatal.

    A file that breaks the reader in a way :func:`read_cif` does not
    foresee is skipped too, with the error in its reason and its
    traceback logged, so that one odd file of thousands does not end a
    dataset build.
    """
    folder, rel, kwargs = args
    try:
        c = read_cif(os.path.join(folder, rel), **kwargs)
    except SkipStructure as exc:
        return rel, None, str(exc)
    except Exception as exc:  # batch boundary: reason kept, see above
        logger.warning("%s: unexpected error", rel, exc_info=True)
        return rel, None, f"unparseable: {type(exc).__name__}: {exc}"[:160]
    c.meta["path"] = rel
    return rel, c, None


def read_cif_folder(
    folder,
    symprec=0.01,
    occupancy="skip",
    min_distance=0.5,
    max_atoms=500,
    all_groups=False,
    matcher=False,
    groups=None,
    jobs=1,
    client=None,
    scheduler=None,
    progress=False,
):
    """Read, label and deduplicate every CIF below a folder.

    Duplicates are files with the same reduced formula and the same
    spglib group as an earlier file (in sorted path order); with
    ``matcher=True`` they must also match by pymatgen's
    ``StructureMatcher``, so polymorphs in one group are kept.

    Parameters
    ----------
    folder : str
        Folder searched recursively for ``*.cif``.
    symprec, occupancy, min_distance, max_atoms, all_groups
        See :func:`read_cif`.
    matcher : bool
        Confirm duplicates with pymatgen's ``StructureMatcher``.
    groups : sequence of int, optional
        Keep only these space groups.
    jobs, client, scheduler, progress
        Where the files are read, see
        :func:`diffpy.sgpredict.parallel.parallel_map`.

    Returns
    -------
    entries : list of Crystal
        ``meta["path"]`` is the path relative to ``folder``.
    skipped : list of (str, str)
        Relative path and reason of every file not used.

    Examples
    --------
    >>> entries, skipped = read_cif_folder("cifs")  # doctest: +SKIP
    """
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise InputError(f"{folder}: no such folder; give a folder of CIFs")
    if matcher:
        _structure_matcher()  # fail now, not after reading every file
    kwargs = dict(
        symprec=symprec,
        occupancy=occupancy,
        min_distance=min_distance,
        max_atoms=max_atoms,
        all_groups=all_groups,
    )
    entries, skipped = [], []
    seen = {}
    work = [(folder, rel, kwargs) for rel in find_cifs(folder)]
    for rel, c, reason in parallel_map(
        _read_one,
        work,
        jobs=jobs,
        client=client,
        scheduler=scheduler,
        progress=progress,
        desc="reading CIFs",
        is_skip=lambda res: res[1] is None,
    ):
        if c is None:
            skipped.append((rel, reason))
            continue
        if groups is not None and c.meta["sg_number"] not in groups:
            skipped.append((rel, f"group not selected: {c.meta['sg_number']}"))
            continue
        key = (c.meta["formula"], c.meta["sg_number"])
        dup = None
        for other in seen.get(key, []):
            if not matcher or _same_structure(c, other):
                dup = other
                break
        if dup is not None:
            skipped.append((rel, f"duplicate of {dup.meta['path']}"))
            continue
        seen.setdefault(key, []).append(c)
        entries.append(c)
    return entries, skipped


def _structure_matcher():
    """pymatgen's StructureMatcher and Structure classes.

    Imported on use: pymatgen is an optional dependency (the
    ``generate`` extra) and takes about a second to import.
    """
    try:
        from pymatgen.analysis.structure_matcher import StructureMatcher
        from pymatgen.core import Lattice, Structure
    except ImportError as exc:
        raise ImportError(
            f"matcher=True needs pymatgen ({exc}); install it with "
            "pip install 'diffpy.sgpredict[generate]'"
        ) from exc
    return StructureMatcher, Lattice, Structure


def _same_structure(a, b):
    StructureMatcher, Lattice, Structure = _structure_matcher()
    sa = Structure(Lattice(a.lattice), a.species, a.frac)
    sb = Structure(Lattice(b.lattice), b.species, b.frac)
    return StructureMatcher().fit(sa, sb)


def write_skip_report(path, skipped):
    """Write a tab-separated report: one skipped item and its reason a line.

    Examples
    --------
    >>> write_skip_report("train.skipped.tsv", [("bad.cif", "unparseable")])
    ... # doctest: +SKIP
    """
    with open(path, "w", encoding="utf-8") as f:
        f.write("item\treason\n")
        for item, reason in skipped:
            reason = " ".join(str(reason).split())
            f.write(f"{item}\t{reason}\n")
    return path

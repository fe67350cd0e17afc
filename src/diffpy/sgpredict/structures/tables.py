"""Structure tables: many crystals in one compact CSV file.

The format is the one of the Materials Project table shipped beside the
project (``mp_structures.csv.gz``): one row per structure, gzip or plain
CSV, with the columns

``id``
    A unique name (``mp-1234``).
``lattice``
    Nine floats, the three cell vectors as rows (A).
``species``
    Element symbols, one per site, separated by spaces.
``frac``
    Fractional coordinates, three per site, separated by spaces.

and optionally ``formula`` (reduced formula), ``sg_number`` (spglib's
label at symprec 0.01), ``nsites``, ``experimental`` and
``icsd_linked`` (0/1 flags).  Rows without ``sg_number`` are labelled
with spglib when they are read.

Duplicates are removed before any split by one rule
(:func:`dedupe_rows`): for each (reduced formula, space group) pair the
row kept is the one that is linked to the ICSD, then experimental, then
has the fewest sites, then the lowest numeric id.

Examples
--------
>>> import io
>>> text = (
...     "id,lattice,species,frac\\n"
...     "a,4 0 0 0 4 0 0 0 4,Cs Cl,0 0 0 0.5 0.5 0.5\\n"
... )
>>> rows = read_structure_table(io.StringIO(text))
>>> rows[0]["formula"], rows[0]["sg_number"]
('CsCl', 221)
"""

import csv
import gzip
import os
import re
from collections import Counter

import numpy
import spglib

from diffpy.sgpredict.chemistry import anonymous_formula
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.structures import (
    Crystal,
    reduced_formula,
    symmetry_dataset,
)

__all__ = [
    "REQUIRED_COLUMNS",
    "read_structure_table",
    "dedupe_rows",
    "row_crystal",
    "structure_type_key",
    "primitive_crystal",
]

#: Columns every structure table must have.
REQUIRED_COLUMNS = ("id", "lattice", "species", "frac")

_FLAGS = ("experimental", "icsd_linked")


def _open_text(source):
    if hasattr(source, "read"):
        return source, False
    path = os.fspath(source)
    if not os.path.isfile(path):
        raise InputError(f"{path}: no such structure table")
    if path.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", newline=""), True
    return open(path, encoding="utf-8", newline=""), True


def _to_int(value, default=0):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def read_structure_table(
    source,
    groups=None,
    experimental_only=False,
    max_atoms=None,
    keep_text=True,
):
    """Read the rows of a structure table that pass the filters.

    Parameters
    ----------
    source : str, os.PathLike or file object
        The table (``.csv`` or ``.csv.gz``).
    groups : collection of int, optional
        Keep only rows labelled with one of these space groups.
    experimental_only : bool
        Keep only rows whose ``experimental`` flag is 1.
    max_atoms : int, optional
        Keep only rows with at most this many sites.
    keep_text : bool
        Keep the ``lattice``, ``species`` and ``frac`` text (needed by
        :func:`row_crystal`); False saves memory for counting.

    Returns
    -------
    list of dict
        ``id``, ``formula``, ``sg_number``, ``nsites``, ``experimental``,
        ``icsd_linked`` and, with ``keep_text``, the structure columns.

    Raises
    ------
    InputError
        When the file is missing or lacks a required column.
    """
    handle, close = _open_text(source)
    name = getattr(handle, "name", "<table>")
    out = []
    try:
        reader = csv.DictReader(handle)
        missing = [
            c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])
        ]
        if missing:
            raise InputError(
                f"{name}: not a structure table (missing column(s) "
                f"{', '.join(missing)}; needs {', '.join(REQUIRED_COLUMNS)})"
            )
        groups = None if groups is None else {int(g) for g in groups}
        for row in reader:
            species = row["species"].split()
            nsites = _to_int(row.get("nsites"), len(species))
            if max_atoms is not None and nsites > max_atoms:
                continue
            flags = {k: _to_int(row.get(k), 0) for k in _FLAGS}
            if experimental_only and not flags["experimental"]:
                continue
            sg = _to_int(row.get("sg_number"), 0)
            formula = row.get("formula") or ""
            if not sg or not formula:
                c = row_crystal(row)
                sg = sg or c.label()
                formula = formula or c.reduced_formula
            if groups is not None and sg not in groups:
                continue
            rec = {
                "id": row["id"],
                "formula": formula,
                "sg_number": sg,
                "nsites": nsites,
                **flags,
            }
            if keep_text:
                rec.update({k: row[k] for k in REQUIRED_COLUMNS[1:]})
            out.append(rec)
    finally:
        if close:
            handle.close()
    return out


def _id_number(item_id):
    m = re.search(r"(\d+)", str(item_id))
    return int(m.group(1)) if m else 0


def dedupe_rows(rows, keep=1):
    """Keep one row (or ``keep``) per (reduced formula, space group).

    The rule: prefer a row linked to the ICSD, then an experimental
    row, then the fewest sites, then the lowest numeric id.  The order
    of the first occurrences is kept; the rows of one key follow each
    other, preferred first.

    Parameters
    ----------
    rows : list of dict
        From :func:`read_structure_table`.
    keep : int
        Rows kept per key (several relaxations of one compound).

    Returns
    -------
    kept : list of dict
    dropped : int
        Rows removed as duplicates.

    Examples
    --------
    >>> rows = [
    ...     {"id": "mp-9", "formula": "Si", "sg_number": 227, "nsites": 8,
    ...      "experimental": 1, "icsd_linked": 0},
    ...     {"id": "mp-149", "formula": "Si", "sg_number": 227, "nsites": 2,
    ...      "experimental": 1, "icsd_linked": 1},
    ... ]
    >>> kept, dropped = dedupe_rows(rows)
    >>> [r["id"] for r in kept], dropped
    (['mp-149'], 1)
    """
    best = {}
    for row in rows:
        key = (row["formula"], int(row["sg_number"]))
        rank = (
            -int(row.get("icsd_linked", 0)),
            -int(row.get("experimental", 0)),
            int(row.get("nsites", 0)),
            _id_number(row["id"]),
        )
        best.setdefault(key, []).append((rank, row))
    kept = [
        row
        for group in best.values()
        for _, row in sorted(group, key=lambda item: item[0])[:keep]
    ]
    return kept, len(rows) - len(kept)


def row_crystal(row):
    """Make a :class:`Crystal` from one table row.

    Examples
    --------
    >>> row = {"id": "x", "lattice": "3 0 0 0 3 0 0 0 3",
    ...        "species": "Po", "frac": "0 0 0"}
    >>> row_crystal(row).natoms
    1
    """
    try:
        lattice = numpy.array(row["lattice"].split(), dtype=float)
        species = row["species"].split()
        frac = numpy.array(row["frac"].split(), dtype=float)
    except ValueError as exc:
        raise InputError(f"row {row.get('id')}: {exc}") from exc
    if lattice.size != 9 or frac.size != 3 * len(species) or not species:
        raise InputError(
            f"row {row.get('id')}: needs 9 lattice values and 3 "
            f"coordinates per site ({len(species)} sites, {frac.size} "
            "coordinates)"
        )
    meta = {
        "id": row["id"],
        "source": f"table:{row['id']}",
        "sg_number": _to_int(row.get("sg_number"), 0),
        "formula": row.get("formula") or reduced_formula(species),
    }
    return Crystal(
        lattice.reshape(3, 3), frac.reshape(-1, 3), species, meta=meta
    )


def _cell(crystal):
    kinds = sorted(set(crystal.species))
    numbers = [kinds.index(s) + 1 for s in crystal.species]
    return (crystal.lattice, crystal.frac, numbers), kinds


def structure_type_key(crystal, symprec=0.01):
    """Key of the structure type: anonymous formula, group, Wyckoff letters.

    Two crystals share a key when they differ only by which elements sit
    on the sites (NaCl and MgO; SrFe2As2 and BaFe2As2).  The anonymous
    formula orders the reduced counts, the Wyckoff part lists the
    letters of the symmetry-unique sites, sorted.

    Examples
    --------
    >>> nacl = Crystal(numpy.eye(3) * 5.6, [[0, 0, 0], [0, 0.5, 0.5],
    ...     [0.5, 0, 0.5], [0.5, 0.5, 0], [0.5, 0.5, 0.5], [0.5, 0, 0],
    ...     [0, 0.5, 0], [0, 0, 0.5]], ["Na"] * 4 + ["Cl"] * 4)
    >>> structure_type_key(nacl)
    'AB|225|a,b'
    """
    ds = symmetry_dataset(
        crystal.lattice, crystal.frac, crystal.species, symprec
    )
    _, anon = anonymous_formula(Counter(crystal.species))
    if ds is None:
        return f"{anon}|0|"
    sites = dict(zip(ds.equivalent_atoms, ds.wyckoffs))
    letters = sorted(sites.values())
    return f"{anon}|{int(ds.number)}|" + ",".join(letters)


def primitive_crystal(crystal, symprec=0.01):
    """Return the primitive cell of a crystal (positions not idealised).

    The PDF does not depend on the choice of cell, and a smaller cell is
    cheaper to compute.  The crystal is returned unchanged when spglib
    finds no smaller cell.

    Examples
    --------
    >>> fcc = Crystal(numpy.eye(3) * 3.52, [[0, 0, 0], [0, .5, .5],
    ...     [.5, 0, .5], [.5, .5, 0]], ["Ni"] * 4)
    >>> primitive_crystal(fcc).natoms
    1
    """
    cell, kinds = _cell(crystal)
    try:
        prim = spglib.standardize_cell(
            cell, to_primitive=True, no_idealize=True, symprec=symprec
        )
    except (RuntimeError, ValueError, TypeError):
        prim = None
    if prim is None or len(prim[2]) >= crystal.natoms:
        return crystal
    lattice, frac, numbers = prim
    return Crystal(
        numpy.asarray(lattice, dtype=float),
        numpy.asarray(frac, dtype=float),
        [kinds[int(n) - 1] for n in numbers],
        meta=dict(crystal.meta),
    )


def table_items(
    source,
    groups=None,
    experimental_only=False,
    max_atoms=None,
    max_per_group=None,
):
    """Work items of a dataset build from a structure table.

    The table is read with the filters, deduplicated by
    :func:`dedupe_rows` and turned into ``{"id", "source", "crystal"}``
    items for :func:`diffpy.sgpredict.dataset.build_dataset`.

    Parameters
    ----------
    source : str or os.PathLike
        The table.
    groups : collection of int, optional
        Space groups to keep (default: all).
    experimental_only : bool
        Keep only experimental rows.
    max_atoms : int, optional
        Most sites per cell.
    max_per_group : int, optional
        Most structures per space group, after deduplication: the
        experimental rows first, then the others, each in table order.

    Returns
    -------
    items : list of dict
    info : dict
        ``rows`` (passing the filters), ``duplicates`` (removed) and
        ``capped`` (left out by ``max_per_group``).
    """
    rows = read_structure_table(
        source,
        groups=groups,
        experimental_only=experimental_only,
        max_atoms=max_atoms,
    )
    kept, dropped = dedupe_rows(rows)
    capped = 0
    if max_per_group:
        taken = Counter()
        order = sorted(
            range(len(kept)), key=lambda i: (-kept[i]["experimental"], i)
        )
        keep = set()
        for i in order:
            sg = kept[i]["sg_number"]
            if taken[sg] < max_per_group:
                taken[sg] += 1
                keep.add(i)
        capped = len(kept) - len(keep)
        kept = [row for i, row in enumerate(kept) if i in keep]
    items = []
    for row in kept:
        crystal = row_crystal(row)
        crystal.meta["experimental"] = int(row.get("experimental", 0))
        items.append(
            {
                "id": row["id"],
                "source": f"table:{row['id']}",
                "crystal": crystal,
            }
        )
    return items, {
        "rows": len(rows),
        "duplicates": dropped,
        "capped": capped,
    }

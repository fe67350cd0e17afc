"""The dataset file format: one HDF5 file per dataset.

Layout (``format_version`` 1)
-----------------------------
root attributes
    ``format = "diffpy.sgpredict.dataset"``, ``format_version = 1``,
    ``provenance`` (a JSON string: package version, calculator, settings
    or ranges, generator parameters, seed, command, creation time) and
    ``n_rows``, the number of committed rows.
``r`` float64 ``(npts,)``
    The r-grid in the srreal convention (default: the model grid, 209
    points from 1.5025 to 29.913 A at pi/23).
``G`` float32 ``(n, npts)``
    One PDF per row; chunked and resizable along axis 0.
``sg_number`` int16 ``(n,)``
    The label: the space group spglib finds.
``declared_sg`` int16 ``(n,)``
    The group the source declares (CIF header, generator request) or -1.
``id``, ``formula``, ``source``, ``prototype`` UTF-8 strings ``(n,)``
    Unique row id, reduced formula, origin (``cif:relative/path.cif``,
    ``statistics:<seed>``, ``prototype:<key>``) and the key used for
    grouped splits and deduplication (prototype key, or the reduced
    formula for CIF input).
``natoms`` int32 ``(n,)``
    Atoms in the cell the PDF was computed from.
``settings/<name>`` float32 ``(n,)``
    Per-row calculator settings, see :data:`SETTING_NAMES`
    (``particle_diameter`` 0 means bulk).
``skipped/id``, ``skipped/source``, ``skipped/reason`` strings
    Work items that gave no row and why; they count as done on resume.

Rows are written in chunks.  Every chunk is written to all datasets and
only then is ``n_rows`` advanced and the file flushed and closed, so a
reader (:func:`load_arrays`) always sees whole rows, and a writer that
was killed mid-chunk drops the partial chunk when it reopens the file.
Between chunks the file is closed, so other processes can read it while
it grows.
"""

import json
import os
import time
from collections import Counter
from contextlib import contextmanager

import h5py
import numpy

from diffpy.sgpredict.errors import InputError

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "SETTING_NAMES",
    "ROW_FIELDS",
    "DatasetWriter",
    "load_arrays",
    "read_provenance",
    "dataset_summary",
    "merge_datasets",
    "source_kinds",
]

FORMAT = "diffpy.sgpredict.dataset"
FORMAT_VERSION = 1

#: Per-row settings stored under ``settings/``.
SETTING_NAMES = (
    "qmax",
    "qmin",
    "qdamp",
    "qbroad",
    "uiso",
    "delta1",
    "delta2",
    "scale",
    "particle_diameter",
    "noise",
    "strain",
    "neutron",
)

_STRING_FIELDS = ("id", "formula", "source", "prototype")
_INT_FIELDS = {
    "sg_number": numpy.int16,
    "declared_sg": numpy.int16,
    "natoms": numpy.int32,
}

#: Every per-row field of the layout (settings as ``settings/<name>``).
ROW_FIELDS = (
    ("G",)
    + tuple(_INT_FIELDS)
    + _STRING_FIELDS
    + tuple(f"settings/{name}" for name in SETTING_NAMES)
)

_SKIP_FIELDS = ("id", "source", "reason")


def _str_dtype():
    return h5py.string_dtype(encoding="utf-8")


@contextmanager
def _open(path, mode="r"):
    """Open an HDF5 file without the HDF5 file lock.

    The writer closes the file between chunks and advances ``n_rows``
    last, so readers never need the lock to see consistent rows.
    """
    try:
        f = h5py.File(path, mode, locking=False)
    except OSError as exc:
        raise InputError(
            f"{path}: cannot open as HDF5 ({exc}); give a dataset written "
            "by 'diffpy.sgpredict dataset build'"
        ) from exc
    try:
        yield f
    finally:
        f.close()


def _check_format(f, path):
    if f.attrs.get("format") != FORMAT:
        raise InputError(
            f"{path}: not a diffpy.sgpredict dataset (attribute 'format' is "
            f"{f.attrs.get('format')!r}); build one with "
            "'diffpy.sgpredict dataset build'"
        )
    version = int(f.attrs.get("format_version", -1))
    if version > FORMAT_VERSION:
        raise InputError(
            f"{path}: dataset format_version {version} is newer than this "
            f"diffpy.sgpredict reads ({FORMAT_VERSION}); upgrade the package"
        )


def _n_rows(f):
    """Committed rows (files written by other tools may lack ``n_rows``)."""
    if "n_rows" in f.attrs:
        return int(f.attrs["n_rows"])
    return int(f["sg_number"].shape[0]) if "sg_number" in f else 0


def _decode(values):
    return numpy.array(
        [
            v.decode("utf-8") if isinstance(v, bytes) else str(v)
            for v in values
        ],
        dtype=object,
    ).astype(str)


def load_arrays(path, fields=None):
    """Read a dataset into memory as numpy arrays.

    Only committed rows are returned, so a file that is still being
    written can be read at any moment.

    Parameters
    ----------
    path : str or os.PathLike
        The HDF5 file.
    fields : sequence of str, optional
        Which fields to read, from ``"r"`` and :data:`ROW_FIELDS`
        (``"settings/qmax"`` ...); ``"settings"`` stands for all the
        settings.  Default: every field.

    Returns
    -------
    dict of str to numpy.ndarray
        Strings are returned as numpy ``str`` arrays.

    Examples
    --------
    >>> data = load_arrays("train.h5", ["G", "sg_number"])  # doctest: +SKIP
    >>> data["G"].shape, data["G"].dtype  # doctest: +SKIP
    ((1000, 209), dtype('float32'))
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"{path}: no such dataset file")
    if fields is None:
        fields = ("r",) + ROW_FIELDS
    wanted = []
    for name in fields:
        if name == "settings":
            wanted.extend(f"settings/{s}" for s in SETTING_NAMES)
        else:
            wanted.append(name)
    out = {}
    with _open(path) as f:
        _check_format(f, path)
        n = _n_rows(f)
        for name in wanted:
            if name not in f:
                raise InputError(
                    f"{path}: no field {name!r}; known fields are "
                    f"{', '.join(('r',) + ROW_FIELDS)}"
                )
            if name == "r":
                out[name] = f["r"][()]
                continue
            values = f[name][:n]
            if name in _STRING_FIELDS:
                values = _decode(values)
            out[name] = values
    return out


def read_provenance(path):
    """Return the provenance record of a dataset as a dictionary.

    Examples
    --------
    >>> read_provenance("train.h5")["calculator"]  # doctest: +SKIP
    'builtin'
    """
    with _open(os.fspath(path)) as f:
        _check_format(f, path)
        return json.loads(f.attrs.get("provenance", "{}"))


def read_skipped(path):
    """Return the skipped work items as a dict of string arrays.

    Examples
    --------
    >>> read_skipped("train.h5")["reason"][:2]  # doctest: +SKIP
    array(['partial occupancy', 'unparseable CIF: ...'], dtype='<U...')
    """
    with _open(os.fspath(path)) as f:
        _check_format(f, path)
        if "skipped" not in f:
            return {k: numpy.array([], dtype=str) for k in _SKIP_FIELDS}
        n = int(f.attrs.get("n_skipped", f["skipped/id"].shape[0]))
        return {k: _decode(f[f"skipped/{k}"][:n]) for k in _SKIP_FIELDS}


class DatasetWriter:
    """Append rows to a dataset file, in chunks, resumable.

    Opening an existing file keeps its committed rows and drops any
    partial chunk a killed writer left behind; :attr:`done_ids` tells
    which work items (rows and skipped items) need no work.

    Parameters
    ----------
    path : str or os.PathLike
        The HDF5 file; created when missing.
    r : array_like
        The r-grid; must match the file's grid when it exists.
    provenance : dict, optional
        Stored as JSON on creation; on resume, kept and extended with a
        ``resumed`` list of times.
    chunk_rows : int
        Rows buffered before they are written.

    Examples
    --------
    >>> from diffpy.sgpredict.grid import MODEL_GRID
    >>> with DatasetWriter("x.h5", MODEL_GRID.r) as w:  # doctest: +SKIP
    ...     w.add({"id": "a", "G": g, "sg_number": 225, ...})
    """

    def __init__(self, path, r, provenance=None, chunk_rows=128):
        self.path = os.fspath(path)
        self.r = numpy.asarray(r, dtype=numpy.float64)
        self.chunk_rows = int(chunk_rows)
        self._rows = []
        self._skipped = []
        self.done_ids = set()
        if os.path.exists(self.path):
            self._reopen(provenance)
        else:
            self._create(provenance or {})

    # file handling ---------------------------------------------------
    def _create(self, provenance):
        npts = len(self.r)
        sdt = _str_dtype()
        d = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(d, exist_ok=True)
        with h5py.File(self.path, "w", locking=False) as f:
            f.attrs["format"] = FORMAT
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["provenance"] = json.dumps(provenance, default=str)
            f.attrs["n_rows"] = 0
            f.attrs["n_skipped"] = 0
            f.create_dataset("r", data=self.r)
            f.create_dataset(
                "G",
                shape=(0, npts),
                maxshape=(None, npts),
                dtype=numpy.float32,
                chunks=(min(256, max(self.chunk_rows, 16)), npts),
                compression="gzip",
                compression_opts=4,
                shuffle=True,
            )
            for name, dt in _INT_FIELDS.items():
                f.create_dataset(
                    name,
                    shape=(0,),
                    maxshape=(None,),
                    dtype=dt,
                    chunks=(4096,),
                )
            for name in _STRING_FIELDS:
                f.create_dataset(
                    name,
                    shape=(0,),
                    maxshape=(None,),
                    dtype=sdt,
                    chunks=(4096,),
                )
            for name in SETTING_NAMES:
                f.create_dataset(
                    f"settings/{name}",
                    shape=(0,),
                    maxshape=(None,),
                    dtype=numpy.float32,
                    chunks=(4096,),
                )
            for name in _SKIP_FIELDS:
                f.create_dataset(
                    f"skipped/{name}",
                    shape=(0,),
                    maxshape=(None,),
                    dtype=sdt,
                    chunks=(1024,),
                )

    def _reopen(self, provenance):
        with _open(self.path, "a") as f:
            _check_format(f, self.path)
            r_old = f["r"][()]
            if r_old.shape != self.r.shape or not numpy.allclose(
                r_old, self.r, rtol=0, atol=1e-9
            ):
                raise InputError(
                    f"{self.path}: the file's r-grid differs from the one "
                    "asked for; use another output file or the same settings"
                )
            n = int(f.attrs["n_rows"])
            ns = int(f.attrs["n_skipped"])
            # drop a chunk a killed writer did not commit
            for name in ROW_FIELDS:
                if f[name].shape[0] != n:
                    f[name].resize(n, axis=0)
            for name in _SKIP_FIELDS:
                if f[f"skipped/{name}"].shape[0] != ns:
                    f[f"skipped/{name}"].resize(ns, axis=0)
            self.done_ids.update(str(x) for x in _decode(f["id"][:n]))
            self.done_ids.update(str(x) for x in _decode(f["skipped/id"][:ns]))
            old = json.loads(f.attrs.get("provenance", "{}"))
            old.setdefault("resumed", []).append(
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            )
            if provenance and old.get("command") != provenance.get("command"):
                old.setdefault("resume_commands", []).append(
                    provenance.get("command")
                )
            f.attrs["provenance"] = json.dumps(old, default=str)

    # public API ------------------------------------------------------
    @property
    def n_rows(self):
        """Committed rows in the file (buffered rows not included)."""
        with _open(self.path) as f:
            return int(f.attrs["n_rows"])

    def add(self, row):
        """Buffer one row; write the buffer when it is full.

        Parameters
        ----------
        row : dict
            ``G`` (npts floats), ``id``, ``sg_number`` and optionally
            ``declared_sg``, ``formula``, ``source``, ``prototype``,
            ``natoms`` and ``settings`` (a dict of :data:`SETTING_NAMES`).
        """
        g = numpy.asarray(row["G"], dtype=numpy.float32)
        if g.shape != self.r.shape:
            raise ValueError(
                f"row {row.get('id')}: G has {g.shape} points, the grid "
                f"{self.r.shape}"
            )
        self._rows.append(row)
        self.done_ids.add(row["id"])
        if len(self._rows) + len(self._skipped) >= self.chunk_rows:
            self.flush()

    def skip(self, item_id, source, reason):
        """Record a work item that gives no row."""
        self._skipped.append((str(item_id), str(source), str(reason)))
        self.done_ids.add(str(item_id))
        if len(self._rows) + len(self._skipped) >= self.chunk_rows:
            self.flush()

    def flush(self):
        """Write buffered rows and skipped items, then commit them."""
        if not self._rows and not self._skipped:
            return
        rows, skipped = self._rows, self._skipped
        with _open(self.path, "a") as f:
            n = int(f.attrs["n_rows"])
            ns = int(f.attrs["n_skipped"])
            if rows:
                k = len(rows)
                cols = {
                    "G": numpy.stack(
                        [numpy.asarray(x["G"], numpy.float32) for x in rows]
                    ),
                    "sg_number": [int(x["sg_number"]) for x in rows],
                    "declared_sg": [
                        int(x.get("declared_sg", -1)) for x in rows
                    ],
                    "natoms": [int(x.get("natoms", 0)) for x in rows],
                }
                for name in _STRING_FIELDS:
                    cols[name] = [str(x.get(name, "")) for x in rows]
                for name in SETTING_NAMES:
                    cols[f"settings/{name}"] = [
                        float(x.get("settings", {}).get(name, numpy.nan))
                        for x in rows
                    ]
                for name in ROW_FIELDS:
                    ds = f[name]
                    ds.resize(n + k, axis=0)
                    ds[n : n + k] = cols[name]
            if skipped:
                k2 = len(skipped)
                for j, name in enumerate(_SKIP_FIELDS):
                    ds = f[f"skipped/{name}"]
                    ds.resize(ns + k2, axis=0)
                    ds[ns : ns + k2] = [s[j] for s in skipped]
            f.flush()
            # commit: counts last
            f.attrs["n_skipped"] = ns + len(skipped)
            f.attrs["n_rows"] = n + len(rows)
            f.flush()
        self._rows, self._skipped = [], []

    def close(self):
        """Write what is buffered."""
        self.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def dataset_summary(path):
    """Summarise a dataset: rows per group and source, settings, skips.

    Returns
    -------
    dict
        ``n_rows``, ``per_group`` (group -> count), ``per_source`` (source
        kind -> count), ``settings`` (name -> (min, max)), ``skipped``
        (reason -> count), ``provenance``.

    Examples
    --------
    >>> dataset_summary("train.h5")["n_rows"]  # doctest: +SKIP
    6750
    """
    data = load_arrays(path, ["sg_number", "source", "settings"])
    per_group = Counter(int(x) for x in data["sg_number"])
    per_source = Counter(s.split(":", 1)[0] for s in data["source"])
    settings = {}
    for name in SETTING_NAMES:
        v = data[f"settings/{name}"]
        v = v[numpy.isfinite(v)]
        if v.size:
            settings[name] = (float(v.min()), float(v.max()))
    skipped = read_skipped(path)
    reasons = Counter(r.split(":", 1)[0] for r in skipped["reason"])
    return {
        "n_rows": int(len(data["sg_number"])),
        "per_group": dict(sorted(per_group.items())),
        "per_source": dict(sorted(per_source.items())),
        "settings": settings,
        "skipped": dict(reasons.most_common()),
        "provenance": read_provenance(path),
    }


def source_kinds(sources):
    """Return the kind of each row's ``source`` field.

    The kind is the part before the first colon: ``statistics``,
    ``prototype`` or ``cif``.

    Examples
    --------
    >>> source_kinds(["prototype:aflow:AB_cF8_225_a_b", "cif:x.cif"])
    array(['prototype', 'cif'], dtype='<U9')
    """
    return numpy.array([str(s).split(":", 1)[0] for s in sources])


def merge_datasets(inputs, output, chunk_rows=4096, sources=None):
    """Concatenate datasets built apart (other seeds, other machines).

    Row ids get the prefix ``<k>:`` of their input's position, so rows of
    two builds with equal item ids stay distinct; the grids must agree.
    An existing ``output`` is continued: rows already there are skipped.

    Parameters
    ----------
    inputs : list of str or os.PathLike
        Dataset files in the order their rows are written.
    output : str or os.PathLike
        The merged dataset.
    chunk_rows : int
        Rows written at once.
    sources : dict, optional
        Input path -> the source kinds (:func:`source_kinds`) to take
        from it; inputs not named give all their rows.

    Returns
    -------
    int
        Rows in the merged file.

    Examples
    --------
    >>> merge_datasets(["seed1.h5", "seed2.h5"], "train.h5")  # doctest: +SKIP
    27098
    """
    if not inputs:
        raise InputError("merge: give at least one input dataset")
    grids = [load_arrays(p, fields=["r"])["r"] for p in inputs]
    for path, r in zip(inputs[1:], grids[1:]):
        if r.shape != grids[0].shape or not numpy.allclose(r, grids[0]):
            raise InputError(
                f"{path}: its r-grid differs from that of {inputs[0]}; "
                "only datasets on one grid can be merged"
            )
    sources = {os.fspath(k): list(v) for k, v in (sources or {}).items()}
    prov = {
        "merged_from": [
            {
                "file": os.fspath(p),
                "provenance": read_provenance(p),
                "sources": sources.get(os.fspath(p), "all"),
            }
            for p in inputs
        ]
    }
    with DatasetWriter(output, grids[0], prov, chunk_rows) as writer:
        for k, path in enumerate(inputs):
            a = load_arrays(path)
            names = [
                f.split("/", 1)[1] for f in a if f.startswith("settings/")
            ]
            kinds = sources.get(os.fspath(path))
            keep = (
                numpy.isin(source_kinds(a["source"]), kinds)
                if kinds is not None
                else numpy.ones(len(a["id"]), dtype=bool)
            )
            for i in numpy.flatnonzero(keep):
                row_id = f"{k}:{a['id'][i]}"
                if row_id in writer.done_ids:
                    continue
                row = {
                    field: a[field][i]
                    for field in _STRING_FIELDS
                    if field in a
                }
                row.update({f: int(a[f][i]) for f in _INT_FIELDS if f in a})
                row["id"] = row_id
                row["G"] = a["G"][i]
                row["settings"] = {
                    n: float(a[f"settings/{n}"][i]) for n in names
                }
                writer.add(row)
    return load_arrays(output, fields=["sg_number"])["sg_number"].size

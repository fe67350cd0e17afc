"""Training and evaluation datasets: one HDF5 file per dataset.

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
from contextlib import contextmanager

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
    "split_indices",
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


def _h5py():
    import h5py

    return h5py


def _str_dtype():
    return _h5py().string_dtype(encoding="utf-8")


@contextmanager
def _open(path, mode="r"):
    """Open an HDF5 file without the HDF5 file lock.

    The writer closes the file between chunks and advances ``n_rows``
    last, so readers never need the lock to see consistent rows.
    """
    h5py = _h5py()
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
        h5py = _h5py()
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
    from collections import Counter

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


def split_indices(
    labels, groups=None, test_fraction=0.2, seed=0, method="random"
):
    """Split rows into training and test indices.

    ``method="random"`` is the paper's split: a random ``test_fraction``
    of the rows of each space group goes to the test side.
    ``method="grouped"`` keeps all rows that share a key of ``groups``
    (prototype key or reduced formula) on one side: within each space
    group, whole keys are assigned at random to the test side until it
    holds about ``test_fraction`` of the rows.  A key that occurs in
    several space groups is placed by its first occurrence, so it never
    ends up on both sides.

    Parameters
    ----------
    labels : array_like of int
        Space-group numbers, one per row.
    groups : array_like of str, optional
        Grouping keys (the ``prototype`` field); required for
        ``method="grouped"``.
    test_fraction : float
        Fraction of rows for the test side.
    seed : int
        Random seed.
    method : {"random", "grouped"}

    Returns
    -------
    train, test : numpy.ndarray of int
        Sorted row indices.

    Examples
    --------
    >>> labels = [225] * 5 + [14] * 5
    >>> tr, te = split_indices(labels, test_fraction=0.2, seed=1)
    >>> len(tr), len(te)
    (8, 2)
    >>> keys = ["a", "a", "b", "b", "c", "d", "d", "e", "f", "f"]
    >>> tr, te = split_indices(labels, keys, 0.2, 1, method="grouped")
    >>> sorted(set(numpy.array(keys)[tr]) & set(numpy.array(keys)[te]))
    []
    """
    labels = numpy.asarray(labels)
    n = len(labels)
    rng = numpy.random.default_rng(seed)
    test = numpy.zeros(n, dtype=bool)
    if method == "random":
        for sg in numpy.unique(labels):
            idx = numpy.flatnonzero(labels == sg)
            k = int(round(test_fraction * len(idx)))
            test[rng.choice(idx, size=k, replace=False)] = True
    elif method == "grouped":
        if groups is None:
            raise InputError("a grouped split needs the grouping keys")
        groups = numpy.asarray(groups).astype(str)
        if len(groups) != n:
            raise InputError("labels and groups differ in length")
        # a key belongs to the group of its first row
        keys, first = numpy.unique(groups, return_index=True)
        key_sg = labels[first]
        key_rows = {k: numpy.flatnonzero(groups == k) for k in keys}
        side = {}
        for sg in numpy.unique(key_sg):
            ks = keys[key_sg == sg]
            ks = ks[rng.permutation(len(ks))]
            total = sum(len(key_rows[k]) for k in ks)
            target = test_fraction * total
            taken = 0
            for k in ks:
                put = taken + len(key_rows[k]) / 2 <= target and len(ks) > 1
                side[k] = put
                if put:
                    taken += len(key_rows[k])
        for k, is_test in side.items():
            test[key_rows[k]] = is_test
    else:
        raise InputError(
            f"unknown split method {method!r}; use 'random' or 'grouped'"
        )
    return numpy.flatnonzero(~test), numpy.flatnonzero(test)


# --------------------------------------------------------------------------
# per-sample PDF settings

#: The paper's Table 2 (plus bulk, no noise, no strain).
TABLE2 = {
    "qmax": 23.0,
    "qmin": 0.5,
    "qdamp": 0.04,
    "qbroad": 0.01,
    "uiso": 0.008,
    "delta1": 0.0,
    "delta2": 0.0,
    "scale": 1.0,
    "particle_diameter": 0.0,
    "noise": 0.0,
    "strain": 0.0,
}

#: Ranges drawn (uniformly) per sample with ``mode="ranges"``; settings
#: not named keep their Table-2 value.  ``noise`` is the standard
#: deviation of Gaussian noise relative to max|G|; ``strain`` an
#: isotropic lattice strain; ``particle_diameter`` (A) a spherical
#: envelope, 0 for bulk.
DEFAULT_RANGES = {
    "qmax": (18.0, 30.0),
    "qdamp": (0.02, 0.06),
    "qbroad": (0.0, 0.03),
    "uiso": (0.003, 0.015),
}


def draw_settings(rng, mode="table2", ranges=None):
    """Return the PDF settings of one sample.

    Parameters
    ----------
    rng : numpy.random.Generator
    mode : {"table2", "ranges"}
        Fixed Table-2 settings, or values drawn uniformly in ``ranges``.
    ranges : dict, optional
        name -> (low, high); default :data:`DEFAULT_RANGES`.

    Returns
    -------
    dict
        A value for every name of :data:`SETTING_NAMES`.

    Examples
    --------
    >>> draw_settings(numpy.random.default_rng(0))["qmax"]
    23.0
    >>> s = draw_settings(numpy.random.default_rng(0), "ranges")
    >>> 18 <= s["qmax"] <= 30
    True
    """
    out = dict(TABLE2)
    if mode == "table2":
        return out
    if mode != "ranges":
        raise InputError(
            f"settings must be 'table2' or 'ranges', not {mode!r}"
        )
    ranges = DEFAULT_RANGES if ranges is None else ranges
    for name in SETTING_NAMES:  # fixed order: reproducible draws
        if name in ranges:
            lo, hi = ranges[name]
            out[name] = float(rng.uniform(lo, hi)) if hi > lo else float(lo)
    return out


def spherical_envelope(r, diameter):
    """Shape factor of a sphere of ``diameter`` (A); 1 for diameter 0.

    .. math::

        f(r) = 1 - \\frac{3}{2}\\frac{r}{d} + \\frac{1}{2}\\frac{r^3}{d^3},
        \\quad r < d; \\qquad 0 \\text{ otherwise}

    Examples
    --------
    >>> spherical_envelope(numpy.array([0.0, 10.0, 20.0]), 20.0).tolist()
    [1.0, 0.3125, 0.0]
    """
    r = numpy.asarray(r, dtype=float)
    if not diameter or diameter <= 0:
        return numpy.ones_like(r)
    x = r / diameter
    return numpy.where(x < 1, 1 - 1.5 * x + 0.5 * x**3, 0.0)


# --------------------------------------------------------------------------
# building


def _calculate(crystal, settings, config):
    """G(r) of a crystal with the given settings on the config's grid."""
    c = crystal
    if settings.get("strain"):
        c = crystal.scaled(1.0 + settings["strain"])
    r, g = _calculate_pdf(
        c.to_diffpy(uiso=settings["uiso"]),
        config["calculator"],
        rmin=config["rmin"],
        rmax=config["rmax"],
        rstep=config["rstep"],
        qmin=settings["qmin"],
        qmax=settings["qmax"],
        qdamp=settings["qdamp"],
        qbroad=settings["qbroad"],
        delta1=settings["delta1"],
        delta2=settings["delta2"],
        scale=settings["scale"],
        scattering=config["scattering"],
        uiso=settings["uiso"],
    )
    g = numpy.asarray(g, dtype=float)
    return numpy.asarray(r, dtype=float), g


def _calculate_pdf(structure, calculator, **kw):
    try:
        from diffpy.sgpredict.pdfcalc import calculate_pdf
    except ImportError:
        calculate_pdf = None
    if calculate_pdf is not None:
        return calculate_pdf(structure, calculator, **kw)
    # TEMPORARY: until pdfcalc/__init__.py provides calculate_pdf
    from diffpy.sgpredict.pdfcalc.builtin import (
        pdf_from_arrays,
        structure_arrays,
    )

    if calculator != "builtin":
        raise InputError(f"calculator {calculator!r} is not available")
    arrays = structure_arrays(
        structure, scattering=kw.pop("scattering"), uiso=kw.pop("uiso")
    )
    return pdf_from_arrays(arrays, **kw)


def _item_rng(seed, item_id):
    import zlib

    return numpy.random.default_rng(
        [int(seed), zlib.crc32(str(item_id).encode("utf-8"))]
    )


def _process(payload):
    """Work function: one item -> ("row", row) or ("skip", id, src, why)."""
    item, config = payload
    from diffpy.sgpredict.structures.cifs import SkipStructure

    item_id = item["id"]
    source = item.get("source", "")
    try:
        if "crystal" in item:
            crystal = item["crystal"]
        else:
            from diffpy.sgpredict.structures.generate import generate_item

            crystal = generate_item(
                item,
                max_atoms=config["max_gen_atoms"],
                symprec=config["symprec"],
                all_groups=config["all_groups"],
                exclude=_exclude_set(config),
            )
            source = crystal.meta["source"]
        meta = crystal.meta
        rng = _item_rng(config["seed"], item_id)
        settings = draw_settings(rng, config["settings"], config["ranges"])
        r, g = _calculate(crystal, settings, config)
        if len(g) != config["npts"]:
            raise SkipStructure(
                f"calculator grid has {len(g)} points, expected "
                f"{config['npts']}"
            )
        g = g * spherical_envelope(r, settings["particle_diameter"])
        if settings["noise"] > 0:
            amp = float(numpy.abs(g).max()) or 1.0
            g = g + rng.normal(size=g.shape) * settings["noise"] * amp
        if not numpy.all(numpy.isfinite(g)):
            raise SkipStructure("calculator gave non-finite values")
    except SkipStructure as exc:
        return ("skip", item_id, source, str(exc))
    except Exception as exc:  # never fatal for one structure
        msg = " ".join(str(exc).split())[:160]
        return ("skip", item_id, source, f"error: {type(exc).__name__}: {msg}")
    row = {
        "id": item_id,
        "G": g.astype(numpy.float32),
        "sg_number": meta["sg_number"],
        "declared_sg": meta.get("declared_sg", -1),
        "formula": meta.get("formula", crystal.reduced_formula),
        "source": source,
        "prototype": meta.get("prototype", meta.get("formula", "")),
        "natoms": crystal.natoms,
        "settings": settings,
    }
    return ("row", row)


_EXCLUDE_CACHE = {}


def _exclude_set(config):
    pairs = config.get("exclude_pairs")
    if not pairs:
        return None
    key = (len(pairs), tuple(pairs[0]), tuple(pairs[-1]))
    if key not in _EXCLUDE_CACHE:
        _EXCLUDE_CACHE.clear()
        _EXCLUDE_CACHE[key] = {(str(f), int(s)) for f, s in pairs}
    return _EXCLUDE_CACHE[key]


def read_pairs(path):
    """Read (reduced formula, space group) pairs from a CSV or a dataset.

    A CSV needs the columns ``formula`` and ``sg_number`` (as the shared
    ``structures.csv``); a dataset gives its rows' pairs.

    Examples
    --------
    >>> read_pairs("structures.csv")  # doctest: +SKIP
    [('Ag', 225), ...]
    """
    import csv

    path = os.fspath(path)
    if path.endswith((".h5", ".hdf5")):
        d = load_arrays(path, ["formula", "sg_number"])
        pairs = zip(d["formula"], d["sg_number"])
    else:
        try:
            with open(path, newline="", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
        except OSError as exc:
            raise InputError(f"{path}: cannot read ({exc})") from exc
        if not rows or not {"formula", "sg_number"} <= set(rows[0]):
            raise InputError(
                f"{path}: needs the columns 'formula' and 'sg_number'"
            )
        pairs = ((r["formula"], r["sg_number"]) for r in rows)
    return sorted({(str(f), int(s)) for f, s in pairs})


def _is_skip(result):
    return result[0] == "skip"


def build_config(
    calculator="builtin",
    settings="table2",
    ranges=None,
    grid=None,
    scattering="xray",
    symprec=0.01,
    all_groups=False,
    max_gen_atoms=60,
    seed=0,
    exclude_pairs=None,
):
    """Collect the settings of a build into one plain dictionary.

    ``exclude_pairs``, (reduced formula, group) pairs that generated
    crystals must not have (see :func:`read_pairs`), is stored only when
    given.

    Examples
    --------
    >>> build_config()["npts"]
    209
    """
    from diffpy.sgpredict.grid import MODEL_GRID

    grid = grid or MODEL_GRID
    out = {
        "calculator": calculator,
        "settings": settings,
        "ranges": dict(DEFAULT_RANGES if ranges is None else ranges),
        "rmin": grid.rmin,
        "rmax": grid.rmax,
        "rstep": grid.rstep,
        "npts": grid.npoints,
        "scattering": scattering,
        "symprec": symprec,
        "all_groups": bool(all_groups),
        "max_gen_atoms": int(max_gen_atoms),
        "seed": int(seed),
    }
    if exclude_pairs:
        out["exclude_pairs"] = [[str(f), int(s)] for f, s in exclude_pairs]
    return out


def build_dataset(
    path,
    items,
    config,
    provenance=None,
    jobs=1,
    client=None,
    scheduler=None,
    progress=True,
    limit=None,
    chunk_rows=64,
    pre_skipped=(),
):
    """Compute the PDFs of work items and append them to a dataset.

    Items already in the file (as rows or skips) are not redone, so a
    killed build restarted with the same arguments continues where it
    stopped.

    Parameters
    ----------
    path : str
        Output HDF5 file.
    items : list of dict
        Work items: generator items
        (:func:`~diffpy.sgpredict.structures.generate.generation_items`)
        or ``{"id", "source", "crystal"}`` for structures read already.
    config : dict
        From :func:`build_config`.
    provenance : dict, optional
        Stored in the file when it is created.
    jobs, client, scheduler
        Where the work runs, see
        :func:`diffpy.sgpredict.parallel.parallel_map`.
    progress : bool
        Show a progress bar.
    limit : int, optional
        Stop after this many new items (for tests and trial runs).
    chunk_rows : int
        Rows per write.
    pre_skipped : sequence of (id, source, reason)
        Items skipped before the PDF stage (unusable CIFs), recorded once.

    Returns
    -------
    dict
        ``done`` (items processed now), ``rows``, ``skipped``,
        ``already`` (items found in the file), ``seconds``.

    Examples
    --------
    >>> from diffpy.sgpredict.structures.generate import generation_items
    >>> items = generation_items(2, groups=[225], seed=0)  # doctest: +SKIP
    >>> build_dataset("x.h5", items, build_config())  # doctest: +SKIP
    """
    from diffpy.sgpredict.grid import RGrid
    from diffpy.sgpredict.parallel import parallel_map

    grid = RGrid(config["rmin"], config["rmax"], config["rstep"])
    prov = dict(provenance or {})
    prov.setdefault("config", config)
    if os.path.exists(path):
        old = read_provenance(path).get("config")
        new = json.loads(json.dumps(config, default=str))
        if old is not None and old != new:
            diff = sorted(
                k for k in set(old) | set(new) if old.get(k) != new.get(k)
            )
            raise InputError(
                f"{path}: the file was built with other settings "
                f"({', '.join(diff)} differ); continue with the same "
                "options or write to a new file"
            )
    writer = DatasetWriter(path, grid.r, prov, chunk_rows=chunk_rows)
    already = len(writer.done_ids)
    for item_id, source, reason in pre_skipped:
        if item_id not in writer.done_ids:
            writer.skip(item_id, source, reason)
    todo = [it for it in items if it["id"] not in writer.done_ids]
    if limit is not None:
        todo = todo[: int(limit)]
    stats = {"done": 0, "rows": 0, "skipped": 0, "already": already}
    t0 = time.time()
    payloads = ((it, config) for it in todo)
    try:
        for result in parallel_map(
            _process,
            payloads,
            jobs=jobs,
            client=client,
            scheduler=scheduler,
            progress=progress,
            is_skip=_is_skip,
            total=len(todo),
        ):
            if result[0] == "row":
                writer.add(result[1])
                stats["rows"] += 1
            else:
                writer.skip(*result[1:])
                stats["skipped"] += 1
            stats["done"] += 1
    finally:
        writer.close()
    stats["seconds"] = time.time() - t0
    return stats


def agreement(path):
    """How often spglib finds the group asked of the generator.

    Counted per asked group over the generated items: rows whose label
    equals ``declared_sg``, out of all rows and items skipped because
    their group was not among the 45.

    Returns
    -------
    dict
        asked group -> (agreeing, total).

    Examples
    --------
    >>> agreement("train.h5")[225]  # doctest: +SKIP
    (148, 150)
    """
    data = load_arrays(path, ["sg_number", "declared_sg", "source"])
    out = {}
    gen = numpy.array(
        [
            s.split(":", 1)[0] in ("statistics", "prototype")
            for s in data["source"]
        ],
        dtype=bool,
    )
    for lab, asked in zip(data["sg_number"][gen], data["declared_sg"][gen]):
        a, t = out.get(int(asked), (0, 0))
        out[int(asked)] = (a + int(lab == asked), t + 1)
    sk = read_skipped(path)
    for item_id, reason in zip(sk["id"], sk["reason"]):
        if reason.startswith("group not among the 45") and "-" in item_id:
            try:
                asked = int(item_id.split("-")[1])
            except ValueError:
                continue
            a, t = out.get(asked, (0, 0))
            out[asked] = (a, t + 1)
    return dict(sorted(out.items()))


def _real_arrays(real, config=None):
    """(X, labels, prototype keys) of real structures: an .h5 or CIF folder."""
    from diffpy.sgpredict.grid import normalize

    if os.path.isdir(real):
        import tempfile

        from diffpy.sgpredict.structures.cifs import read_cif_folder

        entries, skipped = read_cif_folder(real, min_distance=0.1)
        items = [
            {
                "id": c.meta["path"],
                "source": f"cif:{c.meta['path']}",
                "crystal": c,
            }
            for c in entries
        ]
        with tempfile.TemporaryDirectory() as tmp:
            p = os.path.join(tmp, "real.h5")
            build_dataset(p, items, config or build_config(), progress=False)
            data = load_arrays(p, ["G", "sg_number", "formula"])
    else:
        data = load_arrays(real, ["G", "sg_number", "formula"])
    return (
        normalize(data["G"]).astype(numpy.float32),
        data["sg_number"].astype(int),
        data["formula"],
    )


def realism_check(
    path, real, minutes=3.0, seed=0, max_rows=60000, sources=None
):
    """Train a quick CNN on a generated dataset and score it on real data.

    A small 1D CNN (two convolutions, max-pool, dense) is trained on the
    min-max normalised G(r) of ``path`` with a class-balanced loss for
    ``minutes`` of CPU time, then scored on the real structures; real
    structures whose (reduced formula, group) occurs in the training
    rows are left out.  The class-frequency baselines rank the groups
    by their frequency in the training set and in the ICSD.

    Parameters
    ----------
    path : str
        Generated dataset (.h5).
    real : str
        Real structures: a dataset (.h5) or a folder of CIFs (PDFs are
        computed with Table-2 settings).
    minutes : float
        Training time.
    seed : int
    max_rows : int
        Most training rows used.
    sources : sequence of str, optional
        Train only on rows of these source kinds (``statistics``,
        ``prototype``, ``cif``).

    Returns
    -------
    dict
        ``classifier``, ``classifier+prior``, ``train frequency``,
        ``icsd frequency`` -> {top1, top3, top6}; sizes and times.

    Examples
    --------
    >>> realism_check("gen.h5", "real.h5", minutes=1)  # doctest: +SKIP
    """
    import torch

    from diffpy.sgpredict import spacegroups
    from diffpy.sgpredict.grid import normalize

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    rng = numpy.random.default_rng(seed)
    data = load_arrays(path, ["G", "sg_number", "formula", "source"])
    if sources:
        mask = numpy.isin(source_kinds(data["source"]), list(sources))
        data = {k: v[mask] for k, v in data.items()}
    n = len(data["sg_number"])
    if n == 0:
        raise InputError(f"{path}: no rows to train on")
    sel = rng.permutation(n)[:max_rows]
    X = normalize(data["G"][sel]).astype(numpy.float32)
    y_sg = data["sg_number"][sel].astype(int)
    keep = numpy.isin(y_sg, spacegroups.NUMBERS)
    X, y_sg = X[keep], y_sg[keep]
    y = numpy.array([spacegroups.index_of(s) for s in y_sg])
    nval = max(1, len(y) // 10)
    Xv, yv, Xt, yt = X[:nval], y[:nval], X[nval:], y[nval:]
    ncls = len(spacegroups.NUMBERS)
    freq = numpy.bincount(yt, minlength=ncls).astype(float)
    weights = numpy.where(
        freq > 0, freq.sum() / (ncls * numpy.maximum(freq, 1)), 0
    )

    Xr, yr_sg, fr = _real_arrays(real)
    seen = set(zip(data["formula"], data["sg_number"].astype(int)))
    okr = numpy.array(
        [
            (f, s) not in seen and s in spacegroups.NUMBERS
            for f, s in zip(fr, yr_sg)
        ],
        dtype=bool,
    )
    Xr, yr_sg = Xr[okr], yr_sg[okr]
    yr = numpy.array([spacegroups.index_of(s) for s in yr_sg])

    nn = torch.nn
    model = nn.Sequential(
        nn.Conv1d(1, 32, 15, padding=7),
        nn.ReLU(),
        nn.Conv1d(32, 32, 15, padding=7),
        nn.ReLU(),
        nn.MaxPool1d(2),
        nn.Flatten(),
        nn.Dropout(0.3),
        nn.Linear(32 * (X.shape[1] // 2), 128),
        nn.ReLU(),
        nn.Linear(128, ncls),
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lossf = nn.CrossEntropyLoss(
        weight=torch.tensor(weights, dtype=torch.float32)
    )
    Xt_t = torch.from_numpy(Xt[:, None, :])
    yt_t = torch.from_numpy(yt)
    t0 = time.time()
    epochs = 0
    best = (-1.0, None)
    while epochs == 0 or time.time() - t0 < minutes * 60:
        model.train()
        perm = torch.randperm(len(yt_t))
        for k in range(0, len(perm), 128):
            b = perm[k : k + 128]
            opt.zero_grad()
            loss = lossf(model(Xt_t[b]), yt_t[b])
            loss.backward()
            opt.step()
            if epochs and time.time() - t0 > minutes * 60:
                break
        epochs += 1
        model.eval()
        with torch.no_grad():
            acc = float(
                (
                    model(torch.from_numpy(Xv[:, None, :])).argmax(1).numpy()
                    == yv
                ).mean()
            )
        if acc > best[0]:
            best = (acc, {k: v.clone() for k, v in model.state_dict().items()})
    model.load_state_dict(best[1])
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(Xr[:, None, :])).numpy()

    def topk(scores):
        order = numpy.argsort(-scores, axis=1)
        return {
            f"top{k}": (
                float(
                    numpy.mean([yr[i] in order[i, :k] for i in range(len(yr))])
                )
                if len(yr)
                else float("nan")
            )
            for k in (1, 3, 6)
        }

    prior = numpy.log(spacegroups.icsd_prior() + 1e-12)
    train_prior = numpy.log((freq + 1) / (freq + 1).sum())
    icsd = numpy.tile(prior, (len(yr), 1))
    trainf = numpy.tile(freq, (len(yr), 1))
    return {
        "n_train": int(len(yt)),
        "n_real": int(len(yr)),
        "n_real_dropped_as_seen": int((~okr).sum()),
        "epochs": epochs,
        "seconds": time.time() - t0,
        "gen_val_top1": best[0],
        "classifier": topk(logits),
        "classifier+prior": topk(logits + prior - train_prior),
        "train frequency": topk(trainf),
        "icsd frequency": topk(icsd),
    }

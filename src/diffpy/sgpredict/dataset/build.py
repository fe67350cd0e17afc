"""Building datasets: work items -> PDFs -> rows of a dataset file.

Work items are structures already read (CIF folders, structure tables:
``{"id", "source", "crystal"}``) or generator requests
(:func:`diffpy.sgpredict.structures.generate.generation_items`).  Each
item becomes one row, computed with

* ``settings="table2"``: the paper's Table-2 settings;
* ``settings="ranges"``: settings drawn uniformly per row
  (:data:`DEFAULT_RANGES`);
* ``settings="physics"``: the radiation, a true Qmax termination,
  resolution, per-element Uiso, correlated motion, particle size and
  strain of each row drawn and computed as a measurement reaches the
  model (:mod:`diffpy.sgpredict.physics`), from the primitive cell, with
  the structure-type key as the row's grouping key.

Noise is not stored: it is drawn anew for every training batch
(:mod:`diffpy.sgpredict.augment`).  :func:`build_dataset` writes through
:class:`~diffpy.sgpredict.dataset.store.DatasetWriter` and resumes a
killed build.
"""

import csv
import json
import os
import time
import zlib

import numpy

from diffpy.sgpredict.dataset.store import (
    SETTING_NAMES,
    DatasetWriter,
    load_arrays,
    read_provenance,
    read_skipped,
)
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.grid import MODEL_GRID, RGrid
from diffpy.sgpredict.parallel import parallel_map
from diffpy.sgpredict.pdfcalc import PDFSettings, calculate_pdf
from diffpy.sgpredict.physics import (
    PhysicsRanges,
    draw_physics,
    physical_pdf,
    spherical_envelope,
)
from diffpy.sgpredict.structures.cifs import SkipStructure
from diffpy.sgpredict.structures.tables import (
    primitive_crystal,
    structure_type_key,
)

__all__ = [
    "TABLE2",
    "DEFAULT_RANGES",
    "draw_settings",
    "build_config",
    "build_dataset",
    "read_pairs",
    "agreement",
]


_PAPER = PDFSettings()

#: The paper's Table 2 (from :class:`~diffpy.sgpredict.pdfcalc.PDFSettings`)
#: as per-row settings: bulk, no noise, no strain, X-rays.
TABLE2 = {
    "qmax": _PAPER.qmax,
    "qmin": _PAPER.qmin,
    "qdamp": _PAPER.qdamp,
    "qbroad": _PAPER.qbroad,
    "uiso": _PAPER.uiso,
    "delta1": _PAPER.delta1,
    "delta2": _PAPER.delta2,
    "scale": _PAPER.scale,
    "particle_diameter": 0.0,
    "noise": 0.0,
    "strain": 0.0,
    "neutron": 0.0,
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


# --------------------------------------------------------------------------
# building


def row_pdf(crystal, settings, config):
    """G(r) of one dataset row: a crystal at its drawn settings.

    On the grid of ``config``; every row of a ``table2`` or ``ranges``
    build goes through it (``benchmarks/dataset.py`` times it).
    """
    c = crystal
    if settings.get("strain"):
        c = crystal.scaled(1.0 + settings["strain"])
    r, g = calculate_pdf(
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


def _item_rng(seed, item_id):
    return numpy.random.default_rng(
        [int(seed), zlib.crc32(str(item_id).encode("utf-8"))]
    )


def _process(payload):
    """Work function: one item -> ("row", row) or ("skip", id, src, why)."""
    item, config = payload
    item_id = item["id"]
    source = item.get("source", "")
    try:
        if "crystal" in item:
            crystal = item["crystal"]
        else:
            # pyxtal behind the generator is an optional extra
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
        if config["settings"] == "physics":
            crystal, meta, settings, r, g = _physics_row(crystal, rng, config)
        else:
            settings = draw_settings(rng, config["settings"], config["ranges"])
            r, g = row_pdf(crystal, settings, config)
        if len(g) != config["npts"]:
            raise SkipStructure(
                f"calculator grid has {len(g)} points, expected "
                f"{config['npts']}"
            )
        if config["settings"] != "physics":
            g = g * spherical_envelope(r, settings["particle_diameter"])
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


def _physics_row(crystal, rng, config):
    """Primitive cell, structure-type key and a physical PDF (one row)."""
    meta = dict(crystal.meta)
    meta.setdefault("prototype", structure_type_key(crystal))
    crystal = primitive_crystal(crystal, config["symprec"])
    ranges = PhysicsRanges(
        **{
            k: tuple(v) if isinstance(v, list) else v
            for k, v in config["physics"].items()
        }
    )
    physics = draw_physics(rng, ranges, crystal.species)
    grid = RGrid(config["rmin"], config["rmax"], config["rstep"])
    r, g = physical_pdf(crystal, physics, grid)
    settings = dict(TABLE2)
    settings.update(
        {k: physics[k] for k in settings if k in physics},
        neutron=float(physics["radiation"] == "neutron"),
    )
    return crystal, meta, settings, r, g


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


def build_ranges(overrides=None, settings="ranges"):
    """The ranges settings are drawn from: the defaults, changed by name.

    Parameters
    ----------
    overrides : dict, optional
        ``{name: (low, high)}``; each changes only the setting it names.
    settings : {"table2", "ranges", "physics"}
        Ranges are used with ``"ranges"`` only; others refuse overrides.

    Raises
    ------
    InputError
        For an unknown name, a low above its high, noise (drawn per
        training batch by :mod:`diffpy.sgpredict.augment`, never stored)
        or overrides with settings other than ``"ranges"``.

    Examples
    --------
    >>> build_ranges({"qmax": (20, 25)})["qmax"]
    (20, 25)
    >>> build_ranges({"qmax": (20, 25)})["qdamp"] == DEFAULT_RANGES["qdamp"]
    True
    """
    overrides = dict(overrides or {})
    for name, (lo, hi) in overrides.items():
        if name not in SETTING_NAMES:
            raise InputError(
                f"--range {name}: unknown setting; use one of "
                f"{', '.join(SETTING_NAMES)}"
            )
        if lo > hi:
            raise InputError(f"--range {name}={lo},{hi}: low is above high")
    ranges = dict(DEFAULT_RANGES)
    ranges.update(overrides)
    if overrides and "noise" in ranges:
        raise InputError(
            "--range noise: noise is drawn anew for every training batch "
            "(augment), not stored in datasets; leave it out"
        )
    if overrides and settings != "ranges":
        raise InputError("--range needs --settings ranges")
    return ranges


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
    physics=None,
):
    """Collect the settings of a build into one plain dictionary.

    With ``settings="physics"`` every row gets its own radiation,
    Qmax termination, resolution, per-element Uiso, correlated motion,
    particle size and strain drawn from ``physics`` (a
    :class:`~diffpy.sgpredict.physics.PhysicsRanges`, default ranges
    when None) and is computed by
    :func:`~diffpy.sgpredict.physics.physical_pdf`.

    ``exclude_pairs``, (reduced formula, group) pairs that generated
    crystals must not have (see :func:`read_pairs`), is stored only when
    given.

    Examples
    --------
    >>> build_config()["npts"]
    209
    """
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
    if settings == "physics":
        out["physics"] = (physics or PhysicsRanges()).to_dict()
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

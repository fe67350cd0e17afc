"""Where the structures of a dataset build come from.

Each function turns one kind of source into the work items of
:func:`~diffpy.sgpredict.dataset.build.build_dataset` (``{"id",
"source", "crystal"}``) and a record of what was read for the
provenance:

* :func:`cif_source`: a folder of CIFs or a ``.zip``/``.tar.gz``
  archive of them (COD or ICSD exports), read, labelled by spglib and
  deduplicated; the files skipped are reported with their reason;
* :func:`table_source`: a structure table such as the Materials Project
  file (:func:`diffpy.sgpredict.structures.tables.table_items`);
* :func:`generator_source`: generated crystals (random and prototype
  variants).

:func:`build_from` runs a whole build from a :class:`BuildSource` and
writes the skip report beside the dataset; the ``dataset build``
command only parses its options into these.
"""

import os
import sys
import tempfile
import time
from dataclasses import dataclass

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.dataset.build import build_dataset
from diffpy.sgpredict.dataset.store import read_skipped
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.structures.archives import extract_cifs, is_archive
from diffpy.sgpredict.structures.cifs import read_cif_folder, write_skip_report
from diffpy.sgpredict.structures.generate import generation_items
from diffpy.sgpredict.structures.library import LIBRARY_PATH
from diffpy.sgpredict.structures.tables import table_items
from diffpy.sgpredict.version import __version__

__all__ = [
    "StructureFilter",
    "BuildSource",
    "cif_source",
    "table_source",
    "generator_source",
    "build_from",
]


@dataclass(frozen=True)
class StructureFilter:
    """Which structures of a source are used.

    Attributes
    ----------
    groups : list of int, optional
        Only these space groups (default: the model's 45).
    all_groups : bool
        Keep every space group.
    max_atoms : int, optional
        Most atoms per cell (CIF default 500, generator default 60).
    symprec : float
        spglib tolerance of the labels.
    occupancy : {"skip", "majority"}
        What to do with partly occupied sites (CIFs).
    min_distance : float
        Shortest allowed interatomic distance, A (CIFs).
    matcher : bool
        Confirm duplicate CIFs with pymatgen's ``StructureMatcher``.
    experimental_only : bool
        Table rows flagged experimental only.
    max_per_group : int, optional
        Most table rows per group (experimental rows first).
    """

    groups: list = None
    all_groups: bool = False
    max_atoms: int = None
    symprec: float = 0.01
    occupancy: str = "skip"
    min_distance: float = 0.5
    matcher: bool = False
    experimental_only: bool = False
    max_per_group: int = None

    def __post_init__(self):
        checks = [
            (
                self.symprec > 0,
                f"symprec must be positive, not {self.symprec}",
            ),
            (
                self.max_atoms is None or self.max_atoms >= 1,
                "max_atoms must be at least 1",
            ),
            (
                self.max_per_group is None or self.max_per_group >= 1,
                "max_per_group must be at least 1",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise InputError(message)


def cif_source(path, filt, jobs=1, scheduler=None, progress=False):
    """Work items of a CIF folder or archive.

    Returns
    -------
    items : list of dict
        One per structure kept (its prototype key is its formula).
    skipped : list of tuple
        ``(id, source, reason)`` of every file not used.
    record : dict
        What was read, for the provenance.
    """
    max_atoms = filt.max_atoms or 500

    def read(folder):
        return read_cif_folder(
            folder,
            symprec=filt.symprec,
            occupancy=filt.occupancy,
            min_distance=filt.min_distance,
            max_atoms=max_atoms,
            all_groups=filt.all_groups,
            matcher=filt.matcher,
            groups=filt.groups,
            jobs=jobs,
            scheduler=scheduler,
            progress=progress,
        )

    if is_archive(path):
        with tempfile.TemporaryDirectory(prefix="sgpredict-cifs-") as tmp:
            extract_cifs(path, tmp)
            entries, skipped = read(tmp)
    else:
        entries, skipped = read(path)
    items = []
    for c in entries:
        c.meta.setdefault("prototype", c.meta["formula"])
        rel = c.meta["path"]
        items.append({"id": rel, "source": f"cif:{rel}", "crystal": c})
    record = {
        "cifs": os.path.abspath(path),
        "occupancy": filt.occupancy,
        "min_distance": filt.min_distance,
        "max_atoms": max_atoms,
        "matcher": filt.matcher,
        "all_groups": filt.all_groups,
    }
    skips = [(rel, f"cif:{rel}", why) for rel, why in skipped]
    return items, skips, record


def table_source(path, filt):
    """Work items of a structure table, and what was read.

    Returns
    -------
    items : list of dict
    record : dict
        The filters and the row counts (``rows`` passing the filters,
        ``duplicates`` dropped, ``capped`` over ``max_per_group``).
    """
    groups = filt.groups
    if groups is None and not filt.all_groups:
        groups = spacegroups.NUMBERS
    items, info = table_items(
        path,
        groups=groups,
        experimental_only=filt.experimental_only,
        max_atoms=filt.max_atoms,
        max_per_group=filt.max_per_group,
    )
    record = {
        "table": os.path.basename(path),
        "experimental_only": filt.experimental_only,
        "max_atoms": filt.max_atoms,
        "max_per_group": filt.max_per_group,
        "groups": (
            "all"
            if groups is None
            else "45" if filt.groups is None else list(groups)
        ),
        **info,
    }
    return items, record


def generator_source(n_per_group, filt, route, seed, prototype_fraction):
    """Work items of generated crystals, and the generator's settings."""
    if n_per_group <= 0:
        raise InputError("--generate N needs N > 0")
    items = generation_items(
        n_per_group,
        groups=filt.groups,
        route=route,
        seed=seed,
        prototype_fraction=prototype_fraction,
    )
    record = {
        "n_per_group": n_per_group,
        "route": route,
        "prototype_fraction": prototype_fraction,
        "groups": filt.groups,
        "max_atoms": filt.max_atoms or 60,
        "structure_types": "diffpy.sgpredict/data/structure_types/"
        + os.path.basename(LIBRARY_PATH),
    }
    return items, record


@dataclass(frozen=True)
class BuildSource:
    """One source of a build: exactly one of ``cifs``, ``table``,
    ``generate``.

    Attributes
    ----------
    cifs : str, optional
        CIF folder or archive.
    table : str, optional
        Structure table (CSV, optionally gzipped).
    generate : int, optional
        Generated crystals per group.
    route : str
        Generator route (``random``, ``prototype`` or ``both``).
    prototype_fraction : float
        Share of prototype variants with ``route="both"``.
    seed : int
        Seed of the generator (the settings draw has its own in the
        build configuration).
    """

    cifs: str = None
    table: str = None
    generate: int = None
    route: str = "both"
    prototype_fraction: float = 0.5
    seed: int = 0


def _items(source, filt, jobs, scheduler, progress, log):
    """Items, pre-skipped entries and the provenance record of a source."""
    if source.cifs:
        items, skipped, record = cif_source(
            source.cifs, filt, jobs, scheduler, progress
        )
        log(f"{len(items)} structures to use, {len(skipped)} CIFs skipped")
        return items, skipped, {"input": record}
    if source.table:
        items, record = table_source(source.table, filt)
        log(
            f"{len(items)} structures to use ({record['rows']} rows pass "
            f"the filters, {record['duplicates']} duplicates by (formula, "
            f"group) dropped, {record['capped']} over --max-per-group)"
        )
        return items, [], {"input": record}
    items, record = generator_source(
        source.generate,
        filt,
        source.route,
        source.seed,
        source.prototype_fraction,
    )
    return items, [], {"generator": record}


def build_from(
    output,
    source,
    filt,
    config,
    *,
    jobs=1,
    scheduler=None,
    progress=False,
    limit=None,
    command=None,
    log=None,
):
    """Build (or continue) a dataset from one source; write its skip report.

    Parameters
    ----------
    output : str
        The HDF5 dataset; a killed build continues where it stopped.
    source : BuildSource
        Where the structures come from.
    filt : StructureFilter
        Which of them are used.
    config : dict
        :func:`~diffpy.sgpredict.dataset.build.build_config`.
    jobs, scheduler, progress, limit
        See :func:`~diffpy.sgpredict.dataset.build.build_dataset`.
    command : str, optional
        The command line, recorded in the provenance.
    log : callable, optional
        Receives one line on what is about to be built.

    Returns
    -------
    stats : dict
        ``rows``, ``skipped``, ``done``, ``already``, ``seconds`` of the
        build, and ``report``, the path of the skip report
        (``OUTPUT.skipped.tsv``: one skipped item and its reason a line).

    Examples
    --------
    >>> stats = build_from("real.h5", BuildSource(cifs="structures/"),
    ...                    StructureFilter(), build_config())
    ...                                                  # doctest: +SKIP
    """
    log = log or (lambda m: print(m, file=sys.stderr))
    items, skipped, extra = _items(
        source, filt, jobs, scheduler, progress, log
    )
    provenance = {
        "package": "diffpy.sgpredict",
        "version": __version__,
        "command": command,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seed": source.seed,
        "calculator": config["calculator"],
        "settings": config["settings"],
        **extra,
        "config": config,
    }
    stats = build_dataset(
        output,
        items,
        config,
        provenance=provenance,
        jobs=jobs,
        scheduler=scheduler,
        progress=progress,
        limit=limit,
        pre_skipped=skipped,
    )
    report = os.path.splitext(output)[0] + ".skipped.tsv"
    sk = read_skipped(output)
    write_skip_report(report, list(zip(sk["id"], sk["reason"])))
    return dict(stats, report=report)

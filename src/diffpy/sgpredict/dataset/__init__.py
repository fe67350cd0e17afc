"""Training and evaluation datasets.

Two homes:

* :mod:`diffpy.sgpredict.dataset.store`: the HDF5 file format (layout,
  :class:`DatasetWriter`, :func:`load_arrays`, merging, splits);
* :mod:`diffpy.sgpredict.dataset.build`: the build (work items -> PDFs ->
  rows), resumable;
* :mod:`diffpy.sgpredict.dataset.splits`: training/test splits.

Their public names are available here.

Examples
--------
>>> from diffpy.sgpredict.dataset import build_config
>>> build_config(settings="physics")["physics"]["qmax"]
[14.0, 40.0]
"""

from diffpy.sgpredict.dataset.build import (  # noqa: F401
    DEFAULT_RANGES,
    TABLE2,
    agreement,
    build_config,
    build_dataset,
    build_ranges,
    draw_settings,
    read_pairs,
)
from diffpy.sgpredict.dataset.splits import split_indices  # noqa: F401
from diffpy.sgpredict.dataset.store import (  # noqa: F401
    FORMAT,
    FORMAT_VERSION,
    ROW_FIELDS,
    SETTING_NAMES,
    DatasetWriter,
    dataset_summary,
    load_arrays,
    merge_datasets,
    read_provenance,
    read_skipped,
    source_kinds,
)

__all__ = [
    "build_ranges",
    "FORMAT",
    "FORMAT_VERSION",
    "SETTING_NAMES",
    "ROW_FIELDS",
    "DatasetWriter",
    "load_arrays",
    "read_provenance",
    "read_skipped",
    "dataset_summary",
    "split_indices",
    "merge_datasets",
    "source_kinds",
    "TABLE2",
    "DEFAULT_RANGES",
    "draw_settings",
    "build_config",
    "build_dataset",
    "read_pairs",
    "agreement",
]

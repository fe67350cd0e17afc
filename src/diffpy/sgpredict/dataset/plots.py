"""Figures of a dataset."""

import numpy

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.dataset.store import dataset_summary

__all__ = ["plot_group_counts"]


def plot_group_counts(path):
    """Share of rows per group beside the paper's and the ICSD's shares.

    Parameters
    ----------
    path : str or Path
        The dataset.

    Returns
    -------
    matplotlib.figure.Figure
        Drawn without pyplot (no backend of the process is changed).

    Examples
    --------
    >>> plot_group_counts("train.h5").savefig("counts.png")  # doctest: +SKIP
    """
    # matplotlib is imported for plots only (0.3 s of start-up otherwise)
    from matplotlib.figure import Figure

    s = dataset_summary(path)
    nums = list(spacegroups.NUMBERS)
    ours = numpy.array([s["per_group"].get(n, 0) for n in nums], float)
    paper = numpy.array([spacegroups.get(n).paper_count for n in nums], float)
    icsd = numpy.array([spacegroups.get(n).icsd_count for n in nums], float)
    x = numpy.arange(len(nums))
    fig = Figure(figsize=(13, 4.5))
    ax = fig.subplots()
    w = 0.28
    ax.bar(
        x - w,
        ours / max(ours.sum(), 1),
        w,
        label=f"this dataset ({int(ours.sum())})",
    )
    ax.bar(x, paper / paper.sum(), w, label="Liu et al. 2019 training set")
    ax.bar(x + w, icsd / icsd.sum(), w, label="ICSD 2025 (45 groups)")
    ax.set_xticks(x)
    ax.set_xticklabels([str(n) for n in nums], rotation=90, fontsize=8)
    ax.set_xlabel("space group")
    ax.set_ylabel("fraction of entries")
    ax.legend()
    ax.set_title(str(path))
    fig.tight_layout()
    return fig

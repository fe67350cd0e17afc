"""Figures of an evaluation: per-group accuracy, confusions, reliability.

Every figure is drawn on a :class:`matplotlib.figure.Figure` of its own,
not through pyplot, so no backend of the calling process is changed.
"""

from pathlib import Path

import numpy
from matplotlib import colormaps
from matplotlib.figure import Figure

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.metrics import (
    expected_calibration_error,
    reliability_curve,
)

__all__ = ["plot_per_group", "plot_confusion", "plot_reliability"]


def _figure(size):
    """A matplotlib Figure not tied to pyplot (no backend is changed)."""
    return Figure(figsize=size)


def plot_per_group(per_group, path):
    """Plot top-1 and top-6 accuracy per group against group number.

    Marker area follows the training count of the group (from the model
    card), colour the crystal system.

    Returns
    -------
    Path
        The written PNG.
    """
    colours = colormaps["tab10"]
    fig = _figure((9, 4.5))
    ax = fig.subplots()
    counts = [g["train_count"] or 0 for g in per_group]
    cmax = max(max(counts), 1)
    for sysi, name in enumerate(spacegroups.CRYSTAL_SYSTEMS):
        rows = [g for g in per_group if g["crystal_system"] == name]
        if not rows:
            continue
        num = [g["number"] for g in rows]
        size = [20 + 280 * (g["train_count"] or 0) / cmax for g in rows]
        ax.scatter(
            num,
            [g["top1"] for g in rows],
            s=size,
            color=colours(sysi),
            alpha=0.8,
            label=name,
        )
        ax.scatter(
            num,
            [g["top6"] for g in rows],
            s=size,
            facecolors="none",
            edgecolors=colours(sysi),
            alpha=0.8,
        )
    ax.set_xlabel("space-group number")
    ax.set_ylabel("accuracy (filled: top-1, open: top-6)")
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlim(0, 232)
    ax.legend(fontsize=8, loc="lower right", markerscale=0.5)
    ax.set_title("accuracy per group (marker area: training rows)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return Path(path)


def plot_confusion(cm, labels, path):
    """Plot the row-normalised confusion matrix.

    Returns
    -------
    Path
        The written PNG.
    """
    cm = numpy.asarray(cm, dtype=float)
    rows = cm.sum(axis=1, keepdims=True)
    frac = numpy.divide(cm, rows, out=numpy.zeros_like(cm), where=rows > 0)
    fig = _figure((8.5, 7.5))
    ax = fig.subplots()
    im = ax.imshow(frac, cmap="viridis", vmin=0, vmax=1)
    ticks = numpy.arange(len(labels))
    names = [spacegroups.get(n).symbol for n in labels]
    ax.set_xticks(ticks)
    ax.set_xticklabels(names, rotation=90, fontsize=6)
    ax.set_yticks(ticks)
    ax.set_yticklabels(names, fontsize=6)
    ax.set_xlabel("predicted (top-1)")
    ax.set_ylabel("true")
    fig.colorbar(im, ax=ax, label="fraction of the true group")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return Path(path)


def plot_reliability(probs, y, path, nbins=15):
    """Reliability diagram: accuracy of the top group against confidence.

    Returns
    -------
    Path
        The written PNG.
    """
    rc = reliability_curve(probs, y, nbins)
    fig = _figure((4.8, 4.5))
    ax = fig.subplots()
    centres = 0.5 * (rc["edges"][1:] + rc["edges"][:-1])
    width = rc["edges"][1] - rc["edges"][0]
    ok = rc["count"] > 0
    ax.bar(
        centres[ok],
        rc["accuracy"][ok],
        width=width * 0.9,
        color="tab:blue",
        alpha=0.8,
        label="accuracy",
    )
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    ax.plot(
        rc["confidence"][ok],
        rc["accuracy"][ok],
        "o",
        color="tab:orange",
        ms=3,
    )
    ax.set_xlabel("probability of the top group")
    ax.set_ylabel("share right")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ece = expected_calibration_error(probs, y, nbins)
    ax.set_title(f"reliability (ECE {ece:.3f}, n = {len(y)})")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return Path(path)

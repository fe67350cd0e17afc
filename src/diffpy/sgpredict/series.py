"""Series of PDFs: one table row per file and probabilities along the series.

Real PDF work is mostly series (temperature, doping, in situ).  These
helpers turn a list of :class:`~diffpy.sgpredict.results.PredictionResult`
into a CSV table (:func:`write_csv`) and a plot of the leading groups'
probabilities along the series (:func:`series_figure`), where a change of
symmetry shows as a crossing.  The x value of each file is its
temperature from the header, else a temperature or number in its name
(:func:`diffpy.sgpredict.paths.value_from_name`), else its position.

Examples
--------
>>> import numpy
>>> from diffpy.sgpredict import predict
>>> r = numpy.arange(0, 30, 0.01)
>>> rng = numpy.random.default_rng(0)
>>> results = predict(r, rng.normal(size=(2, r.size)), top=2)
>>> series_x(results)
('file order', [1.0, 2.0])
>>> rows = series_rows(results, top=2)
>>> list(rows[0])[:5]
['file', 'in_domain', 'domain_score', 'x', 'x_kind']
"""

import csv
from pathlib import Path

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.paths import check_output

__all__ = ["series_x", "series_rows", "write_csv", "series_figure"]


def series_x(results):
    """Return ``(label, values)``: what varies along the series.

    The header temperature when every file has one; else the value in
    every file name (a temperature when written with its unit); else the
    file order 1, 2, ...

    Examples
    --------
    >>> from types import SimpleNamespace as R
    >>> series_x([R(meta={}, name="x_300K.gr"), R(meta={}, name="x_10K.gr")])
    ('temperature (K)', [300.0, 10.0])
    """
    from diffpy.sgpredict.paths import value_from_name

    temps = [r.meta.get("temperature") for r in results]
    if results and all(t is not None for t in temps):
        return "temperature (K)", [float(t) for t in temps]
    parsed = [value_from_name(r.name) for r in results]
    kinds = {k for k, _ in parsed}
    if results and None not in kinds and len(kinds) == 1:
        label = {
            "temperature": "temperature (K)",
            "value": "value in file name",
            "index": "index in file name",
        }[kinds.pop()]
        return label, [v for _, v in parsed]
    return "file order", [float(i + 1) for i in range(len(results))]


def series_rows(results, top=3):
    """Return one dictionary per result, ready for a CSV writer.

    Columns: ``file``, ``in_domain``, ``domain_score``, ``x``, ``x_kind``,
    ``composition``, ``radiation``, ``top1_group`` ...
    ``top{k}_probability``, the seven crystal-system probabilities and
    ``warnings``.
    """
    label, xs = series_x(results)
    rows = []
    for result, x in zip(results, xs):
        row = {
            "file": result.path or result.name,
            "in_domain": result.in_domain,
            "domain_score": (
                round(result.domain.score, 4) if result.domain else ""
            ),
            "x": x,
            "x_kind": label,
            "composition": result.composition or "",
            "radiation": result.meta.get("radiation") or "",
        }
        for i in range(top):
            if i < len(result.candidates):
                c = result.candidates[i]
                row[f"top{i + 1}_group"] = f"{c.symbol} ({c.number})"
                row[f"top{i + 1}_probability"] = round(c.probability, 6)
            else:
                row[f"top{i + 1}_group"] = ""
                row[f"top{i + 1}_probability"] = ""
        for system in spacegroups.CRYSTAL_SYSTEMS:
            row[system] = round(result.crystal_systems[system], 6)
        row["warnings"] = " | ".join(result.warnings)
        rows.append(row)
    return rows


def write_csv(results, path, top=3):
    """Write :func:`series_rows` to a CSV file.

    Raises
    ------
    InputError
        When the file cannot be written (missing folder, a folder of
        that name, no permission).
    """
    path = Path(path)
    check_output(path, "the CSV")
    rows = series_rows(results, top=top)
    try:
        with open(path, "w", newline="", encoding="utf-8") as fp:
            writer = csv.DictWriter(
                fp, fieldnames=list(rows[0]) if rows else ["file"]
            )
            writer.writeheader()
            writer.writerows(rows)
    except OSError as exc:
        raise InputError(
            f"{path}: cannot write ({exc.strerror or exc})"
        ) from None
    return path


def series_figure(results, ngroups=4):
    """Draw the leading groups' probabilities along the series.

    The groups shown are those with the largest probability anywhere in
    the series; files out of domain are drawn with open markers.

    Parameters
    ----------
    results : list of PredictionResult
    ngroups : int
        How many groups to draw.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import numpy
    from matplotlib.figure import Figure

    label, xs = series_x(results)
    probs = numpy.array([r.probabilities for r in results])
    numbers = results[0].labels or list(spacegroups.NUMBERS)
    best = numpy.argsort(probs.max(axis=0))[::-1][:ngroups]
    order = numpy.argsort(xs, kind="stable")
    x = numpy.asarray(xs)[order]
    inside = numpy.array([r.in_domain for r in results])[order]
    fig = Figure(figsize=(8, 4.2))
    ax = fig.subplots()
    for i, k in enumerate(best):
        y = probs[order, k]
        info = spacegroups.get(numbers[k])
        color = f"C{i}"
        ax.plot(
            x, y, color=color, lw=1.4, label=f"{info.symbol} ({info.number})"
        )
        ax.plot(x[inside], y[inside], "o", color=color, ms=4)
        ax.plot(x[~inside], y[~inside], "o", mfc="none", color=color, ms=5)
    ax.set_xlabel(label)
    ax.set_ylabel("probability")
    ax.set_ylim(0, 1)
    if label == "file order" and len(results) <= 20:
        ax.set_xticks(
            x,
            [results[i].name for i in order],
            rotation=60,
            ha="right",
            fontsize=7,
        )
    title = "space-group probabilities along the series"
    if not inside.all():
        title += f" (open: out of domain, {int((~inside).sum())})"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig

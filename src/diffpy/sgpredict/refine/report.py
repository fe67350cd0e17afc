"""The ranking as text, CSV and JSON.

:func:`format_table` gives the aligned table printed by ``refine
--fit``; :func:`rows_for_json` the rows for ``--json``;
:func:`write_tables` writes ``ranking.txt``, ``ranking.csv`` and
``ranking.json`` into the output folder.

Examples
--------
>>> from diffpy.sgpredict.refine.report import rows_for_json
>>> rows_for_json([{"rank": 1, "rw": 0.1, "structure": {}}])
[{'rank': 1, 'rw': 0.1}]
"""

import csv
import json
from pathlib import Path

import numpy

__all__ = [
    "format_table",
    "JSON_KEYS",
    "rows_for_json",
    "write_tables",
    "SCORE_LEGEND",
]

#: One line saying how the score column is made.
SCORE_LEGEND = (
    "score = n_eff ln(Rw^2) + nfree ln(n_eff) - 2 ln(prob) + density "
    "prior; lower is better"
)


def _fmt(value, fmt):
    return "-" if value is None else format(value, fmt)


_COLUMNS = (
    "rank",
    "group",
    "symbol",
    "prob",
    "Rw",
    "nfree",
    "score",
    "route",
    "a",
    "b",
    "c",
    "alpha",
    "beta",
    "gamma",
    "time_s",
    "status",
)


def format_table(rows):
    """Return the ranking as an aligned text table.

    Examples
    --------
    >>> print(format_table([{"rank": 1, "number": 225, "symbol": "Fm-3m",
    ...     "probability": 0.9, "rw": 0.05, "cell": [3.52] * 3 + [90] * 3,
    ...     "nfree": 6, "score": -850.2, "route": "prototype",
    ...     "status": "ok", "seconds": 2.0}]))
    ... # doctest: +NORMALIZE_WHITESPACE
    rank  group  symbol  prob   Rw      nfree  score   route      a      b
      c      alpha  beta   gamma  time_s  status
    1     225    Fm-3m   0.900  0.0500  6      -850.2  prototype  3.520
      3.520  3.520  90.00  90.00  90.00  2.0     ok
    """
    lines = [_COLUMNS]
    for row in rows:
        cell = row.get("cell") or [None] * 6
        lines.append(
            (
                str(row["rank"]),
                str(row["number"]),
                row["symbol"],
                _fmt(row.get("probability"), ".3f"),
                _fmt(row.get("rw"), ".4f"),
                _fmt(row.get("nfree"), "d"),
                _fmt(row.get("score"), ".1f"),
                row.get("route") or "-",
                *(_fmt(v, ".3f") for v in cell[:3]),
                *(_fmt(v, ".2f") for v in cell[3:]),
                _fmt(row.get("seconds"), ".1f"),
                row.get("status") or "-",
            )
        )
    widths = [
        max(len(line[i]) for line in lines) for i in range(len(_COLUMNS))
    ]
    text = [
        "  ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip()
        for line in lines
    ]
    for row in rows:
        if row.get("message"):
            text.append(f"# {row['number']} {row['symbol']}: {row['message']}")
    return "\n".join(text)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (numpy.floating, numpy.integer)):
        return obj.item()
    return obj


#: Keys of a ranking row that ``--json`` and ``ranking.json`` give.
JSON_KEYS = (
    "rank",
    "number",
    "symbol",
    "probability",
    "rw",
    "cell",
    "nfree",
    "rw_iso",
    "nfree_iso",
    "score",
    "density_penalty",
    "route",
    "status",
    "message",
    "seconds",
    "start",
    "tried",
    "notes",
    "folder",
)


def rows_for_json(rows):
    """Rows reduced to :data:`JSON_KEYS`, JSON-ready.

    Examples
    --------
    >>> rows_for_json([{"rank": 1, "rw": numpy.float64(0.1)}])
    [{'rank': 1, 'rw': 0.1}]
    """
    return [_jsonable({k: r[k] for k in JSON_KEYS if k in r}) for r in rows]


def write_tables(rows, outdir):
    """Write ``ranking.txt``, ``ranking.csv`` and ``ranking.json``.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_tables([{"rank": 1, "number": 225, "symbol": "Fm-3m",
    ...         "probability": None, "rw": 0.05, "nfree": 6}], tmp)
    ...     sorted(p.name for p in Path(tmp).iterdir())
    ['ranking.csv', 'ranking.json', 'ranking.txt']
    """
    outdir = Path(outdir)
    text = format_table(rows)
    if rows and rows[0].get("n_eff"):
        text += (
            "\n# score = n_eff ln(Rw^2) + nfree ln(n_eff) - 2 ln(prob) "
            f"+ density prior, n_eff = {rows[0]['n_eff']:.0f}; lower is "
            "better"
        )
    (outdir / "ranking.txt").write_text(text + "\n")
    (outdir / "ranking.json").write_text(
        json.dumps(rows_for_json(rows), indent=1) + "\n"
    )
    with open(outdir / "ranking.csv", "w", newline="") as fp:
        w = csv.writer(fp)
        w.writerow(
            [
                "rank",
                "number",
                "symbol",
                "probability",
                "rw",
                "nfree",
                "score",
                "route",
                "a",
                "b",
                "c",
                "alpha",
                "beta",
                "gamma",
                "seconds",
                "status",
                "start",
                "message",
            ]
        )
        for row in rows:
            cell = row.get("cell") or [""] * 6
            w.writerow(
                [
                    row["rank"],
                    row["number"],
                    row["symbol"],
                    "" if row["probability"] is None else row["probability"],
                    "" if row["rw"] is None else f"{row['rw']:.5f}",
                    "" if row["nfree"] is None else row["nfree"],
                    "" if row.get("score") is None else f"{row['score']:.2f}",
                    row.get("route") or "",
                    *[("" if v == "" else f"{v:.5f}") for v in cell],
                    row.get("seconds"),
                    row.get("status"),
                    row.get("start") or "",
                    row.get("message") or "",
                ]
            )

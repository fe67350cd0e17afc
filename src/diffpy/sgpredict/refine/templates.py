"""Refinement templates for each candidate space group.

:func:`write_templates` writes one folder per candidate with

``start.cif``
    the starting structure in the group's standard (diffpy) setting;
``fit.py``
    a diffpy.srfit / diffpy.cmi recipe, runnable as ``python fit.py``;
    it uses srfit's ``PDFGenerator`` when diffpy.srreal is installed and
    the builtin generator of diffpy.sgpredict otherwise
    (``--engine builtin`` forces it);
``fit.dp-in``
    a macro for ``diffpy.apps runmacro``
    (:mod:`~diffpy.sgpredict.refine.macro`);
``README.md``
    what is in the folder and how to load it in PDFgui;

and a copy of the data file.

Examples
--------
>>> from diffpy.sgpredict.refine import write_templates
>>> write_templates("Ni.gr", [225, 221], "fits")    # doctest: +SKIP
"""

import shutil
from pathlib import Path

from diffpy.sgpredict.errors import SgpredictError
from diffpy.sgpredict.refine.candidates import (
    as_candidates,
    check_options,
    folder_name,
    header_composition,
)
from diffpy.sgpredict.refine.cifout import write_cif
from diffpy.sgpredict.refine.fitdata import DEFAULT_QMAX, prepare_data
from diffpy.sgpredict.refine.fitting import RecipeSpec
from diffpy.sgpredict.refine.macro import macro_text
from diffpy.sgpredict.refine.pdfgui import (
    pdfgui_available,
    write_pdfgui_project,
)
from diffpy.sgpredict.refine.peaks import first_strong_peak
from diffpy.sgpredict.refine.starting import starting_structure
from diffpy.sgpredict.version import __version__

__all__ = [
    "write_templates",
    "refresh_templates",
    "notable_notes",
    "templates_for_json",
]


_FIT_PY = '''\
"""diffpy.srfit recipe: refine {symbol} ({number}) against {data_name}.

Written by diffpy.sgpredict {version}.  Run it with

    python fit.py                  # srreal's PDFGenerator when installed
    python fit.py --engine builtin # diffpy.sgpredict's numpy generator

Options: --rmin, --rmax (fit range, A), --max-nfev (evaluations per
step), --no-plot.  Results go to fit-results.txt, refined.cif (in
{symbol}) and fit.png in this folder.

The recipe is built by diffpy.sgpredict.refine.fitting.build_recipe and
refined by refine_recipe: the same code as ``diffpy.sgpredict refine
--fit``.  To change the model, build the recipe yourself:

    recipe, generator, fitdata, structure = recipe_from_spec(SPEC)
    recipe.fix("xyz")              # any diffpy.srfit FitRecipe call
    refine_recipe(recipe, generator, fitdata.g)

Starting structure: start.cif ({start_name}, {start_source}).
{qmax_comment}
"""

from pathlib import Path

from diffpy.sgpredict.refine.fitting import (  # noqa: F401
    RecipeSpec,
    recipe_from_spec,
    refine_recipe,
    run_spec,
)

HERE = Path(__file__).resolve().parent

SPEC = RecipeSpec(
    data=str(HERE / "{data_name}"),
    structure=str(HERE / "start.cif"),
    spacegroup={number},  # {symbol}
    qmax={qmax!r},  # {qmax_source}
    qmin={qmin!r},
    qdamp={qdamp!r},  # starting value, refined
    qbroad={qbroad!r},  # starting value, refined in the last step
    scattering="{scattering}",
    rmin={rmin!r},
    rmax={rmax!r},
)

if __name__ == "__main__":
    run_spec(SPEC, output=HERE)
'''


_README = """\
# Refinement of {symbol} ({number}) against `{data_name}`

Written by diffpy.sgpredict {version}.  Candidate {rank} of the
prediction{prob_text}.

| file | what |
| --- | --- |
| `start.cif` | starting structure in {symbol}: symmetry-unique atoms \
and the operations of the group, diffpy's setting ({start_text}) |
| `{data_name}` | the measured PDF (copy) |
| `fit.py` | diffpy.srfit / diffpy.cmi recipe: `python fit.py` \
(`--engine builtin` without diffpy.srreal) |
| `fit.dp-in` | diffpy.apps macro: `diffpy.apps runmacro fit.dp-in` |
| `fit.ddp` | PDFgui project (only when diffpy.pdfgui imports) |

Settings: Qmax = {qmax:g} 1/A ({qmax_source}), Qmin = {qmin:g} 1/A,
radiation {scattering}, fit range {rmin:g}-{rmax:g} A.

Notes: {notes}

## PDFgui

{pdfgui_text}
"""

_PDFGUI_STEPS = """\
diffpy.pdfgui is not importable here, so no `fit.ddp` project was
written (its control layer imports without wxPython:
`pip install --target DIR diffpy.pdfgui --no-deps` and
`PYTHONPATH=DIR` are enough to get one).
To set up the same refinement in PDFgui:

1. File > New Project; right-click *Fit Tree* > New Fit.
2. Right-click the fit > Insert Phase > Load `start.cif`.
3. Right-click the fit > Insert Data Set > Load `{data_name}`; on the
   data set's *Configuration* tab set the scattering type to
   {scattering}, Qmax = {qmax:g} and Qdamp = {qdamp:g}; on *Parameters* set
   the fit range {rmin:g} to {rmax:g} A.
4. On the phase's *Constraints* tab select all atoms, right-click >
   Symmetry Constraints, space group {symbol}, to tie coordinates and
   ADPs to the group.
5. Constrain the lattice parameters as {symbol} requires (for
   example `@1` for a, b and c of a cubic cell), the scale factor, delta2,
   and the ADPs; on *Parameters* refine them; press Refine.
"""


def _copy_data(data_path, folder):
    src = Path(data_path)
    dst = folder / src.name
    if dst.resolve() != src.resolve():
        shutil.copyfile(src, dst)
    return dst.name


def _qmax_source(fitdata, qmax):
    """Where Qmax came from, in words, and a comment for ``fit.py``."""
    header_qmax = any("Qmax not in" in n for n in fitdata.notes)
    if qmax is not None:
        source = "given"
    elif header_qmax:
        source = "default, not in the data header"
    else:
        source = "from the data header"
    comment = (
        f"Qmax = {DEFAULT_QMAX:g} 1/A is a default: the data "
        "header does not give it."
        if header_qmax and qmax is None
        else ""
    )
    return source, comment


def _write_folder(folder, start, data_path, fitdata, fmt):
    """``start.cif``, the data copy, ``fit.py``, ``fit.dp-in`` and the
    PDFgui project (when PDFgui imports); return the PDFgui text of the
    README."""
    write_cif(
        start.structure,
        start.number,
        folder / "start.cif",
        title=f"{start.symbol}_start",
    )
    data_name = _copy_data(data_path, folder)
    fmt.update(
        symbol=start.symbol,
        number=start.number,
        diffpy_name=start.diffpy_name,
        data_name=data_name,
        start_name=start.name,
        start_source=start.source,
    )
    spec = RecipeSpec(
        data=str(folder / data_name),
        structure=str(folder / "start.cif"),
        spacegroup=start.number,
        qmax=fmt["qmax"],
        qmin=fmt["qmin"],
        qdamp=fmt["qdamp"],
        qbroad=fmt["qbroad"],
        scattering=fmt["scattering"],
        rmin=fmt["rmin"],
        rmax=fmt["rmax"],
    )
    (folder / "fit.py").write_text(_FIT_PY.format(**fmt))
    (folder / "fit.dp-in").write_text(macro_text(spec, start, data_name))
    if not pdfgui_available():
        return _PDFGUI_STEPS.format(**fmt)
    write_pdfgui_project(spec, folder / "fit.ddp", start.symbol)
    return (
        "`fit.ddp` is a PDFgui project of this refinement (File > "
        "Open Project): structure with the symmetry constraints "
        f"of {start.symbol}, data set with Qmax and the fit range."
    )


def write_templates(
    data_path,
    candidates,
    outdir,
    composition=None,
    cif=None,
    rmin=1.5,
    rmax=20.0,
    qmax=None,
    library=None,
    radiation=None,
    known=True,
):
    """Write one refinement folder per candidate group.

    Long by its docstring and the per-candidate bookkeeping of
    results; the files are written by ``_write_folder`` and
    ``_write_readme``.

    The starting structure of each group is
    :func:`~diffpy.sgpredict.refine.starting_structure`'s: the first
    route of the same selection that ``--fit`` uses
    (:func:`~diffpy.sgpredict.refine.starting_structures`), without the
    Wyckoff enumeration, which needs seconds per group; ``--fit``
    rewrites ``start.cif`` with the start of its best route.

    Parameters
    ----------
    data_path : str or path
        The measured PDF.
    candidates : list
        Space-group numbers or symbols, or prediction candidates
        (objects with ``number`` and optionally ``probability``).
    outdir : str or path
        Parent folder; each candidate gets ``sgNNN_<symbol>/``.
    composition : str, optional
        Chemical formula; default: the data header's composition.
    cif : str or path, optional
        The user's structure (used for the groups it belongs to).
    rmin, rmax : float
        Fit range written into the templates (A).
    qmax : float, optional
        Overrides the header's Qmax.
    library : str or path, optional
        A folder of CIFs searched by group and composition.
    radiation : {"xray", "neutron"}, optional
        The radiation of the data when the header does not say (or to
        override it); written into ``fit.py`` and ``fit.dp-in``.
    known : bool
        Start from the known compound of the composition's formula in
        the group when there is one (route ``known``).

    Returns
    -------
    list of dict
        Per candidate: ``number``, ``symbol``, ``folder`` (or None),
        ``start`` (name), ``notes`` and ``error`` (a one-line message
        when no starting structure could be made; the other candidates
        are still written).

    Examples
    --------
    >>> out = write_templates("Ni.gr", [225, 221], "fits",
    ...                       composition="Ni")    # doctest: +SKIP
    >>> sorted(p.name for p in Path(out[0]["folder"]).iterdir())
    ... # doctest: +SKIP
    ['Ni.gr', 'README.md', 'fit.dp-in', 'fit.py', 'start.cif']
    """
    check_options(
        composition=composition,
        cif=cif,
        library=library,
        rmin=rmin,
        rmax=rmax,
        qmax=qmax,
        radiation=radiation,
    )
    fitdata = prepare_data(data_path, rmin, rmax, 0.01, qmax, radiation)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    if composition is None:
        composition = header_composition(data_path)
    r1 = first_strong_peak(fitdata.r, fitdata.g)
    qmax_source, qmax_comment = _qmax_source(fitdata, qmax)
    settings = dict(
        version=__version__,
        qmin=float(fitdata.qmin),
        qmax=float(fitdata.qmax),
        qmax_source=qmax_source,
        qmax_comment=qmax_comment,
        qdamp=float(fitdata.qdamp),
        qbroad=float(fitdata.qbroad),
        scattering=fitdata.scattering,
        rmin=float(rmin),
        rmax=float(rmax),
    )
    notes = list(fitdata.notes)
    out = []
    for rank, cand in enumerate(as_candidates(candidates), 1):
        item = {
            "number": cand.number,
            "symbol": cand.symbol,
            "probability": cand.probability,
            "folder": None,
            "start": None,
            "notes": list(notes),
            "error": None,
        }
        out.append(item)
        try:
            start = starting_structure(
                cand.number,
                composition=composition,
                cif=cif,
                r1=r1,
                library=library,
                scattering=fitdata.scattering,
                known=known,
            )
        except SgpredictError as exc:
            item["error"] = str(exc)
            continue
        folder = outdir / folder_name(cand)
        folder.mkdir(parents=True, exist_ok=True)
        fmt = dict(settings)
        pdfgui_text = _write_folder(folder, start, data_path, fitdata, fmt)
        item["notes"] = start.notes + item["notes"]
        item.update(folder=str(folder), start=start.name)
        _write_readme(
            folder, cand, rank, start, item["notes"], pdfgui_text, fmt
        )
    return out


def refresh_templates(folder, row, fitdata, data_name, rmin, rmax):
    """Rewrite ``fit.dp-in`` (and ``fit.ddp``) of a template folder for
    the ``start.cif`` that ``--fit`` left there.

    ``--fit`` rewrites ``start.cif`` with the start of its best route
    (with anisotropic ADPs when those were kept); ``fit.py`` reads that
    file, and the macro and the PDFgui project, whose variables are
    written out, are made again from it here.  Folders without
    ``fit.dp-in`` (no templates were written) are left alone.

    Parameters
    ----------
    folder : str or path
        The candidate's folder.
    row : dict
        Its ranking row (``number``, ``symbol``, ``start``, ``route``).
    fitdata : FitData
        The data settings (Qmax, Qmin, Qdamp, Qbroad, radiation).
    data_name : str
        File name of the data copy in the folder.
    rmin, rmax : float
        Fit range (A).

    Returns
    -------
    bool
        Whether the files were rewritten.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> refresh_templates("/no/such/folder", {"rw": 0.1},
    ...                   SimpleNamespace(), "Ni.gr", 1.5, 20.0)
    False
    """
    from diffpy.structure import loadStructure

    from diffpy.sgpredict.refine.startmodel import StartingStructure

    folder = Path(folder)
    if not (folder / "fit.dp-in").exists() or row.get("rw") is None:
        return False
    start = StartingStructure(
        row["number"],
        row["symbol"],
        loadStructure(str(folder / "start.cif")),
        row.get("route") or "",
        row.get("start") or "",
    )
    spec = RecipeSpec(
        data=str(folder / data_name),
        structure=str(folder / "start.cif"),
        spacegroup=start.number,
        qmax=float(fitdata.qmax),
        qmin=float(fitdata.qmin),
        qdamp=float(fitdata.qdamp),
        qbroad=float(fitdata.qbroad),
        scattering=fitdata.scattering,
        rmin=float(rmin),
        rmax=float(rmax),
    )
    (folder / "fit.dp-in").write_text(macro_text(spec, start, data_name))
    if (folder / "fit.ddp").exists() and pdfgui_available():
        write_pdfgui_project(spec, folder / "fit.ddp", start.symbol)
    return True


def _write_readme(folder, cand, rank, start, notes, pdfgui_text, fmt):
    """The folder's ``README.md``: files, settings, notes, PDFgui."""
    prob_text = (
        f" (probability {cand.probability:.3f})"
        if cand.probability is not None
        else ""
    )
    (folder / "README.md").write_text(
        _README.format(
            rank=rank,
            prob_text=prob_text,
            start_text=f"{start.name}, {start.source}, licence "
            f"{start.licence or '-'}",
            notes="; ".join(notes) or "none",
            pdfgui_text=pdfgui_text,
            **fmt,
        )
    )


def notable_notes(written):
    """Notes of :func:`write_templates`' results worth telling the user.

    Those that say a default was used or something was not done (the
    words "default" or "not "): Qmax or Qdamp from defaults, a CIF that
    was not used.  Each note once, in order.

    Examples
    --------
    >>> notable_notes([{"notes": ["prototype A1", "Qdamp starts at the "
    ...     "default 0.04 1/A"]}, {"notes": ["Qdamp starts at the "
    ...     "default 0.04 1/A"]}])
    ['Qdamp starts at the default 0.04 1/A']
    """
    out = []
    for item in written:
        for note in item["notes"]:
            if note not in out and ("default" in note or "not " in note):
                out.append(note)
    return out


def templates_for_json(written):
    """:func:`write_templates`' results as JSON-ready rows.

    Examples
    --------
    >>> templates_for_json([{"number": 225, "symbol": "Fm-3m",
    ...     "probability": None, "folder": "f", "start": "A1",
    ...     "notes": [], "error": None}])[0]["rw"] is None
    True
    """
    return [
        {
            "number": w["number"],
            "symbol": w["symbol"],
            "probability": w["probability"],
            "rw": None,
            "folder": w["folder"],
            "start": w["start"],
            "error": w["error"],
        }
        for w in written
    ]

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
    a macro for ``diffpy.apps runmacro``;
``README.md``
    what is in the folder and how to load it in PDFgui;
a copy of the data file.

Examples
--------
>>> from diffpy.sgpredict.refine import write_templates
>>> write_templates("Ni.gr", [225, 221], "fits")    # doctest: +SKIP
"""

import re
import shutil
from pathlib import Path

from diffpy.sgpredict.errors import SgpredictError
from diffpy.sgpredict.refine.candidates import (
    as_candidates,
    folder_name,
    header_composition,
    usable_cif,
)

__all__ = [
    "folder_name",
    "write_templates",
    "macro_text",
    "check_macro",
    "parse_macro",
]


def _srfit_names(start):
    """Variable names that diffpy.apps' PDFAdapter will create."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import copy

        from diffpy.srfit.structure.diffpyparset import DiffpyStructureParSet
        from diffpy.srfit.structure.sgconstraints import (
            constrainAsSpaceGroup,
        )

        phase = DiffpyStructureParSet("phase", copy.deepcopy(start.structure))
        sgpars = constrainAsSpaceGroup(phase, start.diffpy_name)
    return {
        "lat": [(p.name, p.value) for p in sgpars.latpars],
        "adp": [(p.name, p.value) for p in sgpars.adppars],
        "xyz": [(p.name, p.value) for p in sgpars.xyzpars],
    }


def macro_text(start, data_name, qmin, qmax, rmin, rmax, rstep=0.01):
    """Return a ``diffpy.apps runmacro`` macro for one candidate.

    Parameters
    ----------
    start : StartingStructure
        The candidate's starting structure (written as ``start.cif``).
    data_name : str
        File name of the data in the folder.
    qmin, qmax : float
        Q range of the measurement (1/A).
    rmin, rmax, rstep : float
        Calculation range (A).

    Returns
    -------
    str

    Examples
    --------
    >>> from diffpy.sgpredict.refine import starting_structure
    >>> text = macro_text(starting_structure(225, "Ni"), "Ni.gr", 0.5, 25,
    ...                   1.5, 20)
    >>> "set G1 spacegroup as Fm-3m" in text
    True
    """
    names = _srfit_names(start)
    lines = [
        f"# diffpy.apps runmacro: refine {start.symbol} "
        f"({start.number}) against {data_name}",
        f"# start: {start.name} ({start.source})",
        "# run: diffpy.apps runmacro fit.dp-in",
        'load structure G1 from "start.cif"',
        f'load profile exp from "{data_name}"',
        "",
        f"set G1 spacegroup as {start.diffpy_name}",
        f"set exp q_range as {qmin:g} {qmax:g}",
        f"set exp calculation_range as {rmin:g} {rmax:g} {rstep:g}",
        "create equation variables s0",
        'set equation as "s0*G1"',
        'save to "fit-results.json"',
        "",
        "variables:",
        "---",
        "- s0: 0.5",
    ]
    for name, value in names["lat"]:
        lines.append(f"- G1.{name}: {value:.5f}")
    for name, value in names["adp"]:
        lines.append(f"- G1.{name}: {value:.4f}")
    lines.append("- G1.delta2: 2.0")
    lines.append("- qdamp: 0.04")
    lines.append("- qbroad: 0.01")
    for name, value in names["xyz"]:
        lines.append(f"- G1.{name}: {value:.5f}")
    lines.append("---")
    return "\n".join(lines) + "\n"


_MACRO_COMMAND = re.compile(
    r"^(load\s+(structure|profile)\s+\w+\s+from\s+\"[^\"]+\""
    r"|set\s+\w+(\s+\w+)?\s+as\s+\S.*"
    r"|create\s+equation\s+variables(\s+\S+)+"
    r"|save\s+to\s+\"[^\"]+\")$"
)


def check_macro(text):
    """Check a macro against the runmacro grammar (no diffpy.apps needed).

    A small re-statement of the grammar of ``diffpy.apps``: commands
    ``load``, ``set``, ``create``, ``save``, then an optional
    ``variables:`` block between ``---`` lines holding a YAML list.

    Raises
    ------
    ValueError
        With the line that does not fit.

    Examples
    --------
    >>> check_macro('load structure G1 from "s.cif"\\nvariables:\\n---\\n'
    ...             '- s0: 1\\n---\\n')
    """
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = (
            lines[i].split("#", 1)[0].strip()
            if not lines[i].lstrip().startswith("set equation")
            else lines[i].strip()
        )
        i += 1
        if not line:
            continue
        if line == "variables:":
            rest = [x.strip() for x in lines[i:]]
            rest = [x for x in rest if x and not x.startswith("#")]
            if len(rest) < 2 or rest[0] != "---" or rest[-1] != "---":
                raise ValueError("variables block must sit between '---'")
            for item in rest[1:-1]:
                if not re.match(r"^-\s+[\w.]+(\s*:\s*\S+)?$", item):
                    raise ValueError(f"bad variables item: {item!r}")
            return None
        if not _MACRO_COMMAND.match(line):
            raise ValueError(f"line {i}: not a runmacro command: {line!r}")
    return None


def parse_macro(path):
    """Parse a ``.dp-in`` file with diffpy.apps' own parser if present.

    The file's ``load`` paths are resolved in its folder.  Without
    diffpy.apps, :func:`check_macro` checks the grammar instead.

    Returns
    -------
    dict
        ``parser`` (``"diffpy.apps"`` or ``"builtin"``) and, with
        diffpy.apps, ``inputs`` (what the macro sets).

    Examples
    --------
    >>> parse_macro("fits/sg225_Fm-3m/fit.dp-in")["parser"]  # doctest: +SKIP
    'diffpy.apps'
    """
    import os

    path = Path(path)
    text = path.read_text()
    try:
        from diffpy.apps.app_runmacro import MacroParser
    except Exception:
        check_macro(text)
        return {"parser": "builtin"}
    cwd = os.getcwd()
    try:
        os.chdir(path.parent)
        parser = MacroParser()
        parser.parse(text)
    finally:
        os.chdir(cwd)
    return {"parser": "diffpy.apps", "inputs": parser.inputs}


_FIT_PY = '''\
"""diffpy.srfit recipe: refine {symbol} ({number}) against {data_name}.

Written by diffpy.sgpredict {version}.  Run it with

    python fit.py                  # srreal's PDFGenerator when installed
    python fit.py --engine builtin # diffpy.sgpredict's numpy generator

Options: --rmin, --rmax (fit range, A), --max-nfev (evaluations per
step), --no-plot.  Results go to fit-results.txt, refined.cif and
fit.png in this folder.

Starting structure: start.cif ({start_name}, {start_source}).
{qmax_comment}
"""

import argparse
import warnings
from pathlib import Path

import numpy
from scipy.optimize import least_squares

from diffpy.srfit.fitbase import FitContribution, FitRecipe, FitResults
from diffpy.srfit.fitbase import Profile
from diffpy.srfit.structure import constrainAsSpaceGroup
from diffpy.structure import loadStructure

HERE = Path(__file__).resolve().parent
DATA = HERE / "{data_name}"
START = HERE / "start.cif"
SPACEGROUP = "{diffpy_name}"  # {symbol}, number {number}
QMIN = {qmin!r}
QMAX = {qmax!r}  # {qmax_source}
QDAMP = {qdamp!r}  # starting value, refined
QBROAD = {qbroad!r}  # starting value, refined in the last step
SCATTERING = "{scattering}"


def make_generator(engine):
    """Return a PDF generator: srreal's when it can, else the builtin."""
    if engine in ("auto", "srreal"):
        try:
            from diffpy.srfit.pdf import PDFGenerator

            gen = PDFGenerator("G1")
            gen._calc  # fails without diffpy.srreal
            return gen, "srreal"
        except Exception:
            if engine == "srreal":
                raise
    from diffpy.sgpredict.refine.fitting import BuiltinPDFGenerator

    return BuiltinPDFGenerator("G1"), "builtin"


def load_profile(rmin, rmax):
    """Read the data into an srfit Profile and set the fit range."""
    profile = Profile()
    try:
        from diffpy.srfit.pdf import PDFParser

        parser = PDFParser()
        parser.parseFile(str(DATA))
        profile.loadParsedData(parser)
    except Exception:
        # headers PDFParser does not understand: read the columns
        from diffpy.utils.parsers import load_data

        xy = load_data(str(DATA))
        profile.setObservedProfile(xy[:, 0], xy[:, 1])
    profile.setCalculationRange(xmin=rmin, xmax=rmax, dx=0.02)
    return profile


def make_recipe(engine, rmin, rmax):
    """Build the FitRecipe: scale, cell, ADPs, xyz, Qdamp, delta2."""
    profile = load_profile(rmin, rmax)
    gen, engine = make_generator(engine)
    structure = loadStructure(str(START))
    if engine == "srreal":
        gen.setStructure(structure, periodic=True)
        gen.setQmin(QMIN)
        if SCATTERING == "neutron":
            gen.setScatteringType("N")
    else:
        gen.setStructure(structure)
        gen.meta["qmin"] = QMIN
        gen.meta["scattering"] = SCATTERING
    gen.setQmax(QMAX)
    contribution = FitContribution("pdf")
    contribution.addProfileGenerator(gen)
    contribution.setProfile(profile, xname="r")
    recipe = FitRecipe()
    recipe.addContribution(contribution)
    recipe.fithooks[0].verbose = 0
    recipe.addVar(gen.scale, 0.5, tag="scale")
    recipe.addVar(gen.qdamp, QDAMP, tag="profile").boundRange(0, 0.12)
    recipe.addVar(gen.delta2, 1.0, tag="profile").boundRange(0, 8)
    recipe.addVar(gen.qbroad, QBROAD, tag="qbroad").boundRange(0, 0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sgpars = constrainAsSpaceGroup(
            gen.phase, SPACEGROUP, constrainadps=False
        )
    tags = ["scale", "profile", "qbroad"]
    for par in sgpars.latpars:
        recipe.addVar(par, tag="lat")
        tags.append("lat")
    # one isotropic ADP per symmetry orbit
    from diffpy.structure.spacegroups import GetSpaceGroup
    from diffpy.structure.symmetryutilities import SymmetryConstraints

    atoms = gen.phase.getScatterers()
    xyz = [[a.x.value, a.y.value, a.z.value] for a in atoms]
    orbits = SymmetryConstraints(GetSpaceGroup(SPACEGROUP), xyz).coremap
    for core, members in sorted(orbits.items()):
        name = "Uiso_%d" % core
        var = recipe.addVar(atoms[core].Uiso, name=name, tag="adp")
        var.boundRange(0.0005, 0.1)
        for j in members:
            if j != core:
                recipe.constrain(atoms[j].Uiso, name)
        tags.append("adp")
    for par in sgpars.xyzpars:
        recipe.addVar(par, tag="xyz")
        tags.append("xyz")
    return recipe, set(tags), engine


def refine(recipe, tags, max_nfev):
    """Free the variables step by step and refine with least_squares."""
    for step in (["scale"], ["scale", "lat"],
                 ["scale", "lat", "adp", "profile"], ["xyz"], ["all"]):
        step = [t for t in step if t == "all" or t in tags]
        if not step:
            continue
        recipe.fix("all")
        recipe.free(*step)
        lo, hi = recipe.getBounds2()
        x0 = numpy.clip(recipe.values, lo, hi)
        least_squares(recipe.residual, x0, bounds=(lo, hi),
                      x_scale="jac", max_nfev=max_nfev)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", default="auto",
                    choices=("auto", "srreal", "builtin"))
    ap.add_argument("--rmin", type=float, default={rmin!r})
    ap.add_argument("--rmax", type=float, default={rmax!r})
    ap.add_argument("--max-nfev", type=int, default=60)
    ap.add_argument("--no-plot", action="store_true")
    args = ap.parse_args(argv)
    recipe, tags, engine = make_recipe(args.engine, args.rmin, args.rmax)
    refine(recipe, tags, args.max_nfev)
    results = FitResults(recipe)
    text = "engine: %s\\n" % engine + results.formatResults()
    (HERE / "fit-results.txt").write_text(text)
    gen = recipe.pdf.G1
    stru = gen.stru if hasattr(gen, "stru") else gen.phase.stru
    stru.write(str(HERE / "refined.cif"), "cif")
    print("Rw = %.5f (%s engine)" % (results.rw, engine))
    if not args.no_plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        r = recipe.pdf.profile.x
        gobs = recipe.pdf.profile.y
        gcalc = recipe.pdf.evaluate()
        diff = gobs - gcalc
        offset = gobs.min() - diff.max() - 0.1 * numpy.ptp(gobs)
        plt.plot(r, gobs, "o", mfc="none", ms=3, label="data")
        plt.plot(r, gcalc, "r-", label="fit")
        plt.plot(r, diff + offset, "g-", label="difference")
        plt.xlabel("r (A)")
        plt.ylabel("G (1/A^2)")
        plt.title("{symbol} ({number})  Rw = %.4f" % results.rw)
        plt.legend()
        plt.savefig(HERE / "fit.png", dpi=110)
    return results.rw


if __name__ == "__main__":
    main()
'''


_README = """\
# Refinement of {symbol} ({number}) against `{data_name}`

Written by diffpy.sgpredict {version}.  Candidate {rank} of the
prediction{prob_text}.

| file | what |
| --- | --- |
| `start.cif` | starting structure, all atoms of the conventional cell in \
the standard setting of {symbol} ({start_text}) |
| `{data_name}` | the measured PDF (copy) |
| `fit.py` | diffpy.srfit / diffpy.cmi recipe: `python fit.py` \
(`--engine builtin` without diffpy.srreal) |
| `fit.dp-in` | diffpy.apps macro: `diffpy.apps runmacro fit.dp-in` |

Settings: Qmax = {qmax:g} 1/A ({qmax_source}), Qmin = {qmin:g} 1/A,
radiation {scattering}, fit range {rmin:g}-{rmax:g} A.

Notes: {notes}

## PDFgui

{pdfgui_text}
"""

_PDFGUI_STEPS = """\
diffpy.pdfgui is not importable here, so no `.ddp` project was written.
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


def write_templates(
    data_path,
    candidates,
    outdir,
    composition=None,
    cif=None,
    rmin=1.5,
    rmax=20.0,
    qmax=None,
):
    """Write one refinement folder per candidate group.

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
    from diffpy.sgpredict.refine.fitting import (
        DEFAULT_QMAX,
        prepare_data,
    )
    from diffpy.sgpredict.refine.starting import (
        first_strong_peak,
        starting_structure,
    )
    from diffpy.sgpredict.version import __version__

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    fitdata = prepare_data(data_path, rmin, rmax, 0.01, qmax)
    if composition is None:
        composition = header_composition(data_path)
    r1 = first_strong_peak(fitdata.r, fitdata.g)
    header_qmax = any("Qmax not in" in n for n in fitdata.notes)
    qmax_source = (
        "given"
        if qmax is not None
        else (
            "default, not in the data header"
            if header_qmax
            else "from the data header"
        )
    )
    cif, cif_note = usable_cif(cif)
    notes = list(fitdata.notes) + ([cif_note] if cif_note else [])
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
                cand.number, composition=composition, cif=cif, r1=r1
            )
        except SgpredictError as exc:
            item["error"] = str(exc)
            continue
        folder = outdir / folder_name(cand)
        folder.mkdir(parents=True, exist_ok=True)
        start.to_cif(folder / "start.cif")
        data_name = _copy_data(data_path, folder)
        item["notes"] = start.notes + item["notes"]
        item.update(folder=str(folder), start=start.name)
        fmt = dict(
            symbol=start.symbol,
            number=start.number,
            diffpy_name=start.diffpy_name,
            data_name=data_name,
            version=__version__,
            start_name=start.name,
            start_source=start.source,
            qmin=float(fitdata.qmin),
            qmax=float(fitdata.qmax),
            qmax_source=qmax_source,
            qmax_comment=(
                f"Qmax = {DEFAULT_QMAX:g} 1/A is a default: the data "
                "header does not give it."
                if header_qmax and qmax is None
                else ""
            ),
            qdamp=float(fitdata.qdamp),
            qbroad=float(fitdata.qbroad),
            scattering=fitdata.scattering,
            rmin=float(rmin),
            rmax=float(rmax),
        )
        (folder / "fit.py").write_text(_FIT_PY.format(**fmt))
        (folder / "fit.dp-in").write_text(
            macro_text(
                start,
                data_name,
                fitdata.qmin,
                fitdata.qmax,
                rmin,
                rmax,
            )
        )
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
                notes="; ".join(item["notes"]) or "none",
                pdfgui_text=_PDFGUI_STEPS.format(**fmt),
                **fmt,
            )
        )
    return out

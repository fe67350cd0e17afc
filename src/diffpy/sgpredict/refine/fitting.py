"""Refine a starting structure against a measured PDF with diffpy.srfit.

The recipe is the usual diffpy.srfit one: a :class:`Profile` holding the
data, a PDF generator holding the structure as a
``DiffpyStructureParSet``, a :class:`FitContribution` and a
:class:`FitRecipe` whose structure variables come from
:func:`diffpy.srfit.structure.constrainAsSpaceGroup`.  When
diffpy.srreal is installed the generator is srfit's own
``PDFGenerator``; otherwise :class:`BuiltinPDFGenerator`, which wraps
:func:`diffpy.sgpredict.pdfcalc.calculate_pdf`, takes its place, so the
same refinement runs on a plain ``pip install``.

Examples
--------
>>> from diffpy.sgpredict.refine.fitting import fit_structure
>>> from diffpy.sgpredict.refine import starting_structure
>>> start = starting_structure(225, composition="Ni", r1=2.49)
>>> result = fit_structure("Ni.gr", start)          # doctest: +SKIP
>>> result["rw"] < 0.15                             # doctest: +SKIP
True
"""

import math
import time
import warnings
from dataclasses import dataclass

import numpy

from diffpy.sgpredict.errors import InputError

__all__ = [
    "BuiltinPDFGenerator",
    "FitData",
    "prepare_data",
    "build_recipe",
    "fit_structure",
    "refine_recipe",
    "RecipeSpec",
    "recipe_from_spec",
    "run_spec",
    "srreal_available",
    "DEFAULT_QMAX",
    "DEFAULT_QDAMP",
]

#: Qmax (1/A) assumed when the data header does not give one.
DEFAULT_QMAX = 25.0
#: Starting Qdamp (1/A) when the header does not give one (refined).
DEFAULT_QDAMP = 0.04


def srreal_available():
    """Return True when diffpy.srreal (and so srfit's PDFGenerator) works.

    Examples
    --------
    >>> srreal_available() in (True, False)
    True
    """
    try:
        import diffpy.srreal.pdfcalculator  # noqa: F401
    except (ImportError, OSError):  # not installed, or its library broken
        return False
    return True


class _Deadline(Exception):
    """Raised inside a residual when the time of a fit is up."""


class FitData:
    """The measured PDF cut to the fit range, with its settings.

    Attributes
    ----------
    r, g : numpy.ndarray
        Fit range of the data (every ``step``-th point).
    qmax, qmin, qdamp, qbroad : float
        Settings of the measurement (header or stated defaults).
    scattering : str
        ``"xray"`` or ``"neutron"``.
    notes : list of str
        Defaults that were used, in words.
    path : str
        The data file.
    """

    def __init__(self, r, g, qmax, qmin, qdamp, qbroad, scattering, notes):
        self.r = r
        self.g = g
        self.qmax = qmax
        self.qmin = qmin
        self.qdamp = qdamp
        self.qbroad = qbroad
        self.scattering = scattering
        self.notes = notes
        self.path = None


def _load(path):
    try:
        from diffpy.sgpredict.io import load_pdf
    except ImportError:  # pragma: no cover - io ships with the package
        load_pdf = None
    if load_pdf is not None:
        return load_pdf(path)
    from types import SimpleNamespace

    from diffpy.utils.parsers import load_data

    try:
        data = load_data(str(path))
    except (OSError, ValueError, IndexError) as exc:
        raise InputError(f"{path}: cannot read data ({exc})") from None
    return SimpleNamespace(r=data[:, 0], g=data[:, 1], meta={}, path=path)


def prepare_data(data, rmin=1.5, rmax=20.0, rstep=0.02, qmax=None):
    """Cut a measured PDF to the fit range and read its settings.

    Parameters
    ----------
    data : str, path or object with ``.r``, ``.g``, ``.meta``
        The measured PDF or its file.
    rmin, rmax : float
        Fit range in A.
    rstep : float
        Smallest point spacing used in the fit; denser data are thinned
        by an integer factor (the PDF is oversampled anyway).
    qmax : float, optional
        Overrides the header's Qmax.

    Returns
    -------
    FitData

    Examples
    --------
    >>> import numpy
    >>> from types import SimpleNamespace
    >>> r = numpy.arange(0, 30, 0.01)
    >>> d = prepare_data(SimpleNamespace(r=r, g=numpy.sin(r), meta={}))
    >>> d.qmax, float(round(d.r[0], 2)), float(round(d.r[1] - d.r[0], 2))
    (25.0, 1.5, 0.02)
    """
    path = None
    if not hasattr(data, "r"):
        path = str(data)
        data = _load(data)
    meta = {k.lower(): v for k, v in (getattr(data, "meta", {}) or {}).items()}
    r = numpy.asarray(data.r, dtype=float)
    g = numpy.asarray(data.g, dtype=float)
    notes = []
    if qmax is None:
        qmax = meta.get("qmax")
    if qmax is None or not qmax or not math.isfinite(float(qmax)):
        qmax = DEFAULT_QMAX
        notes.append(
            f"Qmax not in the data header; using the default "
            f"{DEFAULT_QMAX:g} 1/A (set it with --qmax)"
        )
    qdamp = meta.get("qdamp")
    if not qdamp:
        qdamp = DEFAULT_QDAMP
        notes.append(f"Qdamp starts at the default {DEFAULT_QDAMP:g} 1/A")
    qbroad = float(meta.get("qbroad") or 0.0)
    qmin = float(meta.get("qmin") or 0.0)
    mode = str(meta.get("mode") or meta.get("stype") or "xray").lower()
    scattering = "neutron" if mode.startswith("n") else "xray"
    keep = (r >= rmin - 1e-9) & (r <= rmax + 1e-9)
    if keep.sum() < 20:
        raise InputError(
            f"{path or 'data'}: fewer than 20 points between {rmin} and "
            f"{rmax} A; widen the fit range"
        )
    r, g = r[keep], g[keep]
    dr = float(numpy.median(numpy.diff(r)))
    every = max(1, int(round(rstep / dr))) if dr > 0 else 1
    r, g = r[::every], g[::every]
    out = FitData(
        r, g, float(qmax), qmin, float(qdamp), qbroad, scattering, notes
    )
    out.path = path
    return out


def _srfit_imports():
    """Import diffpy.srfit parts, failing with a clear message."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from diffpy.srfit.fitbase import (
                FitContribution,
                FitRecipe,
                FitResults,
                Profile,
                ProfileGenerator,
            )
            from diffpy.srfit.structure.diffpyparset import (
                DiffpyStructureParSet,
            )
            from diffpy.srfit.structure.sgconstraints import (
                constrainAsSpaceGroup,
            )
    except ImportError as exc:
        raise InputError(
            f"refinements need diffpy.srfit ({exc}); install it with "
            "'pip install diffpy.srfit six'"
        ) from None
    return (
        FitContribution,
        FitRecipe,
        FitResults,
        Profile,
        ProfileGenerator,
        DiffpyStructureParSet,
        constrainAsSpaceGroup,
    )


def _make_generator_class():
    ProfileGenerator = _srfit_imports()[4]
    DiffpyStructureParSet = _srfit_imports()[5]

    class _BuiltinPDFGenerator(ProfileGenerator):
        """srfit ProfileGenerator computing G(r) with the builtin code.

        Parameters (srfit names): ``scale``, ``qdamp``, ``qbroad``,
        ``delta1``, ``delta2`` and, after :meth:`setStructure`, the
        structure parameter set ``phase``.  ``meta`` holds ``qmax``,
        ``qmin`` and ``scattering``.
        """

        def __init__(self, name="G1"):
            super().__init__(name)
            self._newParameter("scale", 1.0)
            self._newParameter("qdamp", 0.0)
            self._newParameter("qbroad", 0.0)
            self._newParameter("delta1", 0.0)
            self._newParameter("delta2", 0.0)
            self.meta.update(qmax=DEFAULT_QMAX, qmin=0.0, scattering="xray")
            self.stru = None
            self.phase = None
            self.deadline = None
            self.ncalls = 0

        def setStructure(self, stru, name="phase"):
            """Hold a diffpy Structure as a DiffpyStructureParSet."""
            self.stru = stru
            self.phase = DiffpyStructureParSet(name, stru)
            self.addParameterSet(self.phase)
            return self.phase

        def setQmax(self, qmax):
            self.meta["qmax"] = float(qmax)

        def __call__(self, r):
            calculate_pdf = _calculator()
            if (
                self.deadline is not None
                and time.process_time() > self.deadline
            ):
                raise _Deadline()
            self.ncalls += 1
            r = numpy.asarray(r, dtype=float)
            step = float(numpy.min(numpy.diff(r))) if len(r) > 1 else 0.01
            rc, gc = calculate_pdf(
                self.stru,
                rmin=max(r[0] - 2 * step, step),
                rmax=r[-1] + 2 * step,
                rstep=step,
                qmin=self.meta["qmin"],
                qmax=self.meta["qmax"],
                qdamp=abs(self.qdamp.value),
                qbroad=abs(self.qbroad.value),
                delta1=self.delta1.value,
                delta2=self.delta2.value,
                scale=self.scale.value,
                scattering=self.meta["scattering"],
                uiso=None,
            )
            return numpy.interp(r, rc, gc)

    return _BuiltinPDFGenerator


_GENERATOR = None


def _calculator():
    """Return ``calculate_pdf`` bound to the builtin calculator."""
    try:
        from diffpy.sgpredict.pdfcalc import calculate_pdf
    except ImportError:
        calculate_pdf = None
    if calculate_pdf is not None:

        def run(structure, **kw):
            return calculate_pdf(structure, "builtin", **kw)

        return run
    from diffpy.sgpredict.pdfcalc import builtin

    def run(structure, scattering="xray", uiso=None, **kw):
        arrays = builtin.structure_arrays(
            structure, scattering=scattering, uiso=uiso
        )
        return builtin.pdf_from_arrays(arrays, **kw)

    return run


def BuiltinPDFGenerator(name="G1"):
    """Return a srfit ProfileGenerator that uses the builtin calculator.

    The class is made on first use so that importing this module does
    not need diffpy.srfit.

    Examples
    --------
    >>> gen = BuiltinPDFGenerator("G1")
    >>> sorted(gen._parameters)[:3]
    ['delta1', 'delta2', 'qbroad']
    """
    global _GENERATOR
    if _GENERATOR is None:
        _GENERATOR = _make_generator_class()
    return _GENERATOR(name)


def build_recipe(fitdata, structure, number, calculator="auto"):
    """Return a diffpy.srfit FitRecipe for one structure.

    Parameters
    ----------
    fitdata : FitData
        From :func:`prepare_data`.
    structure : diffpy.structure.Structure
        Starting structure in diffpy's setting of the group.
    number : int
        Space-group number; its diffpy name goes to
        ``constrainAsSpaceGroup``.
    calculator : {"auto", "builtin", "srreal"}
        ``auto`` uses srreal when installed.

    Returns
    -------
    recipe : FitRecipe
        Variables tagged ``scale``, ``lat``, ``adp``, ``xyz``,
        ``profile``.
    generator : ProfileGenerator

    Examples
    --------
    >>> recipe, gen = build_recipe(data, stru, 225)  # doctest: +SKIP
    """
    from diffpy.sgpredict import spacegroups

    (
        FitContribution,
        FitRecipe,
        _,
        Profile,
        _,
        _,
        constrainAsSpaceGroup,
    ) = _srfit_imports()
    use_srreal = calculator == "srreal" or (
        calculator == "auto" and srreal_available()
    )
    profile = Profile()
    profile.setObservedProfile(fitdata.r, fitdata.g)
    profile.setCalculationRange(fitdata.r[0], fitdata.r[-1])
    if use_srreal:  # pragma: no cover - needs diffpy.srreal
        from diffpy.srfit.pdf import PDFGenerator

        gen = PDFGenerator("G1")
        gen.setStructure(structure, periodic=True)
        gen.setQmax(fitdata.qmax)
        gen.setQmin(fitdata.qmin)
        if fitdata.scattering == "neutron":
            gen.setScatteringType("N")
    else:
        gen = BuiltinPDFGenerator("G1")
        gen.setStructure(structure)
        gen.setQmax(fitdata.qmax)
        gen.meta["qmin"] = fitdata.qmin
        gen.meta["scattering"] = fitdata.scattering
    contribution = FitContribution("pdf")
    contribution.addProfileGenerator(gen)
    contribution.setProfile(profile, xname="r")
    recipe = FitRecipe()
    recipe.addContribution(contribution)
    recipe.fithooks[0].verbose = 0
    g0 = numpy.max(numpy.abs(fitdata.g)) or 1.0
    recipe.addVar(gen.scale, 1.0, tag="scale").boundRange(0, 100 * g0)
    recipe.addVar(gen.qdamp, fitdata.qdamp, tag="profile").boundRange(
        0.0, 0.12
    )
    recipe.addVar(gen.delta2, 1.0, tag="profile").boundRange(0.0, 8.0)
    recipe.addVar(gen.qbroad, fitdata.qbroad, tag="qbroad", fixed=True)
    recipe.qbroad.boundRange(0.0, 0.1)
    sgname = spacegroups.get(number).diffpy_name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sgpars = constrainAsSpaceGroup(gen.phase, sgname, constrainadps=False)
    for par in sgpars.latpars:
        v = par.value
        if par.name in "abc":
            lo, hi = 0.7 * v, 1.3 * v
        else:
            lo, hi = max(v - 25.0, 20.0), min(v + 25.0, 160.0)
        recipe.addVar(par, tag="lat").boundRange(lo, hi)
    adppars = _isotropic_adps(recipe, gen.phase, sgname)
    for par in sgpars.xyzpars:
        v = par.value
        recipe.addVar(par, tag="xyz").boundRange(v - 0.2, v + 0.2)
    recipe.use_srreal = use_srreal
    recipe.sg_tags = {"scale", "profile", "qbroad"}
    recipe.sg_tags.update(
        tag
        for tag, pars in (
            ("lat", sgpars.latpars),
            ("adp", adppars),
            ("xyz", sgpars.xyzpars),
        )
        if len(pars)
    )
    return recipe, gen


def _isotropic_adps(recipe, phase, sgname):
    """One isotropic ADP variable per symmetry orbit of atoms."""
    from diffpy.structure.spacegroups import GetSpaceGroup
    from diffpy.structure.symmetryutilities import SymmetryConstraints

    scatterers = phase.getScatterers()
    positions = [[a.x.value, a.y.value, a.z.value] for a in scatterers]
    sym = SymmetryConstraints(GetSpaceGroup(sgname), positions)
    made = []
    for core, members in sorted(sym.coremap.items()):
        name = f"Uiso_{core}"
        var = recipe.addVar(scatterers[core].Uiso, name=name, tag="adp")
        var.boundRange(0.0005, 0.1)
        for j in members:
            if j != core:
                recipe.constrain(scatterers[j].Uiso, name)
        made.append(var)
    return made


def _rw(recipe):
    res = recipe.residual()
    con = recipe.pdf
    yobs = con.profile.y
    return float(math.sqrt(numpy.sum(res**2) / numpy.sum(yobs**2)))


def _refine(recipe, max_nfev):
    from scipy.optimize import least_squares

    lo, hi = recipe.getBounds2()
    x0 = numpy.clip(recipe.values, lo, hi)
    least_squares(
        recipe.residual,
        x0,
        bounds=(lo, hi),
        method="trf",
        x_scale="jac",
        max_nfev=max_nfev,
    )


#: The refinement steps: tags freed together, in turn.
STEPS = (
    ("scale",),
    ("scale", "lat"),
    ("scale", "lat", "adp", "profile"),
    ("xyz",),
    ("all",),
)


def refine_recipe(recipe, gen, gobs, max_nfev=60, timeout=None):
    """Refine a recipe of :func:`build_recipe` step by step.

    The scale starts at the ratio of data and model amplitudes; then
    :data:`STEPS` free, in turn, the scale; scale and cell; ADPs, Qdamp
    and delta2 with them; the free coordinates; everything (with
    Qbroad).  Each step is a bounded :func:`scipy.optimize.least_squares`
    run of at most ``max_nfev`` evaluations.

    Parameters
    ----------
    recipe, gen
        From :func:`build_recipe`.
    gobs : numpy.ndarray
        The observed G on the recipe's grid (for the first scale).
    max_nfev : int
        Evaluations per step.
    timeout : float, optional
        CPU seconds after which the refinement stops where it is
        (builtin generator only).

    Returns
    -------
    bool
        True when the time ran out.
    """
    stopped = False
    if hasattr(gen, "deadline") and timeout:
        # CPU seconds of this process: a loaded machine does not cut the
        # refinement short
        gen.deadline = time.process_time() + float(timeout)
    recipe.fix("all")
    recipe.free("scale")
    gcalc = recipe.pdf.evaluate()
    denom = float(numpy.dot(gcalc, gcalc))
    if denom > 0:
        s = float(numpy.dot(gcalc, gobs)) / denom
        recipe.scale.value = max(s, 1e-3) * recipe.scale.value
    try:
        for tags in STEPS:
            tags = [t for t in tags if t == "all" or t in recipe.sg_tags]
            if not tags:
                continue
            recipe.fix("all")
            recipe.free(*tags)
            _refine(recipe, max_nfev)
    except _Deadline:
        stopped = True
    if hasattr(gen, "deadline"):
        gen.deadline = None
    recipe.free("all")
    return stopped


def fit_structure(
    data,
    start,
    rmin=1.5,
    rmax=20.0,
    rstep=0.02,
    qmax=None,
    calculator="auto",
    timeout=None,
    max_nfev=60,
):
    """Refine one starting structure and return what came out.

    The recipe is :func:`build_recipe`'s and the steps those of
    :func:`refine_recipe` -- the same code that the ``fit.py`` written
    by :func:`~diffpy.sgpredict.refine.write_templates` runs.

    Parameters
    ----------
    data : str, path, FitData or object with ``.r``, ``.g``
        The measured PDF.
    start : StartingStructure
        From :func:`~diffpy.sgpredict.refine.starting_structure`.
    rmin, rmax, rstep : float
        Fit range and point spacing (A).
    qmax : float, optional
        Overrides the header's Qmax.
    calculator : {"auto", "builtin", "srreal"}
        PDF engine of the generator.
    timeout : float, optional
        Seconds after which the refinement stops.
    max_nfev : int
        Function evaluations per refinement step.

    Returns
    -------
    dict
        ``rw``, ``cell`` (a, b, c, alpha, beta, gamma), ``nfree``,
        ``variables``, ``r``, ``gobs``, ``gcalc``, ``notes``,
        ``stopped`` (True when the time ran out), ``calculator``,
        ``seconds``, ``structure`` (the refined diffpy Structure).

    Examples
    --------
    >>> res = fit_structure("Ni.gr", start, rmax=10)    # doctest: +SKIP
    >>> sorted(res)[:3]                                 # doctest: +SKIP
    ['calculator', 'cell', 'gcalc']
    """
    t0 = time.time()
    if isinstance(data, FitData):
        fitdata = data
    else:
        fitdata = prepare_data(data, rmin, rmax, rstep, qmax)
    recipe, gen = build_recipe(
        fitdata, start.structure, start.number, calculator
    )
    stopped = refine_recipe(recipe, gen, fitdata.g, max_nfev, timeout)
    return _result(recipe, fitdata, start.structure, stopped, timeout, t0)


def _result(recipe, fitdata, structure, stopped, timeout, t0):
    names = list(recipe.names)
    values = [float(v) for v in recipe.values]
    rw = _rw(recipe)
    gcalc = numpy.array(recipe.pdf.evaluate(), dtype=float)
    lat = structure.lattice
    cell = [
        float(v) for v in (lat.a, lat.b, lat.c, lat.alpha, lat.beta, lat.gamma)
    ]
    notes = list(fitdata.notes)
    if stopped:
        notes.append(f"stopped at the time limit of {timeout:g} s")
    return {
        "rw": rw,
        "cell": cell,
        "nfree": len(names),
        "variables": dict(zip(names, values)),
        "r": fitdata.r,
        "gobs": fitdata.g,
        "gcalc": gcalc,
        "notes": notes,
        "stopped": stopped,
        "calculator": "srreal" if recipe.use_srreal else "builtin",
        "seconds": time.time() - t0,
        "structure": structure,
        "qmax": fitdata.qmax,
    }


@dataclass
class RecipeSpec:
    """Everything a refinement needs, as plain values.

    ``fit.py`` holds one of these and hands it to :func:`run_spec`,
    which builds the recipe with :func:`build_recipe` and refines it
    with :func:`refine_recipe` -- the code ``refine --fit`` runs.

    Attributes
    ----------
    data : str
        The measured PDF file.
    structure : str
        The starting structure (CIF, any setting diffpy reads).
    spacegroup : int
        Space-group number (one of the 45).
    qmax, qmin, qdamp, qbroad : float
        Settings; ``qdamp`` and ``qbroad`` are starting values.
    scattering : str
        ``"xray"`` or ``"neutron"``.
    rmin, rmax, rstep : float
        Fit range and spacing (A).
    """

    data: str
    structure: str
    spacegroup: int
    qmax: float
    qmin: float = 0.0
    qdamp: float = DEFAULT_QDAMP
    qbroad: float = 0.0
    scattering: str = "xray"
    rmin: float = 1.5
    rmax: float = 20.0
    rstep: float = 0.02


def recipe_from_spec(spec, calculator="auto"):
    """Build the srfit recipe of a :class:`RecipeSpec`.

    Returns
    -------
    recipe : FitRecipe
    generator : ProfileGenerator
    fitdata : FitData
    structure : diffpy.structure.Structure
        The structure the recipe refines (in place).

    Examples
    --------
    >>> spec = RecipeSpec("Ni.gr", "start.cif", 225, qmax=25.0)
    >>> recipe, gen, data, stru = recipe_from_spec(spec)  # doctest: +SKIP
    """
    from diffpy.structure import loadStructure

    fitdata = prepare_data(
        spec.data, spec.rmin, spec.rmax, spec.rstep, spec.qmax
    )
    fitdata.qmin = float(spec.qmin)
    fitdata.qdamp = float(spec.qdamp)
    fitdata.qbroad = float(spec.qbroad)
    fitdata.scattering = spec.scattering
    structure = loadStructure(str(spec.structure))
    recipe, gen = build_recipe(
        fitdata, structure, int(spec.spacegroup), calculator
    )
    return recipe, gen, fitdata, structure


def run_spec(spec, argv=None, output=None):
    """Command line of a written ``fit.py``: refine a spec, save results.

    Options: ``--engine {auto,srreal,builtin}``, ``--rmin``, ``--rmax``,
    ``--max-nfev``, ``--no-plot``.  Writes ``fit-results.txt``,
    ``refined.cif`` (in the candidate's space group) and ``fit.png``
    next to the data, prints ``Rw = ...`` and returns the result dict of
    :func:`fit_structure`.
    """
    import argparse
    import dataclasses
    from pathlib import Path

    from diffpy.sgpredict.refine.cifout import write_cif
    from diffpy.sgpredict.refine.plots import plot_fit

    ap = argparse.ArgumentParser(
        description=f"refine space group {spec.spacegroup} against "
        f"{Path(spec.data).name}"
    )
    ap.add_argument(
        "--engine", default="auto", choices=("auto", "srreal", "builtin")
    )
    ap.add_argument("--rmin", type=float, default=spec.rmin)
    ap.add_argument("--rmax", type=float, default=spec.rmax)
    ap.add_argument("--max-nfev", type=int, default=60)
    ap.add_argument("--no-plot", action="store_true")
    args = ap.parse_args(argv)
    spec = dataclasses.replace(spec, rmin=args.rmin, rmax=args.rmax)
    out = Path(output or Path(spec.data).resolve().parent)
    t0 = time.time()
    recipe, gen, fitdata, structure = recipe_from_spec(spec, args.engine)
    stopped = refine_recipe(recipe, gen, fitdata.g, args.max_nfev)
    res = _result(recipe, fitdata, structure, stopped, None, t0)
    _, _, FitResults, *_ = _srfit_imports()
    text = (
        f"engine: {res['calculator']}\n" + FitResults(recipe).formatResults()
    )
    (out / "fit-results.txt").write_text(text)
    write_cif(structure, spec.spacegroup, out / "refined.cif")
    if not args.no_plot:
        plot_fit(res, out / "fit.png", f"space group {spec.spacegroup}")
    print(f"Rw = {res['rw']:.5f} ({res['calculator']} engine)")
    return res

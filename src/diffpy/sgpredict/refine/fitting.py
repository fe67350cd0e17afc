"""Refine a starting structure against a measured PDF with diffpy.srfit.

The recipe is the usual diffpy.srfit one: a :class:`Profile` holding the
data, a PDF generator holding the structure as a
``DiffpyStructureParSet``, a :class:`FitContribution` and a
:class:`FitRecipe` whose structure variables come from
:func:`diffpy.srfit.structure.constrainAsSpaceGroup`.  When
diffpy.srreal is installed the generator is srfit's own
``PDFGenerator``; otherwise
:class:`~diffpy.sgpredict.refine.generator.BuiltinPDFGenerator`, which
wraps :func:`diffpy.sgpredict.pdfcalc.calculate_pdf`, takes its place, so
the same refinement runs on a plain ``pip install``.  The data come
from :func:`~diffpy.sgpredict.refine.fitdata.prepare_data`.

Examples
--------
>>> from diffpy.sgpredict.refine.fitting import fit_structure
>>> from diffpy.sgpredict.refine import starting_structure
>>> start = starting_structure(225, composition="Ni", r1=2.49)
>>> result = fit_structure("Ni.gr", start)          # doctest: +SKIP
>>> result["rw"] < 0.15                             # doctest: +SKIP
True
"""

import argparse
import dataclasses
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy
from diffpy.structure import loadStructure
from diffpy.structure.spacegroups import GetSpaceGroup
from diffpy.structure.symmetryutilities import SymmetryConstraints
from scipy.optimize import least_squares

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.refine.cifout import write_cif
from diffpy.sgpredict.refine.fitdata import (
    DEFAULT_QDAMP,
    FitData,
    prepare_data,
)
from diffpy.sgpredict.refine.generator import (
    BuiltinPDFGenerator,
    FitDeadline,
    srfit_parts,
    srreal_available,
)
from diffpy.sgpredict.refine.plots import plot_fit
from diffpy.sgpredict.refine.work import WorkMeter

__all__ = [
    "build_recipe",
    "PROFILE_VARIABLES",
    "profile_values",
    "is_anisotropic",
    "adp_parameter_counts",
    "with_anisotropic_adps",
    "fit_structure",
    "refine_recipe",
    "RecipeSpec",
    "recipe_from_spec",
    "run_spec",
]


def build_recipe(
    fitdata, structure, number, calculator="auto", start_values=None
):
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
    start_values : dict, optional
        Starting values of the scale and profile variables
        (:data:`PROFILE_VARIABLES`; :func:`profile_values` of an
        earlier fit); those not given start at 1 (scale, delta2) or at
        the data's ``qdamp`` and ``qbroad``.

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
    FitContribution, FitRecipe, _, Profile, *_ = srfit_parts()
    use_srreal = calculator == "srreal" or (
        calculator == "auto" and srreal_available()
    )
    profile = Profile()
    profile.setObservedProfile(fitdata.r, fitdata.g)
    profile.setCalculationRange(fitdata.r[0], fitdata.r[-1])
    gen = _generator(fitdata, structure, use_srreal)
    contribution = FitContribution("pdf")
    contribution.addProfileGenerator(gen)
    contribution.setProfile(profile, xname="r")
    recipe = FitRecipe()
    recipe.addContribution(contribution)
    recipe.fithooks[0].verbose = 0
    g0 = numpy.max(numpy.abs(fitdata.g)) or 1.0
    start = {"scale": 1.0, "qdamp": fitdata.qdamp, "delta2": 1.0}
    start["qbroad"] = fitdata.qbroad
    start.update(start_values or {})
    recipe.addVar(gen.scale, start["scale"], tag="scale").boundRange(
        0, 100 * g0
    )
    recipe.addVar(gen.qdamp, start["qdamp"], tag="profile").boundRange(
        0.0, 0.12
    )
    recipe.addVar(gen.delta2, start["delta2"], tag="profile").boundRange(
        0.0, 8.0
    )
    recipe.addVar(gen.qbroad, start["qbroad"], tag="qbroad", fixed=True)
    recipe.qbroad.boundRange(0.0, 0.1)
    recipe.use_srreal = use_srreal
    recipe.sg_tags = {"scale", "profile", "qbroad"}
    tags, orbits = _structure_variables(
        recipe, gen.phase, number, is_anisotropic(structure)
    )
    recipe.sg_tags.update(tags)
    if not use_srreal:
        gen.orbits = orbits
    return recipe, gen


#: The recipe's variables that describe the data rather than the
#: structure (:func:`build_recipe`).
PROFILE_VARIABLES = ("scale", "qdamp", "delta2", "qbroad")


def profile_values(variables):
    """The scale and profile variables (:data:`PROFILE_VARIABLES`) of
    a fit's ``variables`` (:func:`fit_structure`), to start another fit
    of the same data from (:func:`build_recipe`).

    Examples
    --------
    >>> profile_values({"scale": 0.8, "a": 3.52, "delta2": 2.1})
    {'scale': 0.8, 'delta2': 2.1}
    """
    return {
        k: float(variables[k]) for k in PROFILE_VARIABLES if k in variables
    }


def _generator(fitdata, structure, use_srreal):
    """srreal's PDFGenerator or the builtin one, holding the structure."""
    if use_srreal:  # pragma: no cover - needs diffpy.srreal
        # optional dependency: only with diffpy.srreal installed
        from diffpy.srfit.pdf import PDFGenerator

        gen = PDFGenerator("G1")
        gen.setStructure(structure, periodic=True)
        gen.setQmax(fitdata.qmax)
        gen.setQmin(fitdata.qmin)
        if fitdata.scattering == "neutron":
            gen.setScatteringType("N")
        return gen
    gen = BuiltinPDFGenerator("G1")
    gen.setStructure(structure)
    gen.setQmax(fitdata.qmax)
    gen.meta["qmin"] = fitdata.qmin
    gen.meta["scattering"] = fitdata.scattering
    return gen


def _structure_variables(recipe, phase, number, anisotropic=False):
    """Cell, ADP and coordinate variables allowed by the space group.

    With ``anisotropic`` the ADPs are the anisotropic ``Uij`` that the
    site symmetry of each orbit allows (``constrainAsSpaceGroup`` with
    ``constrainadps``); otherwise one ``Uiso`` per orbit.

    Returns the tags (``lat``, ``adp``, ``xyz``) that got variables and
    the symmetry orbit of every atom (:func:`_site_orbits`).
    """
    constrain_as_space_group = srfit_parts()[6]
    sgname = spacegroups.get(number).diffpy_name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sgpars = constrain_as_space_group(
            phase, sgname, constrainadps=anisotropic
        )
    for par in sgpars.latpars:
        v = par.value
        if par.name in "abc":
            lo, hi = 0.7 * v, 1.3 * v
        else:
            lo, hi = max(v - 25.0, 20.0), min(v + 25.0, 160.0)
        recipe.addVar(par, tag="lat").boundRange(lo, hi)
    coremap, orbits = _site_orbits(phase, sgname)
    if anisotropic:
        adppars = _anisotropic_adps(recipe, sgpars.adppars)
    else:
        adppars = _isotropic_adps(recipe, phase, coremap)
    for par in sgpars.xyzpars:
        v = par.value
        recipe.addVar(par, tag="xyz").boundRange(v - 0.2, v + 0.2)
    tags = [
        tag
        for tag, pars in (
            ("lat", sgpars.latpars),
            ("adp", adppars),
            ("xyz", sgpars.xyzpars),
        )
        if len(pars)
    ]
    return tags, orbits


def _site_orbits(phase, sgname):
    """The atoms the space group makes equivalent: diffpy's
    ``SymmetryConstraints.coremap`` (first atom of each orbit: its
    members) and an orbit index per atom, apart for atoms of different
    element or occupancy (mixed sites), as the calculator's pair sum
    takes them (``orbit`` of
    :func:`~diffpy.sgpredict.pdfcalc.builtin.structure_arrays`).  The
    space-group constraints keep these atoms equivalent throughout the
    fit, so the calculator need not search for them at every step."""
    scatterers = phase.getScatterers()
    positions = [[a.x.value, a.y.value, a.z.value] for a in scatterers]
    sym = SymmetryConstraints(GetSpaceGroup(sgname), positions)
    kinds = {}
    orbits = numpy.zeros(len(scatterers), dtype=int)
    for core, members in sorted(sym.coremap.items()):
        for j in members:
            atom = scatterers[j]
            key = (core, str(atom.element), float(atom.occ.value))
            orbits[j] = kinds.setdefault(key, len(kinds))
    return sym.coremap, orbits


def _isotropic_adps(recipe, phase, coremap):
    """One isotropic ADP variable per symmetry orbit of atoms
    (``coremap`` of :func:`_site_orbits`)."""
    scatterers = phase.getScatterers()
    made = []
    for core, members in sorted(coremap.items()):
        name = f"Uiso_{core}"
        var = recipe.addVar(scatterers[core].Uiso, name=name, tag="adp")
        var.boundRange(0.0005, 0.1)
        for j in members:
            if j != core:
                recipe.constrain(scatterers[j].Uiso, name)
        made.append(var)
    return made


def _anisotropic_adps(recipe, adppars):
    """Variables of the symmetry-allowed ``Uij`` (A^2): diagonal terms in
    0.0005-0.1, off-diagonal ones in -0.05-0.05."""
    made = []
    for par in adppars:
        var = recipe.addVar(par, tag="adp")
        if par.name[1] == par.name[2]:
            var.boundRange(0.0005, 0.1)
        else:
            var.boundRange(-0.05, 0.05)
        made.append(var)
    return made


def is_anisotropic(structure):
    """True when any atom of ``structure`` carries anisotropic ADPs (then
    :func:`build_recipe` refines the ``Uij`` its site symmetry allows).

    Examples
    --------
    >>> from diffpy.structure import Atom, Lattice, Structure
    >>> s = Structure([Atom("Ni", [0, 0, 0])], lattice=Lattice())
    >>> is_anisotropic(s), is_anisotropic(with_anisotropic_adps(s))
    (False, True)
    """
    return any(bool(a.anisotropy) for a in structure)


def adp_parameter_counts(structure, number):
    """Numbers of ADP variables of a structure in space group ``number``:
    isotropic (one per orbit) and anisotropic (the ``Uij`` that the site
    symmetry of each orbit allows).

    Examples
    --------
    >>> from diffpy.sgpredict.refine import settings
    >>> ni = settings.expand([3.52] * 3 + [90] * 3, [("Ni", 0, 0, 0)], 225)
    >>> adp_parameter_counts(ni, 225)      # cubic site: one either way
    (1, 1)
    >>> rutile = settings.expand([4.59, 4.59, 2.96, 90, 90, 90],
    ...                          [("Ti", 0, 0, 0), ("O", 0.3, 0.3, 0)], 136)
    >>> adp_parameter_counts(rutile, 136)
    (2, 6)
    """
    sg = GetSpaceGroup(spacegroups.get(number).diffpy_name)
    positions = [a.xyz for a in structure]
    uijs = [numpy.eye(3) * 0.005 for _ in structure]
    sym = SymmetryConstraints(sg, positions, uijs)
    return len(sym.coremap), len(sym.Upars)


def with_anisotropic_adps(structure):
    """A copy of ``structure`` whose atoms hold their ADPs as anisotropic
    tensors (the same isotropic values), for an anisotropic refinement.

    Examples
    --------
    >>> from diffpy.structure import Atom, Lattice, Structure
    >>> a = Atom("Ni", [0, 0, 0]); a.Uisoequiv = 0.005
    >>> s = with_anisotropic_adps(Structure([a], lattice=Lattice()))
    >>> s[0].anisotropy, round(float(s[0].U[2, 2]), 4)
    (True, 0.005)
    """
    out = structure.copy()
    for atom in out:
        atom.anisotropy = True
    return out


def _rw(recipe):
    res = recipe.residual()
    con = recipe.pdf
    yobs = con.profile.y
    return float(math.sqrt(numpy.sum(res**2) / numpy.sum(yobs**2)))


def _refine(recipe, max_nfev):
    """One bounded least-squares run over the recipe's free variables,
    which it leaves at the best point evaluated.

    The recipe holds the values of the last residual evaluated.  When
    :func:`~scipy.optimize.least_squares` ends by itself that was its
    best point in every step of three fits measured (Ni, the doped
    pnictide, Li2Ti(OF3)2 in C2/m), but a
    :class:`~diffpy.sgpredict.refine.generator.FitDeadline` stops it at
    whatever point it was trying, a Jacobian step or a rejected trial.
    """
    lo, hi = recipe.getBounds2()
    x0 = numpy.clip(recipe.values, lo, hi)
    best = [numpy.inf, x0]

    def residual(x):
        r = recipe.residual(x)
        cost = float(numpy.dot(r, r))
        if cost < best[0]:
            best[0], best[1] = cost, numpy.array(x, dtype=float)
        return r

    try:
        least_squares(
            residual,
            x0,
            bounds=(lo, hi),
            method="trf",
            x_scale="jac",
            max_nfev=max_nfev,
        )
    finally:
        for name, value in zip(recipe.getNames(), best[1]):
            getattr(recipe, name).value = float(value)


#: The refinement steps: tags freed together, in turn.
STEPS = (
    ("scale",),
    ("scale", "lat"),
    ("scale", "lat", "adp", "profile"),
    ("xyz",),
    ("all",),
)


def refine_recipe(recipe, gen, gobs, max_nfev=60, timeout=None, meter=None):
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
        Seconds of work after which the refinement stops where it is
        (builtin generator only), counted by ``meter``: the estimated
        CPU seconds of its evaluations
        (:func:`~diffpy.sgpredict.refine.work.fit_call_cost`), so that
        it stops at the same step on any machine and under any load.
    meter : WorkMeter, optional
        Default a new :class:`~diffpy.sgpredict.refine.work.WorkMeter`.

    Returns
    -------
    bool
        True when the budget ran out.
    """
    stopped = False
    if hasattr(gen, "deadline") and timeout:
        gen.meter = meter if meter is not None else WorkMeter()
        gen.deadline = gen.meter.now() + float(timeout)
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
    except FitDeadline:
        stopped = True
    finally:
        # the generator keeps no budget once this refinement is over,
        # whatever ended it
        if hasattr(gen, "deadline"):
            gen.meter, gen.deadline = None, None
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
    meter=None,
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
        Seconds of work after which the refinement stops
        (:func:`refine_recipe`).
    max_nfev : int
        Function evaluations per refinement step.
    meter : WorkMeter, optional
        Counts the work (:func:`refine_recipe`); a fit with srreal's
        generator, which has no time limit, is charged its CPU seconds.

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
        fitdata,
        start.structure,
        start.number,
        calculator,
        start.profile,
    )
    c0 = time.process_time()
    stopped = refine_recipe(recipe, gen, fitdata.g, max_nfev, timeout, meter)
    if meter is not None and recipe.use_srreal:
        # srreal's generator counts nothing: the fit costs its CPU time
        meter.charge(time.process_time() - c0, overhead=1.0)
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
        notes.append(f"stopped at the work limit of {timeout:g} s")
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
    fitdata = prepare_data(
        spec.data,
        spec.rmin,
        spec.rmax,
        spec.rstep,
        spec.qmax,
        spec.scattering,
    )
    fitdata.qmin = float(spec.qmin)
    fitdata.qdamp = float(spec.qdamp)
    fitdata.qbroad = float(spec.qbroad)
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
    _, _, FitResults, *_ = srfit_parts()
    text = (
        f"engine: {res['calculator']}\n" + FitResults(recipe).formatResults()
    )
    (out / "fit-results.txt").write_text(text)
    write_cif(structure, spec.spacegroup, out / "refined.cif")
    if not args.no_plot:
        plot_fit(res, out / "fit.png", f"space group {spec.spacegroup}")
    print(f"Rw = {res['rw']:.5f} ({res['calculator']} engine)")
    return res

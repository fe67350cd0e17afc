"""Starting structures for refinements of candidate space groups.

:func:`starting_structures` is the one route selection: for a candidate
group it returns every starting structure, by route, best first:

1. ``cif`` -- the user's own CIF, when spglib finds that same group in it
   (a CIF in another group is reported, never silently re-symmetrised;
   :mod:`~diffpy.sgpredict.refine.usercifs`);
2. ``library`` -- CIFs of a user's folder (COD or ICSD export) in the
   group with the composition's stoichiometry;
3. ``known`` -- the bundled known compound of the group with the
   composition's formula (:mod:`~diffpy.sgpredict.refine.known`: the
   Materials Project's experimental structures);
4. ``prototype`` -- the bundled structure types of the group
   (:mod:`~diffpy.sgpredict.refine.library_lookup`), elements
   substituted when a composition is known;
5. ``wyckoff`` -- the Wyckoff enumeration of the composition
   (:mod:`~diffpy.sgpredict.refine.wyckoff`), when the data are given;
6. ``pyxtal`` -- a structure generated with pyxtal, only when no other
   route gave one.

:func:`starting_structure` is the first of them without the (seconds
long) enumeration: what the templates are written from.

Every structure is put into the setting of
:func:`diffpy.structure.spacegroups.GetSpaceGroup` (what
:func:`diffpy.srfit.structure.constrainAsSpaceGroup` expects) and the
cell of a ready-made one (routes 1-4 and 6) is scaled so that its PDF
lies best on the data's
(:func:`~diffpy.sgpredict.refine.peaks.scale_to_data`), or, without
data, so that its first strong peak lies at the data's, ``r1``.

Examples
--------
>>> from diffpy.sgpredict.refine import starting_structure
>>> start = starting_structure(225, composition="Ni", r1=2.49)
>>> start.source, round(start.structure.lattice.a, 2)
('known', 3.52)
"""

from pathlib import Path

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.chemistry import mixed_sites, parse_composition
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.refine import settings
from diffpy.sgpredict.refine.known import known_starts
from diffpy.sgpredict.refine.library_lookup import prototype_starts
from diffpy.sgpredict.refine.peaks import first_strong_peak, scale_to_data
from diffpy.sgpredict.refine.startmodel import DEFAULT_UISO, StartingStructure
from diffpy.sgpredict.refine.substitution import (
    composition_label,
    integer_ratio,
)
from diffpy.sgpredict.refine.usercifs import (
    cif_composition,
    library_starts,
    read_cif,
)
from diffpy.sgpredict.refine.work import ENUMERATION_BUDGET
from diffpy.sgpredict.refine.wyckoff import enumerate_starts
from diffpy.sgpredict.wyckoff import composition_allowed

__all__ = [
    "starting_structure",
    "wyckoff_starts",
    "starting_structures",
    "pyxtal_structure",
    "NO_COMPOSITION_NOTE",
    "KNOWN_NOTE",
]

#: Note given when no composition is known.
NO_COMPOSITION_NOTE = (
    "no composition given (--composition, or a 'composition' line in the "
    "data header): the prototype's elements were kept, so Rw ranks "
    "structure shapes, not chemistry"
)

#: Note given when a known compound makes the Wyckoff enumeration moot.
KNOWN_NOTE = (
    "Wyckoff enumeration skipped: the composition is a known compound in "
    "this group (--no-known to search as for a new material)"
)


def pyxtal_structure(number, comp, uiso=DEFAULT_UISO, seed=7):
    """A random pyxtal structure of the composition in the group.

    Z (formula units) is raised from 1 until pyxtal places the atoms
    (at most 120 atoms in the cell); the structure is put into diffpy's
    setting of the group.

    Parameters
    ----------
    number : int
        Space-group number.
    comp : dict
        Element -> amount (integer ratio needed).
    uiso : float
        Isotropic ADP of every atom (A^2).
    seed : int
        pyxtal's ``random_state`` (no global generator is touched).

    Returns
    -------
    structure : diffpy.structure.Structure
    z : int

    Raises
    ------
    InputError
        Without pyxtal, for a fractional composition, or when no
        Wyckoff combination holds the composition.
    """
    label = composition_label(comp)
    try:  # optional dependency: only this last-resort route needs it
        from pyxtal import pyxtal
        from pyxtal.msg import Error as PyxtalError
    except ImportError:
        raise InputError(
            f"composition {label}: no bundled prototype of group "
            f"{number} fits it and pyxtal (pip install pyxtal) is not "
            "installed to generate one"
        ) from None
    ratio = integer_ratio(comp)
    if ratio is None:
        raise InputError(
            f"composition {label}: fractional amounts cannot be "
            f"placed on the Wyckoff sites of group {number}; give an "
            "integer formula"
        )
    species = list(ratio)
    last_error = ""
    for z in range(1, 17):
        counts = [ratio[e] * z for e in species]
        if sum(counts) > 120:
            break
        for attempt in range(3):
            crystal = pyxtal()
            try:
                crystal.from_random(
                    3, number, species, counts, factor=1.1, random_state=seed
                )
            except (
                PyxtalError,
                RuntimeError,
                ValueError,
                IndexError,
                KeyError,
            ) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
                continue
            stru = _standard_pyxtal(crystal, number, uiso)
            if stru is not None:
                return stru, z
    raise InputError(
        f"composition {label} fits no Wyckoff combination of space "
        f"group {number} ({spacegroups.get(number).symbol}) with up to "
        "120 atoms" + (f" ({last_error})" if last_error else "")
    )


def _standard_pyxtal(crystal, number, uiso):
    """A valid pyxtal crystal in diffpy's setting of the group, or None."""
    if not crystal.valid:
        return None
    pmg = crystal.to_pymatgen()
    stru = settings.structure_from_cell(
        pmg.lattice.matrix,
        pmg.frac_coords,
        [sp.Z for sp in pmg.species],
        uiso=uiso,
    )
    try:
        return settings.standardize(stru, number, uiso=uiso)
    except InputError:
        return None


def _cif_route(number, cif, scaling, uiso):
    """The user's CIF as a start of the group, or why not.

    Returns
    -------
    start : StartingStructure or None
    note : str or None
        Why the CIF was not used (another group).
    comp : dict
        The CIF's composition.
    """
    stru = read_cif(cif)
    comp = cif_composition(stru)
    found = settings.spglib_group(stru)
    name = Path(str(cif)).name
    if found != number:
        note = (
            f"{name} is in space group {found}, not {number}; "
            "its symmetry was not changed and a prototype is used instead"
        )
        return None, note, comp
    std = settings.standardize(stru, number, uiso=uiso)
    info = spacegroups.get(number)
    start = StartingStructure(number, info.symbol, std, "cif", name, "user")
    start.scale = scale_to_data(std, *scaling)
    return start, None, comp


def wyckoff_starts(number, comp, data, options):
    """Starts of the Wyckoff enumeration, and notes on why none.

    Parameters
    ----------
    number : int
        Space-group number.
    comp : str or dict
        Formula, or element -> amount
        (:func:`~diffpy.sgpredict.chemistry.parse_composition`).
    data : FitData
        The measured PDF.
    options : dict
        Keyword arguments of
        :func:`~diffpy.sgpredict.refine.wyckoff.enumerate_starts`.

    Returns
    -------
    starts : list of StartingStructure
        Route ``wyckoff``, with the quick-fit Rw in ``quick_rw``.
    notes : list of str
        Why the enumeration gave nothing, when it did not.

    Examples
    --------
    >>> starts, notes = wyckoff_starts(225, "SrFe2As2", None, {})
    >>> starts, notes[0][-40:]
    ([], 'Wyckoff combination of Fm-3m with Z <= 8')
    """
    info = spacegroups.get(number)
    if isinstance(comp, str):
        comp = parse_composition(comp)
    if not composition_allowed(comp, number):
        note = (
            f"Wyckoff enumeration: {composition_label(comp)} fits no "
            f"Wyckoff combination of {info.symbol} with Z <= 8"
        )
        return [], [note]
    try:
        found = enumerate_starts(number, comp, data, **options)
    except InputError as exc:
        return [], [f"Wyckoff enumeration: {exc}"]
    starts = []
    for item in found:
        start = StartingStructure(
            number,
            info.symbol,
            item.structure,
            "wyckoff",
            item.name,
            "generated",
            notes=item.notes,
        )
        start.quick_rw = item.quick_rw
        starts.append(start)
    return starts, []


def _pyxtal_start(number, comp, scaling, uiso):
    """The last resort: a pyxtal structure of the composition."""
    info = spacegroups.get(number)
    if not comp:
        raise InputError(
            f"group {number} ({info.symbol}): no starting structure "
            "without a composition"
        )
    stru, z = pyxtal_structure(number, comp, uiso)
    label = composition_label(comp)
    start = StartingStructure(
        number,
        info.symbol,
        stru,
        "pyxtal",
        f"pyxtal-{label}-Z{z}",
        "generated",
        notes=[f"generated with pyxtal: {label} x {z} in {info.symbol}"],
    )
    start.scale = scale_to_data(stru, *scaling)
    return start


def _data_peak(data):
    """First strong peak of ``(r, g)`` or an object with ``r``, ``g``."""
    r, g = (data.r, data.g) if hasattr(data, "r") else data
    return first_strong_peak(r, g)


def starting_structures(
    number,
    composition=None,
    cif=None,
    data=None,
    enumerate_budget=ENUMERATION_BUDGET,
    prototypes=2,
    enumerated=2,
    uiso=DEFAULT_UISO,
    rng=None,
    library=None,
    r1=None,
    scattering=None,
    meter=None,
    known=True,
):
    """Return every starting structure of a group, by route.

    The routes, in this order:

    ``cif``
        the user's CIF when spglib finds the group in it;
    ``library``
        up to two CIFs of the folder ``library`` (:func:`library_starts`);
    ``known``
        the bundled known compound of the group with the composition's
        formula (:func:`~diffpy.sgpredict.refine.known.known_starts`),
        unless ``known`` is False;
    ``prototype``
        up to ``prototypes`` structure types of the bundled library
        with the composition's stoichiometry (elements substituted);
        without a composition the group's first structure type with
        its own elements (and a note that says so);
    ``wyckoff``
        the ``enumerated`` best Wyckoff assignments of the composition
        (:func:`diffpy.sgpredict.refine.wyckoff.enumerate_starts`),
        when the data are given and the group can hold the composition;
    ``pyxtal``
        a random pyxtal structure, only when no other route gave one.

    Long only in this docstring (six routes, twelve parameters); each
    route is its own function.

    Supergroup starts are added by
    :func:`~diffpy.sgpredict.refine.fit_candidates` once the
    supergroups are refined.

    Parameters
    ----------
    number : int or str
        Space group.
    composition : str or dict, optional
        Formula.
    cif : str or path, optional
        The user's structure.
    data : FitData, (r, g) or object with ``r`` and ``g``, optional
        The measured PDF cut to the fit range (needed for the
        enumeration, which wants a FitData, and the cell scaling).
    enumerate_budget : float
        Seconds of work for the Wyckoff enumeration (0 switches it
        off), counted by ``meter``.
    prototypes, enumerated : int
        How many starts each route contributes at most.
    uiso : float
        Starting isotropic ADP (A^2).
    rng : numpy.random.Generator, optional
        For the enumeration's random draws.
    library : str or path, optional
        A folder of CIFs searched by group and composition.
    r1 : float, optional
        First strong peak of the data (A); found in ``data`` when not
        given.
    scattering : {"xray", "neutron"}, optional
        Radiation of the data, to which the cells are scaled; default
        ``data.scattering``, else X-rays.
    meter : WorkMeter, optional
        Counts the enumeration's work
        (:class:`~diffpy.sgpredict.refine.work.WorkMeter`; a new one by
        default), so that a caller's budget includes it.
    known : bool
        Look the composition up among the known compounds (False: only
        structure types and the enumeration, as for a new material).

    Returns
    -------
    starts : list of StartingStructure
    notes : list of str
        Routes that gave nothing, and why.

    Raises
    ------
    InputError
        When no route gives a structure (the pyxtal route's reason).

    Examples
    --------
    >>> starts, notes = starting_structures(225, "NaCl")
    >>> [s.source for s in starts], notes
    (['prototype'], [])
    """
    number = spacegroups.lookup(number).number
    if isinstance(composition, str):
        comp = parse_composition(composition)
    else:
        comp = dict(composition) if composition else None
    if r1 is None and data is not None:
        r1 = _data_peak(data)
    if scattering is None:
        scattering = getattr(data, "scattering", None) or "xray"
    # how every ready-made structure's cell is scaled to the data
    scaling = (data, r1, scattering)
    starts, notes = [], []
    if cif is not None:
        try:
            start, note, cif_comp = _cif_route(number, cif, scaling, uiso)
        except InputError as exc:
            notes.append(str(exc))
        else:
            starts.extend([start] if start else [])
            notes.extend([note] if note else [])
            comp = comp if comp is not None else cif_comp
    # a doped site holds its majority element in every route (the
    # Wyckoff enumeration applies the same rule itself)
    sites, site_notes = _site_composition(comp)
    if library is not None:
        for start in library_starts(number, sites, library, uiso):
            start.scale = scale_to_data(start.structure, *scaling)
            starts.append(start)
    found_known = known_starts(number, sites, uiso) if known else []
    for start in found_known:
        start.scale = scale_to_data(start.structure, *scaling)
        starts.append(start)
    if comp is None:
        notes.append(NO_COMPOSITION_NOTE)
    for start in prototype_starts(number, sites, uiso, prototypes):
        start.scale = scale_to_data(start.structure, *scaling)
        starts.append(start)
    if found_known and enumerate_budget > 0:
        # the compound's own structure: its budget goes to that fit
        notes.append(KNOWN_NOTE)
    elif comp and data is not None and enumerate_budget > 0:
        found, why = wyckoff_starts(
            number,
            comp,
            data,
            dict(
                budget=enumerate_budget,
                keep=enumerated,
                rng=rng,
                uiso=uiso,
                meter=meter,
            ),
        )
        starts.extend(found)
        notes.extend(why)
    if not starts:
        starts.append(_pyxtal_start(number, sites, scaling, uiso))
    if starts:
        notes.extend(n for n in site_notes if n not in notes)
    return starts, notes


def _site_composition(comp):
    """The composition by sites (:func:`chemistry.mixed_sites`) and its
    notes; the composition itself when its amounts make no whole sites.

    Examples
    --------
    >>> _site_composition({"Ba": 0.7, "K": 0.3, "Zn": 2.0, "As": 2.0})
    ({'Ba': 1.0, 'Zn': 2.0, 'As': 2.0}, ['Ba0.7K0.3 on one site as Ba'])
    >>> _site_composition(None)
    (None, [])
    """
    if not comp:
        return comp, []
    try:
        return mixed_sites(comp)
    except InputError:
        return comp, []


def starting_structure(
    number,
    composition=None,
    cif=None,
    r1=None,
    data=None,
    uiso=DEFAULT_UISO,
    library=None,
    scattering=None,
    known=True,
):
    """Return the first starting structure of a candidate space group.

    The first route of :func:`starting_structures` without the Wyckoff
    enumeration: the user's CIF when it is in the group, else a CIF of
    ``library``, else the known compound of that formula (unless
    ``known`` is False), else a bundled prototype with the composition's
    stoichiometry, else a pyxtal structure.

    Parameters
    ----------
    number : int or str
        Space-group number or symbol (one of the 45 groups).
    composition : str or dict, optional
        Chemical formula; prototypes with the same stoichiometry get
        their elements substituted, otherwise pyxtal generates one.
    cif : str or path, optional
        The user's structure; used when spglib finds ``number`` in it.
    r1 : float, optional
        Position of the first strong peak of the data (A), to which the
        cell is scaled without ``data``.  When not given and ``data``
        is, it is found in the data.
    data : (r, g) or object with ``.r`` and ``.g``, optional
        The measured PDF, on which the cell's PDF is laid to scale it
        (:func:`~diffpy.sgpredict.refine.peaks.scale_to_data`).
    uiso : float
        Isotropic ADP of every atom (A^2).
    library : str or path, optional
        A folder of CIFs searched by group and composition.
    scattering : {"xray", "neutron"}, optional
        Radiation of the data that ``r1`` comes from (default
        ``data.scattering``, else X-rays).
    known : bool
        Look the composition up among the known compounds.

    Returns
    -------
    StartingStructure
        Its notes start with those of the routes passed over (a CIF in
        another group).

    Raises
    ------
    InputError
        For an unreadable CIF, an unknown group or a composition that
        fits no Wyckoff combination of the group.

    Examples
    --------
    >>> s = starting_structure(221, composition="LaMnO3")
    >>> s.source, s.notes[0]
    ('known', 'known compound LaMnO3 (Materials Project mp-19025, CC BY 4.0)')
    >>> s = starting_structure(221, composition="LaMnO3", known=False)
    >>> s.name, sorted({a.element for a in s.structure})
    ('AB3C_cP5_221_a_c_b', ['La', 'Mn', 'O'])
    """
    if cif is not None:
        read_cif(cif)  # an unreadable CIF is an error here, not a note
    starts, notes = starting_structures(
        number,
        composition,
        cif=cif,
        data=data,
        enumerate_budget=0,
        prototypes=1,
        uiso=uiso,
        library=library,
        r1=r1,
        scattering=scattering,
        known=known,
    )
    start = starts[0]
    passed = [n for n in notes if n != NO_COMPOSITION_NOTE]
    start.notes = passed + start.notes
    return start

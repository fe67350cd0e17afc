"""Write a structure of a space group exactly in one of its subgroups.

A structure refined in a group G is also a structure of every subgroup H
of G.  :func:`to_subgroup` writes it in diffpy's setting of H (cell,
origin and orientation of
:func:`diffpy.structure.spacegroups.GetSpaceGroup`) so that a
refinement in H can start from it: fcc Ni (Fm-3m, a = 3.52 A) becomes
I4/mmm with a' = a/sqrt(2), c' = a, or P4/mmm, I4/m, R-3m, P-1, ...
A subgroup refined from there can only fit as well or better.

The chain of maximal subgroups from G to H comes from pyxtal's tables
(International Tables Vol. A1, through ``Group.search_subgroup_paths``);
each step is taken with ``pyxtal.subgroup_once`` without any
perturbation.  The result is checked: every symmetry operation of H in
diffpy's setting maps the structure onto itself.

Examples
--------
>>> from diffpy.sgpredict.refine import settings
>>> from diffpy.sgpredict.refine.subgroups import to_subgroup
>>> ni = settings.expand([3.52] * 3 + [90] * 3, [("Ni", 0, 0, 0)], 225)
>>> sub = to_subgroup(ni, 225, 139)
>>> [round(v, 3) for v in sub.lattice.abcABG()[:3]]
[2.489, 2.489, 3.52]
"""

import functools
import warnings

import numpy
from diffpy.structure.spacegroups import GetSpaceGroup

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.chemistry import element_symbol
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.pdfcalc.symmetry import lattice_translations
from diffpy.sgpredict.refine import settings
from diffpy.sgpredict.wyckoff import setting_shift

__all__ = [
    "subgroup_path",
    "to_subgroup",
    "has_symmetry",
    "SYMMETRIZE_TOLERANCES",
    "to_supergroup",
    "environments",
    "carry_adps",
]

#: spglib tolerances (A) tried, smallest first, by :func:`to_supergroup`.
SYMMETRIZE_TOLERANCES = (0.02, 0.05, 0.1, 0.2)


@functools.lru_cache(maxsize=None)
def subgroup_path(group, subgroup, max_layer=5):
    """Return a shortest chain of maximal subgroups from group to subgroup.

    Parameters
    ----------
    group, subgroup : int
        Space-group numbers.
    max_layer : int
        Longest chain searched.

    Returns
    -------
    tuple of int or None
        ``(group, ..., subgroup)``, or None when ``subgroup`` is not a
        subgroup within ``max_layer`` steps.

    Examples
    --------
    >>> subgroup_path(225, 87)
    (225, 139, 87)
    """
    try:  # optional dependency: pyxtal's subgroup tables
        from pyxtal.symmetry import Group
    except ImportError:
        raise InputError(
            "subgroup transformations need pyxtal (pip install pyxtal)"
        ) from None
    group, subgroup = int(group), int(subgroup)
    if group == subgroup:
        return (group,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        paths = Group(group).search_subgroup_paths(subgroup, max_layer)
    if not paths:
        return None
    best = min(paths, key=len)
    return tuple(int(n) for n in best)


def has_symmetry(structure, number, tol=1e-3):
    """Tell whether diffpy's operations of a group map a structure onto
    itself.

    Parameters
    ----------
    structure : diffpy.structure.Structure
        All atoms of the cell.
    number : int
        Space-group number (diffpy's setting).
    tol : float
        Tolerance in fractional coordinates.

    Examples
    --------
    >>> from diffpy.sgpredict.refine import settings
    >>> ni = settings.expand([3.52] * 3 + [90] * 3, [("Ni", 0, 0, 0)], 225)
    >>> has_symmetry(ni, 225), has_symmetry(ni, 227)
    (True, False)
    """
    try:
        name = spacegroups.get(number).diffpy_name
    except (KeyError, ValueError, InputError):
        name = number
    sg = GetSpaceGroup(name)
    xyz = numpy.array(structure.xyz, dtype=float) % 1.0
    kinds = numpy.array([element_symbol(a.element) for a in structure])
    for op in sg.iter_symops():
        moved = (xyz @ numpy.asarray(op.R, float).T + op.t) % 1.0
        d = moved[:, None, :] - xyz[None, :, :]
        d -= numpy.round(d)
        close = (numpy.abs(d) < tol).all(axis=2)
        close &= kinds[:, None] == kinds[None, :]
        if not close.any(axis=1).all():
            return False
    return True


def _to_pyxtal(structure):
    # optional dependencies (pyxtal brings pymatgen): only this route
    from pymatgen.core import Lattice, Structure
    from pyxtal import pyxtal

    pmg = Structure(
        Lattice(numpy.array(structure.lattice.base, dtype=float)),
        [element_symbol(a.element) for a in structure],
        numpy.array(structure.xyz, dtype=float) % 1.0,
    )
    crystal = pyxtal()
    crystal.from_seed(pmg, tol=1e-3)
    return crystal


def _from_pyxtal(crystal, number, uiso):
    pmg = crystal.to_pymatgen()
    shift = numpy.array(setting_shift(number))
    frac = (numpy.array(pmg.frac_coords) + shift) % 1.0
    return settings.structure_from_cell(
        pmg.lattice.matrix,
        frac,
        [element_symbol(str(sp)) for sp in pmg.species],
        uiso=uiso,
    )


def _transform(structure, rows):
    """Structure in the basis ``rows @ base`` (rows: new vectors in old
    fractional units), atoms filling the new cell."""
    rows = numpy.asarray(rows, dtype=float)
    base = numpy.array(structure.lattice.base, dtype=float)
    new_base = rows @ base
    ratio = abs(numpy.linalg.det(rows))
    inv = numpy.linalg.inv(rows)
    frac = numpy.array(structure.xyz, dtype=float)
    kinds = [element_symbol(a.element) for a in structure]
    n = int(numpy.ceil(max(1.0, numpy.abs(rows).sum(axis=0).max())))
    grid = numpy.arange(-n, n + 1)
    shifts = numpy.array(numpy.meshgrid(grid, grid, grid)).reshape(3, -1).T
    out_xyz, out_kinds = [], []
    for xyz, kind in zip(frac, kinds):
        cand = (xyz + shifts) @ inv
        cand = cand[((cand > -1e-6) & (cand < 1 - 1e-6)).all(axis=1)]
        for c in cand:
            out_xyz.append(c % 1.0)
            out_kinds.append(kind)
    if len(out_xyz) != int(round(len(frac) * ratio)):
        return structure
    uiso = float(numpy.mean([a.Uisoequiv for a in structure]))
    return settings.structure_from_cell(new_base, out_xyz, out_kinds, uiso)


def _reduce_cell(structure, number):
    """Shorter cell of a monoclinic (b-unique) or triclinic structure.

    Monoclinic cells are reduced in the a-c plane with steps
    a -> a + 2nc and c -> c + 2ma, which keep the centring and the
    glide of the standard settings of groups 12 to 15, and beta is made
    obtuse; triclinic cells are Niggli-reduced.
    """
    base = numpy.array(structure.lattice.base, dtype=float)
    if number <= 2:
        from pymatgen.core import Lattice  # optional, comes with pyxtal

        red = Lattice(base).get_niggli_reduced_lattice()
        rows = numpy.linalg.solve(base.T, red.matrix.T).T
        rows = numpy.round(rows)
        if abs(abs(numpy.linalg.det(rows)) - 1) > 1e-6:
            return structure
        if numpy.linalg.det(rows) < 0:
            rows = -rows
        return _transform(structure, rows)
    rows = numpy.eye(3)
    for _ in range(20):
        a, c = rows[0] @ base, rows[2] @ base
        best = numpy.linalg.norm(a) + numpy.linalg.norm(c)
        change = None
        for k in (2, -2):
            for i, j in ((0, 2), (2, 0)):
                trial = rows.copy()
                trial[i] = rows[i] + k * rows[j]
                ta, tc = trial[0] @ base, trial[2] @ base
                size = numpy.linalg.norm(ta) + numpy.linalg.norm(tc)
                if size < best - 1e-6:
                    best, change = size, trial
        if change is None:
            break
        rows = change
    a, c = rows[0] @ base, rows[2] @ base
    if numpy.dot(a, c) > 0:  # beta acute: (a, b, c) -> (-a, -b, c)
        rows = rows * numpy.array([[-1], [-1], [1]])
    if numpy.allclose(rows, numpy.eye(3)):
        return structure
    return _transform(structure, rows)


def _subgroup_step(crystal, step, rng, tries):
    """One maximal step with pyxtal's ``subgroup_once`` (no
    perturbation): translationengleiche first, klassengleiche next."""
    for _ in range(tries):
        crystal.random_state = rng
        for gtype in ("t", "k"):
            try:
                nxt = crystal.subgroup_once(
                    eps=0.0,
                    H=step,
                    group_type=gtype,
                    mut_lat=False,
                    max_cell=4,
                )
            except (ValueError, IndexError, KeyError, TypeError):
                nxt = None
            if nxt is not None:
                return nxt
    raise InputError(
        f"no transformation from {crystal.group.number} to {step} found "
        "(pyxtal)"
    )


def to_subgroup(structure, group, subgroup, uiso=None, seed=0, tries=6):
    """Return a structure of ``group`` written exactly in ``subgroup``.

    Parameters
    ----------
    structure : diffpy.structure.Structure
        All atoms of the cell, in any setting of ``group``.
    group, subgroup : int
        Space-group numbers; ``subgroup`` must be a subgroup of
        ``group``.
    uiso : float, optional
        Isotropic ADP of every atom; by default each atom keeps its own
        (:func:`carry_adps`), so that the structure's PDF is unchanged.
    seed : int
        Seed of the numpy Generator that picks among equivalent
        transformations when pyxtal offers several.
    tries : int
        Attempts per step.

    Returns
    -------
    diffpy.structure.Structure
        All atoms of the conventional cell of ``subgroup`` in diffpy's
        setting; same atoms, same distances.

    Raises
    ------
    InputError
        When no chain leads from ``group`` to ``subgroup`` or the
        transformed structure fails the symmetry check.

    Examples
    --------
    >>> from diffpy.sgpredict.refine import settings
    >>> si = settings.expand([5.43] * 3 + [90] * 3, [("Si", 0, 0, 0)], 227)
    >>> len(to_subgroup(si, 227, 141))
    4
    """
    own = uiso is None
    if own:
        uiso = float(numpy.mean([a.Uisoequiv for a in structure]) or 0.005)
    rng = numpy.random.default_rng(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        crystal = _to_pyxtal(structure)
        found = int(crystal.group.number)
        if found == int(subgroup):
            # the structure has the subgroup's symmetry already (a
            # klassengleiche pair such as Pm-3m/Fm-3m): standardise it
            out = settings.standardize(structure, subgroup, uiso=uiso)
            return carry_adps(structure, out) if own else out
        if found != int(group):
            group = found  # higher symmetry than stated: start from it
        path = subgroup_path(group, subgroup)
        if path is None:
            raise InputError(
                f"space group {subgroup} is not a subgroup of {group} "
                "within five maximal steps"
            )
        for step in path[1:]:
            crystal = _subgroup_step(crystal, int(step), rng, tries)
    out = _from_pyxtal(crystal, subgroup, uiso)
    if subgroup <= 15:
        reduced = _reduce_cell(out, subgroup)
        if has_symmetry(reduced, subgroup):
            out = reduced
    if not has_symmetry(out, subgroup):
        raise InputError(
            f"transformed structure lacks the symmetry of {subgroup}"
        )
    return carry_adps(structure, out) if own else out


def environments(structure, rmax=4.5, per_element=4):
    """Each atom's nearest distances to every element, as one row.

    Row i holds, for each element of the structure in alphabetical
    order, the ``per_element`` shortest distances (A) from atom i to
    atoms of that element (padded with ``rmax``).  Distances do not
    change under a change of cell or origin, so the rows identify an
    atom's orbit across settings.

    Examples
    --------
    >>> from diffpy.sgpredict.refine import settings
    >>> nacl = settings.expand([5.64] * 3 + [90] * 3,
    ...                        [("Na", 0, 0, 0), ("Cl", .5, .5, .5)], 225)
    >>> environments(nacl)[0].round(2).tolist()  # Cl then Na neighbours
    [2.82, 2.82, 2.82, 2.82, 3.99, 3.99, 3.99, 3.99]
    """
    base = numpy.array(structure.lattice.base, dtype=float)
    cart = (numpy.array(structure.xyz, dtype=float) % 1.0) @ base
    kinds = numpy.array([element_symbol(a.element) for a in structure])
    shifts = lattice_translations(base, rmax)
    rows = numpy.full((len(cart), 0), rmax)
    for element in sorted(set(kinds)):
        others = (cart[kinds == element][:, None, :] + shifts).reshape(-1, 3)
        block = numpy.full((len(cart), per_element), rmax)
        for i, x in enumerate(cart):
            d = numpy.sqrt(((others - x) ** 2).sum(axis=1))
            d = numpy.sort(d[(d > 1e-6) & (d < rmax)])[:per_element]
            block[i, : len(d)] = d
        rows = numpy.hstack([rows, block])
    return rows


def carry_adps(source, target):
    """Give each atom of ``target`` the isotropic ADP of the atom of
    ``source`` with its element and nearest environment
    (:func:`environments`); ``target`` is changed in place and returned.

    ``target`` is ``source`` written in another cell or setting (a
    subgroup's), whose construction lost the per-atom ADPs; without
    them a refined structure's PDF would change on the way (refined
    SmCo(BO2)5 in P2_1/c, Rw 0.043, written in P-1 with the mean ADP:
    Rw 0.163 before any step).
    """
    src, tgt = environments(source), environments(target)
    if src.shape[1] != tgt.shape[1]:
        return target  # not the same elements: nothing to carry
    src_kinds = numpy.array([element_symbol(a.element) for a in source])
    src_u = numpy.array([float(a.Uisoequiv) for a in source])
    tgt_kinds = numpy.array([element_symbol(a.element) for a in target])
    for kind in set(tgt_kinds) & set(src_kinds):
        into = numpy.flatnonzero(tgt_kinds == kind)
        mine = numpy.flatnonzero(src_kinds == kind)
        diff = numpy.abs(tgt[into][:, None, :] - src[mine][None, :, :])
        nearest = mine[diff.sum(axis=2).argmin(axis=1)]
        for i, j in zip(into, nearest):
            target[i].anisotropy = False
            target[i].Uisoequiv = src_u[j]
    return target


def to_supergroup(structure, number, tolerances=SYMMETRIZE_TOLERANCES):
    """Symmetrize a structure into a supergroup it nearly has.

    The way back of :func:`to_subgroup`: a structure refined in a
    subgroup H that has the symmetry of G within a tolerance (spglib,
    smallest tolerance of ``tolerances`` that finds G) is written,
    idealized, in diffpy's setting of G, so that G can be refined from
    what H found.

    Parameters
    ----------
    structure : diffpy.structure.Structure
        All atoms of the cell; each symmetrized atom keeps the isotropic
        ADP of the nearest-environment atom (:func:`carry_adps`).
    number : int
        The supergroup.
    tolerances : sequence of float
        spglib tolerances in A.

    Returns
    -------
    (diffpy.structure.Structure, float) or None
        The symmetrized structure and the tolerance that found G, or
        None when none did.

    Examples
    --------
    >>> ni = settings.expand([3.52] * 3 + [90] * 3, [("Ni", 0, 0, 0)], 225)
    >>> sub = to_subgroup(ni, 225, 139)
    >>> sub[0].xyz = sub[0].xyz + [0.004, 0.0, 0.003]  # a refined wobble
    >>> std, tol = to_supergroup(sub, 225)
    >>> len(std), tol, round(std.lattice.a, 2)
    (4, 0.05, 3.52)
    """
    uiso = float(numpy.mean([a.Uisoequiv for a in structure]))
    for tol in tolerances:
        try:
            std = settings.standardize(
                structure, number, symprec=tol, uiso=uiso
            )
        except InputError:
            continue
        return carry_adps(structure, std), tol
    return None

"""Build ``data/wyckoff/wyckoff.json``: Wyckoff positions of the 230 groups.

Run ``python -m diffpy.sgpredict.refine._build_wyckoff`` (needs pyxtal,
MIT licence, whose tables follow the International Tables for
Crystallography, Vol. A).  For each group the file lists every Wyckoff
position as ``[multiplicity, letter, dof, matrix]`` where ``matrix`` is
the 3x4 affine map from the free parameters ``(x, y, z)`` to the
representative coordinate of the position; ``origin_shift`` gives, for
the groups where the settings differ, the vector added to pyxtal's
(International Tables' origin choice 2) coordinates to reach diffpy's.

The coordinates are in the setting of
:func:`diffpy.structure.spacegroups.GetSpaceGroup` for the number (for
the groups with two origin choices diffpy.structure uses origin choice
1, pyxtal origin choice 2; the builder finds the origin shift that maps
every position onto an orbit of the right size with diffpy's operations
and stores the shifted coordinates).
"""

import itertools
import json
import os

import numpy

__all__ = ["build"]

_OUT = os.path.join(
    os.path.dirname(os.path.dirname(__file__)), "data", "wyckoff"
)


def _matches(sg, positions, shift):
    from diffpy.structure.symmetryutilities import ExpandAsymmetricUnit

    probe = numpy.array([0.1234, 0.2345, 0.3456])
    for mult, _, _, mat in positions:
        mat = numpy.asarray(mat, float)
        xyz = mat[:, :3] @ probe + mat[:, 3] + shift
        eau = ExpandAsymmetricUnit(sg, [xyz])
        if len(eau.expandedpos[0]) != mult:
            return False
    return True


def _origin_in_a(sg, positions, shift):
    """Whether position 'a' (when it has no free parameter) holds 0,0,0."""
    from diffpy.structure.symmetryutilities import ExpandAsymmetricUnit

    for mult, letter, dof, mat in positions:
        if letter != "a":
            continue
        if dof:
            return True
        xyz = numpy.asarray(mat, float)[:, 3] + shift
        orbit = ExpandAsymmetricUnit(sg, [xyz]).expandedpos[0]
        d = numpy.asarray(orbit) % 1.0
        d = numpy.minimum(d, 1.0 - d)
        return bool((numpy.abs(d).sum(axis=1) < 1e-6).any())
    return True


def _shift(sg, positions):
    """Smallest origin shift that maps pyxtal's setting onto diffpy's;
    among equal ones the one that puts position 'a' at the origin, as
    the International Tables do in origin choice 1."""
    grid = [i / 8.0 for i in range(-4, 4)]
    cands = sorted(
        itertools.product(grid, repeat=3),
        key=lambda v: (sum(abs(x) for x in v), v),
    )
    valid = [
        numpy.array(c)
        for c in cands
        if _matches(sg, positions, numpy.array(c))
    ]
    if not valid:
        raise RuntimeError(f"{sg.short_name}: no origin shift found")
    for cand in valid:
        if _origin_in_a(sg, positions, cand):
            return cand
    return valid[0]


def _in_orbit(ops, point, mat):
    """Whether ``point`` lies on the orbit of the Wyckoff position whose
    3x4 map is ``mat`` (some free parameters and lattice vector)."""
    m3, m = mat[:, :3], mat[:, 3]
    free = numpy.abs(m3).sum(axis=0) > 0
    shifts = numpy.array(list(itertools.product(range(-2, 3), repeat=3)))
    for rot, tra in ops:
        v = rot @ point + tra - m
        targets = v[None, :] + shifts
        if free.any():
            sol = numpy.linalg.lstsq(m3[:, free], targets.T, rcond=None)[0]
            targets = targets - (m3[:, free] @ sol).T
        if (numpy.abs(targets).max(axis=1) < 1e-6).any():
            return True
    return False


def _checked(ops, by_letter, letters, images, op, shift):
    """The letters' images under the operation ``op`` (pyxtal's list
    ``images``, or its inverse: the table gives some maps the other way
    round), checked on a generic point of each position; None when
    neither fits."""
    probe = numpy.array([0.1234, 0.2345, 0.3456])
    inverse = "".join(letters[images.index(w)] for w in letters)
    for cand in (images, inverse):
        for w, image in zip(letters, cand):
            mat = by_letter[w]
            point = mat[:, :3] @ probe + mat[:, 3]
            moved = op.rotation_matrix @ (point - shift)
            moved = moved + op.translation_vector + shift
            if not _in_orbit(ops, moved, by_letter[image]):
                break
        else:
            return cand
    return None


def _keeps_cell(number, rotation):
    """Whether a rotation part keeps every cell of the group's crystal
    system: :math:`R^T G R = G` for a generic metric :math:`G` of the
    system (lengths 4.1, 5.3, 6.7 A as the system allows)."""
    from diffpy.sgpredict.refine.wyckoff_model import cell_base

    if number <= 2:
        cell = (4.1, 5.3, 6.7, 81.0, 97.0, 103.0)
    elif number <= 15:
        cell = (4.1, 5.3, 6.7, 90.0, 101.0, 90.0)
    elif number <= 74:
        cell = (4.1, 5.3, 6.7, 90.0, 90.0, 90.0)
    elif number <= 142:
        cell = (4.1, 4.1, 6.7, 90.0, 90.0, 90.0)
    elif number <= 194:
        cell = (4.1, 4.1, 6.7, 90.0, 90.0, 120.0)
    else:
        cell = (4.1, 4.1, 4.1, 90.0, 90.0, 90.0)
    base = cell_base(cell)
    metric = base @ base.T
    rot = numpy.asarray(rotation, dtype=float)
    return numpy.allclose(rot.T @ metric @ rot, metric)


def _letter_maps(number, sg, rows, shift):
    """The permutations of the group's letters by the coset
    representatives of its Euclidean normalizer (pyxtal's
    ``wyckoff_sets.json``), each checked in diffpy's setting; the
    distinct ones that move a letter, as strings of images in the order
    of ``letters``.  Operations that change the cell (the axis
    permutations of Pmmm, Pbam, Pnnm, Cmmm and Immm, which take a cell
    a < b < c to one with another order) are left out: the
    enumeration's grid of cell shapes is not closed under them."""
    from importlib import resources

    from pymatgen.core.operations import SymmOp

    ref = resources.files("pyxtal").joinpath("database", "wyckoff_sets.json")
    entry = json.loads(ref.read_text(encoding="utf-8"))[str(number)]
    by_letter = {row[1]: numpy.asarray(row[3], float) for row in rows}
    letters = "".join(sorted(by_letter, key=lambda w: (w.isupper(), w)))
    ops = [
        (numpy.asarray(op.R, float), numpy.asarray(op.t, float))
        for op in sg.iter_symops()
    ]
    maps = set()
    for rep, images in zip(
        entry["Coset Representative"], entry["Transformed WP"]
    ):
        images = "".join(images.split())
        if len(images) != len(letters):
            raise RuntimeError(f"{number}: {rep} maps {images}")
        op = SymmOp.from_xyz_str(rep)
        if not _keeps_cell(number, op.rotation_matrix):
            continue
        images = _checked(ops, by_letter, letters, images, op, shift)
        if images is None:
            raise RuntimeError(f"{number}: {rep} does not map {letters}")
        if images != letters:
            maps.add(images)
    return {"letters": letters, "maps": sorted(maps)}


def build(path=None):
    """Write the table and return it as a dict ``{number: positions}``."""
    from diffpy.structure.spacegroups import GetSpaceGroup
    from pyxtal.symmetry import Group

    table = {}
    shifts = {}
    maps = {}
    for number in range(1, 231):
        g = Group(number)
        positions = []
        for w in g.Wyckoff_positions:
            op = w.ops[0]
            mat = numpy.hstack(
                [op.rotation_matrix, op.translation_vector[:, None]]
            )
            positions.append(
                [int(w.multiplicity), w.letter, int(w.get_dof()), mat]
            )
        sg = GetSpaceGroup(number)
        shift = numpy.zeros(3)
        if not _matches(sg, positions, shift):
            shift = _shift(sg, positions)
            print(number, sg.short_name, "origin shift", shift.tolist())
        rows = []
        for mult, letter, dof, mat in positions:
            mat = mat.copy()
            mat[:, 3] = numpy.mod(mat[:, 3] + shift, 1.0)
            rows.append([mult, letter, dof, numpy.round(mat, 6).tolist()])
        table[str(number)] = rows
        shifts[str(number)] = shift.tolist()
        maps[str(number)] = _letter_maps(number, sg, rows, shift)
    path = path or os.path.join(_OUT, "wyckoff.json")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(
            {
                "source": "pyxtal Wyckoff tables (International Tables "
                "Vol. A), in diffpy.structure's setting of each number",
                "groups": table,
                "origin_shift": {k: v for k, v in shifts.items() if any(v)},
                "letter_maps": maps,
            },
            fh,
            separators=(",", ":"),
        )
    return table


if __name__ == "__main__":  # pragma: no cover
    build()

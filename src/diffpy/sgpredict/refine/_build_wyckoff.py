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


def build(path=None):
    """Write the table and return it as a dict ``{number: positions}``."""
    from diffpy.structure.spacegroups import GetSpaceGroup
    from pyxtal.symmetry import Group

    table = {}
    shifts = {}
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
    path = path or os.path.join(_OUT, "wyckoff.json")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(
            {
                "source": "pyxtal Wyckoff tables (International Tables "
                "Vol. A), in diffpy.structure's setting of each number",
                "groups": table,
                "origin_shift": {k: v for k, v in shifts.items() if any(v)},
            },
            fh,
            separators=(",", ":"),
        )
    return table


if __name__ == "__main__":  # pragma: no cover
    build()

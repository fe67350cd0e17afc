"""Write a structure as a CIF in its space group (not P1).

diffpy.structure writes CIFs in P1 only.  :func:`write_cif` writes the
symmetry-unique atoms with the Hermann-Mauguin symbol, the number and
every symmetry operation of the group in diffpy's setting (the setting
of :func:`diffpy.structure.spacegroups.GetSpaceGroup`, which is
``spglib``'s default Hall setting for the 45 groups), so any CIF reader
expands it back to the full cell.

Examples
--------
>>> from diffpy.sgpredict.refine import settings
>>> from diffpy.sgpredict.refine.cifout import cif_text
>>> ni = settings.expand([3.52] * 3 + [90] * 3, [("Ni", 0, 0, 0)], 225)
>>> text = cif_text(ni, 225)
>>> "_space_group_IT_number 225" in text, text.count("Ni1 Ni")
(True, 1)
"""

from fractions import Fraction
from pathlib import Path

import numpy
from diffpy.structure.spacegroups import GetSpaceGroup

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.chemistry import element_symbol
from diffpy.sgpredict.errors import InputError

__all__ = ["symop_string", "unique_atoms", "cif_text", "write_cif"]

#: The anisotropic ADP columns of a CIF and their tensor indices.
_UIJ = ("11", "22", "33", "12", "13", "23")
_UIJ_INDEX = tuple((int(ij[0]) - 1, int(ij[1]) - 1) for ij in _UIJ)


def _frac(value):
    f = Fraction(float(value) % 1.0).limit_denominator(24)
    if f == 0:
        return ""
    return f"+{f.numerator}/{f.denominator}"


def symop_string(rot, trans):
    """Return an operation as a CIF ``x,y,z`` string.

    Examples
    --------
    >>> import numpy
    >>> symop_string(-numpy.eye(3), [0.5, 0, 0.25])
    '-x+1/2,-y,-z+1/4'
    """
    out = []
    for row, t in zip(numpy.asarray(rot, dtype=float), trans):
        term = ""
        for coef, name in zip(row, "xyz"):
            c = int(round(coef))
            if c == 0:
                continue
            sign = "-" if c < 0 else ("+" if term else "")
            mag = "" if abs(c) == 1 else str(abs(c))
            term += f"{sign}{mag}{name}"
        out.append(term + _frac(t))
    return ",".join(out)


def _group(number):
    info = spacegroups.get(number)
    return info, GetSpaceGroup(info.diffpy_name)


def unique_atoms(structure, number, tol=1e-4):
    """Return the indices of one atom per symmetry orbit.

    Raises
    ------
    InputError
        When an operation of the group maps an atom onto no atom of the
        same element (the structure lacks the group's symmetry).

    Examples
    --------
    >>> from diffpy.sgpredict.refine import settings
    >>> s = settings.expand([4.6, 4.6, 2.96, 90, 90, 90],
    ...     [("Ti", 0, 0, 0), ("O", 0.305, 0.305, 0)], 136)
    >>> unique_atoms(s, 136)
    [0, 2]
    """
    _, sg = _group(number)
    xyz = numpy.array(structure.xyz, dtype=float) % 1.0
    kinds = [element_symbol(a.element, isotopes=True) for a in structure]
    assigned = [False] * len(xyz)
    reps = []
    for i in range(len(xyz)):
        if assigned[i]:
            continue
        reps.append(i)
        for op in sg.iter_symops():
            moved = (numpy.asarray(op.R, float) @ xyz[i] + op.t) % 1.0
            d = xyz - moved
            d -= numpy.round(d)
            hit = numpy.nonzero((numpy.abs(d) < tol).all(axis=1))[0]
            hit = [j for j in hit if kinds[j] == kinds[i]]
            if not hit:
                raise InputError(
                    f"structure lacks the symmetry of space group {number}"
                )
            for j in hit:
                assigned[j] = True
    return reps


def cif_text(structure, number, title=None):
    """Return the CIF text of a structure in space group ``number``.

    Parameters
    ----------
    structure : diffpy.structure.Structure
        All atoms of the conventional cell in diffpy's setting of the
        group.
    number : int
        Space-group number (one of the 45).
    title : str, optional
        Data block name.

    Returns
    -------
    str
    """
    info, sg = _group(number)
    lat = structure.lattice
    name = "".join(
        ch if ch.isalnum() else "_" for ch in (title or f"sg{number}")
    )
    lines = [
        f"data_{name}",
        "_audit_creation_method 'diffpy.sgpredict refine'",
        f"_symmetry_space_group_name_H-M '{sg.pdb_name}'",
        f"_space_group_name_H-M_alt '{sg.pdb_name}'",
        f"_space_group_IT_number {info.number}",
        f"_symmetry_Int_Tables_number {info.number}",
        f"_cell_length_a {lat.a:.6f}",
        f"_cell_length_b {lat.b:.6f}",
        f"_cell_length_c {lat.c:.6f}",
        f"_cell_angle_alpha {lat.alpha:.6f}",
        f"_cell_angle_beta {lat.beta:.6f}",
        f"_cell_angle_gamma {lat.gamma:.6f}",
        f"_cell_volume {lat.volume:.4f}",
        "",
        "loop_",
        "_space_group_symop_id",
        "_space_group_symop_operation_xyz",
    ]
    for i, op in enumerate(sg.iter_symops(), 1):
        lines.append(f"{i} '{symop_string(op.R, op.t)}'")
    lines += [
        "",
        "loop_",
        "_atom_site_label",
        "_atom_site_type_symbol",
        "_atom_site_fract_x",
        "_atom_site_fract_y",
        "_atom_site_fract_z",
        "_atom_site_U_iso_or_equiv",
        "_atom_site_occupancy",
    ]
    counts = {}
    aniso = []
    for i in unique_atoms(structure, number):
        atom = structure[i]
        el = element_symbol(atom.element, isotopes=True)
        counts[el] = counts.get(el, 0) + 1
        x, y, z = (float(v) % 1.0 for v in atom.xyz)
        lines.append(
            f"{el}{counts[el]} {el} {x:.6f} {y:.6f} {z:.6f} "
            f"{float(atom.Uisoequiv):.5f} {float(atom.occupancy):.4f}"
        )
        if atom.anisotropy:
            aniso.append((f"{el}{counts[el]}", atom.U))
    return "\n".join(lines + _aniso_loop(aniso)) + "\n"


def _aniso_loop(rows):
    """CIF lines of the anisotropic ADPs (label, U11 U22 U33 U12 U13 U23
    in the CIF's crystal-axis basis, as diffpy.structure holds them)."""
    if not rows:
        return []
    lines = ["", "loop_", "_atom_site_aniso_label"]
    lines += [f"_atom_site_aniso_U_{ij}" for ij in _UIJ]
    for label, u in rows:
        values = " ".join(f"{float(u[i, j]):.5f}" for i, j in _UIJ_INDEX)
        lines.append(f"{label} {values}")
    return lines


def write_cif(structure, number, path, title=None):
    """Write :func:`cif_text` to ``path`` and return the path.

    Examples
    --------
    >>> write_cif(structure, 136, "refined.cif")  # doctest: +SKIP
    'refined.cif'
    """
    Path(path).write_text(cif_text(structure, number, title))
    return str(path)

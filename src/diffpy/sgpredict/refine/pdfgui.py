"""PDFgui projects (``fit.ddp``) for a candidate, when PDFgui imports.

diffpy.pdfgui's control layer (``diffpy.pdfgui.control``) imports
without wxPython and without diffpy.pdffit2: it builds and saves
projects, and only running a refinement needs pdffit2.  Tried with
``pip install --target /tmp/pdfgui diffpy.pdfgui --no-deps`` (3.1.0) and
``PYTHONPATH=/tmp/pdfgui``: the project below is written and PDFgui
opens it.  The package is not a dependency; :func:`pdfgui_available`
tells whether it is there.

The project holds one fitting with the starting structure (symmetry
constraints of the candidate's group on positions and ADPs, the cell
tied as the crystal system requires, scale and delta2 free) and the
data set (scattering type, Qmax, Qdamp and the fit range).

Examples
--------
>>> from diffpy.sgpredict.refine.pdfgui import pdfgui_available
>>> pdfgui_available() in (True, False)
True
"""

import warnings

from diffpy.sgpredict import spacegroups

__all__ = ["pdfgui_available", "write_pdfgui_project"]

_LATTICE_TIES = {
    "cubic": ("@1", "@1", "@1", None, None, None),
    "tetragonal": ("@1", "@1", "@2", None, None, None),
    "hexagonal": ("@1", "@1", "@2", None, None, None),
    "trigonal": ("@1", "@1", "@2", None, None, None),
    "orthorhombic": ("@1", "@2", "@3", None, None, None),
    "monoclinic": ("@1", "@2", "@3", None, "@4", None),
    "triclinic": ("@1", "@2", "@3", "@4", "@5", "@6"),
}


def pdfgui_available():
    """Return True when ``diffpy.pdfgui.control`` imports."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from diffpy.pdfgui.control.pdfguicontrol import (  # noqa: F401
                PDFGuiControl,
            )
    except ImportError:
        return False
    return True


def write_pdfgui_project(spec, path, name="fit"):
    """Write a PDFgui project for a :class:`RecipeSpec`.

    Parameters
    ----------
    spec : RecipeSpec
        Data file, starting CIF, group and settings.
    path : str or path
        The ``.ddp`` file to write.
    name : str
        Name of the fitting in the project.

    Returns
    -------
    str
        The path written.

    Raises
    ------
    ImportError
        When diffpy.pdfgui is not installed.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from diffpy.pdfgui.control.constraint import Constraint
        from diffpy.pdfgui.control.pdfguicontrol import PDFGuiControl
        from diffpy.structure.spacegroups import GetSpaceGroup

        info = spacegroups.get(spec.spacegroup)
        control = PDFGuiControl()
        fit = control.newFitting(name)
        stru = control.loadStructure(fit, str(spec.structure), "phase")
        data = control.loadDataset(fit, str(spec.data), "data")
        data.stype = "N" if spec.scattering == "neutron" else "X"
        data.qmax = float(spec.qmax)
        data.qdamp = float(spec.qdamp)
        data.fitrmin = float(spec.rmin)
        data.fitrmax = float(spec.rmax)
        sg = GetSpaceGroup(info.diffpy_name)
        stru.applySymmetryConstraints(sg, list(range(len(stru))), True, True)
        for i, tie in enumerate(_LATTICE_TIES[info.crystal_system]):
            if tie:
                stru.constraints[f"lat({i + 1})"] = Constraint(tie)
        stru.constraints["pscale"] = Constraint("@91")
        stru.constraints["delta2"] = Constraint("@92")
        data.constraints["qdamp"] = Constraint("@93")
        data.constraints["dscale"] = Constraint("@94")
        control.save(str(path))
    return str(path)

"""Hand the candidate space groups over to refinements.

* :func:`starting_structure` -- a starting structure for one group
  (the user's CIF, a bundled prototype or a pyxtal structure), scaled to
  the data;
* :func:`starting_structures` -- every starting structure of a group by
  route: CIF, CIF library, prototypes, Wyckoff enumeration
  (:mod:`~diffpy.sgpredict.refine.wyckoff`);
* :func:`write_templates` -- one folder per candidate with ``start.cif``
  (in the candidate's space group), a diffpy.srfit/diffpy.cmi recipe
  ``fit.py``, a diffpy.apps macro ``fit.dp-in``, a PDFgui project when
  PDFgui imports, and a README;
* :func:`fit_candidates` -- refine every candidate with diffpy.srfit
  (through diffpy.srreal when installed, otherwise through the builtin
  calculator) in parallel, refit subgroups from better-fitting
  supergroups (:mod:`~diffpy.sgpredict.refine.subgroups`) and rank them
  by a combined score of fit, free parameters and probability.

Examples
--------
>>> from diffpy.sgpredict.refine import starting_structure
>>> starting_structure(225, composition="Ni").symbol
'Fm-3m'
"""

import importlib

#: Where each name of the package lives.  They are imported on first
#: use (PEP 562), so that a light module such as
#: :mod:`~diffpy.sgpredict.refine.work`, whose budgets the command
#: line's options show, loads without the refinement machinery.
_HOMES = {
    "StartingStructure": "diffpy.sgpredict.refine.startmodel",
    "fit_candidates": "diffpy.sgpredict.refine.ranking",
    "parse_composition": "diffpy.sgpredict.chemistry",
    "starting_structure": "diffpy.sgpredict.refine.starting",
    "starting_structures": "diffpy.sgpredict.refine.starting",
    "write_templates": "diffpy.sgpredict.refine.templates",
}

__all__ = sorted(_HOMES)


def __getattr__(name):
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_HOMES))

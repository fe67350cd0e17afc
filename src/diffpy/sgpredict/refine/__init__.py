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

from diffpy.sgpredict.chemistry import parse_composition
from diffpy.sgpredict.refine.ranking import fit_candidates
from diffpy.sgpredict.refine.starting import (
    starting_structure,
    starting_structures,
)
from diffpy.sgpredict.refine.startmodel import StartingStructure
from diffpy.sgpredict.refine.templates import write_templates

__all__ = [
    "StartingStructure",
    "fit_candidates",
    "parse_composition",
    "starting_structure",
    "starting_structures",
    "write_templates",
]

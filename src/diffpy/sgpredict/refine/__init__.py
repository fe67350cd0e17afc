"""Hand the candidate space groups over to refinements.

* :func:`starting_structure` -- a starting structure for one group
  (the user's CIF, a bundled prototype or a pyxtal structure), scaled to
  the data;
* :func:`write_templates` -- one folder per candidate with ``start.cif``,
  a diffpy.srfit/diffpy.cmi recipe ``fit.py``, a diffpy.apps macro
  ``fit.dp-in`` and a README (with the PDFgui steps);
* :func:`fit_candidates` -- refine every candidate with diffpy.srfit
  (through diffpy.srreal when installed, otherwise through the builtin
  calculator) in parallel and rank them by Rw.

Examples
--------
>>> from diffpy.sgpredict.refine import starting_structure
>>> starting_structure(225, composition="Ni").symbol
'Fm-3m'
"""

from diffpy.sgpredict.chemistry import parse_composition
from diffpy.sgpredict.refine.candidates import Candidate
from diffpy.sgpredict.refine.ranking import fit_candidates
from diffpy.sgpredict.refine.starting import (
    StartingStructure,
    starting_structure,
    starting_structures,
)
from diffpy.sgpredict.refine.templates import write_templates

__all__ = [
    "Candidate",
    "StartingStructure",
    "fit_candidates",
    "parse_composition",
    "starting_structure",
    "starting_structures",
    "write_templates",
]

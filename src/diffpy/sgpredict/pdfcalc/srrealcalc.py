"""The ``srreal`` backend: diffpy.srreal's PDFCalculator itself.

Available only where ``diffpy.srreal`` is installed (it has a compiled
C++ core and comes from conda-forge).  The structure is prepared as for
the reference data of the package: element labels are made neutral
(``O2-`` -> ``O``), and with a ``uiso`` setting every atom is made
isotropic with that Uiso.  The calculator uses the ``BASIC`` evaluator,
so every pair is summed afresh.
"""

import math

import numpy

from diffpy.sgpredict.chemistry import element_symbol
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.pdfcalc import PDFSettings

__all__ = ["SrrealCalculator", "prepare_structure"]


def prepare_structure(structure, uiso=PDFSettings.uiso):
    """Return a copy of a structure ready for srreal.

    Parameters
    ----------
    structure : diffpy.structure.Structure
        The structure; it is not changed.
    uiso : float or None
        Isotropic ADP for every atom, or None to keep the ADPs (default:
        the one of :class:`~diffpy.sgpredict.pdfcalc.PDFSettings`).

    Returns
    -------
    diffpy.structure.Structure
        A copy with neutral element labels (and the given Uiso).

    Examples
    --------
    >>> from diffpy.structure import Atom, Lattice, Structure
    >>> s = Structure([Atom("O2-", [0, 0, 0])], lattice=Lattice())
    >>> t = prepare_structure(s, 0.005)
    >>> t[0].element, t[0].anisotropy, float(t[0].Uisoequiv)
    ('O', False, 0.005)
    """
    stru = structure.copy()
    for atom in stru:
        # D and T stay: srreal's neutron table has their own lengths
        atom.element = element_symbol(atom.element, isotopes=True)
        if uiso is not None:
            atom.anisotropy = False
            atom.Uisoequiv = float(uiso)
    return stru


class SrrealCalculator:
    """diffpy.srreal's ``PDFCalculator`` with the package's settings.

    Examples
    --------
    >>> SrrealCalculator.available() in (True, False)
    True
    """

    name = "srreal"
    description = "diffpy.srreal PDFCalculator (BASIC evaluator)"

    @classmethod
    def unavailable_reason(cls):
        """Return why diffpy.srreal cannot be used here, or None."""
        try:
            import diffpy.srreal.pdfcalculator  # noqa: F401
        except ImportError as exc:
            return (
                f"is not available here: diffpy.srreal cannot be imported "
                f"({exc}); install it from conda-forge"
            )
        return None

    @classmethod
    def available(cls):
        """Return True when diffpy.srreal can be imported."""
        return cls.unavailable_reason() is None

    def make_calculator(self, settings):
        """Return a configured ``diffpy.srreal`` PDFCalculator."""
        from diffpy.srreal.pdfcalculator import PDFCalculator

        pc = PDFCalculator()
        pc.evaluatortype = "BASIC"
        pc.setScatteringFactorTableByType(settings.scattering)
        pc.rmin = settings.rmin
        pc.rmax = settings.rmax
        pc.rstep = settings.rstep
        pc.qmin = settings.qmin
        if math.isfinite(settings.qmax):
            pc.qmax = settings.qmax
        pc.qdamp = settings.qdamp
        pc.qbroad = settings.qbroad
        pc.delta1 = settings.delta1
        pc.delta2 = settings.delta2
        pc.scale = settings.scale
        return pc

    def __call__(self, structure, settings):
        """Return ``(r, g)`` for a diffpy Structure and PDFSettings."""
        stru = prepare_structure(structure, settings.uiso)
        pc = self.make_calculator(settings)
        try:
            r, g = pc(stru)
        except (ValueError, RuntimeError) as exc:
            raise InputError(f"srreal cannot compute the PDF: {exc}") from None
        return numpy.array(r, dtype=float), numpy.array(g, dtype=float)

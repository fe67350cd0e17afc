"""The srfit profile generator that computes G(r) with the builtin
calculator, so that a refinement runs on a plain ``pip install``
(diffpy.srreal's ``PDFGenerator`` is used instead when it imports).

Examples
--------
>>> from diffpy.sgpredict.refine.generator import BuiltinPDFGenerator
>>> sorted(BuiltinPDFGenerator("G1")._parameters)[:3]
['delta1', 'delta2', 'qbroad']
"""

import warnings

import numpy

from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.pdfcalc import make_settings
from diffpy.sgpredict.pdfcalc.builtin import pdf_from_arrays, structure_arrays
from diffpy.sgpredict.pdfcalc.pairs import atom_orbits
from diffpy.sgpredict.refine.fitdata import DEFAULT_QMAX
from diffpy.sgpredict.refine.work import fit_call_cost

__all__ = [
    "BuiltinPDFGenerator",
    "FitDeadline",
    "srfit_parts",
    "srreal_available",
]


def srreal_available():
    """Return True when diffpy.srreal (and so srfit's PDFGenerator) works.

    Examples
    --------
    >>> srreal_available() in (True, False)
    True
    """
    try:
        import diffpy.srreal.pdfcalculator  # noqa: F401
    except (ImportError, OSError):  # not installed, or its library broken
        return False
    return True


class FitDeadline(Exception):
    """Raised inside a residual when the budget of a fit is spent."""


def srfit_parts():
    """Import diffpy.srfit parts, failing with a clear message.

    diffpy.srfit is optional (refinements only), so it is imported
    here, on first use.

    Returns
    -------
    tuple
        ``FitContribution, FitRecipe, FitResults, Profile,
        ProfileGenerator, DiffpyStructureParSet, constrainAsSpaceGroup``.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from diffpy.srfit.fitbase import (
                FitContribution,
                FitRecipe,
                FitResults,
                Profile,
                ProfileGenerator,
            )
            from diffpy.srfit.structure.diffpyparset import (
                DiffpyStructureParSet,
            )
            from diffpy.srfit.structure.sgconstraints import (
                constrainAsSpaceGroup,
            )
    except ImportError as exc:
        raise InputError(
            f"refinements need diffpy.srfit ({exc}); install it with "
            "'pip install diffpy.srfit six'"
        ) from None
    return (
        FitContribution,
        FitRecipe,
        FitResults,
        Profile,
        ProfileGenerator,
        DiffpyStructureParSet,
        constrainAsSpaceGroup,
    )


def _make_generator_class():
    ProfileGenerator = srfit_parts()[4]
    DiffpyStructureParSet = srfit_parts()[5]

    class _BuiltinPDFGenerator(ProfileGenerator):
        """srfit ProfileGenerator computing G(r) with the builtin code.

        Parameters (srfit names): ``scale``, ``qdamp``, ``qbroad``,
        ``delta1``, ``delta2`` and, after :meth:`setStructure`, the
        structure parameter set ``phase``.  ``meta`` holds ``qmax``,
        ``qmin`` and ``scattering``.  ``orbits`` (one index per atom:
        the sets of atoms that the recipe's space-group constraints keep
        equivalent, set by
        :func:`~diffpy.sgpredict.refine.fitting.build_recipe`) spares
        the calculator its search for them at every evaluation.

        With a ``meter`` (:class:`~diffpy.sgpredict.refine.work.WorkMeter`)
        every evaluation is charged its estimated cost
        (:func:`~diffpy.sgpredict.refine.work.fit_call_cost`), and one
        that starts after ``deadline`` (seconds of the meter) raises
        :class:`FitDeadline`.
        """

        def __init__(self, name="G1"):
            super().__init__(name)
            self._newParameter("scale", 1.0)
            self._newParameter("qdamp", 0.0)
            self._newParameter("qbroad", 0.0)
            self._newParameter("delta1", 0.0)
            self._newParameter("delta2", 0.0)
            self.meta.update(qmax=DEFAULT_QMAX, qmin=0.0, scattering="xray")
            self.stru = None
            self.phase = None
            self.meter = None
            self.deadline = None
            self.ncalls = 0
            self.orbits = None
            self._cost = None

        def setStructure(self, stru, name="phase"):
            """Hold a diffpy Structure as a DiffpyStructureParSet."""
            self.stru = stru
            self.orbits = None
            self._cost = None
            self.phase = DiffpyStructureParSet(name, stru)
            self.addParameterSet(self.phase)
            return self.phase

        def setQmax(self, qmax):
            self.meta["qmax"] = float(qmax)

        def _arrays(self):
            """The calculator's arrays of the structure, with the
            symmetry ``orbits`` when the recipe gave them."""
            arrays = structure_arrays(
                self.stru, scattering=self.meta["scattering"], uiso=None
            )
            if self.orbits is not None:
                arrays["orbit"] = self.orbits
            return arrays

        def _call_cost(self, rmax):
            """:func:`fit_call_cost` of the structure, with the orbits
            the calculator sums over
            (:func:`~diffpy.sgpredict.pdfcalc.pairs.atom_orbits`),
            found once."""
            stru = self.stru
            nsites = int(atom_orbits(self._arrays()).max()) + 1
            return fit_call_cost(len(stru), nsites, stru.lattice.volume, rmax)

        def __call__(self, r):
            r = numpy.asarray(r, dtype=float)
            if self.meter is not None:
                if (
                    self.deadline is not None
                    and self.meter.now() > self.deadline
                ):
                    raise FitDeadline()
                if self._cost is None:
                    self._cost = self._call_cost(float(r[-1]))
                self.meter.charge(self._cost, overhead=1.0)
            self.ncalls += 1
            step = float(numpy.min(numpy.diff(r))) if len(r) > 1 else 0.01
            settings = make_settings(
                None,
                rmin=max(r[0] - 2 * step, step),
                rmax=r[-1] + 2 * step,
                rstep=step,
                qmin=self.meta["qmin"],
                qmax=self.meta["qmax"],
                qdamp=abs(self.qdamp.value),
                qbroad=abs(self.qbroad.value),
                delta1=self.delta1.value,
                delta2=self.delta2.value,
                scale=self.scale.value,
            )
            rc, gc = pdf_from_arrays(self._arrays(), settings)
            return numpy.interp(r, rc, gc)

    return _BuiltinPDFGenerator


_GENERATOR = None


def BuiltinPDFGenerator(name="G1"):
    """Return a srfit ProfileGenerator that uses the builtin calculator.

    The class is made on first use so that importing this module does
    not need diffpy.srfit.

    Examples
    --------
    >>> gen = BuiltinPDFGenerator("G1")
    >>> sorted(gen._parameters)[:3]
    ['delta1', 'delta2', 'qbroad']
    """
    global _GENERATOR
    if _GENERATOR is None:
        _GENERATOR = _make_generator_class()
    return _GENERATOR(name)

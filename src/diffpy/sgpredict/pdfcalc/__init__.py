"""PDF calculators: G(r) of a crystal structure, as diffpy.srreal does it.

:func:`calculate_pdf` is the entry point.  The work is done by a
*backend*, a class found by name in the entry-point group
``diffpy.sgpredict.calculators``; two ship with the package:

``builtin``
    :class:`~diffpy.sgpredict.pdfcalc.builtin.BuiltinCalculator`, numpy
    only, reproduces srreal's ``PDFCalculator`` to about 1e-5.
``srreal``
    :class:`~diffpy.sgpredict.pdfcalc.srrealcalc.SrrealCalculator`,
    diffpy.srreal itself, when it is installed.

A backend is a class with a ``name``, a classmethod ``available()`` and
a call ``backend()(structure, settings) -> (r, g)`` taking a
``diffpy.structure.Structure`` and a :class:`PDFSettings`.  Another
package adds one by declaring, in its own metadata::

    [options.entry_points]
    diffpy.sgpredict.calculators =
        mycalc = mypackage.module:MyCalculator

The defaults are the settings of Table 2 of Liu et al. (2019).
"""

import dataclasses
import math
import warnings
from pathlib import Path

from diffpy.structure import Structure

from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.grid import MODEL_GRID
from diffpy.sgpredict.plugins import entry_points
from diffpy.sgpredict.structures.cifs import read_structure

__all__ = [
    "CALCULATOR_GROUP",
    "NUMERIC_SETTINGS",
    "PDFSettings",
    "make_settings",
    "available_calculators",
    "calculator_status",
    "calculate_pdf",
    "get_calculator",
    "load_structure",
]

CALCULATOR_GROUP = "diffpy.sgpredict.calculators"

#: The numeric calculator settings, named as srreal's PDFCalculator names
#: them (the same names as the fields of :class:`PDFSettings`).
NUMERIC_SETTINGS = (
    "rmin",
    "rmax",
    "rstep",
    "qmin",
    "qmax",
    "qdamp",
    "qbroad",
    "delta1",
    "delta2",
    "scale",
)

_SCATTERING = ("xray", "neutron")


@dataclasses.dataclass(frozen=True)
class PDFSettings:
    """The settings of a PDF calculation (defaults: the paper's Table 2).

    Attributes
    ----------
    rmin, rmax, rstep : float
        The output grid: points :math:`r_k = k\\,\\Delta r` with
        :math:`r_{min} \\le r_k < r_{max}` (A).
    qmin, qmax : float
        Q range (1/A).  No Qmax cut is made when
        :math:`Q_{max} \\ge \\pi/\\Delta r`; no Fourier filter at all
        when also :math:`Q_{min} = 0`.
    qdamp, qbroad : float
        Instrument resolution damping and peak broadening (1/A).
    delta1, delta2 : float
        Correlated-motion sharpening (A, A^2).
    scale : float
        Overall scale.
    scattering : {"xray", "neutron"}
        Scattering-factor table.
    uiso : float or None
        Isotropic ADP given to every atom (A^2); None keeps the
        structure's own ADPs.

    Examples
    --------
    >>> s = PDFSettings(qmax=18.0)
    >>> s.qmax, s.uiso, round(s.rstep, 6)
    (18.0, 0.008, 0.136591)
    >>> sorted(s.to_dict())[:3]
    ['delta1', 'delta2', 'qbroad']
    """

    # the grid of the paper, the model's input grid (one home: grid.py)
    rmin: float = MODEL_GRID.rmin
    rmax: float = MODEL_GRID.rmax
    rstep: float = MODEL_GRID.rstep
    qmin: float = 0.5
    qmax: float = 23.0
    qdamp: float = 0.04
    qbroad: float = 0.01
    delta1: float = 0.0
    delta2: float = 0.0
    scale: float = 1.0
    scattering: str = "xray"
    uiso: float | None = 0.008

    def __post_init__(self):
        for field in dataclasses.fields(self):
            name = field.name
            value = getattr(self, name)
            if name == "scattering" or (name == "uiso" and value is None):
                continue
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise InputError(
                    f"setting {name} must be a number, got {value!r}"
                ) from None
            if math.isnan(value) or (
                math.isinf(value) and name not in ("qmax", "rmax")
            ):
                raise InputError(f"setting {name} must be finite")
            object.__setattr__(self, name, value)
        scattering = str(self.scattering).strip().lower()
        scattering = {"x-ray": "xray", "x": "xray", "n": "neutron"}.get(
            scattering, scattering
        )
        if scattering not in _SCATTERING:
            raise InputError(
                f"scattering must be 'xray' or 'neutron', got "
                f"{self.scattering!r}"
            )
        object.__setattr__(self, "scattering", scattering)
        if self.rstep <= 0:
            raise InputError(f"rstep must be positive, got {self.rstep}")
        if self.rmin < 0 or self.rmax <= self.rmin:
            raise InputError(
                f"need 0 <= rmin < rmax, got rmin={self.rmin}, "
                f"rmax={self.rmax}"
            )
        if not math.isfinite(self.rmax):
            raise InputError("rmax must be finite")
        if (self.rmax - self.rmin) / self.rstep > 10_000_000:
            raise InputError("the r-grid has more than 10 million points")
        if self.qmin < 0 or self.qmax <= self.qmin:
            raise InputError(
                f"need 0 <= qmin < qmax, got qmin={self.qmin}, "
                f"qmax={self.qmax}"
            )
        if self.qdamp < 0 or self.qbroad < 0:
            raise InputError("qdamp and qbroad must not be negative")
        if self.uiso is not None and self.uiso < 0:
            raise InputError(f"uiso must not be negative, got {self.uiso}")

    def to_dict(self):
        """Return the settings as a plain dictionary."""
        return dataclasses.asdict(self)


_FIELDS = tuple(f.name for f in dataclasses.fields(PDFSettings))


def make_settings(settings=None, **overrides):
    """Return :class:`PDFSettings` from settings, a dict and/or keywords.

    The one way every calculator entry point turns its arguments into
    settings, so that the paper's defaults live in :class:`PDFSettings`
    only.

    Parameters
    ----------
    settings : PDFSettings or dict, optional
        Starting settings (default: the paper's Table 2).
    **overrides
        Fields of :class:`PDFSettings` to change.

    Returns
    -------
    PDFSettings

    Raises
    ------
    InputError
        For a name that is not a setting, or a bad value.

    Examples
    --------
    >>> make_settings(qmax=18.0).qmax
    18.0
    >>> make_settings({"qdamp": 0.02}, uiso=None).uiso is None
    True
    >>> make_settings(qmaxx=18.0)
    Traceback (most recent call last):
    ...
    diffpy.sgpredict.errors.InputError: unknown PDF setting 'qmaxx'; ...
    """
    if isinstance(settings, dict):
        overrides = {**settings, **overrides}
        settings = None
    unknown = sorted(set(overrides) - set(_FIELDS))
    if unknown:
        raise InputError(
            f"unknown PDF setting {unknown[0]!r}; the settings are "
            + ", ".join(_FIELDS)
        )
    if settings is None:
        return PDFSettings(**overrides)
    if not isinstance(settings, PDFSettings):
        raise InputError(
            f"expected PDFSettings or a dict, got {type(settings).__name__}"
        )
    return (
        dataclasses.replace(settings, **overrides) if overrides else settings
    )


def _entry_points():
    """The registered calculators, by name.

    From :func:`diffpy.sgpredict.plugins.entry_points`; a function of
    its own so that tests can put a fake backend in its place.
    """
    return entry_points(CALCULATOR_GROUP)


_LOADED = {}


def _load(ep):
    """Import the class an entry point names.

    Returns
    -------
    (cls, reason)
        The class, or None and why it could not be imported (kept, so
        that ``get_calculator`` and ``calculator_status`` can say it).
    """
    key = (ep.name, ep.module_name, ep.object_name)
    if key not in _LOADED:
        try:
            _LOADED[key] = (ep.load(), None)
        except (ImportError, AttributeError) as exc:
            reason = f"cannot be imported ({type(exc).__name__}: {exc})"
            warnings.warn(
                f"PDF calculator {ep.name!r} ({ep.module_name}) {reason}",
                RuntimeWarning,
                stacklevel=3,
            )
            _LOADED[key] = (None, reason)
    return _LOADED[key]


def _status(ep):
    """None when the backend of ``ep`` can run here, else why not."""
    cls, reason = _load(ep)
    if cls is None:
        return reason
    if cls.available():
        return None
    why = getattr(cls, "unavailable_reason", None)
    return (why() if why is not None else None) or "is not available here"


def calculator_status():
    """Tell, for every registered backend, whether it can run here.

    Returns
    -------
    dict
        name -> None when the backend can run, otherwise the reason it
        cannot (its import error, or what its ``unavailable_reason()``
        says).

    Examples
    --------
    >>> calculator_status()["builtin"] is None
    True
    """
    return {name: _status(ep) for name, ep in sorted(_entry_points().items())}


def available_calculators():
    """Return the names of the backends that can run here.

    Returns
    -------
    list of str
        Sorted names of registered backends whose ``available()`` is
        true.

    Examples
    --------
    >>> "builtin" in available_calculators()
    True
    """
    return [n for n, why in calculator_status().items() if why is None]


def get_calculator(name="builtin"):
    """Return an instance of the backend registered as ``name``.

    Parameters
    ----------
    name : str
        Entry-point name in ``diffpy.sgpredict.calculators``.

    Returns
    -------
    object
        A callable ``(structure, settings) -> (r, g)``.

    Raises
    ------
    InputError
        When no such backend is registered or it cannot run here (the
        message says why).

    Examples
    --------
    >>> get_calculator("builtin").name
    'builtin'
    """
    ep = _entry_points().get(str(name))
    why = "is unknown" if ep is None else _status(ep)
    if why is not None:
        avail = ", ".join(available_calculators()) or "none"
        raise InputError(f"PDF calculator {name!r} {why}; available: {avail}")
    cls, _ = _load(ep)
    return cls()


def load_structure(source):
    """Return a diffpy Structure from a Structure or a structure file.

    Parameters
    ----------
    source : diffpy.structure.Structure or str or pathlib.Path
        A structure, or a file diffpy.structure can read (CIF, ...),
        read by :func:`diffpy.sgpredict.structures.cifs.read_structure`
        (CIF symmetry expanded to P1).

    Returns
    -------
    diffpy.structure.Structure

    Raises
    ------
    InputError
        For a missing, unreadable or empty file.

    Examples
    --------
    >>> load_structure("missing.cif")
    Traceback (most recent call last):
    ...
    diffpy.sgpredict.errors.InputError: missing.cif: no such file
    """
    if isinstance(source, Structure):
        return source
    if not isinstance(source, (str, Path)):
        raise InputError(
            f"expected a diffpy Structure or a file name, got "
            f"{type(source).__name__}"
        )
    return read_structure(source)


def calculate_pdf(structure, calculator="builtin", settings=None, **kwargs):
    """Compute the reduced PDF G(r) of a crystal structure.

    .. math::

        G(r) = \\left[\\frac{1}{N\\langle w\\rangle^2}\\sum_i\\sum_{j\\ne i}
            \\frac{o_i w_i o_j w_j}{d_{ij}}\\,
            \\mathcal{N}(r - d_{ij}; \\sigma_{ij}) - 4\\pi\\rho_0 r\\right]
            s\\,e^{-(Q_{damp} r)^2/2}

    with Gaussian peaks of width :math:`\\sigma_{ij} = \\sqrt{u_i+u_j}
    \\sqrt{1 - \\delta_1/d - \\delta_2/d^2 + Q_{broad}^2 d^2}`, followed
    by a Qmin/Qmax Fourier filter; see
    :mod:`diffpy.sgpredict.pdfcalc.builtin` for the details.

    Parameters
    ----------
    structure : diffpy.structure.Structure or str or pathlib.Path
        The structure or a CIF (expanded to P1, see
        :func:`load_structure`).
    calculator : str
        Backend name; see :func:`available_calculators`.
    settings : PDFSettings or dict, optional
        The settings (default: the paper's Table 2, :class:`PDFSettings`).
    **kwargs
        Settings to change, by the names of the fields of
        :class:`PDFSettings`: ``rmin, rmax, rstep, qmin, qmax, qdamp,
        qbroad, delta1, delta2, scale``, ``scattering`` ("xray" or
        "neutron") and ``uiso`` (isotropic ADP for every atom in A^2, or
        None to keep the structure's own isotropic or anisotropic ADPs).

    Returns
    -------
    r, g : numpy.ndarray
        The srreal grid :math:`r_k = k\\,\\Delta r` in
        :math:`[r_{min}, r_{max})` and G on it (1/A^2).

    Raises
    ------
    InputError
        For a bad structure, file or setting, or an unknown calculator.

    Examples
    --------
    >>> from diffpy.structure import Atom, Lattice, Structure
    >>> ni = Structure(
    ...     [Atom("Ni", xyz) for xyz in
    ...      ([0, 0, 0], [.5, .5, 0], [.5, 0, .5], [0, .5, .5])],
    ...     lattice=Lattice(3.524, 3.524, 3.524, 90, 90, 90))
    >>> r, g = calculate_pdf(ni)
    >>> len(r), round(float(r[0]), 4)
    (209, 1.5025)
    >>> round(float(r[g[r < 3].argmax()]), 2)  # nearest neighbours
    2.46
    >>> r, g = calculate_pdf(ni, qmax=18.0, rmax=10.0)
    >>> round(float(r[-1]), 2)
    9.97
    """
    settings = make_settings(settings, **kwargs)
    backend = get_calculator(calculator)
    stru = load_structure(structure)
    try:
        return backend(stru, settings)
    except InputError as exc:
        if isinstance(structure, (str, Path)):
            raise InputError(f"{structure}: {exc}") from None
        raise

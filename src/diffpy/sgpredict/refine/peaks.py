"""Peak positions of a PDF, used to scale starting structures.

:func:`first_strong_peak` finds the first strong peak of a PDF;
:func:`scale_to_data` scales a structure's cell so that its PDF lies
best on the data's (:func:`overlay_factor`), and :func:`scale_to_peak`,
without data, so that the first strong peak of its own PDF lies at a
given distance.

Examples
--------
>>> import numpy
>>> from diffpy.sgpredict.refine.peaks import first_strong_peak
>>> r = numpy.linspace(0, 10, 1001)
>>> round(first_strong_peak(r, numpy.exp(-((r - 2.5) ** 2) / 0.01)), 2)
2.5
"""

import numpy

from diffpy.sgpredict.chemistry import atomic_number
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.pdfcalc import calculate_pdf

__all__ = [
    "first_strong_peak",
    "nearest_neighbour_peak",
    "weakest_pair_fraction",
    "model_first_peak",
    "weighted_first_peak",
    "scale_to_peak",
    "overlay_factor",
    "scale_to_data",
]


def first_strong_peak(r, g, rmin=1.0, fraction=0.3):
    """Return the position of the first strong peak of a PDF.

    The first local maximum above ``rmin`` whose height is at least
    ``fraction`` of the largest value of G beyond ``rmin``; refined by a
    parabola through the three top points.

    Parameters
    ----------
    r, g : array_like
        The PDF.
    rmin : float
        Ignore everything below this distance (termination ripples).
    fraction : float
        Relative height that makes a peak strong.

    Returns
    -------
    float or None

    Examples
    --------
    >>> r = numpy.linspace(0, 10, 1001)
    >>> g = numpy.exp(-((r - 2.5) ** 2) / 0.01) + 0.1 * numpy.sin(3 * r)
    >>> round(first_strong_peak(r, g), 2)
    2.5
    """
    r = numpy.asarray(r, dtype=float)
    g = numpy.asarray(g, dtype=float)
    keep = r >= rmin
    r, g = r[keep], g[keep]
    if len(r) < 5:
        return None
    top = numpy.max(g)
    if top <= 0:
        return None
    for i in range(1, len(g) - 1):
        if g[i] >= fraction * top and g[i] >= g[i - 1] and g[i] > g[i + 1]:
            y0, y1, y2 = g[i - 1], g[i], g[i + 1]
            den = y0 - 2 * y1 + y2
            shift = 0.5 * (y0 - y2) / den if den != 0 else 0.0
            return float(r[i] + shift * (r[i + 1] - r[i - 1]) / 2)
    return None


def weakest_pair_fraction(weights):
    """Height of the weakest pair's peak relative to the strongest.

    A peak of pairs i-j has an area proportional to :math:`w_i w_j`, so
    with scattering weights :math:`w` the nearest-neighbour peak of the
    weakest pair can be as low as

    .. math::

        f = \\min_{i \\ne j} |w_i w_j| \\,/\\, \\max_i w_i^2

    of a peak of the strongest scatterers at the same coordination
    (the product of the two smallest weights over the largest squared).

    Parameters
    ----------
    weights : iterable of float
        Scattering weights of the elements (X-ray f(0) or neutron b).

    Returns
    -------
    float
        1 for one element or equal weights.

    Examples
    --------
    >>> round(weakest_pair_fraction([56.0, 28.0, 8.0]), 3)   # Ba, Ni, O
    0.071
    """
    w = numpy.abs(numpy.asarray(list(weights), dtype=float))
    if not len(w) or w.max() <= 0:
        return 1.0
    return float(w.min() * numpy.sort(w)[min(1, len(w) - 1)] / w.max() ** 2)


def nearest_neighbour_peak(r, g, weights=()):
    """Return the nearest-neighbour distance of a PDF: its first peak.

    The nearest-neighbour peak can be weaker than 30 % of the tallest
    (SrFe2As2: Fe-As at 2.39 A against the As-As/Sr-As peaks near
    6.5 A), so a peak counts from 15 % of the tallest; with strong and
    weak scatterers together from 0.4 of the weakest pair's relative
    height (:func:`weakest_pair_fraction`), but not below 3 % (noise).
    BaNiO3's Ni-O peak at 1.9 A is 4 % of the tallest in X-rays; the
    Ba-O peak at 2.9 A, taken instead, made every cell of the Wyckoff
    enumeration 1.5 times too large.

    Parameters
    ----------
    r, g : array_like
        The PDF.
    weights : iterable of float, optional
        Scattering weights of the sample's elements.

    Returns
    -------
    float or None

    Examples
    --------
    >>> r = numpy.linspace(0, 10, 1001)
    >>> g = 0.04 * numpy.exp(-((r - 1.9) ** 2) / 0.01) + numpy.exp(
    ...     -((r - 2.9) ** 2) / 0.01)
    >>> round(nearest_neighbour_peak(r, g), 2)
    2.9
    >>> round(nearest_neighbour_peak(r, g, [56.0, 28.0, 8.0]), 2)
    1.9
    >>> g = numpy.exp(-((r - 2.5) ** 2) / 0.01) - numpy.exp(
    ...     -((r - 1.95) ** 2) / 0.01)          # neutron rutile's peaks
    >>> round(nearest_neighbour_peak(r, g), 2)
    2.5
    >>> round(nearest_neighbour_peak(r, g, [-3.44, 5.80]), 2)  # Ti, O
    1.95
    """
    w = list(weights)
    fraction = min(0.15, max(0.03, 0.4 * weakest_pair_fraction(w)))
    if w and min(w) < 0 < max(w):
        # neutrons: pairs of lengths of both signs give negative peaks
        # (rutile's Ti-O); the nearest neighbours are the first peak of
        # either sign (the baseline -4 pi rho0 r below it has none)
        g = numpy.abs(numpy.asarray(g, dtype=float))
    return first_strong_peak(r, g, fraction=fraction)


def model_first_peak(structure, scattering="xray"):
    """First strong peak of the structure's PDF (or shortest bond).

    The PDF is computed up to 8 A with Qmax 30 1/A for the data's
    radiation (with neutrons, pairs of a negative and a positive
    scattering length give negative peaks: rutile's first strong
    positive peak is O-O at 2.5 A, not Ti-O at 1.95 A); when it cannot
    be computed (an element without form factor), the Z-weighted
    pair-distance histogram (:func:`weighted_first_peak`) stands in.

    Examples
    --------
    >>> from diffpy.sgpredict.refine import settings
    >>> ni = settings.expand([3.52] * 3 + [90] * 3, [("Ni", 0, 0, 0)], 225)
    >>> round(model_first_peak(ni), 2)
    2.49
    """
    try:
        r, g = calculate_pdf(
            structure,
            rmin=0.5,
            rmax=8.0,
            rstep=0.01,
            qmax=30.0,
            qdamp=0.0,
            qbroad=0.0,
            uiso=0.003,
            scattering=scattering,
        )
    except InputError:
        return weighted_first_peak(structure)
    return first_strong_peak(r, g) or weighted_first_peak(structure)


def weighted_first_peak(structure):
    """First strong peak of a Z-weighted pair-distance histogram.

    Examples
    --------
    >>> from diffpy.sgpredict.refine import settings
    >>> ni = settings.expand([3.52] * 3 + [90] * 3, [("Ni", 0, 0, 0)], 225)
    >>> round(weighted_first_peak(ni), 2)
    2.49
    """
    xyz = structure.xyz_cartn
    lat = numpy.array(structure.lattice.base, dtype=float)
    z = numpy.array([atomic_number(a.element) for a in structure])
    rgrid = numpy.arange(0.5, 8.0, 0.01)
    prof = numpy.zeros_like(rgrid)
    shifts = numpy.array(
        [
            [i, j, k]
            for i in (-2, -1, 0, 1, 2)
            for j in (-2, -1, 0, 1, 2)
            for k in (-2, -1, 0, 1, 2)
        ],
        dtype=float,
    )
    images = shifts @ lat
    for i in range(len(xyz)):
        d = xyz[None, :, :] + images[:, None, :] - xyz[i]
        dist = numpy.sqrt((d**2).sum(axis=2))
        w = z[i] * z[None, :] * numpy.ones_like(dist)
        ok = (dist > 0.3) & (dist < 8.0)
        for dd, ww in zip(dist[ok], w[ok]):
            prof += ww / dd * numpy.exp(-0.5 * ((rgrid - dd) / 0.05) ** 2)
    return first_strong_peak(rgrid, prof)


def scale_to_peak(structure, r1, scattering="xray"):
    """Scale the cell so that its first strong peak lies at ``r1``.

    The structure is changed in place; ``r1`` is the first strong peak
    of data of radiation ``scattering`` (:func:`model_first_peak`
    computes the model's for the same radiation).

    Returns
    -------
    float
        The factor applied to the cell edges (1 when ``r1`` is None or
        the structure has no peak).

    Examples
    --------
    >>> from diffpy.sgpredict.refine import settings
    >>> ni = settings.expand([3.52] * 3 + [90] * 3, [("Ni", 0, 0, 0)], 225)
    >>> round(scale_to_peak(ni, 2.60), 3), round(ni.lattice.a, 2)
    (1.044, 3.68)
    """
    if not r1:
        return 1.0
    peak = model_first_peak(structure, scattering)
    if not peak:
        return 1.0
    factor = float(r1) / peak
    lat = structure.lattice
    structure.lattice.setLatPar(lat.a * factor, lat.b * factor, lat.c * factor)
    return factor


def overlay_factor(
    structure, r, g, centres=(1.0,), qmax=None, scattering="xray", **window
):
    """Cell-edge factor whose PDF lies best on the data's.

    Scaling every cell edge by :math:`f` scales every distance by
    :math:`f` and the number density by :math:`f^{-3}`, so the
    structure's :math:`G(r) = 4\\pi r [\\rho(r) - \\rho_0]` becomes

    .. math::

        G_f(r) = G(r / f) \\,/\\, f^2

    (peak widths aside).  G is computed once and, for every factor
    tried, compared with the data over ``rmin`` to ``rmax`` by the
    cosine :math:`\\sum g\\,G_f / (|g|\\,|G_f|)`, which
    is :math:`\\sqrt{1 - R_w^2}` after a least-squares scale: the
    factor kept is the one with the lowest Rw.  Factors are tried from
    ``1 - span`` to ``1 + span`` times each of ``centres``, at steps of
    ``step`` (relative).

    Parameters
    ----------
    structure : diffpy.structure.Structure
        Not changed.
    r, g : array_like
        The data.
    centres : iterable of float
        Factors around which to search (1: the structure's own cell).
    qmax : float, optional
        Qmax of the data (1/A; default 25).
    scattering : {"xray", "neutron"}
        Radiation of the data.
    **window
        ``rmin`` (default 1.5 A), ``rmax`` (10 A), ``span`` (0.2) and
        ``step`` (0.0025).

    Returns
    -------
    factor : float
    rw : float
        Rw of the overlay at that factor after a least-squares scale (1
        when the window holds no data).

    Examples
    --------
    >>> from diffpy.sgpredict.refine import settings
    >>> ni = settings.expand([3.52] * 3 + [90] * 3, [("Ni", 0, 0, 0)], 225)
    >>> r, g = calculate_pdf(ni, rmin=0.0, rmax=12.0, rstep=0.02)
    >>> small = settings.expand([3.20] * 3 + [90] * 3, [("Ni", 0, 0, 0)], 225)
    >>> f, rw = overlay_factor(small, r, g)
    >>> round(f, 3), round(rw, 2)  # widths stretched too: Rw not 0
    (1.1, 0.12)
    """
    rmin = float(window.get("rmin", 1.5))
    rmax = float(window.get("rmax", 10.0))
    span = float(window.get("span", 0.2))
    step = float(window.get("step", 0.0025))
    r = numpy.asarray(r, dtype=float)
    g = numpy.asarray(g, dtype=float)
    keep = (r >= rmin) & (r <= rmax)
    r, g = r[keep], g[keep]
    if len(r) < 5 or not numpy.any(g):
        return 1.0, 1.0
    n = int(numpy.ceil(numpy.log((1 + span) / (1 - span)) / step)) + 1
    base = numpy.exp(
        numpy.linspace(numpy.log(1 - span), numpy.log(1 + span), n)
    )
    factors = numpy.unique(numpy.concatenate([c * base for c in centres]))
    rc, gc = calculate_pdf(
        structure,
        rmin=0.0,
        rmax=r[-1] / factors[0] + 0.1,
        rstep=0.01,
        qmax=qmax or 25.0,
        uiso=None,
        scattering=scattering,
    )
    # G(r/f) per factor; the 1/f^2 drops out of the cosine
    # G(r/f) per factor; the 1/f^2 drops out of the cosine
    model = numpy.interp(r[None, :] / factors[:, None], rc, gc)
    norm = numpy.linalg.norm(model, axis=1) * numpy.linalg.norm(g)
    cosine = numpy.where(
        norm > 0, model @ g / numpy.where(norm > 0, norm, 1), 0
    )
    best = int(numpy.argmax(cosine))
    rw = float(numpy.sqrt(max(0.0, 1.0 - max(cosine[best], 0.0) ** 2)))
    return float(factors[best]), rw


def scale_to_data(structure, data, r1=None, scattering="xray"):
    """Scale the cell so that its PDF lies best on the data's.

    :func:`overlay_factor` searches within 20 % of the structure's own
    cell and of the factor that :func:`scale_to_peak` would apply; the
    first strong peaks alone can disagree when a weak short bond is
    strong in one PDF and not in the other (alpha-Zr(HPO4)2.H2O: P-O
    at 1.53 A is the model's first strong peak, Zr-O at 2.06 A the
    data's, and matching them stretched a right cell by 35 %).
    Without data the cell is scaled to the peak ``r1``.

    Parameters
    ----------
    structure : diffpy.structure.Structure
        Changed in place.
    data : object with ``r``, ``g`` (and ``qmax``), (r, g) or None
        The measured PDF.
    r1 : float, optional
        The data's first strong peak (A).
    scattering : {"xray", "neutron"}
        Radiation of the data.

    Returns
    -------
    float
        The factor applied to the cell edges.

    Examples
    --------
    >>> from diffpy.sgpredict.refine import settings
    >>> ni = settings.expand([3.52] * 3 + [90] * 3, [("Ni", 0, 0, 0)], 225)
    >>> data = calculate_pdf(ni, rmin=0.0, rmax=12.0, rstep=0.02)
    >>> cu = settings.expand([3.61] * 3 + [90] * 3, [("Cu", 0, 0, 0)], 225)
    >>> round(scale_to_data(cu, data), 3), round(cu.lattice.a, 2)
    (0.976, 3.52)
    """
    if data is None:
        return scale_to_peak(structure, r1, scattering)
    r, g = (data.r, data.g) if hasattr(data, "r") else data
    centres = [1.0]
    peak = model_first_peak(structure, scattering) if r1 else None
    if peak:
        centres.append(float(r1) / peak)
    factor, _ = overlay_factor(
        structure,
        r,
        g,
        centres,
        qmax=getattr(data, "qmax", None),
        scattering=scattering,
    )
    lat = structure.lattice
    lat.setLatPar(lat.a * factor, lat.b * factor, lat.c * factor)
    return factor

"""The built-in PDF calculator: numpy only, reproduces diffpy.srreal.

The reduced pair distribution function of a periodic structure is a sum
of Gaussian peaks over all pairs of atoms ``i`` in the unit cell and
``j`` in the crystal, within the calculation range:

.. math::

    G(r) = \\left[\\frac{1}{N \\langle w\\rangle^2}
        \\sum_{i}\\sum_{j \\ne i} \\frac{o_i w_i\\, o_j w_j}{d_{ij}}
        \\frac{1}{\\sqrt{2\\pi}\\,\\sigma_{ij}}
        \\exp\\left(-\\frac{(r - d_{ij})^2}{2\\sigma_{ij}^2}\\right)
        - 4\\pi\\rho_0 r\\right]_{Q_{min},\\,Q_{max}}
        s\\, e^{-(Q_{damp} r)^2/2}

with occupancies :math:`o`, scattering weights :math:`w` (X-ray
:math:`f(0)` or neutron :math:`b`), :math:`N = \\sum_i o_i` and
:math:`\\langle w\\rangle = \\sum_i o_i w_i / N` over the unit cell,
:math:`\\rho_0 = N / V` and the peak width

.. math::

    \\sigma_{ij} = \\sqrt{u_i + u_j}\\;
        \\sqrt{1 - \\frac{\\delta_1}{d_{ij}} - \\frac{\\delta_2}{d_{ij}^2}
        + Q_{broad}^2 d_{ij}^2},

where :math:`u_i` is the mean-square displacement of atom ``i`` along
the pair (its :math:`U_{iso}`, or :math:`\\hat d^T U_i \\hat d` for an
anisotropic atom).  Pairs whose bracket is not positive contribute
nothing.  :math:`Q_{min}` and :math:`Q_{max}` (the subscript of the
bracket) are applied to the sampled curve, baseline included, before the
damping envelope and the scale, by zeroing its sine transform computed on
a padded grid, as diffpy.srreal does (see :func:`fourier_filter`); no
:math:`Q_{max}` cut is made when :math:`Q_{max} \\ge \\pi/\\Delta r`
(:func:`qmax_cut_needed`).

Speed comes from three things.  Symmetry-equivalent atoms are found
(:func:`symmetry_orbits`) and only one atom per orbit is summed, times
the orbit size, with the pairs between two orbits counted from one side
only.  Pair distances are computed in vectorised blocks.  Pairs are
histogrammed into narrow distance bins (:data:`BIN_WIDTH`) per peak
width, each bin becoming a single peak at its mean distance, so that the
number of Gaussians evaluated is bounded by the number of bins rather
than the number of pairs; the binning error is second order in the bin
width, a few 1e-6 of G for the default settings.  Peaks narrower than
12 bin widths are summed pair by pair.
"""

import math

import numpy

from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.grid import grid_indices
from diffpy.sgpredict.pdfcalc import PDFSettings, make_settings
from diffpy.sgpredict.pdfcalc.scattering import scattering_weight

__all__ = [
    "BuiltinCalculator",
    "peak_width",
    "peak_bound",
    "gaussian_sum",
    "fourier_filter",
    "qmax_cut_needed",
    "extended_indices",
    "structure_arrays",
    "symmetry_orbits",
    "pdf_from_arrays",
]

PEAK_PRECISION = 3.33e-6
"""Peaks are evaluated where the unit-area Gaussian exceeds this."""

NRIPPLES = 6
"""Termination ripples added on each side of the range for a Qmax cut."""

BIN_WIDTH = 2e-3
"""Width in A of the distance bins whose pairs are merged into a peak."""

_SQRT2PI = math.sqrt(2.0 * math.pi)
_EPS_GRID = 1e-10
_DIST_EPS = 1e-8
_SYM_WORK = 500_000
_DEFAULTS = PDFSettings()


def qmax_cut_needed(qmax, rstep):
    """Tell whether a Qmax cut changes G sampled with step ``rstep``.

    srreal applies no Qmax cut when ``qmax`` reaches the Nyquist limit
    :math:`\\pi / \\Delta r` of the grid.

    Parameters
    ----------
    qmax, rstep : float
        Qmax in 1/A and the r step in A.

    Returns
    -------
    bool

    Examples
    --------
    >>> qmax_cut_needed(23.0, math.pi / 23), qmax_cut_needed(18.0, 0.1)
    (False, True)
    """
    if not math.isfinite(qmax):
        return False
    return qmax < math.pi / rstep * (1.0 - 1e-12)


def extended_indices(rmin, rmax, rstep, qmax):
    """Return the index range of the grid on which G is computed.

    With a Qmax cut the range is widened by :math:`6 \\cdot 2\\pi /
    Q_{max}` on each side (but not below 0) so that termination ripples
    of peaks outside the range are included; otherwise it is the output
    grid.

    Parameters
    ----------
    rmin, rmax, rstep, qmax : float
        The calculator settings.

    Returns
    -------
    tuple of int
        ``(klo, khi)`` of the extended grid.

    Examples
    --------
    >>> extended_indices(0.5, 20.0, 0.01, 23.0)
    (0, 2164)
    >>> extended_indices(1.5, 30.0, math.pi / 23, 23.0)
    (11, 220)
    """
    ext = 0.0
    if qmax_cut_needed(qmax, rstep):
        ext = NRIPPLES * 2.0 * math.pi / qmax
    return grid_indices(max(0.0, rmin - ext), rmax + ext, rstep)


def peak_width(d, msd, delta1=0.0, delta2=0.0, qbroad=0.0):
    """Return the Gaussian width of pair peaks.

    .. math::

        \\sigma = \\sqrt{m}\\,\\sqrt{1 - \\delta_1/d - \\delta_2/d^2
            + Q_{broad}^2 d^2}

    where :math:`m = u_i + u_j` is the summed mean-square displacement
    of the pair along its direction.

    Parameters
    ----------
    d : array_like
        Pair distances in A (positive).
    msd : array_like
        :math:`u_i + u_j` in A^2.
    delta1, delta2, qbroad : float
        Correlated-motion and resolution broadening parameters.

    Returns
    -------
    numpy.ndarray
        :math:`\\sigma` in A; 0 where the bracket or ``msd`` is not
        positive (such pairs contribute nothing).

    Examples
    --------
    >>> round(float(peak_width(2.0, 0.016, qbroad=0.01)) ** 2, 10)
    0.0160064
    """
    d = numpy.asarray(d, dtype=float)
    msd = numpy.asarray(msd, dtype=float)
    bracket = 1.0 + (qbroad * d) ** 2
    if delta1:
        bracket = bracket - delta1 / d
    if delta2:
        bracket = bracket - delta2 / (d * d)
    s2 = msd * bracket
    return numpy.sqrt(numpy.where((bracket > 0) & (msd > 0), s2, 0.0))


def peak_bound(sigma, precision=PEAK_PRECISION):
    """Return the half-width where a unit-area Gaussian drops to
    ``precision``.

    .. math::

        x_b = \\sigma \\sqrt{-2 \\ln(\\epsilon \\sqrt{2\\pi}\\,\\sigma)}

    Parameters
    ----------
    sigma : array_like
        Gaussian widths in A.
    precision : float
        The cut-off value :math:`\\epsilon` of the profile.

    Returns
    -------
    numpy.ndarray
        :math:`x_b` in A; 0 for non-positive widths.

    Examples
    --------
    >>> round(float(peak_bound(0.1265)), 3)
    0.664
    """
    sigma = numpy.asarray(sigma, dtype=float)
    safe = numpy.where(sigma > 0, sigma, 1.0)
    arg = -2.0 * numpy.log(precision * _SQRT2PI * safe)
    return numpy.where((sigma > 0) & (arg > 0), safe, 0.0) * numpy.sqrt(
        numpy.maximum(arg, 0.0)
    )


def gaussian_sum(klo, khi, rstep, d, sigma, amp, precision=PEAK_PRECISION):
    """Sum Gaussian peaks on the grid points ``k * rstep``, klo <= k < khi.

    .. math::

        g_k = \\sum_p \\frac{A_p}{\\sqrt{2\\pi}\\,\\sigma_p}
            \\exp\\left(-\\frac{(k\\Delta r - d_p)^2}{2\\sigma_p^2}\\right)

    Each peak is evaluated only where it exceeds ``precision`` (see
    :func:`peak_bound`); peaks of zero width are skipped.

    Parameters
    ----------
    klo, khi : int
        Index range of the grid.
    rstep : float
        Grid step in A.
    d, sigma, amp : array_like
        Peak centres, widths and areas.
    precision : float, optional
        Profile cut-off.

    Returns
    -------
    numpy.ndarray
        ``khi - klo`` values.

    Examples
    --------
    >>> g = gaussian_sum(0, 5, 0.5, [1.0], [0.5], [1.0])
    >>> numpy.round(g, 4).tolist()
    [0.108, 0.4839, 0.7979, 0.4839, 0.108]
    """
    d = numpy.asarray(d, dtype=float)
    sigma = numpy.asarray(sigma, dtype=float)
    amp = numpy.asarray(amp, dtype=float)
    nk = khi - klo
    keep = (sigma > 0) & (amp != 0)
    if not keep.all():
        d, sigma, amp = d[keep], sigma[keep], amp[keep]
    if nk <= 0 or d.size == 0:
        return numpy.zeros(max(nk, 0))
    xb = peak_bound(sigma, precision)
    lo = numpy.maximum(numpy.ceil((d - xb) / rstep), klo).astype(numpy.int64)
    hi = numpy.minimum(numpy.floor((d + xb) / rstep), khi - 1)
    n = numpy.maximum(hi.astype(numpy.int64) - lo + 1, 0)
    total = int(n.sum())
    if total == 0:
        return numpy.zeros(nk)
    start = numpy.cumsum(n) - n
    owner = numpy.repeat(numpy.arange(d.size), n)
    k = numpy.arange(total) - (start - lo)[owner]
    x = k * rstep - d[owner]
    coef = amp / (_SQRT2PI * sigma)
    expo = -0.5 / (sigma * sigma)
    val = coef[owner] * numpy.exp(x * x * expo[owner])
    return numpy.bincount(k - klo, weights=val, minlength=nk)[:nk]


def fourier_filter(g, klo, rstep, qmin=0.0, qmax=None):
    """Apply Qmin and Qmax to G(r) by zeroing its sine transform.

    ``g`` is sampled at :math:`r_k = k \\Delta r` for
    ``klo <= k < klo + len(g)``.  It is padded with zeros down to
    :math:`r = 0` and up to :math:`M/2` points, where :math:`M` is
    twice the next power of two of ``klo + len(g)``, extended as an odd
    function, and Fourier transformed:

    .. math::

        F(Q_n) \\propto \\sum_k G(r_k) \\sin(Q_n r_k), \\qquad
        Q_n = \\frac{2\\pi n}{M \\Delta r}.

    :math:`F` is zeroed for :math:`Q_n < Q_{min}` and
    :math:`Q_n > Q_{max}` and transformed back.

    Parameters
    ----------
    g : array_like
        G on the grid.
    klo : int
        Index of the first point.
    rstep : float
        Grid step in A.
    qmin : float
        High-pass limit in 1/A (0 for none).
    qmax : float or None
        Low-pass limit in 1/A (None for none).

    Returns
    -------
    numpy.ndarray
        The filtered G on the same points.

    Examples
    --------
    >>> r = numpy.arange(1, 200) * 0.1
    >>> g = numpy.sin(5 * r) + 0.1 * numpy.sin(25 * r)
    >>> out = fourier_filter(g, 1, 0.1, qmax=15.0)
    >>> bool(numpy.abs(out - numpy.sin(5 * r))[50:150].max() < 0.05)
    True
    """
    g = numpy.asarray(g, dtype=float)
    npad1 = klo + g.size
    m = 2 * (1 << max(0, math.ceil(math.log2(max(npad1, 1)))))
    a = numpy.zeros(m)
    a[klo:npad1] = g
    a[m - numpy.arange(1, m // 2)] = -a[1 : m // 2]
    f = numpy.fft.rfft(a)
    q = numpy.arange(f.size) * (2.0 * math.pi / (m * rstep))
    cut = q < qmin
    if qmax is not None:
        cut |= q > qmax
    f[cut] = 0.0
    return numpy.fft.irfft(f, m)[klo:npad1]


def structure_arrays(
    stru, scattering=_DEFAULTS.scattering, uiso=_DEFAULTS.uiso
):
    """Extract the arrays the calculator needs from a structure.

    Parameters
    ----------
    stru : diffpy.structure.Structure
        The structure (all atoms of the unit cell).
    scattering : {"xray", "neutron"}
        Scattering table for the weights.
    uiso : float or None
        Isotropic ADP for every atom, or None to use the structure's own
        (isotropic or anisotropic) ADPs.  The defaults are those of
        :class:`~diffpy.sgpredict.pdfcalc.PDFSettings`.

    Returns
    -------
    dict
        ``base`` (3x3 lattice vectors as rows, A), ``frac`` (N x 3
        fractional coordinates), ``occ``, ``weight`` (scattering
        weights), ``uiso`` (N mean-square displacements for isotropic
        atoms), ``ucart`` (N x 3 x 3 Cartesian U, or None when all atoms
        are isotropic) and ``labels``.

    Raises
    ------
    InputError
        For an element without a scattering weight.

    Examples
    --------
    >>> from diffpy.structure import Atom, Lattice, Structure
    >>> s = Structure([Atom("Ni", [0, 0, 0])], lattice=Lattice(3.5, 3.5,
    ...     3.5, 90, 90, 90))
    >>> a = structure_arrays(s)
    >>> round(float(a["weight"][0]), 3), float(a["uiso"][0])
    (27.993, 0.008)
    """
    n = len(stru)
    base = numpy.array(stru.lattice.base, dtype=float)
    frac = numpy.array(stru.xyz, dtype=float).reshape(n, 3)
    occ = numpy.array(stru.occupancy, dtype=float).reshape(n)
    labels = [str(e) for e in stru.element]
    cache = {}
    weight = numpy.empty(n)
    for i, label in enumerate(labels):
        if label not in cache:
            cache[label] = scattering_weight(label, scattering)
        weight[i] = cache[label]
    ucart = None
    if uiso is not None:
        u = numpy.full(n, float(uiso))
    else:
        u = numpy.array([a.Uisoequiv for a in stru], dtype=float)
        aniso = numpy.array([bool(a.anisotropy) for a in stru])
        if aniso.any():
            nb = numpy.array(stru.lattice.normbase, dtype=float)
            uc = numpy.einsum(
                "ji,njk,kl->nil", nb, numpy.array(stru.U, dtype=float), nb
            )
            iso = numpy.eye(3) * u[:, None, None]
            ucart = numpy.where(aniso[:, None, None], uc, iso)
    return {
        "base": base,
        "frac": frac,
        "occ": occ,
        "weight": weight,
        "uiso": u,
        "ucart": ucart,
        "labels": labels,
    }


_VECTORS = numpy.array(
    [(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)],
    dtype=float,
)


def _lattice_rotations(metric, rtol=1e-9):
    """Integer matrices W (entries -1, 0, 1) with W^T G W = G.

    Each column of W is the image of a basis vector, so it must be a
    lattice vector of the same length; the candidates for every column
    are found first, then the combinations are checked.
    """
    tol = rtol * numpy.abs(metric).max()
    length = numpy.einsum("vi,ij,vj->v", _VECTORS, metric, _VECTORS)
    cols = [
        _VECTORS[numpy.abs(length - metric[k, k]) <= tol] for k in range(3)
    ]
    if any(len(c) == 0 for c in cols):
        return numpy.eye(3)[None]
    c0, c1, c2 = cols
    w = numpy.empty((len(c0), len(c1), len(c2), 3, 3))
    w[..., 0] = c0[:, None, None, :]
    w[..., 1] = c1[None, :, None, :]
    w[..., 2] = c2[None, None, :, :]
    w = w.reshape(-1, 3, 3)
    dev = numpy.abs(w.transpose(0, 2, 1) @ metric @ w - metric)
    w = w[dev.reshape(len(w), -1).max(axis=1) <= tol]
    det = numpy.rint(numpy.linalg.det(w))
    return w[numpy.abs(det) == 1]


def symmetry_orbits(base, frac, kinds, tol=1e-7):
    """Group atoms into orbits of the structure's symmetry operations.

    An operation :math:`x \\mapsto W x + t` (``W`` an integer matrix
    with entries -1, 0, 1 that preserves the metric, ``t`` a
    translation) is a symmetry when it maps every atom onto an atom of
    the same kind within ``tol`` (fractional).  Atoms related by
    symmetry have the same neighbours, so a pair sum needs only one atom
    per orbit, weighted by the orbit's size.  Operations are verified on
    the atoms themselves, so a missed operation only costs speed.

    Parameters
    ----------
    base : array_like
        Lattice vectors as rows (A).
    frac : array_like
        Fractional coordinates, N x 3.
    kinds : array_like of int
        Atoms of different kinds are never equivalent.
    tol : float, optional
        Matching tolerance in fractional coordinates.

    Returns
    -------
    orbit : numpy.ndarray
        Orbit index of every atom (0, 1, ... in order of first atom).

    Examples
    --------
    >>> base = 4.0 * numpy.eye(3)
    >>> frac = [[0, 0, 0], [.5, .5, 0], [.5, 0, .5], [0, .5, .5],
    ...     [.5, .5, .5], [0, 0, .5], [0, .5, 0], [.5, 0, 0]]
    >>> symmetry_orbits(base, frac, [1, 1, 1, 1, 2, 2, 2, 2]).tolist()
    [0, 0, 0, 0, 1, 1, 1, 1]
    """
    base = numpy.asarray(base, dtype=float)
    x = numpy.mod(numpy.asarray(frac, dtype=float), 1.0)
    kinds = numpy.asarray(kinds)
    n = len(x)
    orbit = numpy.arange(n)
    if n < 2:
        return orbit
    ws = _lattice_rotations(base @ base.T)
    # candidate translations map the first atom of the rarest kind onto
    # each atom of that kind
    ukinds, counts = numpy.unique(kinds, return_counts=True)
    groups = [numpy.nonzero(kinds == k)[0] for k in ukinds[counts.argsort()]]
    rare = groups[0]
    y = (ws[:, None, :, :] @ x[None, :, :, None])[..., 0]  # (nw, n, 3)
    tcand = (x[rare][None, :, :] - y[:, rare[0], None, :]).reshape(-1, 3)
    wcand = numpy.repeat(numpy.arange(len(ws)), rare.size)
    from scipy.spatial import cKDTree

    def _wrap(v):
        v = v - numpy.floor(v)
        v[v >= 1.0] = 0.0
        return v

    dmax = tol * math.sqrt(3.0)
    # cheap elimination with a few test atoms of every kind
    for grp in groups:
        gtree = cKDTree(_wrap(x[grp]), boxsize=1.0)
        for i in numpy.unique(grp[[0, grp.size // 2, -1]]):
            if wcand.size == 0:
                return orbit
            dist, _ = gtree.query(
                _wrap(y[wcand, i] + tcand), distance_upper_bound=dmax
            )
            good = numpy.isfinite(dist)
            wcand, tcand = wcand[good], tcand[good]
    if wcand.size == 0:
        return orbit
    # full check of the survivors, in blocks; a supercell has very many
    # operations, and a (deterministic) random subset of them is enough
    # to find most equivalences, so the work is capped
    if wcand.size * n > _SYM_WORK:
        pick = numpy.random.default_rng(0).permutation(wcand.size)
        pick = pick[: max(1, _SYM_WORK // n)]
        wcand, tcand = wcand[pick], tcand[pick]
    tree = cKDTree(_wrap(x), boxsize=1.0)
    perms = []
    block = max(1, 200_000 // n)
    for c0 in range(0, wcand.size, block):
        wc, tc = wcand[c0 : c0 + block], tcand[c0 : c0 + block]
        pts = _wrap(y[wc] + tc[:, None, :]).reshape(-1, 3)
        dist, idx = tree.query(pts, distance_upper_bound=dmax)
        found = numpy.isfinite(dist).reshape(wc.size, n)
        safe = numpy.where(found, idx.reshape(wc.size, n), 0)
        ok = (found & (kinds[safe] == kinds[None, :])).all(axis=1)
        perms.append(safe[ok])
    perms = numpy.concatenate(perms)
    if len(perms) == 0:
        return orbit
    # orbit label = smallest atom index reachable through the operations
    label = numpy.arange(n)
    for _ in range(64):
        new = numpy.minimum(label, label[perms].min(axis=0))
        numpy.minimum.at(new, perms.ravel(), numpy.tile(new, len(perms)))
        if (new == label).all():
            break
        label = new
    _, orbit = numpy.unique(label, return_inverse=True)
    return orbit.reshape(n)


def _translations(base, rcut):
    """Lattice translations that can bring an atom within ``rcut``."""
    rec = numpy.linalg.inv(base).T
    nmax = numpy.ceil(rcut * numpy.sqrt((rec**2).sum(axis=1))).astype(int)
    nmax += 1
    axes = [numpy.arange(-m, m + 1, dtype=float) for m in nmax]
    cart = (
        axes[0][:, None, None, None] * base[0]
        + axes[1][None, :, None, None] * base[1]
        + axes[2][None, None, :, None] * base[2]
    ).reshape(-1, 3)
    diag = numpy.sqrt(((_VECTORS @ base) ** 2).sum(axis=1)).max()
    keep = (cart**2).sum(axis=1) <= (rcut + diag) ** 2
    return cart[keep]


def _max_sigma(msd_max, rlo, rhi, delta1, delta2, qbroad):
    d = numpy.linspace(max(rlo, 1e-3), max(rhi, 1e-3), 257)
    return float(peak_width(d, msd_max, delta1, delta2, qbroad).max())


def _pair_peaks(arrays, rcut_lo, rcut_hi, delta1, delta2, qbroad, binw):
    """Histogram all pairs within [rcut_lo, rcut_hi] into peaks.

    Returns arrays (d, msd, amp) of merged peaks: amp is the summed
    ``o_i w_i o_j w_j`` of the pairs, d and msd their |amp|-weighted
    means.

    The sum over atoms i of the cell and atoms j of the crystal is done
    as a sum over orbits: for the representative r of orbit O and the
    atoms j of the orbits O' >= O, each pair counts |O| times when
    O' = O and 2 |O| times otherwise (the pairs between two orbits are
    seen from both sides).
    """
    base = arrays["base"]
    frac = numpy.mod(arrays["frac"], 1.0)
    n = len(frac)
    a = arrays["occ"] * arrays["weight"]
    u = arrays["uiso"]
    ucart = arrays["ucart"]
    cart = frac @ base
    if ucart is None:
        sig = numpy.stack([a, u], axis=1).round(12)
        _, kinds = numpy.unique(sig, axis=0, return_inverse=True)
        orbit = symmetry_orbits(base, frac, kinds.reshape(-1))
    else:
        orbit = numpy.arange(n)
    order = numpy.argsort(orbit, kind="stable")
    cart, a, u, orbit = cart[order], a[order], u[order], orbit[order]
    if ucart is not None:
        ucart = ucart[order]
    norb = int(orbit.max()) + 1
    first = numpy.searchsorted(orbit, numpy.arange(norb))
    size = numpy.bincount(orbit, minlength=norb).astype(float)
    trans = _translations(base, rcut_hi)
    center = numpy.full(3, 0.5) @ base
    corners = numpy.stack(
        numpy.meshgrid(*([numpy.array([0.0, 1.0])] * 3), indexing="ij"), -1
    ).reshape(-1, 3)
    radius = numpy.sqrt((((corners - 0.5) @ base) ** 2).sum(axis=1)).max()
    lo2, hi2 = rcut_lo**2, rcut_hi**2
    narrow = 12.0 * binw
    uniform_msd = ucart is None and numpy.ptp(u) == 0
    need_bracket = bool(delta1 or delta2)
    check_narrow = need_bracket or ucart is not None or 2 * u.min() < narrow**2
    nbins = int(math.ceil(rcut_hi / binw)) + 2
    if uniform_msd:
        acc0 = numpy.zeros(2 * nbins)
        acc1 = numpy.zeros(2 * nbins)
    parts = []
    exact = []
    for o in range(norb):
        r = first[o]
        p = cart[r]
        # translations that can reach within rcut of atom r
        off = trans + (center - p)
        tr = trans[(off**2).sum(axis=1) <= (rcut_hi + radius) ** 2]
        ntr = len(tr)
        if ntr == 0:
            continue
        jj = numpy.arange(r, n)
        fac = numpy.where(orbit[jj] == o, 1.0, 2.0) * (size[o] * a[r])
        ampj = fac * a[jj]
        jstep = max(1, 200_000 // ntr)
        for j0 in range(0, jj.size, jstep):
            js = jj[j0 : j0 + jstep]
            delta = cart[js] - p
            d2 = numpy.add.outer(delta[:, 0], tr[:, 0])
            d2 *= d2
            tmp = numpy.add.outer(delta[:, 1], tr[:, 1])
            tmp *= tmp
            d2 += tmp
            numpy.add.outer(delta[:, 2], tr[:, 2], out=tmp)
            tmp *= tmp
            d2 += tmp
            d2 = d2.ravel()
            mask = d2 <= hi2
            if lo2 > 0:
                mask &= d2 >= lo2
            else:
                mask &= d2 > _DIST_EPS**2
            idx = numpy.flatnonzero(mask)
            if idx.size == 0:
                continue
            dist = numpy.sqrt(d2[idx])
            jrow = idx // ntr
            amp = ampj[j0 + jrow]
            if ucart is None:
                msd = u[r] + u[js[jrow]]
            else:
                vec = delta[jrow] + tr[idx % ntr]
                usum = ucart[r] + ucart[js[jrow]]
                msd = numpy.einsum("ni,nij,nj->n", vec, usum, vec) / (
                    dist * dist
                )
            if check_narrow:
                sigma = peak_width(dist, msd, delta1, delta2, qbroad)
                isn = sigma < narrow
                if isn.any():
                    # zero-width peaks add nothing; narrow ones are exact
                    sel = isn & (sigma > 0)
                    msd = numpy.broadcast_to(msd, dist.shape)
                    exact.append((dist[sel], msd[sel], amp[sel]))
                    keep = ~isn
                    dist, amp = dist[keep], amp[keep]
                    msd = msd[keep] if numpy.ndim(msd) else msd
                    if dist.size == 0:
                        continue
            key = (dist * (1.0 / binw) + 0.5).astype(numpy.int64)
            key *= 2
            neg = amp < 0
            if neg.any():
                key += neg
                amp = numpy.abs(amp)
            if uniform_msd:
                acc0 += numpy.bincount(key, amp, 2 * nbins)
                acc1 += numpy.bincount(key, amp * dist, 2 * nbins)
            else:
                msd = numpy.broadcast_to(msd, dist.shape)
                mbin = numpy.round(msd * 1e7).astype(numpy.int64)
                key += mbin * (2 * nbins)
                parts.append(_group(key, amp, dist, msd))
    peaks = []
    if uniform_msd:
        nz = numpy.nonzero(acc0)[0]
        sign = numpy.where(nz % 2 == 1, -1.0, 1.0)
        w = acc0[nz]
        peaks.append((acc1[nz] / w, numpy.full(nz.size, 2 * u[0]), sign * w))
    elif parts:
        key = numpy.concatenate([q[0] for q in parts])
        w = numpy.concatenate([q[1] for q in parts])
        wd = numpy.concatenate([q[2] for q in parts])
        wm = numpy.concatenate([q[3] for q in parts])
        key, w, wd, wm = _group(key, w, wd, wm, weighted=False)
        sign = numpy.where(key % 2 == 1, -1.0, 1.0)
        peaks.append((wd / w, wm / w, sign * w))
    for dist, msd, amp in exact:
        peaks.append((dist, numpy.broadcast_to(msd, dist.shape), amp))
    if not peaks:
        return numpy.zeros(0), numpy.zeros(0), numpy.zeros(0)
    return tuple(numpy.concatenate([q[i] for q in peaks]) for i in range(3))


def _group(key, w, x, y, weighted=True):
    """Sum w, w*x, w*y (or w, x, y) over equal keys."""
    ukey, inv = numpy.unique(key, return_inverse=True)
    inv = inv.reshape(-1)
    m = ukey.size
    sw = numpy.bincount(inv, w, m)
    if weighted:
        return (
            ukey,
            sw,
            numpy.bincount(inv, w * x, m),
            numpy.bincount(inv, w * y, m),
        )
    return ukey, sw, numpy.bincount(inv, x, m), numpy.bincount(inv, y, m)


def pdf_from_arrays(arrays, settings=None, binw=BIN_WIDTH, **kwargs):
    """Compute G(r) of a structure given as arrays.

    See the module documentation for the equations.

    Parameters
    ----------
    arrays : dict
        As returned by :func:`structure_arrays`.
    settings : PDFSettings or dict, optional
        The calculator settings (default: the paper's Table 2).  Their
        ``scattering`` and ``uiso`` are not used here: they are applied
        by :func:`structure_arrays`.
    binw : float, optional
        Width of the distance bins, A.
    **kwargs
        Settings to change (``rmin, rmax, rstep, qmin, qmax, qdamp,
        qbroad, delta1, delta2, scale``), see
        :func:`~diffpy.sgpredict.pdfcalc.make_settings`.

    Returns
    -------
    r, g : numpy.ndarray
        The srreal grid and G(r) on it.

    Examples
    --------
    >>> from diffpy.structure import Atom, Lattice, Structure
    >>> s = Structure([Atom("Ni", [0, 0, 0]), Atom("Ni", [.5, .5, 0]),
    ...     Atom("Ni", [.5, 0, .5]), Atom("Ni", [0, .5, .5])],
    ...     lattice=Lattice(3.52, 3.52, 3.52, 90, 90, 90))
    >>> r, g = pdf_from_arrays(structure_arrays(s))
    >>> len(r), round(float(r[g[r < 3].argmax()]), 2)
    (209, 2.46)
    """
    s = make_settings(settings, **kwargs)
    rmin, rmax, rstep = s.rmin, s.rmax, s.rstep
    qmin, qmax, qdamp, qbroad = s.qmin, s.qmax, s.qdamp, s.qbroad
    delta1, delta2, scale = s.delta1, s.delta2, s.scale
    klo, khi = grid_indices(rmin, rmax, rstep)
    cut = qmax_cut_needed(qmax, rstep)
    elo, ehi = extended_indices(rmin, rmax, rstep, qmax)
    r_out = numpy.arange(klo, khi) * rstep
    rext = numpy.arange(elo, ehi) * rstep
    occ = arrays["occ"]
    ntot = float(occ.sum())
    if ntot <= 0:
        raise InputError("structure has no atoms (total occupancy is 0)")
    wavg = float((occ * arrays["weight"]).sum()) / ntot
    volume = abs(float(numpy.linalg.det(arrays["base"])))
    rho0 = ntot / volume
    # pair range: the extended grid widened by the widest peak tail
    if arrays["ucart"] is not None:
        ev = numpy.linalg.eigvalsh(arrays["ucart"])
        umax = float(max(ev.max(), arrays["uiso"].max()))
    else:
        umax = float(arrays["uiso"].max())
    rlo_ext, rhi_ext = elo * rstep, max(ehi - 1, elo) * rstep
    rcut_hi = rhi_ext + 1.0
    for _ in range(2):
        smax = _max_sigma(
            2 * umax, max(rlo_ext - 1.0, 0.1), rcut_hi, delta1, delta2, qbroad
        )
        rcut_hi = rhi_ext + float(peak_bound(smax)) + rstep
    rcut_lo = max(0.0, rlo_ext - float(peak_bound(smax)) - rstep)
    d, msd, amp = _pair_peaks(
        arrays, rcut_lo, rcut_hi, delta1, delta2, qbroad, binw
    )
    sigma = peak_width(d, msd, delta1, delta2, qbroad)
    g = gaussian_sum(elo, ehi, rstep, d, sigma, amp / d)
    # srreal leaves out the pair term when the mean weight is zero (e.g.
    # neutrons on Sm, b = 0): G is then the baseline alone
    g *= 1.0 / (ntot * wavg * wavg) if wavg != 0 else 0.0
    g -= 4.0 * math.pi * rho0 * rext
    if qmin > 0 or cut:
        g = fourier_filter(g, elo, rstep, qmin, qmax if cut else None)
    g *= scale * numpy.exp(-0.5 * (qdamp * rext) ** 2)
    return r_out, g[klo - elo : khi - elo].copy()


class BuiltinCalculator:
    """The package's own PDF calculator (numpy only).

    Reproduces diffpy.srreal's ``PDFCalculator`` (BASIC evaluator,
    Gaussian peaks, Jeong peak width, linear baseline, Qdamp and scale
    envelopes) to about 1e-5 relative error.

    Examples
    --------
    >>> from diffpy.sgpredict.pdfcalc import PDFSettings
    >>> from diffpy.structure import Atom, Lattice, Structure
    >>> s = Structure([Atom("Ni", [0, 0, 0])], lattice=Lattice(2.49, 2.49,
    ...     2.49, 60, 60, 60))
    >>> r, g = BuiltinCalculator()(s, PDFSettings())
    >>> g.shape
    (209,)
    """

    name = "builtin"
    description = "numpy implementation of the srreal PDF model"

    @classmethod
    def available(cls):
        """Always True: only numpy is needed."""
        return True

    def __call__(self, structure, settings):
        """Return ``(r, g)`` for a diffpy Structure and PDFSettings."""
        arrays = structure_arrays(
            structure, scattering=settings.scattering, uiso=settings.uiso
        )
        return pdf_from_arrays(arrays, settings)

"""Pairs of atoms within a distance range, merged into Gaussian peaks.

:func:`pair_peaks` returns the peaks of the pair sum of
:mod:`diffpy.sgpredict.pdfcalc.builtin`: for every atom ``i`` of the
cell and every atom ``j`` of the crystal within the range, a peak at
the pair distance :math:`d_{ij}` with mean-square displacement
:math:`u_i + u_j` (or :math:`\\hat d^T (U_i + U_j) \\hat d` for
anisotropic atoms) and amplitude :math:`o_i w_i\\, o_j w_j`.

The sum over atoms i of the cell and atoms j of the crystal is done as a
sum over symmetry orbits (:func:`~.symmetry.symmetry_orbits`): for the
representative r of orbit O and the atoms j of the orbits O' >= O, each
pair counts :math:`|O|` times when O' = O and :math:`2|O|` times
otherwise (the pairs between two orbits are seen from both sides).
Pairs are merged into bins of width ``binw`` per displacement
(:class:`PeakBins`); peaks narrower than 12 bin widths are kept pair by
pair.
"""

import math

import numpy

from diffpy.sgpredict.pdfcalc.peaks import peak_width
from diffpy.sgpredict.pdfcalc.symmetry import (
    lattice_translations,
    symmetry_orbits,
)

__all__ = ["pair_peaks", "max_sigma", "PeakBins", "atom_orbits"]

#: Pairs closer than this (A) are an atom with itself.
DIST_EPS = 1e-8


def max_sigma(msd_max, rlo, rhi, delta1, delta2, qbroad):
    """Widest peak width (A) over ``[rlo, rhi]`` for the largest msd."""
    d = numpy.linspace(max(rlo, 1e-3), max(rhi, 1e-3), 257)
    return float(peak_width(d, msd_max, delta1, delta2, qbroad).max())


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


class PeakBins:
    """Accumulates pairs into merged peaks.

    Pairs go into distance bins of width ``binw``, kept apart by sign
    of the amplitude and, unless every atom has the same displacement,
    by their msd (to 1e-7 A^2); each bin becomes one peak at the
    amplitude-weighted mean distance and msd.  Pairs narrower than
    ``narrow`` are kept exactly (zero-width pairs add nothing).
    """

    def __init__(self, rmax, binw, uniform_u, narrow, check_narrow, widths):
        self.binw = binw
        self.uniform_u = uniform_u
        self.narrow = narrow
        self.check_narrow = check_narrow
        self.widths = widths  # (delta1, delta2, qbroad)
        self.nbins = int(math.ceil(rmax / binw)) + 2
        if uniform_u is not None:
            self.acc0 = numpy.zeros(2 * self.nbins)
            self.acc1 = numpy.zeros(2 * self.nbins)
        self.parts = []
        self.exact = []

    def add(self, dist, msd, amp):
        """Add pairs (distances, msd per pair or one value, amplitudes)."""
        if self.check_narrow:
            sigma = peak_width(dist, msd, *self.widths)
            isn = sigma < self.narrow
            if isn.any():
                sel = isn & (sigma > 0)
                msd = numpy.broadcast_to(msd, dist.shape)
                self.exact.append((dist[sel], msd[sel], amp[sel]))
                keep = ~isn
                dist, amp = dist[keep], amp[keep]
                msd = msd[keep] if numpy.ndim(msd) else msd
                if dist.size == 0:
                    return
        key = (dist * (1.0 / self.binw) + 0.5).astype(numpy.int64)
        key *= 2
        neg = amp < 0
        if neg.any():
            key += neg
            amp = numpy.abs(amp)
        if self.uniform_u is not None:
            self.acc0 += numpy.bincount(key, amp, 2 * self.nbins)
            self.acc1 += numpy.bincount(key, amp * dist, 2 * self.nbins)
        else:
            msd = numpy.broadcast_to(msd, dist.shape)
            mbin = numpy.round(msd * 1e7).astype(numpy.int64)
            key += mbin * (2 * self.nbins)
            self.parts.append(_group(key, amp, dist, msd))

    def peaks(self):
        """Return arrays ``(d, msd, amp)`` of the merged and exact peaks."""
        peaks = []
        if self.uniform_u is not None:
            nz = numpy.nonzero(self.acc0)[0]
            sign = numpy.where(nz % 2 == 1, -1.0, 1.0)
            w = self.acc0[nz]
            peaks.append(
                (
                    self.acc1[nz] / w,
                    numpy.full(nz.size, 2 * self.uniform_u),
                    sign * w,
                )
            )
        elif self.parts:
            key = numpy.concatenate([q[0] for q in self.parts])
            w = numpy.concatenate([q[1] for q in self.parts])
            wd = numpy.concatenate([q[2] for q in self.parts])
            wm = numpy.concatenate([q[3] for q in self.parts])
            key, w, wd, wm = _group(key, w, wd, wm, weighted=False)
            # pairs of zero weight (neutrons on Sm, b = 0) add nothing
            keep = w > 0
            key, w, wd, wm = key[keep], w[keep], wd[keep], wm[keep]
            sign = numpy.where(key % 2 == 1, -1.0, 1.0)
            peaks.append((wd / w, wm / w, sign * w))
        for dist, msd, amp in self.exact:
            peaks.append((dist, numpy.broadcast_to(msd, dist.shape), amp))
        if not peaks:
            return numpy.zeros(0), numpy.zeros(0), numpy.zeros(0)
        return tuple(
            numpy.concatenate([q[i] for q in peaks]) for i in range(3)
        )


def atom_orbits(arrays):
    """The orbit index of every atom that the pair sum uses: the
    ``orbit`` a caller gave, else the symmetry orbits of atoms of equal
    amplitude and msd (:func:`~.symmetry.symmetry_orbits`); every atom
    its own orbit when the ADPs are anisotropic.

    Examples
    --------
    >>> frac = [[0, 0, 0], [.5, .5, 0], [.5, 0, .5], [0, .5, .5]]
    >>> arrays = {"base": 3.52 * numpy.eye(3), "frac": frac,
    ...           "occ": numpy.ones(4), "weight": numpy.ones(4),
    ...           "uiso": numpy.full(4, 0.005), "ucart": None}
    >>> atom_orbits(arrays).tolist()
    [0, 0, 0, 0]
    """
    if arrays["ucart"] is not None:
        return numpy.arange(len(arrays["frac"]))
    if arrays.get("orbit") is not None:
        # given by a caller that built the atoms from symmetry orbits
        # (one index per symmetry-equivalent set, equal amplitudes and
        # msd within a set)
        return numpy.asarray(arrays["orbit"], dtype=int)
    frac = numpy.mod(arrays["frac"], 1.0)
    a = arrays["occ"] * arrays["weight"]
    sig = numpy.stack([a, arrays["uiso"]], axis=1).round(12)
    _, kinds = numpy.unique(sig, axis=0, return_inverse=True)
    return symmetry_orbits(arrays["base"], frac, kinds.reshape(-1))


def _atoms_by_orbit(arrays):
    """Cartesian positions, amplitudes, msd, ucart and orbit, by orbit."""
    base = arrays["base"]
    frac = numpy.mod(arrays["frac"], 1.0)
    a = arrays["occ"] * arrays["weight"]
    u = arrays["uiso"]
    ucart = arrays["ucart"]
    cart = frac @ base
    orbit = atom_orbits(arrays)
    order = numpy.argsort(orbit, kind="stable")
    if ucart is not None:
        ucart = ucart[order]
    return cart[order], a[order], u[order], ucart, orbit[order]


def _pairs_from(r, atoms, trans, lo2, hi2, fac):
    """Yield ``(dist, msd, amp)`` of atom ``r`` with atoms ``r, r+1, ...``.

    ``trans`` are the lattice translations that can reach within the
    range of atom r; ``fac`` the orbit factor of every partner.  The
    squared distances are summed in place in blocks of about 200,000
    pairs.
    """
    cart, a, u, ucart, _ = atoms
    p = cart[r]
    ntr = len(trans)
    jj = numpy.arange(r, len(cart))
    ampj = fac * a[jj]
    jstep = max(1, 200_000 // ntr)
    for j0 in range(0, jj.size, jstep):
        js = jj[j0 : j0 + jstep]
        delta = cart[js] - p
        d2 = numpy.add.outer(delta[:, 0], trans[:, 0])
        d2 *= d2
        tmp = numpy.add.outer(delta[:, 1], trans[:, 1])
        tmp *= tmp
        d2 += tmp
        numpy.add.outer(delta[:, 2], trans[:, 2], out=tmp)
        tmp *= tmp
        d2 += tmp
        d2 = d2.ravel()
        mask = d2 <= hi2
        if lo2 > 0:
            mask &= d2 >= lo2
        else:
            mask &= d2 > DIST_EPS**2
        idx = numpy.flatnonzero(mask)
        if idx.size == 0:
            continue
        dist = numpy.sqrt(d2[idx])
        jrow = idx // ntr
        if ucart is None:
            msd = u[r] + u[js[jrow]]
        else:
            vec = delta[jrow] + trans[idx % ntr]
            usum = ucart[r] + ucart[js[jrow]]
            msd = numpy.einsum("ni,nij,nj->n", vec, usum, vec) / (dist * dist)
        yield dist, msd, ampj[j0 + jrow]


def pair_peaks(arrays, rcut_lo, rcut_hi, delta1, delta2, qbroad, binw):
    """Histogram all pairs within [rcut_lo, rcut_hi] into peaks.

    Parameters
    ----------
    arrays : dict
        :func:`~diffpy.sgpredict.pdfcalc.builtin.structure_arrays`.
    rcut_lo, rcut_hi : float
        Pair distances taken (A).
    delta1, delta2, qbroad : float
        Peak-width settings (:func:`~.peaks.peak_width`).
    binw : float
        Width of the distance bins (A).

    Returns
    -------
    d, msd, amp : numpy.ndarray
        Merged peaks: amp is the summed ``o_i w_i o_j w_j`` of the
        pairs, d and msd their means weighted by the absolute
        amplitudes.
    """
    atoms = _atoms_by_orbit(arrays)
    cart, a, u, ucart, orbit = atoms
    base = arrays["base"]
    norb = int(orbit.max()) + 1
    first = numpy.searchsorted(orbit, numpy.arange(norb))
    size = numpy.bincount(orbit, minlength=norb).astype(float)
    trans = lattice_translations(base, rcut_hi)
    center = numpy.full(3, 0.5) @ base
    corners = numpy.stack(
        numpy.meshgrid(*([numpy.array([0.0, 1.0])] * 3), indexing="ij"), -1
    ).reshape(-1, 3)
    radius = numpy.sqrt((((corners - 0.5) @ base) ** 2).sum(axis=1)).max()
    narrow = 12.0 * binw
    bins = PeakBins(
        rcut_hi,
        binw,
        u[0] if ucart is None and numpy.ptp(u) == 0 else None,
        narrow,
        bool(delta1 or delta2) or ucart is not None or 2 * u.min() < narrow**2,
        (delta1, delta2, qbroad),
    )
    for o in range(norb):
        r = first[o]
        # translations that can reach within rcut of atom r
        off = trans + (center - cart[r])
        tr = trans[(off**2).sum(axis=1) <= (rcut_hi + radius) ** 2]
        if len(tr) == 0:
            continue
        jj = numpy.arange(r, len(cart))
        fac = numpy.where(orbit[jj] == o, 1.0, 2.0) * (size[o] * a[r])
        for dist, msd, amp in _pairs_from(
            r, atoms, tr, rcut_lo**2, rcut_hi**2, fac
        ):
            bins.add(dist, msd, amp)
    return bins.peaks()

"""Symmetry of a periodic structure, found from the atoms themselves.

:func:`symmetry_orbits` groups the atoms of a cell into orbits of the
operations that map the structure onto itself, so that the pair sum of
the PDF calculator needs one atom per orbit; :func:`lattice_translations`
lists the lattice vectors that can bring an atom within a distance.
No space-group table is used: an operation counts when it maps every
atom onto an atom of the same kind, so a missed operation only costs
speed, never correctness.
"""

import math

import numpy
from scipy.spatial import cKDTree

__all__ = ["symmetry_orbits", "lattice_translations"]

#: Most (operation, atom) checks of the full verification; a supercell
#: has very many operations and a (deterministic) random subset of them
#: finds most equivalences.
SYM_WORK = 500_000

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
    if wcand.size * n > SYM_WORK:
        pick = numpy.random.default_rng(0).permutation(wcand.size)
        pick = pick[: max(1, SYM_WORK // n)]
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


def lattice_translations(base, rcut):
    """Lattice translations that can bring an atom within ``rcut``.

    Examples
    --------
    >>> len(lattice_translations(4.0 * numpy.eye(3), 1.0))
    27
    """
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

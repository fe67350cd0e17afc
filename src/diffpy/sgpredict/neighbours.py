"""Search-match: the nearest computed PDFs of known structures.

Besides the network, a model folder may carry a library of computed PDFs
of its *training* structures (``neighbours.safetensors``): each entry is
the min-max normalised G(r) on the model grid at the paper's Table-2
settings (X-rays, bulk), stored as 8-bit integers (resolution 1/255 of
the curve's range), with its space group and number of species.

A PDF is compared with an entry by the cosine similarity of the centred
curves, :math:`c(x, \\ell) = \\hat x \\cdot \\hat\\ell` with
:math:`\\hat x = (x - \\bar x) / \\lVert x - \\bar x \\rVert`, maximised
over a lattice scale factor :math:`u` (a material's lattice differs from
a relaxed or differently composed crystal of its type by a few per cent,
which moves the peaks at 20 A by several tenths of an angstrom),

.. math::

    s_j = \\max_{u \\in U} c\\big(x(r / u), \\ell_j\\big), \\qquad
    U = \\{1 - \\sigma, 1 - \\sigma + \\delta, \\dots, 1 + \\sigma\\}.

For speed the strain search is made on the ``candidates`` entries most
similar in a first pass that is tolerant of strain and cheap: both
curves blurred by a Gaussian of width :math:`b\\,r` and projected on the
library's ``dims`` leading principal components.  The ``k`` entries of
highest :math:`s_j` vote for their groups, weighted by how close each is
to the best match and by the inverse size of its group in the library
(so the vote, like the network, assumes equally common groups and the
predictor's prior correction applies to both),

.. math::

    v(g \\mid x) \\propto \\sum_{j \\in \\mathrm{top}\\,k,\\; y_j = g}
        \\frac{1}{n_g} \\exp\\!\\left(\\frac{s_j - \\max_i s_i}{\\tau}
        \\right).

A PDF told its composition is compared only with entries of the same
number of species (an element with elements).  The predictor combines
the vote with the network's calibrated probabilities :math:`q` as a
weighted geometric mean,

.. math::

    \\log p(g \\mid x) = \\frac{(1 - a)\\log q(g \\mid x)
        + a \\log\\left(v(g \\mid x) + \\epsilon\\right)}{T_\\mathrm{nb}}
        + \\mathrm{prior~shift} + c,

with the weight :math:`a`, floor :math:`\\epsilon` and the search
settings chosen on the validation rows (whole structure types the
network never saw) and the temperature :math:`T_\\mathrm{nb}` fitted
there (``scripts/build_neighbour_library.py``).  Like search-match in
powder diffraction, the library helps most when the sample's structure
type is among the training structures, which is true of most measured
materials.
"""

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy

from diffpy.sgpredict.card import read_verified_tensors, sha256sum
from diffpy.sgpredict.errors import InputError

__all__ = [
    "LIBRARY_NAME",
    "blur_matrix",
    "strain_matrix",
    "NeighbourSettings",
    "NeighbourLibrary",
    "save_library",
    "centred_unit",
]

#: file name of the library inside a model folder
LIBRARY_NAME = "neighbours.safetensors"


@dataclass(frozen=True)
class NeighbourSettings:
    """How the library votes and how much the vote counts.

    Attributes
    ----------
    k : int
        Number of nearest entries that vote.
    tau : float
        Similarity scale of the vote weights (cosine units).
    weight : float
        Weight :math:`a` of the vote in the geometric mean, 0 to 1.
    floor : float
        :math:`\\epsilon` added to the vote before its logarithm, so a
        group without votes is damped, not ruled out.
    strain : float
        :math:`\\sigma`, the largest lattice strain searched (0 for
        none).
    strain_step : float
        :math:`\\delta`, the step of the strain search.
    blur : float
        :math:`b`, relative width of the blur of the first pass.
    candidates : int
        Entries kept by the first pass for the strain search.
    dims : int
        The first pass compares the blurred curves projected on their
        ``dims`` leading principal components (0: the whole curves).
    """

    k: int = 20
    tau: float = 0.02
    weight: float = 0.3
    floor: float = 0.01
    strain: float = 0.04
    strain_step: float = 0.01
    blur: float = 0.02
    candidates: int = 100
    dims: int = 48

    def __post_init__(self):
        if int(self.k) < 1:
            raise InputError(f"neighbours: k must be >= 1, got {self.k}")
        if not self.tau > 0:
            raise InputError(f"neighbours: tau must be > 0, got {self.tau}")
        if not 0 <= self.weight <= 1:
            raise InputError(
                f"neighbours: weight must be between 0 and 1, got "
                f"{self.weight}"
            )
        if not self.floor > 0:
            raise InputError(
                f"neighbours: floor must be > 0, got {self.floor}"
            )
        if not (0 <= self.strain < 0.5 and self.strain_step > 0):
            raise InputError(
                "neighbours: strain must be in [0, 0.5) and strain_step > 0"
            )
        if not (self.blur >= 0 and int(self.candidates) >= int(self.k)):
            raise InputError(
                "neighbours: blur must be >= 0 and candidates >= k"
            )
        if int(self.dims) < 0:
            raise InputError(f"neighbours: dims must be >= 0, got {self.dims}")

    def scales(self):
        """The strains :math:`S` searched, as factors on r.

        Examples
        --------
        >>> NeighbourSettings(strain=0.02, strain_step=0.01).scales()
        [0.98, 0.99, 1.0, 1.01, 1.02]
        """
        n = int(round(self.strain / self.strain_step))
        return [
            round(1.0 + i * self.strain_step, 10) for i in range(-n, n + 1)
        ]

    def to_dict(self):
        """The settings as a JSON-ready dictionary."""
        return asdict(self)


def centred_unit(x):
    """Rows of ``x`` minus their mean, scaled to unit length.

    The dot product of two such rows is the cosine similarity of the
    centred curves; a constant row stays zero.

    Examples
    --------
    >>> centred_unit([[0.0, 1.0, 2.0]]).astype(float).round(3).tolist()
    [[-0.707, 0.0, 0.707]]
    """
    x = numpy.asarray(x, dtype=numpy.float32)
    x = x - x.mean(axis=1, keepdims=True)
    norm = numpy.linalg.norm(x, axis=1, keepdims=True)
    return x / numpy.where(norm > 0, norm, 1.0)


def blur_matrix(r, width):
    """Matrix of a Gaussian blur of relative width ``width`` on grid ``r``.

    Row i averages the curve around :math:`r_i` with a Gaussian of
    standard deviation :math:`\\mathrm{width}\\cdot r_i`; ``width`` 0
    gives the identity.

    Examples
    --------
    >>> b = blur_matrix(numpy.arange(1.0, 6.0), 0.2)
    >>> b.sum(axis=1).round(6).tolist()
    [1.0, 1.0, 1.0, 1.0, 1.0]
    """
    r = numpy.asarray(r, dtype=float)
    if width <= 0:
        return numpy.eye(len(r), dtype=numpy.float32)
    sigma = width * r[:, None]
    b = numpy.exp(-0.5 * ((r[None, :] - r[:, None]) / sigma) ** 2)
    return (b / b.sum(axis=1, keepdims=True)).astype(numpy.float32)


def strain_matrix(r, scale):
    """Matrix that takes x(r) on grid ``r`` to x(r / scale).

    Linear interpolation, constant beyond the ends (as
    :func:`numpy.interp`).

    Examples
    --------
    >>> r = numpy.arange(0.0, 5.0)
    >>> (strain_matrix(r, 2.0) @ r).tolist()
    [0.0, 0.5, 1.0, 1.5, 2.0]
    """
    r = numpy.asarray(r, dtype=float)
    eye = numpy.eye(len(r))
    return numpy.stack(
        [numpy.interp(r / scale, r, row) for row in eye], axis=1
    ).astype(numpy.float32)


def first_pass_basis(curves, r, settings, rows=8000, seed=0):
    """Leading principal axes of the blurred, centred curves.

    Returns the (m, dims) matrix :math:`V` on which the first pass
    projects, or None when ``settings.dims`` is 0 or not smaller than
    the number of points.  Fitted on at most ``rows`` curves drawn with
    ``seed``.
    """
    curves = numpy.asarray(curves, dtype=numpy.float32)
    dims = int(settings.dims)
    if dims == 0 or dims >= curves.shape[1]:
        return None
    pick = numpy.random.default_rng(seed).permutation(len(curves))[:rows]
    blurred = centred_unit(curves[pick] @ blur_matrix(r, settings.blur).T)
    blurred -= blurred.mean(axis=0)
    _, _, vt = numpy.linalg.svd(blurred, full_matrices=False)
    return numpy.ascontiguousarray(vt[:dims].T, dtype=numpy.float32)


def save_library(path, curves, labels, species, basis=None):
    """Write normalised curves and their class indices; return the SHA-256.

    Parameters
    ----------
    path : str or Path
        The ``.safetensors`` file to write.
    curves : array_like
        (n, m) min-max normalised curves, values in [0, 1].
    labels : array_like of int
        Class index (position in the card's labels) of each curve.
    species : array_like of int
        Species code of each curve's structure
        (:func:`diffpy.sgpredict.chemistry.species_code`).
    basis : array_like, optional
        The first pass's projection (:func:`first_pass_basis`).
    """
    from safetensors.numpy import save_file

    curves = numpy.asarray(curves, dtype=float)
    labels = numpy.asarray(labels, dtype=numpy.int16)
    species = numpy.asarray(species, dtype=numpy.int8)
    if (
        curves.ndim != 2
        or not len(curves) == len(labels) == len(species)
        or len(labels) == 0
    ):
        raise InputError(
            f"{path}: need one label per curve and at least one curve"
        )
    quantised = numpy.round(numpy.clip(curves, 0.0, 1.0) * 255)
    tensors = {
        "curves": quantised.astype(numpy.uint8),
        "labels": labels,
        "species": species,
    }
    if basis is not None:
        tensors["basis"] = numpy.asarray(basis, dtype=numpy.float32)
    save_file(tensors, str(path))
    return sha256sum(path)


class NeighbourLibrary:
    """Computed PDFs of training structures that vote for their groups.

    Parameters
    ----------
    curves : array_like
        (n, m) normalised curves on the model grid.
    labels : array_like of int
        Class index of each curve.
    nclasses : int
        Number of classes of the model.
    r : array_like
        The grid of the curves (m points), for the strain search and the
        blur.
    species : array_like of int, optional
        Species code of each curve; inputs told their own code are
        compared only with entries of the same code (an element with
        elements, a binary with binaries ...).
    settings : NeighbourSettings, optional
    basis : array_like, optional
        The first pass's projection; fitted here
        (:func:`first_pass_basis`) when not given.

    Examples
    --------
    >>> r = numpy.arange(1.0, 5.0)
    >>> lib = NeighbourLibrary(
    ...     [[0, 1, 0, 0], [0, 0, 1, 0]], [0, 1], 2, r, species=[0, 1],
    ...     settings=NeighbourSettings(k=1, candidates=1, strain=0),
    ... )
    >>> lib.vote([[0.0, 0.9, 0.1, 0.0]]).round(3).tolist()
    [[1.0, 0.0]]
    >>> lib.vote([[0.0, 0.9, 0.1, 0.0]], species=[1]).round(3).tolist()
    [[0.0, 1.0]]
    """

    def __init__(
        self,
        curves,
        labels,
        nclasses,
        r,
        species=None,
        settings=None,
        basis=None,
    ):
        self.settings = settings or NeighbourSettings()
        self.labels = numpy.asarray(labels, dtype=int)
        if species is None:
            species = numpy.full(len(self.labels), -1)
        self.species = numpy.asarray(species, dtype=int)
        self.nclasses = int(nclasses)
        if self.labels.min() < 0 or self.labels.max() >= self.nclasses:
            raise InputError("neighbours: a label is not a class index")
        curves = numpy.asarray(curves, dtype=numpy.float32)
        r = numpy.asarray(r, dtype=float)
        if curves.ndim != 2 or curves.shape[1] != len(r):
            raise InputError(
                f"neighbours: curves of {curves.shape[-1]} points for a "
                f"grid of {len(r)}"
            )
        self._unit = centred_unit(curves)
        # the first pass: blur, then project (both linear: one matrix)
        first = blur_matrix(r, self.settings.blur).T
        if basis is None:
            basis = first_pass_basis(curves, r, self.settings)
        if basis is not None:
            first = first @ numpy.asarray(basis, dtype=numpy.float32)
        self._first = numpy.ascontiguousarray(first, dtype=numpy.float32)
        self._first_rows = self._first_pass(curves)
        self._strains = numpy.stack(
            [strain_matrix(r, s) for s in self.settings.scales()]
        )
        counts = numpy.bincount(self.labels, minlength=self.nclasses)
        self._inverse = 1.0 / numpy.maximum(counts, 1)
        self._subsets = {}

    def __len__(self):
        return len(self.labels)

    def _first_pass(self, x):
        """The centred curves blurred and projected, as unit rows."""
        x = numpy.asarray(x, dtype=numpy.float32)
        y = (x - x.mean(axis=1, keepdims=True)) @ self._first
        norm = numpy.linalg.norm(y, axis=1, keepdims=True)
        return y / numpy.where(norm > 0, norm, 1.0)

    @classmethod
    def from_card(cls, card, nclasses, r):
        """The library a model card names, checksum verified, or None."""
        info = card.get("neighbours")
        if not info:
            return None
        path = Path(card["path"]) / info.get("file", LIBRARY_NAME)
        arrays = read_verified_tensors(
            path, info.get("sha256"), "the card", "numpy"
        )
        curves = arrays["curves"].astype(numpy.float32) / 255.0
        settings = NeighbourSettings(**info.get("settings", {}))
        return cls(
            curves,
            arrays["labels"],
            nclasses,
            r,
            arrays["species"],
            settings,
            arrays.get("basis"),
        )

    def vote(self, x, species=None, chunk=1024):
        """Return :math:`v(g \\mid x)`, one row of class shares per input.

        Parameters
        ----------
        x : array_like
            (n, m) model inputs (normalised curves on the same grid).
        species : array_like of int, optional
            Species code per input (-1 unknown); an input with a code
            votes only among entries of that code when there are any.
        chunk : int
            Inputs compared at once (bounds the memory of the similarity
            matrix to ``chunk`` times the library size).
        """
        x = numpy.atleast_2d(numpy.asarray(x, dtype=numpy.float32))
        if x.shape[1] != self._unit.shape[1]:
            raise InputError(
                f"neighbours: inputs have {x.shape[1]} points, the library "
                f"{self._unit.shape[1]}"
            )
        codes = numpy.full(len(x), -1)
        if species is not None:
            codes = numpy.asarray(species, dtype=int).reshape(-1)
        out = numpy.zeros((len(x), self.nclasses))
        for code in numpy.unique(codes):
            rows = numpy.flatnonzero(codes == code)
            entries, rows_first = self._entries(code)
            for start in range(0, len(rows), chunk):
                part = rows[start : start + chunk]
                out[part] = self._vote(x[part], entries, rows_first)
        return out / out.sum(axis=1, keepdims=True)

    def _entries(self, code):
        """Entries an input of species ``code`` is compared with, and
        their first-pass rows (copied once per code)."""
        if code not in self._subsets:
            entries = numpy.flatnonzero(self.species == code)
            if code < 0 or len(entries) == 0:
                self._subsets[code] = (None, self._first_rows)
            else:
                self._subsets[code] = (entries, self._first_rows[entries])
        entries, rows_first = self._subsets[code]
        if entries is None:
            entries = numpy.arange(len(self.labels))
        return entries, rows_first

    def _vote(self, x, entries, rows_first):
        """Votes of inputs ``x`` among the library's ``entries``."""
        import torch

        k = min(int(self.settings.k), len(entries))
        m = min(int(self.settings.candidates), len(entries))
        # numpy's product here is twice torch's on two cores
        first = torch.from_numpy(self._first_pass(x) @ rows_first.T)
        # the strain search runs on the first pass's candidates only
        # (torch's top-k: ten times numpy's argpartition on two cores)
        cand = torch.topk(first, m, dim=1, sorted=False).indices
        cand = torch.from_numpy(entries)[cand]
        lib = torch.from_numpy(self._unit)[cand]
        # (strains, inputs, points) -> (inputs, strains, points)
        strained = numpy.matmul(x, self._strains.transpose(0, 2, 1))
        strained = strained.transpose(1, 0, 2).reshape(-1, x.shape[1])
        strained = torch.from_numpy(centred_unit(strained))
        strained = strained.reshape(len(x), -1, x.shape[1])
        sims = torch.bmm(strained, lib.transpose(1, 2)).amax(dim=1)
        top = torch.topk(sims, k, dim=1, sorted=False)
        s = top.values.numpy()
        idx = cand.gather(1, top.indices).numpy()
        w = numpy.exp((s - s.max(axis=1, keepdims=True)) / self.settings.tau)
        lab = self.labels[idx]
        w = w * self._inverse[lab]
        out = numpy.zeros((len(x), self.nclasses))
        rows = numpy.repeat(numpy.arange(len(x))[:, None], k, axis=1)
        numpy.add.at(out, (rows, lab), w)
        return out

    def combine(self, logq, x, species=None):
        """The weighted geometric mean of ``exp(logq)`` and the vote.

        Returns unnormalised log-scores (before the temperature and the
        prior shift of the predictor).
        """
        a = float(self.settings.weight)
        v = self.vote(x, species)
        return (1.0 - a) * numpy.asarray(logq) + a * numpy.log(
            v + self.settings.floor
        )

"""On-the-fly augmentation of computed PDFs toward measured ones.

A network trained on PDFs computed at one set of settings (the paper's
Table 2: Qmax 23, Qdamp 0.04, Uiso 0.008, no noise, data to 30 A) sees
something else in a measured PDF: another Qmax with its termination
ripples, another instrument resolution, other thermal motion, noise,
background residues, slightly different lattice parameters and data
that end at 20 A.  :class:`Augmenter` draws such changes at random for
every batch, applies them to the raw G(r) and then makes the model input
exactly as :func:`diffpy.sgpredict.grid.to_model_input` does (min-max
normalisation over the points that hold data, zeros beyond).

Physics of each step
--------------------
All operations that act on the reciprocal-space signal use the sine
transform of G on its uniform grid :math:`r_k = k\\,\\Delta r`, extended
to :math:`r = 0` by the number-density line (G grows linearly from 0 at
:math:`r=0` to its first value) and beyond the last point by a tapered
mirror image.  With :math:`K` intervals the discrete sine transform is

.. math::

    F_j = \\sum_{k=1}^{K-1} G_k \\sin\\frac{\\pi j k}{K},\\qquad
    G_k = \\frac{2}{K} \\sum_{j=1}^{K-1} F_j \\sin\\frac{\\pi j k}{K},

and :math:`F_j` belongs to :math:`Q_j = \\pi j / (K \\Delta r)`.

* Qdamp (instrument resolution): :math:`G \\to G\\,\\exp[-(q_d^2 -
  q_{d,0}^2) r^2 / 2]` with :math:`q_{d,0}` the value the data were
  computed with.
* Nanoparticle size (optional): :math:`G \\to G\\,\\gamma_0(r; d)`, the
  spherical envelope :math:`1 - 3r/2d + r^3/2d^3` for :math:`r < d`.
* Extra Debye-Waller broadening: an extra :math:`\\Delta U` on every atom
  widens each pair peak by :math:`\\sigma^2 \\to \\sigma^2 + 2\\Delta U`,
  i.e. :math:`F_j \\to F_j \\exp(-Q_j^2 \\Delta U)`.
* Qmax termination: :math:`F_j = 0` for :math:`Q_j > Q_{max}` (the
  sharp cut of a Fourier transform without Lorch window, which gives
  the termination ripples of measured data).  Qmax above the Nyquist
  limit :math:`\\pi / \\Delta r` of the grid changes nothing.
* Lattice strain: :math:`G'(r) = G(r / s)` with :math:`s = 1 \\pm
  \\epsilon`, evaluated exactly by the inverse sine series at
  :math:`r_k / s`.
* Noise: Gaussian noise in :math:`F` up to Qmax (correlated over
  :math:`\\pi / Q_{max}` in r), white noise on every point, and a slow
  baseline wiggle (three sines of Q below 1.5 1/A) as left by an
  imperfect background subtraction; amplitudes relative to the range
  of the PDF.
* Scale: :math:`G \\to a G`.  After min-max normalisation it only
  changes the relative noise level.
* Truncation: the data end at a random :math:`r_{max}` in 20-30 A;
  points beyond are 0 after normalisation (``nvalid`` counts the rest).

Examples
--------
>>> import torch
>>> from diffpy.sgpredict.grid import MODEL_GRID
>>> aug = Augmenter(MODEL_GRID.r)
>>> g = torch.randn(4, MODEL_GRID.npoints)
>>> x, nvalid = aug(g, generator=torch.Generator().manual_seed(0))
>>> tuple(x.shape), bool(x.min() >= 0), bool(x.max() <= 1)
((4, 209), True, True)
"""

import math
from dataclasses import asdict, dataclass

import numpy
import torch

from diffpy.sgpredict.physics import spherical_envelope

__all__ = [
    "AugmentConfig",
    "Augmenter",
    "augment",
    "minmax_truncate",
]


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges and probabilities of the augmentations.

    Each ``p_*`` is the probability that a sample gets that change; the
    value is then drawn uniformly from the matching range.

    Attributes
    ----------
    qmax_range, p_qmax : (float, float), float
        Qmax of the termination (1/A).
    qdamp_range, p_qdamp : (float, float), float
        New Qdamp (1/A); samples without the change keep theirs.
    qdamp_train : float
        Qdamp the data were computed with, when not given per row.
    uiso_range, p_uiso : (float, float), float
        Extra isotropic displacement :math:`\\Delta U` (A^2).
    noise_range, p_noise : (float, float), float
        Standard deviation of the noise (correlated and white, each drawn
        up to this level) relative to the range of G.
    baseline_range, p_baseline : (float, float), float
        Amplitude of the slow baseline wiggle relative to the range of G.
    scale_range, p_scale : (float, float), float
        Scale factor.
    strain, p_strain : float, float
        Maximum relative stretch of r (0.02 = 2 %).
    rmax_range, p_truncate : (float, float), float
        Where truncated data end (A).
    diameter_range, p_particle : (float, float), float
        Nanoparticle diameter (A) of the spherical envelope.

    Examples
    --------
    >>> AugmentConfig(p_noise=0.0).p_noise
    0.0
    """

    qmax_range: tuple = (14.0, 40.0)
    p_qmax: float = 0.8
    qdamp_range: tuple = (0.0, 0.08)
    p_qdamp: float = 0.8
    qdamp_train: float = 0.04
    uiso_range: tuple = (0.0, 0.012)
    p_uiso: float = 0.7
    noise_range: tuple = (0.0, 0.03)
    p_noise: float = 0.8
    baseline_range: tuple = (0.0, 0.03)
    p_baseline: float = 0.3
    scale_range: tuple = (0.5, 2.0)
    p_scale: float = 1.0
    strain: float = 0.02
    p_strain: float = 0.8
    rmax_range: tuple = (20.0, 30.0)
    p_truncate: float = 0.5
    diameter_range: tuple = (20.0, 100.0)
    p_particle: float = 0.1

    def to_dict(self):
        """Return the settings as a JSON-ready dictionary."""
        return {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in asdict(self).items()
        }

    @classmethod
    def for_physics_data(cls):
        """Settings for rows that carry their physics already.

        Rows built with ``settings="physics"``
        (:mod:`diffpy.sgpredict.physics`) have their radiation, Qmax
        termination, resolution, thermal motion, particle size and
        strain; training adds only what changes from one measurement of
        the same sample to the next: noise, background residues, scale,
        where the data end, a little extra broadening and strain.

        Examples
        --------
        >>> AugmentConfig.for_physics_data().p_qmax
        0.0
        """
        return cls(
            p_qmax=0.0,
            p_qdamp=0.0,
            uiso_range=(0.0, 0.004),
            p_uiso=0.3,
            strain=0.01,
            p_strain=0.5,
            p_particle=0.0,
        )

    @classmethod
    def none(cls):
        """Return a configuration that changes nothing.

        Examples
        --------
        >>> AugmentConfig.none().p_qmax
        0.0
        """
        return cls(
            **{k: 0.0 for k in asdict(cls()) if k.startswith("p_")},
        )


def minmax_truncate(g, nvalid):
    """Min-max normalise each row over its first ``nvalid`` points.

    Points beyond ``nvalid`` are set to 0, as
    :func:`diffpy.sgpredict.grid.to_model_input` pads data that end
    early.

    Parameters
    ----------
    g : torch.Tensor
        Shape ``(batch, npoints)``.
    nvalid : torch.Tensor
        Shape ``(batch,)``, integers.

    Returns
    -------
    torch.Tensor
        Values in [0, 1].

    Examples
    --------
    >>> import torch
    >>> x = minmax_truncate(torch.tensor([[1.0, 3.0, 2.0, 9.0]]),
    ...                     torch.tensor([3]))
    >>> x.tolist()
    [[0.0, 1.0, 0.5, 0.0]]
    """
    idx = torch.arange(g.shape[-1], device=g.device)
    valid = idx[None, :] < nvalid[:, None]
    big = torch.finfo(g.dtype).max
    lo = torch.where(valid, g, big).amin(dim=-1, keepdim=True)
    hi = torch.where(valid, g, -big).amax(dim=-1, keepdim=True)
    span = hi - lo
    span = torch.where(span > 0, span, torch.ones_like(span))
    x = (g - lo) / span
    return torch.where(valid, x.clamp(0.0, 1.0), torch.zeros_like(x))


class Augmenter:
    """Random, physical changes of computed PDFs on one r-grid.

    Parameters
    ----------
    r : array_like
        The uniform r-grid of the data (A), usually the model grid.
    config : AugmentConfig, optional
        Ranges and probabilities; default :class:`AugmentConfig`.
    npad : int
        Points of tapered mirror image added beyond the last point.

    Examples
    --------
    >>> import torch
    >>> from diffpy.sgpredict.grid import MODEL_GRID
    >>> aug = Augmenter(MODEL_GRID.r)
    >>> params = aug.sample(2, torch.Generator().manual_seed(1))
    >>> sorted(params)[:3]
    ['baseline', 'diameter', 'noise']
    """

    def __init__(self, r, config=None, npad=48):
        r = numpy.asarray(r, dtype=float)
        if r.ndim != 1 or len(r) < 8:
            raise ValueError("r must be a 1-D grid of at least 8 points")
        dr = numpy.diff(r)
        if not numpy.allclose(dr, dr[0], rtol=1e-4, atol=1e-9) or dr[0] <= 0:
            raise ValueError("augmentation needs a uniform, increasing grid")
        self.config = config or AugmentConfig()
        self.r = r
        self.npoints = len(r)
        self.dr = float(dr[0])
        # grid index of the first point: data lie at k0 .. k0 + n - 1
        self.k0 = max(int(round(r[0] / self.dr)), 1)
        self.npad = int(npad)
        self.K = self.k0 + self.npoints + self.npad
        K = self.K
        k = torch.arange(1, K, dtype=torch.float64)
        self._k = k
        self._rk = k * self.dr  # r of every point of the extended grid
        j = torch.arange(1, K, dtype=torch.float64)
        self.q = (math.pi / (K * self.dr)) * j
        self.qnyquist = math.pi / self.dr
        self._sin = torch.sin(math.pi * j[:, None] * k[None, :] / K).float()
        taper = torch.cos(
            0.5 * math.pi * torch.arange(1, self.npad + 1) / (self.npad + 1)
        )
        self._taper = (taper**2).float()
        self.oversample = 8
        tf = torch.arange(0, K * self.oversample + 1, dtype=torch.float64)
        self._sin_fine = (
            (2.0 / K)
            * torch.sin(
                math.pi * j[:, None] * tf[None, :] / (K * self.oversample)
            )
        ).float()
        self._data_k = torch.arange(
            self.k0, self.k0 + self.npoints, dtype=torch.float64
        )

    # -- drawing ---------------------------------------------------------
    def sample(self, n, generator=None, qdamp0=None):
        """Draw the random settings of ``n`` samples.

        Parameters
        ----------
        n : int
            Batch size.
        generator : torch.Generator, optional
            Source of randomness (for reproducible batches).
        qdamp0 : array_like, optional
            Qdamp each row was computed with; default
            ``config.qdamp_train``.

        Returns
        -------
        dict of str to torch.Tensor
            One value per sample for each setting (``qmax`` is ``inf``
            when not terminated, ``rmax`` ``inf`` when not truncated).
        """
        c = self.config

        def uniform(rng):
            u = torch.rand(n, generator=generator, dtype=torch.float64)
            return rng[0] + (rng[1] - rng[0]) * u

        def chance(p):
            return torch.rand(n, generator=generator) < p

        if qdamp0 is None:
            qd0 = torch.full((n,), float(c.qdamp_train), dtype=torch.float64)
        else:
            qd0 = torch.as_tensor(numpy.asarray(qdamp0, dtype=float))
            qd0 = torch.nan_to_num(qd0, nan=float(c.qdamp_train))
        inf = torch.full((n,), math.inf, dtype=torch.float64)
        zero = torch.zeros(n, dtype=torch.float64)
        one = torch.ones(n, dtype=torch.float64)
        # draw every quantity for every sample, so that the random stream
        # does not depend on the probabilities
        draws = {
            "qmax": (uniform(c.qmax_range), chance(c.p_qmax), inf),
            "qdamp": (uniform(c.qdamp_range), chance(c.p_qdamp), qd0),
            "uiso": (uniform(c.uiso_range), chance(c.p_uiso), zero),
            "noise": (uniform(c.noise_range), chance(c.p_noise), zero),
            "baseline": (
                uniform(c.baseline_range),
                chance(c.p_baseline),
                zero,
            ),
            "scale": (uniform(c.scale_range), chance(c.p_scale), one),
            "strain": (
                1.0 + uniform((-c.strain, c.strain)),
                chance(c.p_strain),
                one,
            ),
            "rmax": (uniform(c.rmax_range), chance(c.p_truncate), inf),
            "diameter": (
                uniform(c.diameter_range),
                chance(c.p_particle),
                inf,
            ),
        }
        params = {
            name: torch.where(on, value, default)
            for name, (value, on, default) in draws.items()
        }
        params["qdamp0"] = qd0
        # random numbers of the noise itself, drawn here as well
        params["seed"] = torch.randint(
            0, 2**62, (1,), generator=generator, dtype=torch.int64
        )
        return params

    # -- applying ----------------------------------------------------------
    def transform(self, g, params):
        """Apply given settings to raw PDFs, without normalisation.

        Parameters
        ----------
        g : torch.Tensor
            Shape ``(batch, npoints)`` on the grid of the augmenter.
        params : dict
            As returned by :meth:`sample`; missing keys mean no change.

        Returns
        -------
        g : torch.Tensor
            Changed PDFs (float32).
        nvalid : torch.Tensor
            Number of points up to ``rmax`` per sample.
        """
        g = g.to(torch.float32)
        n, npts = g.shape
        if npts != self.npoints:
            raise ValueError(
                f"PDFs have {npts} points; the augmenter's grid has "
                f"{self.npoints}"
            )
        dev = g.device

        def get(name, default):
            v = params.get(name)
            if v is None:
                return torch.full((n,), default, dtype=torch.float64)
            return torch.as_tensor(v, dtype=torch.float64).reshape(n)

        qmax = get("qmax", math.inf)
        qdamp0 = get("qdamp0", self.config.qdamp_train)
        qdamp = get("qdamp", float("nan"))
        qdamp = torch.where(torch.isnan(qdamp), qdamp0, qdamp)
        uiso = get("uiso", 0.0)
        noise = get("noise", 0.0)
        baseline = get("baseline", 0.0)
        scale = get("scale", 1.0)
        strain = get("strain", 1.0)
        rmax = get("rmax", math.inf)
        diameter = get("diameter", math.inf)
        seed = int(torch.as_tensor(params.get("seed", 0)).reshape(-1)[0])
        noise_gen = torch.Generator().manual_seed(seed)
        # envelopes in r on the extended grid
        ext = self._extend(g)
        env = torch.exp(-0.5 * (qdamp**2 - qdamp0**2)[:, None] * self._rk**2)
        sphere = spherical_envelope(self._rk[None, :], diameter[:, None])
        ext = ext * env * sphere * scale[:, None]
        signal_range = (g.amax(1) - g.amin(1)).to(torch.float64)
        signal_range = torch.where(
            signal_range > 0, signal_range, torch.ones_like(signal_range)
        )
        level = noise * signal_range * scale
        F, white_share = self._reciprocal(ext, qmax, uiso, level, noise_gen)
        out = self._back_to_r(F, strain)
        white, wiggle = self._white_and_wiggle(
            out.shape, level * white_share, noise_gen
        )
        out = out + white
        out = out + (baseline * signal_range * scale)[:, None] * wiggle
        r = torch.as_tensor(self.r, dtype=torch.float64)[None, :]
        nvalid = (r <= rmax[:, None]).sum(1).clamp(min=2)
        return out.to(torch.float32).to(dev), nvalid.to(dev)

    def _extend(self, g):
        """The extended grid: linear lead-in, data, tapered mirror image."""
        n = g.shape[0]
        lead = g[:, :1] * (
            torch.arange(1, self.k0, dtype=torch.float32) / self.k0
        )
        mirror = torch.flip(g[:, -self.npad - 1 : -1], dims=[1])
        if mirror.shape[1] < self.npad:
            extra = self.npad - mirror.shape[1]
            mirror = torch.cat([mirror, mirror[:, -1:].expand(n, extra)], 1)
        tail = mirror * self._taper
        return torch.cat([lead, g, tail], dim=1).to(torch.float64)

    def _reciprocal(self, ext, qmax, uiso, level, noise_gen):
        """F(Q) with broadening, termination and correlated noise.

        The noise level sigma in r needs sigma * sqrt(K / 2) per F_j when
        all F_j are kept; fewer kept components get a larger share.  The
        first two draws of ``noise_gen`` split ``level`` between this
        correlated noise and the white noise added in r.
        """
        n = ext.shape[0]
        F = (ext.to(torch.float32) @ self._sin.T).to(torch.float64)
        q = self.q[None, :]
        keep = (q <= qmax[:, None]).to(torch.float64)
        F = F * (torch.exp(-(q**2) * uiso[:, None]) * keep)
        nq = keep.sum(1).clamp(min=1.0)
        u = torch.rand(n, 2, generator=noise_gen, dtype=torch.float64)
        corr = (level * u[:, 0]) * torch.sqrt(self.K / 2.0 * (self.K - 1) / nq)
        fn = torch.randn(F.shape, generator=noise_gen, dtype=torch.float64)
        return F + fn * keep * corr[:, None], u[:, 1]

    def _back_to_r(self, F, strain):
        """Back to r on a grid 8 times finer, then to the (stretched) data
        positions by linear interpolation (error < 0.3 % of a peak)."""
        fine = (F.to(torch.float32) @ self._sin_fine).to(torch.float64)
        t = self._data_k[None, :] / strain[:, None] * self.oversample
        t = t.clamp(0, fine.shape[1] - 1.001)
        i0 = t.floor().long()
        w = t - i0
        return (1 - w) * fine.gather(1, i0) + w * fine.gather(1, i0 + 1)

    def _white_and_wiggle(self, shape, white_level, noise_gen):
        """White noise of ``white_level`` and a slow baseline wiggle of
        unit amplitude: three random sines."""
        n = shape[0]
        white = white_level[:, None] * torch.randn(
            shape, generator=noise_gen, dtype=torch.float64
        )
        r = torch.as_tensor(self.r, dtype=torch.float64)[None, :]
        qb = 0.2 + 1.3 * torch.rand(
            n, 3, generator=noise_gen, dtype=torch.float64
        )
        phase = (
            2
            * math.pi
            * torch.rand(n, 3, generator=noise_gen, dtype=torch.float64)
        )
        amp = torch.randn(n, 3, generator=noise_gen, dtype=torch.float64)
        wiggle = (
            amp[:, :, None]
            * torch.sin(qb[:, :, None] * r[:, None, :] + phase[:, :, None])
        ).sum(1) / math.sqrt(3.0)
        return white, wiggle

    def __call__(self, g, generator=None, qdamp0=None):
        """Augment a batch and return the normalised model input.

        Parameters
        ----------
        g : torch.Tensor or numpy.ndarray
            Raw PDFs, shape ``(batch, npoints)``.
        generator : torch.Generator, optional
            Source of randomness.
        qdamp0 : array_like, optional
            Qdamp each row was computed with.

        Returns
        -------
        x : same type as ``g``
            Normalised input in [0, 1], zeros beyond ``nvalid``.
        nvalid : same type as ``g``
            Number of valid points per sample.
        """
        is_numpy = not isinstance(g, torch.Tensor)
        gt = torch.as_tensor(numpy.asarray(g)) if is_numpy else g
        squeeze = gt.dim() == 1
        if squeeze:
            gt = gt[None, :]
        params = self.sample(gt.shape[0], generator, qdamp0)
        with torch.no_grad():
            out, nvalid = self.transform(gt.cpu(), params)
            x = minmax_truncate(out, nvalid).to(gt.device)
        nvalid = nvalid.to(gt.device)
        if squeeze:
            x, nvalid = x[0], nvalid[0]
        if is_numpy:
            return x.numpy(), nvalid.numpy()
        return x, nvalid


def augment(r, g, config=None, seed=None, qdamp0=None):
    """Augment PDFs once: a convenience wrapper of :class:`Augmenter`.

    Parameters
    ----------
    r : array_like
        Uniform r-grid (A).
    g : array_like or torch.Tensor
        Raw PDFs, shape ``(npoints,)`` or ``(batch, npoints)``.
    config : AugmentConfig, optional
        Ranges and probabilities.
    seed : int, optional
        Random seed; the same seed gives the same result.
    qdamp0 : array_like, optional
        Qdamp the rows were computed with.

    Returns
    -------
    x, nvalid
        Normalised inputs and valid-point counts (numpy for numpy input).

    Examples
    --------
    >>> from diffpy.sgpredict.grid import MODEL_GRID
    >>> r = MODEL_GRID.r
    >>> g = numpy.sin(2.5 * r) * numpy.exp(-0.05 * r) - 0.2 * r
    >>> x1, n1 = augment(r, g, seed=3)
    >>> x2, n2 = augment(r, g, seed=3)
    >>> bool((x1 == x2).all()), x1.shape
    (True, (209,))
    """
    gen = None
    if seed is not None:
        gen = torch.Generator().manual_seed(int(seed))
    if not isinstance(g, torch.Tensor):
        g = numpy.asarray(g, dtype=numpy.float32)
    return Augmenter(r, config)(g, generator=gen, qdamp0=qdamp0)

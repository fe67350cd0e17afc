"""The stoichiometry prior: how often each group holds a composition's kind.

A composition says more than which groups *can* hold it
(:func:`diffpy.sgpredict.wyckoff.composition_allowed`): transition metals
crystallise mostly in Fm-3m, Im-3m and P6_3/mmc, ABX_3 compounds often as
perovskites, AB_2X_4 as spinels.  With the *kind* :math:`b` of the
composition (:func:`diffpy.sgpredict.chemistry.composition_kind`: site
counts with their elements' periodic-table blocks, ``"1d:2p"`` for TiO2),
its stoichiometry class :math:`c` (``"1:2"``) and its number of species
:math:`k`, Bayes' rule turns the network's probability
:math:`p(g \\mid X)` into

.. math::

    p(g \\mid X, b) \\propto p(g \\mid X)
        \\left[\\frac{\\pi(g \\mid b)}{\\pi(g)}\\right]^{\\lambda},

with :math:`\\pi(g)` the frequency of group :math:`g` among all counted
structures and :math:`\\pi(g \\mid b)` its frequency among those of kind
:math:`b`, smoothed level by level towards the coarser ones,

.. math::

    \\pi(g) = \\frac{n_g + 1}{n + 45},
    \\qquad
    \\pi(g \\mid k) = \\frac{n_{kg} + \\beta\\, \\pi(g)}{n_k + \\beta},

    \\pi(g \\mid c) = \\frac{n_{cg} + \\alpha\\, \\pi(g \\mid k)}
        {n_c + \\alpha},
    \\qquad
    \\pi(g \\mid b) = \\frac{n_{bg} + \\gamma\\, \\pi(g \\mid c)}
        {n_b + \\gamma},

where :math:`n_{bg}` counts the structures of kind :math:`b` in group
:math:`g` (and so on; :math:`k` is capped at 5).  The counts are distinct
(reduced formula, group) pairs of the Materials Project table (CC BY 4.0)
in the 45 groups, built by ``scripts/build_stoichiometry_prior.py``
without the pairs of the shipped model's held-out test sets;
:math:`\\alpha`, :math:`\\beta` and :math:`\\gamma` maximise the
leave-one-out likelihood of the counts, and the strength
:math:`\\lambda < 1` (the PDF and the composition are not independent
given the group) is chosen on half of those test sets.  All are in the
header of the table.

Examples
--------
>>> from diffpy.sgpredict.chemprior import stoichiometry_prior
>>> prior = stoichiometry_prior()
>>> ratio = dict(zip(prior.labels, prior.log_ratio("SrTiO3").tolist()))
>>> ratio[221] > 1.0 > 0 > ratio[14]
True
"""

import csv
import functools
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.chemistry import composition_kind, kind_stoichiometry
from diffpy.sgpredict.errors import InputError, ModelError

__all__ = [
    "StoichiometryPrior",
    "stoichiometry_prior",
    "read_counts",
    "species_of",
]

#: Number of species from which classes share one backoff.
MAX_SPECIES = 5


def species_of(cls):
    """Number of species of a stoichiometry class, capped at
    :data:`MAX_SPECIES` (the classes beyond share one backoff)."""
    return min(len(cls.split(":")), MAX_SPECIES)


def read_counts(path):
    """Read a counts table: ``(header, {kind: {group: count}})``.

    The header holds the ``# key: value`` lines above the CSV columns
    ``kind, sg_number, count``.
    """
    header, counts = {}, {}
    text = Path(path).read_text(encoding="utf-8")
    lines = []
    for line in text.splitlines():
        if line.startswith("#"):
            key, _, value = line[1:].partition(":")
            header[key.strip()] = value.strip()
        elif line.strip():
            lines.append(line)
    for row in csv.DictReader(lines):
        try:
            group, n = int(row["sg_number"]), int(row["count"])
            key = row["kind"].strip()
        except (KeyError, TypeError, ValueError):
            raise ModelError(
                f"{path}: a row is not 'kind,sg_number,count' "
                f"({row}); rebuild it with "
                "scripts/build_stoichiometry_prior.py"
            ) from None
        counts.setdefault(key, {})[group] = n
    return header, counts


@dataclass
class StoichiometryPrior:
    """Group frequencies per kind of composition (see the module notes).

    Parameters
    ----------
    counts : dict
        ``{kind: {group: count}}``, kind as ``"1d:2p"``
        (:func:`~diffpy.sgpredict.chemistry.composition_kind`).
    alpha, beta, gamma : float
        Smoothing of the stoichiometry class towards the number of
        species, of that towards all, and of the kind towards its class.
    strength : float
        Exponent :math:`\\lambda` of the ratio.
    source : str
        Where the counts come from, for notes.
    labels : list of int
        Groups, in the order of the returned arrays.
    """

    counts: dict
    alpha: float = 3.0
    beta: float = 1000.0
    gamma: float = 10.0
    strength: float = 0.5
    source: str = ""
    labels: list = field(default_factory=lambda: list(spacegroups.NUMBERS))

    def __post_init__(self):
        index = {n: i for i, n in enumerate(self.labels)}
        zeros = numpy.zeros(len(self.labels))
        #: counts per group of each kind, stoichiometry class and number
        #: of species
        self.kind_counts, self.class_counts, self.species_counts = {}, {}, {}
        for key, groups in self.counts.items():
            vec = zeros.copy()
            for g, n in groups.items():
                if g in index:
                    vec[index[g]] += n
            self.kind_counts[key] = vec
            cls = kind_stoichiometry(key)
            self.class_counts[cls] = self.class_counts.get(cls, zeros) + vec
            k = species_of(cls)
            self.species_counts[k] = self.species_counts.get(k, zeros) + vec
        self.total = sum(self.species_counts.values(), zeros)
        self.marginal = (self.total + 1.0) / (
            self.total.sum() + len(self.labels)
        )

    def size(self, kind):
        """Number of counted structures of a kind (0 when unknown)."""
        vec = self.kind_counts.get(kind)
        return 0 if vec is None else int(vec.sum())

    def probabilities(self, kind):
        """:math:`\\pi(g \\mid b)` of a kind such as ``"1d:2p"``."""
        zeros = numpy.zeros(len(self.labels))
        cls = kind_stoichiometry(kind)
        nk = self.species_counts.get(species_of(cls), zeros)
        pk = (nk + self.beta * self.marginal) / (nk.sum() + self.beta)
        nc = self.class_counts.get(cls, zeros)
        pc = (nc + self.alpha * pk) / (nc.sum() + self.alpha)
        nb = self.kind_counts.get(kind, zeros)
        return (nb + self.gamma * pc) / (nb.sum() + self.gamma)

    def log_ratio(self, composition):
        """:math:`\\log[\\pi(g \\mid b) / \\pi(g)]` per group.

        Parameters
        ----------
        composition : str or dict

        Returns
        -------
        numpy.ndarray or None
            None when the composition makes no whole sites (no kind).
        """
        kind = composition_kind(composition)
        return None if kind is None else self._log_ratio(kind)

    def _log_ratio(self, kind):
        return numpy.log(self.probabilities(kind)) - numpy.log(self.marginal)

    def apply(self, probs, composition, labels=None):
        """Weight probabilities by the prior of a composition.

        Parameters
        ----------
        probs : array_like
            Probabilities over ``labels`` (default this prior's labels).
        composition : str or dict

        Returns
        -------
        probs : numpy.ndarray
            Renormalised; unchanged when the composition has no kind.
        note : str
            What was done, in words.
        """
        probs = numpy.asarray(probs, dtype=float)
        kind = composition_kind(composition)
        if kind is None:
            return probs, (
                "stoichiometry prior not applied: the amounts make no "
                "whole sites"
            )
        ratio = self._log_ratio(kind)
        if labels is not None and list(labels) != list(self.labels):
            index = {n: i for i, n in enumerate(self.labels)}
            try:
                ratio = ratio[[index[int(n)] for n in labels]]
            except KeyError as exc:
                raise InputError(
                    f"the stoichiometry prior has no group {exc.args[0]}"
                ) from None
        logp = numpy.log(numpy.clip(probs, 1e-300, None))
        logp += self.strength * ratio
        out = numpy.exp(logp - logp.max())
        out[probs <= 0] = 0.0
        out /= out.sum()
        cls = kind_stoichiometry(kind)
        note = (
            f"stoichiometry prior {kind} applied ({self.size(kind):,} "
            f"{self.source} structures of that kind, "
            f"{int(numpy.sum(self.class_counts.get(cls, 0))):,} of "
            f"stoichiometry {cls}; strength {self.strength:g})"
        )
        return out, note


def _default_path():
    return resources.files("diffpy.sgpredict").joinpath(
        "data", "model", "stoichiometry_groups.csv"
    )


@functools.lru_cache(maxsize=4)
def stoichiometry_prior(path=None):
    """Load a stoichiometry prior; default the table shipped in the package.

    Parameters
    ----------
    path : str or Path, optional
        A table written by ``scripts/build_stoichiometry_prior.py``;
        default the one beside the shipped model (its counts leave out
        that model's held-out test sets).

    Returns
    -------
    StoichiometryPrior

    Examples
    --------
    >>> prior = stoichiometry_prior()
    >>> prior.size("1d:2p") > 500  # TiO2, MnO2, ZrS2, ...
    True
    """
    path = Path(str(path or _default_path()))
    if not path.is_file():
        raise ModelError(
            f"{path}: stoichiometry prior table missing; rebuild it with "
            "scripts/build_stoichiometry_prior.py"
        )
    header, counts = read_counts(path)
    try:
        return StoichiometryPrior(
            counts,
            alpha=float(header.get("alpha", 3.0)),
            beta=float(header.get("beta", 1000.0)),
            gamma=float(header.get("gamma", 10.0)),
            strength=float(header.get("strength", 0.5)),
            source=header.get("short source", "counted"),
        )
    except ValueError as exc:
        raise ModelError(f"{path}: bad header value ({exc})") from None

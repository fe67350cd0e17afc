"""The stoichiometry prior: how often each group holds a composition's kind.

A composition says more than which groups *can* hold it
(:func:`diffpy.sgpredict.wyckoff.composition_allowed`): elements crystallise
mostly in Fm-3m, Im-3m, P6_3/mmc and a few more, ABX_3 compounds often as
perovskites, AB_2X_4 as spinels.  With the stoichiometry class :math:`c`
of the composition (:func:`diffpy.sgpredict.chemistry.stoichiometry_class`,
``"1:2:2"`` for SrFe2As2), Bayes' rule turns the network's probability
:math:`p(g \\mid X)` into

.. math::

    p(g \\mid X, c) \\propto p(g \\mid X)
        \\left[\\frac{\\pi(g \\mid c)}{\\pi(g)}\\right]^{\\lambda},

with :math:`\\pi(g)` the frequency of group :math:`g` among all counted
structures and :math:`\\pi(g \\mid c)` its frequency among those of class
:math:`c`, smoothed towards the structures with the same number of
species :math:`k` and those towards :math:`\\pi(g)`,

.. math::

    \\pi(g \\mid k) = \\frac{n_{kg} + \\beta\\, \\pi(g)}{n_k + \\beta},
    \\qquad
    \\pi(g \\mid c) = \\frac{n_{cg} + \\alpha\\, \\pi(g \\mid k)}
        {n_c + \\alpha},
    \\qquad
    \\pi(g) = \\frac{n_g + 1}{n + 45},

where :math:`n_{cg}` counts the structures of class :math:`c` in group
:math:`g` (:math:`k` is capped at 5).  The counts are distinct (reduced
formula, group) pairs of the Materials Project table (CC BY 4.0) in the
45 groups, built by ``scripts/build_stoichiometry_prior.py`` without the
pairs of the shipped model's held-out test sets; :math:`\\alpha` and
:math:`\\beta` maximise the leave-one-out likelihood of the counts, and
the strength :math:`\\lambda < 1` (the PDF and the stoichiometry are not
independent given the group) is chosen on half of those test sets.  All
four are in the header of the table.

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
from diffpy.sgpredict.chemistry import stoichiometry_class
from diffpy.sgpredict.errors import InputError, ModelError

__all__ = ["StoichiometryPrior", "stoichiometry_prior", "read_counts"]

#: Number of species from which classes share one backoff.
MAX_SPECIES = 5


def _species(key):
    return min(len(key.split(":")), MAX_SPECIES)


def read_counts(path):
    """Read a counts table: ``(header, {class: {group: count}})``.

    The header holds the ``# key: value`` lines above the CSV columns
    ``stoichiometry, sg_number, count``.
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
            key = row["stoichiometry"].strip()
        except (KeyError, TypeError, ValueError):
            raise ModelError(
                f"{path}: a row is not 'stoichiometry,sg_number,count' "
                f"({row}); rebuild it with "
                "scripts/build_stoichiometry_prior.py"
            ) from None
        counts.setdefault(key, {})[group] = n
    return header, counts


@dataclass
class StoichiometryPrior:
    """Group frequencies per stoichiometry class (see the module notes).

    Parameters
    ----------
    counts : dict
        ``{class: {group: count}}``, class as ``"1:2:2"``.
    alpha, beta : float
        Smoothing towards the number of species and towards all.
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
    strength: float = 0.5
    source: str = ""
    labels: list = field(default_factory=lambda: list(spacegroups.NUMBERS))

    def __post_init__(self):
        index = {n: i for i, n in enumerate(self.labels)}
        #: class -> counts per group; species number -> counts per group
        self.class_counts = {}
        self.species_counts = {}
        total = numpy.zeros(len(self.labels))
        for key, groups in self.counts.items():
            vec = numpy.zeros(len(self.labels))
            for g, n in groups.items():
                if g in index:
                    vec[index[g]] += n
            self.class_counts[key] = vec
            k = _species(key)
            self.species_counts[k] = self.species_counts.get(k, 0) + vec
            total += vec
        self.total = total
        self.marginal = (total + 1.0) / (total.sum() + len(self.labels))

    def class_size(self, key):
        """Number of counted structures of a class (0 when unknown)."""
        vec = self.class_counts.get(key)
        return 0 if vec is None else int(vec.sum())

    def probabilities(self, key):
        """:math:`\\pi(g \\mid c)` of a class key such as ``"1:2"``."""
        nk = self.species_counts.get(
            _species(key), numpy.zeros(len(self.labels))
        )
        pk = (nk + self.beta * self.marginal) / (nk.sum() + self.beta)
        nc = self.class_counts.get(key, numpy.zeros(len(self.labels)))
        return (nc + self.alpha * pk) / (nc.sum() + self.alpha)

    def log_ratio(self, composition):
        """:math:`\\log[\\pi(g \\mid c) / \\pi(g)]` per group.

        Parameters
        ----------
        composition : str or dict

        Returns
        -------
        numpy.ndarray or None
            None when the composition makes no whole sites (no class).
        """
        key = stoichiometry_class(composition)
        if key is None:
            return None
        return numpy.log(self.probabilities(key)) - numpy.log(self.marginal)

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
            Renormalised; unchanged when the composition has no class.
        note : str
            What was done, in words.
        """
        probs = numpy.asarray(probs, dtype=float)
        ratio = self.log_ratio(composition)
        if ratio is None:
            return probs, (
                "stoichiometry prior not applied: the amounts make no "
                "whole sites"
            )
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
        key = stoichiometry_class(composition)
        n = self.class_size(key)
        note = (
            f"stoichiometry prior {key} applied ({n:,} {self.source} "
            f"structures of that stoichiometry, strength {self.strength:g})"
        )
        return out, note


def _default_path():
    return resources.files("diffpy.sgpredict").joinpath(
        "data", "chemistry", "stoichiometry_groups.csv"
    )


@functools.lru_cache(maxsize=4)
def stoichiometry_prior(path=None):
    """Load a stoichiometry prior; default the table shipped in the package.

    Parameters
    ----------
    path : str or Path, optional
        A table written by ``scripts/build_stoichiometry_prior.py``.

    Returns
    -------
    StoichiometryPrior

    Examples
    --------
    >>> prior = stoichiometry_prior()
    >>> prior.class_size("1:1") > 1000
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
            strength=float(header.get("strength", 0.5)),
            source=header.get("short source", "counted"),
        )
    except ValueError as exc:
        raise ModelError(f"{path}: bad header value ({exc})") from None

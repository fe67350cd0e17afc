"""What a prediction returns: :class:`PredictionResult` and its parts.

A result holds the ranked :class:`Candidate` groups, the probabilities
of all 45 groups and of the seven crystal systems, the families of
candidates the data cannot tell apart, the in-domain verdict and what
the composition filter did; it prints as a table, serialises to JSON
and draws itself beside the measured G(r).
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.domain import DomainVerdict
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.paths import check_output

__all__ = ["Candidate", "PredictionResult", "save_figure"]


@dataclass(frozen=True)
class Candidate:
    """One ranked space-group candidate.

    Attributes
    ----------
    rank : int
        1 for the most probable group.
    number : int
        Space-group number.
    symbol : str
        Hermann-Mauguin symbol.
    crystal_system : str
        Crystal system.
    probability : float
        Predicted probability.
    family : int
        Number of the head of the candidate's family.
    possible : bool
        False when the composition does not fit the group (only listed
        with ``keep_impossible``).
    """

    rank: int
    number: int
    symbol: str
    crystal_system: str
    probability: float
    family: int = None
    possible: bool = True

    @classmethod
    def for_group(cls, number, probability=None, rank=None):
        """A candidate named by its group number or symbol.

        For code that starts from a group rather than a prediction (the
        refinement's candidate list, a user's ``--groups``).

        Examples
        --------
        >>> c = Candidate.for_group("Fm-3m", 0.9)
        >>> c.number, c.symbol, c.crystal_system, c.probability
        (225, 'Fm-3m', 'cubic', 0.9)
        """
        info = spacegroups.lookup(number)
        return cls(
            rank=rank,
            number=info.number,
            symbol=info.symbol,
            crystal_system=info.crystal_system,
            probability=probability,
        )

    def to_dict(self):
        """Return the candidate as a JSON-ready dictionary."""
        return {
            "number": self.number,
            "symbol": self.symbol,
            "crystal_system": self.crystal_system,
            "probability": round(float(self.probability), 6),
            "family": self.family,
            "possible": self.possible,
        }


@dataclass
class PredictionResult:
    """The prediction for one PDF.

    Attributes
    ----------
    name : str
        File name or ``"<array>"``.
    candidates : list of Candidate
        The top-k groups, most probable first.
    probabilities : numpy.ndarray
        Probabilities of all 45 groups in class-index order.
    crystal_systems : dict
        Probability of each crystal system (sums over its groups).
    r, x : numpy.ndarray
        The model grid and the normalised input the network saw.
    nvalid : int
        Number of grid points covered by data (the rest is padding).
    meta : dict
        Header metadata of the input file.
    domain : DomainVerdict
        The in-domain verdict (:mod:`diffpy.sgpredict.domain`).
    families : list of Family
        Families of the candidates, most probable first.
    composition : str or None
        The composition used by the chemistry filter.
    impossible : list of int
        Groups the composition rules out (dropped unless kept).
    path : str or None
        The input file.
    r_data, g_data : numpy.ndarray
        The PDF as read, for plots.
    notes : list of str
        What the filter did, in words.
    labels : list of int
        Group numbers in the order of ``probabilities``.
    """

    name: str
    candidates: list
    probabilities: numpy.ndarray
    crystal_systems: dict
    r: numpy.ndarray = None
    x: numpy.ndarray = None
    nvalid: int = 0
    meta: dict = field(default_factory=dict)
    domain: DomainVerdict = None
    families: list = field(default_factory=list)
    composition: str = None
    impossible: list = field(default_factory=list)
    path: str = None
    r_data: numpy.ndarray = None
    g_data: numpy.ndarray = None
    notes: list = field(default_factory=list)
    labels: list = None

    @property
    def best(self):
        """The most probable :class:`Candidate`."""
        return self.candidates[0]

    @property
    def in_domain(self):
        """True when the data look like what the model was trained on."""
        return self.domain is None or self.domain.in_domain

    @property
    def warnings(self):
        """Why the data may be out of domain, one line each."""
        return [] if self.domain is None else list(self.domain.warnings)

    def to_dict(self):
        """Return a JSON-ready dictionary.

        Returns
        -------
        dict
            ``file``, ``in_domain``, ``domain_score``, ``warnings``,
            ``candidates``, ``families``, ``crystal_systems``,
            ``composition``, ``radiation`` (``"xray"``, ``"neutron"``,
            or None when neither the header nor the caller said),
            ``impossible``, ``notes`` and ``temperature`` (from the
            header, or None).
        """
        out = {"file": self.name}
        if self.domain is not None:
            out.update(self.domain.to_dict())
        out["candidates"] = [c.to_dict() for c in self.candidates]
        out["families"] = [f.to_dict() for f in self.families]
        out["crystal_systems"] = {
            k: round(float(v), 6) for k, v in self.crystal_systems.items()
        }
        out["composition"] = self.composition
        out["radiation"] = self.meta.get("radiation")
        out["impossible"] = list(self.impossible)
        out["notes"] = list(self.notes)
        out["temperature"] = self.meta.get("temperature")
        return out

    def to_json(self, **kwargs):
        """Return :meth:`to_dict` as a JSON string."""
        return json.dumps(self.to_dict(), **kwargs)

    def table(self):
        """Return the candidates, families and verdict as text.

        The family column names the head of each candidate's family;
        impossible groups (kept with ``keep_impossible``) are marked
        ``x``.  The lines under the table give the families of several
        groups, the chemistry filter and the in-domain verdict with its
        reasons.
        """
        lines = [
            f"{self.name}",
            f"{'rank':>4}  {'group':>5}  {'symbol':<9} {'system':<13}"
            f"{'probability':>11}  family",
        ]
        for c in self.candidates:
            fam = spacegroups.get(c.family).symbol if c.family else ""
            mark = "" if c.possible else "  x impossible for composition"
            lines.append(
                f"{c.rank:>4}  {c.number:>5}  {c.symbol:<9} "
                f"{c.crystal_system:<13}{c.probability:>11.3f}  {fam}{mark}"
            )
        best = max(self.crystal_systems, key=self.crystal_systems.get)
        lines.append(
            f"most probable crystal system: {best} "
            f"({self.crystal_systems[best]:.3f})"
        )
        for fam in self.families:
            if len(fam.members) > 1:
                lines.append(f"family: {fam.describe()}")
        lines.extend(self.notes)
        if self.domain is not None:
            lines.append(self.domain.line())
            lines.extend(f"  ! {w}" for w in self.domain.warnings)
        return "\n".join(lines)

    def figure(self):
        """Draw the PDF as measured, the candidates and the verdict.

        The left panel shows G(r) as read from the file (the model's
        r-range shaded), the right panel the candidates' probabilities
        coloured by crystal system, and the verdict is written below.

        Returns
        -------
        matplotlib.figure.Figure
            A figure not attached to pyplot (no global state is touched).
        """
        # matplotlib is imported on first plot only: it adds ~0.3 s to
        # every ``predict`` start-up otherwise
        from matplotlib.figure import Figure

        fig = Figure(figsize=(11, 4.6))
        ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
        if self.r_data is not None:
            ax1.plot(self.r_data, self.g_data, color="C0", lw=1.0)
            ax1.axvspan(
                self.r[0],
                self.r[max(self.nvalid, 1) - 1],
                color="0.92",
                zorder=0,
                label="model input range",
            )
            ax1.axhline(0, color="0.6", lw=0.5)
            ax1.set_ylabel(r"G(r) ($\mathrm{\AA^{-2}}$)")
            ax1.legend(loc="upper right", fontsize=8, frameon=False)
        else:
            n = self.nvalid or len(self.r)
            ax1.plot(self.r[:n], self.x[:n], color="C0", lw=1.2)
            ax1.set_ylabel("normalised G(r)")
        ax1.set_xlabel(r"r ($\mathrm{\AA}$)")
        ax1.set_title(self.name, fontsize=10)
        labels = [
            f"{c.symbol} ({c.number})" + ("" if c.possible else " x")
            for c in self.candidates
        ]
        probs = [c.probability for c in self.candidates]
        colors = [
            f"C{spacegroups.CRYSTAL_SYSTEMS.index(c.crystal_system)}"
            for c in self.candidates
        ]
        ypos = numpy.arange(len(labels))[::-1]
        ax2.barh(ypos, probs, color=colors)
        ax2.set_yticks(ypos, labels)
        ax2.set_xlim(0, 1)
        ax2.set_xlabel("probability")
        ax2.set_title("space-group candidates", fontsize=10)
        for y, p in zip(ypos, probs):
            ax2.text(min(p + 0.02, 0.85), y, f"{p:.2f}", va="center")
        verdict = "" if self.domain is None else self.domain.line()
        if self.domain is not None and self.domain.warnings:
            verdict += "\n" + self.domain.warnings[0]
        fig.text(
            0.01,
            0.01,
            verdict,
            fontsize=8.5,
            color="C3" if not self.in_domain else "0.25",
            va="bottom",
        )
        fig.tight_layout(rect=(0, 0.09, 1, 1))
        return fig

    def plot(self, path=None):
        """Return :meth:`figure`, and write it as PNG when ``path`` is given.

        Parameters
        ----------
        path : str or Path, optional
            Output image.

        Returns
        -------
        matplotlib.figure.Figure

        Raises
        ------
        InputError
            When the image cannot be written (missing folder...).
        """
        fig = self.figure()
        if path is not None:
            save_figure(fig, path)
        return fig


def save_figure(fig, path, dpi=120):
    """Write a figure, turning file-system errors into one-line errors."""
    path = Path(path)
    check_output(path, "the image")
    try:
        fig.savefig(path, dpi=dpi)
    except OSError as exc:
        raise InputError(
            f"{path}: cannot write ({exc.strerror or exc})"
        ) from None
    except ValueError as exc:
        raise InputError(f"{path}: cannot write the image ({exc})") from None

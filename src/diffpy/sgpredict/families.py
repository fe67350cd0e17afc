"""Families of candidates the data cannot tell apart.

A PDF of an fcc metal fits Fm-3m, and equally well its subgroups
I4/mmm and I4/m with the same atoms at special positions: the subgroup
only allows distortions the data do not show.  The predictor therefore
groups its candidates into *families*: a group together with the
candidates among the 45 that are its subgroups or supergroups
(:func:`diffpy.sgpredict.spacegroups.is_subgroup`) and whose
probability is close to it.  The *head* of a family is its group of
highest symmetry: the most operations per conventional cell
(point-group order times the lattice centring: 4 for F, 3 for R, 2 for
A, B, C and I), then the more probable.  So fcc data that a model
splits between Pm-3m (ordered L1_2 superstructures, common among
computed structures) and Fm-3m get Fm-3m as the head.  Refine the head
first and move down to a subgroup only when the fit asks for it.

Examples
--------
>>> fams = group_families([225, 139, 87, 14], [0.5, 0.3, 0.15, 0.05])
>>> [(f.head, f.members) for f in fams]
[(225, (225, 139, 87)), (14, (14,))]
>>> group_families([221, 225, 139], [0.57, 0.19, 0.12])[0].head
225
"""

from dataclasses import dataclass

from diffpy.sgpredict import spacegroups

__all__ = ["Family", "group_families", "CLOSE_RATIO"]

#: Two related candidates belong to one family when the smaller
#: probability is at least this fraction of the larger one.
CLOSE_RATIO = 0.2


@dataclass(frozen=True)
class Family:
    """Candidates related by group-subgroup links with close probabilities.

    Attributes
    ----------
    head : int
        Group of highest symmetry in the family: refine it first.
    members : tuple of int
        Group numbers, the head first, then by falling probability.
    probability : float
        Sum of the members' probabilities.
    """

    head: int
    members: tuple
    probability: float

    @property
    def symbols(self):
        """Hermann-Mauguin symbols of the members."""
        return tuple(spacegroups.get(n).symbol for n in self.members)

    def to_dict(self):
        """Return ``{"head", "members", "symbols", "probability"}``."""
        return {
            "head": self.head,
            "members": list(self.members),
            "symbols": list(self.symbols),
            "probability": round(float(self.probability), 6),
        }

    def describe(self):
        """Return one line such as ``Fm-3m > I4/mmm, I4/m (0.950)``.

        A family of one group is the group and its probability.

        Examples
        --------
        >>> Family(225, (225, 139), 0.9).describe()
        'Fm-3m (225) > I4/mmm (139): 0.900, refine Fm-3m first'
        >>> Family(225, (225,), 0.84).describe()
        'Fm-3m (225): 0.840'
        """
        head = spacegroups.get(self.head)
        rest = ", ".join(
            f"{spacegroups.get(n).symbol} ({n})" for n in self.members[1:]
        )
        if not rest:
            return f"{head.symbol} ({head.number}): {self.probability:.3f}"
        return (
            f"{head.symbol} ({head.number}) > {rest}: "
            f"{self.probability:.3f}, refine {head.symbol} first"
        )


_CENTRING = {"P": 1, "A": 2, "B": 2, "C": 2, "I": 2, "F": 4, "R": 3}


def _operations(number):
    """Symmetry operations per conventional cell of a group.

    Examples
    --------
    >>> _operations(225), _operations(221), _operations(139)
    (192, 48, 32)
    """
    g = spacegroups.get(number)
    return g.point_group_order * _CENTRING[g.symbol[0]]


def _related(a, b):
    return spacegroups.is_subgroup(a, b) or spacegroups.is_subgroup(b, a)


def group_families(numbers, probabilities, close=CLOSE_RATIO):
    """Group candidates into families.

    The most probable candidate not yet placed opens a family.  Among it
    and the unplaced candidates related to it (subgroup or supergroup
    within the 45) with a probability of at least ``close`` times its
    own, the group of highest symmetry becomes the head; the family is
    the head, the opener and those of the others that are subgroups of
    the head.  Repeated until all candidates are placed.

    Parameters
    ----------
    numbers : sequence of int
        Candidate group numbers (typically the top-k).
    probabilities : sequence of float
        Their probabilities.
    close : float
        See :data:`CLOSE_RATIO`.

    Returns
    -------
    list of Family
        Ordered by falling family probability; every candidate is in
        exactly one family (alone when nothing is related to it).

    Examples
    --------
    >>> [f.head for f in group_families([227, 216, 225], [0.4, 0.35, 0.25])]
    [227, 225]
    >>> group_families([225, 139], [0.9, 0.01])[1].members
    (139,)
    """
    numbers = [int(n) for n in numbers]
    probs = {n: float(p) for n, p in zip(numbers, probabilities)}
    left = sorted(numbers, key=lambda n: -probs[n])

    def symmetry(n):
        return (_operations(n), probs[n])

    groups = []
    while left:
        first = left.pop(0)
        close_enough = [
            n
            for n in left
            if probs[n] >= close * probs[first] and _related(n, first)
        ]
        head = max([first, *close_enough], key=symmetry)
        members = [head] + [
            n
            for n in [first, *close_enough]
            if n != head and (n == first or spacegroups.is_subgroup(n, head))
        ]
        for n in members:
            if n in left:
                left.remove(n)
        groups.append(members)
    families = []
    for members in groups:
        head = max(members, key=symmetry)
        rest = sorted(
            (n for n in members if n != head), key=lambda n: -probs[n]
        )
        families.append(
            Family(
                head=head,
                members=(head, *rest),
                probability=sum(probs[n] for n in members),
            )
        )
    families.sort(key=lambda f: -f.probability)
    return families

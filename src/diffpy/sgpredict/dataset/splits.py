"""Splits of dataset rows: random per group, or grouped by a key.

Examples
--------
>>> tr, te = split_indices([225] * 10, test_fraction=0.2, seed=0)
>>> len(tr), len(te)
(8, 2)
"""

import numpy

from diffpy.sgpredict.errors import InputError

__all__ = ["split_indices"]


def split_indices(
    labels, groups=None, test_fraction=0.2, seed=0, method="random"
):
    """Split rows into training and test indices.

    ``method="random"`` is the paper's split: a random ``test_fraction``
    of the rows of each space group goes to the test side.
    ``method="grouped"`` keeps all rows that share a key of ``groups``
    (prototype key or reduced formula) on one side: within each space
    group, whole keys are assigned at random to the test side until it
    holds about ``test_fraction`` of the rows.  A key that occurs in
    several space groups is placed by its first occurrence, so it never
    ends up on both sides.

    Parameters
    ----------
    labels : array_like of int
        Space-group numbers, one per row.
    groups : array_like of str, optional
        Grouping keys (the ``prototype`` field); required for
        ``method="grouped"``.
    test_fraction : float
        Fraction of rows for the test side.
    seed : int
        Random seed.
    method : {"random", "grouped"}

    Returns
    -------
    train, test : numpy.ndarray of int
        Sorted row indices.

    Examples
    --------
    >>> labels = [225] * 5 + [14] * 5
    >>> tr, te = split_indices(labels, test_fraction=0.2, seed=1)
    >>> len(tr), len(te)
    (8, 2)
    >>> keys = ["a", "a", "b", "b", "c", "d", "d", "e", "f", "f"]
    >>> tr, te = split_indices(labels, keys, 0.2, 1, method="grouped")
    >>> sorted(set(numpy.array(keys)[tr]) & set(numpy.array(keys)[te]))
    []

    A set too small for the share of every group still gets a test side
    (drawn from all rows):

    >>> tr, te = split_indices([225, 14, 2, 62], test_fraction=0.05)
    >>> len(tr), len(te)
    (3, 1)
    """
    labels = numpy.asarray(labels)
    n = len(labels)
    rng = numpy.random.default_rng(seed)
    test = numpy.zeros(n, dtype=bool)
    if method == "random":
        for sg in numpy.unique(labels):
            idx = numpy.flatnonzero(labels == sg)
            k = int(round(test_fraction * len(idx)))
            test[rng.choice(idx, size=k, replace=False)] = True
    elif method == "grouped":
        if groups is None:
            raise InputError("a grouped split needs the grouping keys")
        groups = numpy.asarray(groups).astype(str)
        if len(groups) != n:
            raise InputError("labels and groups differ in length")
        # a key belongs to the group of its first row
        keys, first = numpy.unique(groups, return_index=True)
        key_sg = labels[first]
        key_rows = {k: numpy.flatnonzero(groups == k) for k in keys}
        side = {}
        for sg in numpy.unique(key_sg):
            ks = keys[key_sg == sg]
            ks = ks[rng.permutation(len(ks))]
            total = sum(len(key_rows[k]) for k in ks)
            target = test_fraction * total
            taken = 0
            for k in ks:
                put = taken + len(key_rows[k]) / 2 <= target and len(ks) > 1
                side[k] = put
                if put:
                    taken += len(key_rows[k])
        for k, is_test in side.items():
            test[key_rows[k]] = is_test
    else:
        raise InputError(
            f"unknown split method {method!r}; use 'random' or 'grouped'"
        )
    if not test.any() and test_fraction > 0 and n > 1:
        # every group too small for its share (a tiny dataset): take the
        # share from all rows at once, so that neither side is empty
        test = _whole_set_share(labels, groups, test_fraction, rng, method)
    return numpy.flatnonzero(~test), numpy.flatnonzero(test)


def _whole_set_share(labels, groups, fraction, rng, method):
    """Test rows drawn from the whole set: whole keys, or single rows.

    Used only when the per-group rule put no row on the test side, so
    the splits of datasets large enough for it are unchanged.
    """
    n = len(labels)
    want = max(1, int(round(fraction * n)))
    test = numpy.zeros(n, dtype=bool)
    if method == "random":
        test[rng.choice(n, size=min(want, n - 1), replace=False)] = True
        return test
    keys = numpy.unique(groups)
    for k in keys[rng.permutation(len(keys))][: len(keys) - 1]:
        if test.sum() >= want:
            break
        test[groups == k] = True
    return test

"""Wyckoff positions of the 230 groups, and the compositions they hold.

* :func:`wyckoff_positions` lists a group's positions in diffpy's
  setting (multiplicity, letter, degrees of freedom, representative);
* :func:`setting_shift` is the origin shift between that setting and
  the International Tables' standard one;
* :func:`equivalent_sites` picks one of the site lists that describe
  the same structures (Mn 4a + F 8c and Mn 4b + F 8c of Pbca differ by
  an origin shift);
* :func:`composition_allowed` tells whether, for some number of formula
  units Z up to a limit, the multiplicities can hold a composition
  (each element on whole orbits, a fixed position at most once);
* :func:`wyckoff_assignments` lists the ways they can.

The prediction's composition filter and the refinement's Wyckoff
enumeration (:mod:`diffpy.sgpredict.refine.wyckoff`) build on these.

Examples
--------
>>> composition_allowed("SrFe2As2", 139)
True
>>> composition_allowed("Ni", 230)
False
"""

import functools
import itertools
import json
from importlib import resources

from diffpy.sgpredict.chemistry import (
    anonymous_formula,
    electronegativity_ranks,
    parse_composition,
)
from diffpy.sgpredict.errors import InputError

__all__ = [
    "wyckoff_positions",
    "setting_shift",
    "equivalent_sites",
    "composition_allowed",
    "wyckoff_assignments",
]


@functools.lru_cache(maxsize=None)
def _wyckoff_table():
    ref = resources.files("diffpy.sgpredict").joinpath(
        "data", "wyckoff", "wyckoff.json"
    )
    with ref.open("r", encoding="utf-8") as fh:
        return json.load(fh)


def wyckoff_positions(number):
    """Return the Wyckoff positions of a space group.

    From the bundled table (International Tables, Vol. A, as tabulated
    by pyxtal), in the setting of
    :func:`diffpy.structure.spacegroups.GetSpaceGroup` for ``number``.

    Parameters
    ----------
    number : int
        Space-group number, 1 to 230.

    Returns
    -------
    list of tuple
        ``(multiplicity, letter, dof, matrix)``, general position
        first; ``matrix`` (3 rows of 4) maps the free parameters
        ``(x, y, z, 1)`` to the representative coordinate.  The table
        stores six decimals; its entries are given back as the exact
        multiples of 1/24 they stand for (``0.333333`` is 1/3), so that
        the symmetry images of a special position coincide exactly.

    Examples
    --------
    >>> [(m, w, d) for m, w, d, _ in wyckoff_positions(139)][-3:]
    [(4, 'c', 0), (2, 'b', 0), (2, 'a', 0)]
    >>> wyckoff_positions(186)[2][3][0][3] * 3
    1.0
    """
    key = str(int(number))
    table = _wyckoff_table()["groups"]
    if key not in table:
        raise InputError(f"space group {number}: not one of 1 to 230")
    return [
        (mult, letter, dof, [[_exact(v) for v in row] for row in matrix])
        for mult, letter, dof, matrix in table[key]
    ]


def _exact(value):
    """A table entry as the multiple of 1/24 it rounds (else unchanged)."""
    k = round(value * 24)
    return k / 24 if abs(value * 24 - k) < 1e-4 else value


def setting_shift(number):
    """Return the origin shift from pyxtal's setting to diffpy's.

    pyxtal (and the International Tables' default) use origin choice 2
    for the groups that have two origins; diffpy.structure uses origin
    choice 1.  Adding the shift to pyxtal's fractional coordinates
    gives diffpy's.

    Examples
    --------
    >>> setting_shift(227), setting_shift(225)
    ((0.125, 0.125, 0.125), (0.0, 0.0, 0.0))
    """
    shifts = _wyckoff_table()["origin_shift"]
    return tuple(float(x) for x in shifts.get(str(int(number)), (0, 0, 0)))


def equivalent_sites(number, sites):
    """One representative of the site lists equivalent to ``sites``.

    The operations of a group's Euclidean normalizer (origin shifts,
    inversion, some rotations) take every structure of the group to one
    of the same group, with the same PDF, and permute its Wyckoff
    letters: 1a and 1b of P-3m1 are exchanged by the shift (0, 0, 1/2),
    2a-2d of P2_1/c by the half-cell shifts.  Two site lists that one
    permutation maps onto each other describe the same structures in
    the same cells.  Operations that would change the cell (the axis
    permutations of Pmmm, Pnnm, Cmmm and Immm) do not count.  The
    permutations are those of the International Tables' Wyckoff sets
    (Vol. A, Part 3.5, as tabulated by pyxtal), stored with the
    positions and checked there on every position in diffpy's setting
    (:mod:`diffpy.sgpredict.refine._build_wyckoff`).

    Parameters
    ----------
    number : int
        Space-group number.
    sites : iterable of (str, str)
        Element and Wyckoff letter of each site.

    Returns
    -------
    tuple of (str, str)
        The sorted sites under the permutation that gives the smallest
        such tuple: equal for equivalent site lists.

    Examples
    --------
    >>> equivalent_sites(164, [("Mn", "b"), ("Li", "d"), ("F", "i")])
    (('F', 'i'), ('Li', 'd'), ('Mn', 'a'))
    >>> equivalent_sites(14, [("Mn", "a"), ("Li", "d")]) == (
    ...     equivalent_sites(14, [("Li", "a"), ("Mn", "d")]))
    True
    """
    sites = list(sites)
    images = _canonical_map(number, sites)
    return tuple(sorted((el, images.get(w, w)) for el, w in sites))


def _canonical_map(number, sites):
    """The letter permutation (a dict; empty for the identity) that
    takes ``sites`` to their representative in
    :func:`equivalent_sites`."""
    best, chosen = tuple(sorted(sites)), {}
    for images in _letter_maps(number):
        moved = tuple(sorted((el, images[w]) for el, w in sites))
        if moved < best:
            best, chosen = moved, images
    return chosen


@functools.lru_cache(maxsize=None)
def _letter_maps(number):
    """The letter permutations of :func:`equivalent_sites`, as dicts."""
    entry = _wyckoff_table()["letter_maps"].get(str(int(number)))
    if entry is None:
        return ()
    letters = entry["letters"]
    return tuple(dict(zip(letters, images)) for images in entry["maps"])


def _integer_counts(composition, z):
    """Atom counts per cell for ``z`` formula units, or None.

    Elements with fractional amounts share a disordered site: they are
    pooled into one species, named by joining their symbols with
    ``"+"``.
    """
    exact, pooled = {}, {}
    for el, amount in composition.items():
        n = amount * z
        if abs(n - round(n)) < 1e-6:
            if round(n):
                exact[el] = int(round(n))
        else:
            pooled[el] = n
    if pooled:
        total = sum(pooled.values())
        if abs(total - round(total)) > 1e-6:
            return None
        exact["+".join(pooled)] = int(round(total))
    return exact


def _free_reachable(free, limit):
    reach = [False] * (limit + 1)
    reach[0] = True
    for n in range(1, limit + 1):
        reach[n] = any(n >= m and reach[n - m] for m in free)
    return reach


def _fixed_subsets(fixed, count):
    """Subsets (bit masks) of the fixed positions with sum <= count."""
    out = []
    k = len(fixed)
    for mask in range(1 << k):
        total = 0
        for i in range(k):
            if mask >> i & 1:
                total += fixed[i]
                if total > count:
                    break
        if total <= count:
            out.append((mask, total))
    return out


def composition_allowed(composition, sg_number, zmax=8):
    """Tell whether a space group can hold a composition.

    The composition fits when, for some number of formula units
    :math:`Z \\le z_{max}` in the conventional cell, the count
    :math:`n_{el} Z` of every element is a sum of Wyckoff
    multiplicities,

    .. math::

        n_{el} Z = \\sum_{w \\in W_{el}} m_w ,

    where the positions :math:`W_{el}` of different elements are
    disjoint for positions without a free parameter (a special point
    holds one atom) and positions with free parameters may be used any
    number of times.  Elements with fractional amounts (a disordered
    site such as ``(Ba0.5Sr0.5)``) are pooled into one species.

    Parameters
    ----------
    composition : str or dict
        Formula or element amounts (see
        :func:`~diffpy.sgpredict.chemistry.parse_composition`).
    sg_number : int
        Space-group number.
    zmax : int
        Largest number of formula units per conventional cell tried.

    Returns
    -------
    bool

    Examples
    --------
    >>> composition_allowed("NaCl", 225), composition_allowed("Ni", 230)
    (True, False)
    """
    comp = parse_composition(composition)
    positions = wyckoff_positions(sg_number)
    for z in range(1, int(zmax) + 1):
        counts = _integer_counts(comp, z)
        if counts is None:
            continue
        if _solve(list(counts.values()), positions):
            return True
    return False


def _solve(counts, positions):
    free = sorted({m for m, _, dof, _ in positions if dof > 0})
    fixed = [m for m, _, dof, _ in positions if dof == 0]
    limit = max(counts)
    reach = _free_reachable(free, limit)
    options = [
        [mask for mask, total in _fixed_subsets(fixed, c) if reach[c - total]]
        for c in counts
    ]
    order = sorted(range(len(counts)), key=lambda i: len(options[i]))

    @functools.lru_cache(maxsize=None)
    def search(i, used):
        if i == len(order):
            return True
        return any(
            search(i + 1, used | mask)
            for mask in options[order[i]]
            if not used & mask
        )

    return search(0, 0)


def _free_combinations(free, count, start=0):
    """Multisets of free positions (indices into ``free``) summing to
    ``count``."""
    if count == 0:
        yield ()
        return
    for i in range(start, len(free)):
        m = free[i][0]
        if m <= count:
            for rest in _free_combinations(free, count - m, i):
                yield (free[i],) + rest


def wyckoff_assignments(
    composition,
    sg_number,
    zmax=4,
    max_atoms=80,
    max_sites=8,
    limit=200,
    prefer=(),
    patterns=(),
):
    """Enumerate assignments of the elements to Wyckoff positions.

    Parameters
    ----------
    composition : str or dict
        Formula or element amounts.
    sg_number : int
        Space-group number.
    zmax : int
        Largest number of formula units per conventional cell.
    max_atoms : int
        Largest number of atoms in the conventional cell.
    max_sites : int
        Largest number of symmetry-unique sites (asymmetric unit).
    limit : int
        Stop after this many assignments.
    prefer : sequence of sequence of (int, str)
        Combinations of occupied sites, as ``(multiplicity, letter)``,
        most likely first (those of real structures of the group:
        :func:`~diffpy.sgpredict.structures.stats.wyckoff_combinations`).
        Assignments that occupy exactly one of them come next, in its
        order; the others follow, each once.
    patterns : sequence of sequence of tuple
        Site patterns of real structures with the composition's
        anonymous formula, most likely first, each site as
        ``(amount, multiplicity, letter)`` or ``(amount, multiplicity,
        letter, rank)``: the element whose amount in the reduced
        formula is ``amount`` (and, among those, whose
        electronegativity rank is ``rank``) sits there
        (:func:`~diffpy.sgpredict.structures.stats.site_patterns`).
        Their assignments come first, each pattern's ranked placement
        before its other placements of elements of equal amounts;
        ``zmax`` does not apply to them (only ``max_atoms`` and
        ``max_sites``): a known structure type
        of Z = 24 (Li in Cmce) is no less likely than one of Z = 2.

    Yields
    ------
    tuple
        ``(z, sites)`` with ``sites`` a list of ``(element, position)``
        pairs, ``position`` being a row of :func:`wyckoff_positions`.
        After the preferred ones, assignments with fewer sites and
        fewer free parameters come first within each Z.  Of the
        assignments that describe the same structures
        (:func:`equivalent_sites`) one comes, where the first came,
        with the letters of their representative (Sr 2a rather than
        2b of I4/mmm).

    Examples
    --------
    >>> z, sites = next(wyckoff_assignments("NaCl", 225))
    >>> z, sorted((el, p[0], p[1]) for el, p in sites)
    (4, [('Cl', 4, 'a'), ('Na', 4, 'b')])

    Li2MnF6 with the site pattern of its P-3m1 structure (Mn 1a + 2d,
    Li 6g, F 6i three times, Z = 3):

    >>> pattern = [(1, 1, "a"), (1, 2, "d"), (2, 6, "g")] + [(6, 6, "i")] * 3
    >>> z, sites = next(wyckoff_assignments("Li2MnF6", 164,
    ...                                     patterns=[pattern]))
    >>> z, " ".join(f"{el}{p[0]}{p[1]}" for el, p in sites)
    (3, 'Mn1a Mn2d Li6g F6i F6i F6i')

    Hollandite MnO2 (I4/m, Mn 8h, O 8h, O 8h) is the 83rd assignment
    in the plain order and the first when its sites are preferred:

    >>> hollandite = [(8, "h"), (8, "h"), (8, "h")]
    >>> z, sites = next(wyckoff_assignments("MnO2", 87, zmax=8,
    ...                                     prefer=[hollandite]))
    >>> z, sorted((el, p[0], p[1]) for el, p in sites)
    (8, [('Mn', 8, 'h'), ('O', 8, 'h'), ('O', 8, 'h')])
    """
    comp = parse_composition(composition)
    positions = wyckoff_positions(sg_number)
    by_letter = {p[1]: p for p in positions}
    limits = dict(zmax=zmax, max_atoms=max_atoms, max_sites=max_sites)
    done = set()
    for z, sites in itertools.chain(
        _patterned(comp, positions, patterns, max_atoms, max_sites),
        _preferred(comp, positions, prefer, **limits),
        _enumerated(comp, positions, limit=limit, **limits),
    ):
        images = _canonical_map(sg_number, [(el, p[1]) for el, p in sites])
        sites = [(el, by_letter[images.get(p[1], p[1])]) for el, p in sites]
        key = (z, tuple(sorted((el, p[1]) for el, p in sites)))
        if key in done:
            continue
        done.add(key)
        yield z, sites
        if len(done) >= limit:
            return


def _occupied(combination, by_letter, max_sites):
    """The position rows of a combination of ``(multiplicity, letter)``
    sorted by letter, or None when it cannot describe these positions:
    more than ``max_sites`` sites, a letter or multiplicity of another
    setting, or a site without a free parameter taken twice."""
    if len(combination) > max_sites or any(
        letter not in by_letter or by_letter[letter][0] != m
        for m, letter in combination
    ):
        return None
    sites = sorted(
        (by_letter[letter] for _, letter in combination), key=lambda p: p[1]
    )
    fixed = [p[1] for p in sites if p[2] == 0]
    return sites if len(set(fixed)) == len(fixed) else None


def _preferred(comp, positions, combinations, zmax, max_atoms, max_sites):
    """Assignments of ``comp`` that occupy exactly the sites of one of
    ``combinations`` (in their order): every element on whole sites, a
    site without a free parameter at most once."""
    by_letter = {p[1]: p for p in positions}
    natoms = sum(comp.values())
    for combination in combinations:
        sites = _occupied(combination, by_letter, max_sites)
        if sites is None:
            continue
        total = sum(p[0] for p in sites)
        z = round(total / natoms)
        counts = _integer_counts(comp, z) if 1 <= z <= zmax else None
        if counts is None or total > max_atoms:
            continue
        if sum(counts.values()) != total:
            continue
        yield from ((z, found) for found in _share_sites(sites, counts))


def _patterned(comp, positions, patterns, max_atoms, max_sites):
    """Assignments of ``comp`` that follow one of ``patterns`` (in
    their order): the sites of each amount shared among the elements
    of that amount."""
    amounts, _ = anonymous_formula(comp)
    if not patterns or amounts is None:
        return
    by_letter = {p[1]: p for p in positions}
    per_unit = sum(amounts.values())
    ranks = electronegativity_ranks(amounts)
    for pattern in patterns:
        sites = _occupied(
            [(s[1], s[2]) for s in pattern], by_letter, max_sites
        )
        total = sum(s[1] for s in pattern)
        z, rest = divmod(total, per_unit)
        if sites is None or total > max_atoms or rest:
            continue
        if {s[0] for s in pattern} != set(amounts.values()):
            continue
        ways = []
        for amount in sorted(set(amounts.values())):
            mine = [s for s in pattern if s[0] == amount]
            counts = {
                el: amount * z for el, a in amounts.items() if a == amount
            }
            if sum(s[1] for s in mine) != sum(counts.values()):
                break
            ranked = _ranked_way(mine, counts, ranks, by_letter)
            rows = _occupied([s[1:3] for s in mine], by_letter, max_sites)
            ways.append(ranked + list(_share_sites(rows, counts)))
        else:
            for way in itertools.product(*ways):
                yield z, [pair for part in way for pair in part]


def _ranked_way(sites, counts, ranks, by_letter):
    """The pattern's own placement of the elements of one amount, as a
    list of at most one way: the element of each electronegativity rank
    (:func:`~diffpy.sgpredict.chemistry.electronegativity_ranks`) on the
    sites that the element of that rank held in the real structures;
    none when the pattern has no ranks or they do not fit ``counts``."""
    by_rank = {ranks[el]: el for el in counts}
    if any(len(s) < 4 or s[3] not in by_rank for s in sites):
        return []
    way = [(by_rank[s[3]], by_letter[s[2]]) for s in sites]
    held = {}
    for el, pos in way:
        held[el] = held.get(el, 0) + pos[0]
    return [sorted(way, key=lambda p: p[1][1])] if held == counts else []


def _share_sites(sites, counts):
    """The ways of giving each of ``sites`` (sorted by letter) to an
    element so that the multiplicities add up to ``counts``; sites of
    one letter are interchangeable and each way is given once."""
    elements = list(counts)
    left = dict(counts)
    chosen = []

    def search(k, lowest):
        if k == len(sites):
            yield [(elements[i], sites[j]) for j, i in enumerate(chosen)]
            return
        same = k and sites[k][1] == sites[k - 1][1]
        for i in range(lowest if same else 0, len(elements)):
            if left[elements[i]] >= sites[k][0]:
                left[elements[i]] -= sites[k][0]
                chosen.append(i)
                yield from search(k + 1, i)
                chosen.pop()
                left[elements[i]] += sites[k][0]

    yield from search(0, 0)


def _enumerated(comp, positions, zmax, max_atoms, max_sites, limit):
    """Every assignment, fewer sites and free parameters first within
    each Z (at most ``limit`` per Z)."""
    free = [p for p in positions if p[2] > 0]
    fixed = [p for p in positions if p[2] == 0]
    for z in range(1, int(zmax) + 1):
        counts = _integer_counts(comp, z)
        if counts is None or sum(counts.values()) > max_atoms:
            continue
        elements = list(counts)
        per_element = []
        for el in elements:
            c = counts[el]
            opts = []
            for mask, total in _fixed_subsets([p[0] for p in fixed], c):
                chosen = [fixed[i] for i in range(len(fixed)) if mask >> i & 1]
                for extra in _free_combinations(free, c - total):
                    sites = chosen + list(extra)
                    if len(sites) <= max_sites:
                        opts.append((mask, sites))
            opts.sort(key=lambda o: (len(o[1]), sum(p[2] for p in o[1])))
            per_element.append(opts)
        found = []

        def search(i, used, acc):
            if len(found) >= limit:
                return
            if i == len(elements):
                found.append(list(acc))
                return
            for mask, sites in per_element[i]:
                if used & mask:
                    continue
                if len(acc) + len(sites) > max_sites:
                    continue
                search(
                    i + 1,
                    used | mask,
                    acc + [(elements[i], p) for p in sites],
                )

        search(0, 0, [])
        found.sort(key=lambda s: (len(s), sum(p[2] for _, p in s)))
        for sites in found:
            yield z, sites

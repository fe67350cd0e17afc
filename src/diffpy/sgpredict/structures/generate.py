"""Generated crystals that look like real chemistry.

Two routes make crystals of a requested space group, each reproducible
from an integer seed:

``statistics``
    A real formula of the group is drawn from the ICSD counts table
    (weight: square root of the number of entries).  A combination of
    occupied Wyckoff sites is drawn from the statistics of real
    structures of that group (the Materials Project table shipped by
    pyxtal, plus the structure-type library) among those whose
    multiplicities can be shared out among the elements in the ratio of
    the formula; pyxtal then places the atoms at random on those sites
    with minimum distances from atomic radii and a cell volume from
    atomic volumes.  When no combination fits, pyxtal chooses the sites.
``prototype``
    A real structure type of the group from the structure-type library
    (:mod:`diffpy.sgpredict.structures.library`) is
    varied within its group: element substitution guided by the real
    formulas of the group, lattice scaled to the new atoms, free
    coordinates and cell ratios perturbed by a symmetry-keeping
    perturbation (:mod:`diffpy.sgpredict.structures.prototypes`).

Every crystal is labelled by spglib (tolerance 0.01) with the group it
really has; crystals whose group is not among the 45 are dropped.

The statistics are shipped in ``data/generation_stats.json.gz``
(:func:`diffpy.sgpredict.structures.stats.build_statistics` writes
it).

Examples
--------
>>> items = generation_items(2, groups=[225], route="both", seed=0)
>>> [it["id"] for it in items]
['stat-225-00000', 'prot-225-00000']
>>> c = generate_item(items[1])
>>> c.meta["sg_number"]
225
"""

import logging
import warnings
from contextlib import contextmanager

import numpy

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.structures import Crystal, reduced_formula
from diffpy.sgpredict.structures.cifs import SkipStructure
from diffpy.sgpredict.structures.library import generator_types
from diffpy.sgpredict.structures.prototypes import make_variant
from diffpy.sgpredict.structures.stats import (  # noqa: F401 (re-export)
    STATS_PATH,
    build_statistics,
    formulas_for_group,
    wyckoff_combinations,
)

__all__ = [
    "ROUTES",
    "STATS_PATH",
    "formulas_for_group",
    "wyckoff_combinations",
    "statistics_crystal",
    "generation_items",
    "generate_item",
    "build_statistics",
]

logger = logging.getLogger(__name__)

ROUTES = ("statistics", "prototype")
_ROUTE_TAG = {"statistics": "stat", "prototype": "prot"}


def _share(sites, need, rng, budget=2000):
    """Share sites among elements so element e gets need[e] atoms.

    Returns a dict element -> list of site labels or None.
    """
    order = sorted(range(len(sites)), key=lambda i: -sites[i][0])
    elems = list(need)
    rng.shuffle(elems)
    left = dict(need)
    assign = {}
    steps = [0]

    def rec(k):
        steps[0] += 1
        if steps[0] > budget:
            return False
        if k == len(order):
            return all(v == 0 for v in left.values())
        m = sites[order[k]][0]
        for e in elems:
            if left[e] >= m:
                left[e] -= m
                assign[order[k]] = e
                if rec(k + 1):
                    return True
                left[e] += m
        return False

    if sum(s[0] for s in sites) != sum(need.values()):
        return None
    if not rec(0):
        return None
    out = {e: [] for e in need}
    for i, e in assign.items():
        out[e].append(f"{sites[i][0]}{sites[i][1]}")
    if any(not v for v in out.values()):
        return None
    return out


def statistics_crystal(
    sg,
    seed,
    max_atoms=60,
    tries=6,
    symprec=0.01,
    factor=(1.0, 1.35),
    exclude=None,
):
    """Make one crystal of group ``sg`` by the statistics-driven route.

    Parameters
    ----------
    sg : int
        Requested space group.
    seed : int
        Random seed; the same seed gives the same crystal.
    max_atoms : int
        Most atoms in the conventional cell.
    tries : int
        Formulas tried before giving up.
    symprec : float
        spglib tolerance of the label.
    factor : (float, float)
        Range of pyxtal's volume factor.
    exclude : set of (str, int), optional
        (reduced formula, group) pairs never to make, e.g. those of the
        evaluation structures; a draw that hits one is redrawn.

    Returns
    -------
    Crystal or None

    Notes
    -----
    pyxtal draws from numpy's global generator too: it is seeded for the
    call and its state put back afterwards, and pyxtal's tolerance
    tables are shared only during the call
    (:func:`_shared_tolerance_tables`), so the process is left as it was.

    Examples
    --------
    >>> c = statistics_crystal(221, seed=3)
    >>> c is None or c.meta["declared_sg"] == 221
    True
    """
    # pyxtal is an optional dependency (the ``generate`` extra)
    from pyxtal import pyxtal

    rng = numpy.random.default_rng(seed)
    forms = formulas_for_group(sg)
    combos = wyckoff_combinations(sg)
    if not forms:
        return None
    w = numpy.array([f[1] for f in forms])
    w = w / w.sum()
    cw = numpy.array([c[1] for c in combos]) if combos else None
    with _global_numpy_seed(seed % (2**32)), _shared_tolerance_tables():
        for attempt in range(tries):
            comp = forms[rng.choice(len(forms), p=w)][0]
            if sum(comp.values()) > max_atoms:
                continue
            if exclude and (_formula(comp), sg) in exclude:
                continue
            c = _statistics_attempt(
                sg, comp, combos, cw, max_atoms, factor, rng, pyxtal
            )
            if c is None:
                continue
            label = c.label(symprec)
            if exclude and (c.reduced_formula, label) in exclude:
                continue
            c.meta.update(
                declared_sg=sg, sg_number=label, formula=c.reduced_formula
            )
            return c
    return None


def _statistics_attempt(sg, comp, combos, cw, max_atoms, factor, rng, cls):
    """One pyxtal crystal of ``comp`` in ``sg`` (``cls``: pyxtal's class).

    The sites come from real structures of the group when some fit,
    else pyxtal chooses them; None when pyxtal fails or the cell has
    too many atoms.
    """
    sites, z = _draw_sites(comp, combos, cw, max_atoms, rng)
    xtal = cls()
    fac = float(rng.uniform(*factor))
    state = int(rng.integers(2**31))
    if sites is None:
        z = _smallest_z(sg, comp, max_atoms)
        if z is None:
            return None
    if not _random_crystal(xtal, sg, comp, z, sites, fac, state):
        return None
    coords, spec = xtal._get_coords_and_species()
    c = Crystal(xtal.lattice.matrix, coords, [str(s) for s in spec])
    if c.natoms == 0 or c.natoms > max_atoms * 2:
        return None
    c.meta["wyckoff"] = "stats" if sites is not None else "pyxtal"
    return c


def _draw_sites(comp, combos, weights, max_atoms, rng):
    """Occupied sites of a real structure of the group that fit ``comp``.

    Returns
    -------
    sites : dict or None
        element -> list of site labels (``"4a"``).
    z : int or None
        Formula units per cell.
    """
    if not combos:
        return None, None
    nred = sum(comp.values())
    ok = [
        i
        for i, (s, _) in enumerate(combos)
        if sum(m for m, _ in s) % nred == 0
        and sum(m for m, _ in s) <= max_atoms
        and len(s) >= len(comp)
    ]
    if not ok:
        return None, None
    p = weights[ok] / weights[ok].sum()
    for i in rng.choice(ok, size=min(len(ok), 12), p=p, replace=False):
        s = combos[i][0]
        z = sum(m for m, _ in s) // nred
        need = {e: n * z for e, n in comp.items()}
        sites = _share(s, need, rng)
        if sites is not None:
            return sites, z
    return None, None


def _random_crystal(xtal, sg, comp, z, sites, factor, state):
    """Fill a pyxtal crystal at random; False when pyxtal fails.

    pyxtal reports an impossible combination or a failed placement with
    its own error or a plain ValueError/RuntimeError/IndexError/KeyError;
    those only mean "draw again" (logged at DEBUG).
    """
    # pyxtal is an optional dependency (the ``generate`` extra)
    from pyxtal.msg import Error as PyxtalError

    species = sorted(comp)
    kwargs = {"sites": [sites[e] for e in species]} if sites else {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            xtal.from_random(
                3,
                sg,
                species,
                [comp[e] * z for e in species],
                factor=factor,
                random_state=state,
                max_count=5,
                **kwargs,
            )
    except (
        PyxtalError,
        RuntimeError,
        ValueError,
        IndexError,
        KeyError,
        ArithmeticError,
    ) as exc:
        logger.debug("pyxtal failed for %s in %d: %s", comp, sg, exc)
        return False
    return bool(xtal.valid)


@contextmanager
def _global_numpy_seed(seed):
    """Seed numpy's global generator for a block, then restore it."""
    saved = numpy.random.get_state()
    numpy.random.seed(seed)
    try:
        yield
    finally:
        numpy.random.set_state(saved)


@contextmanager
def _shared_tolerance_tables():
    """Let pyxtal reuse one default distance-tolerance table in a block.

    pyxtal's ``operations.check_images`` builds a fresh default
    ``Tol_matrix`` on every call when none is passed, which takes about a
    quarter of the time of a random crystal.  The table is read-only
    there, so one shared instance per (prototype, factor) gives the same
    crystals, faster.  Only the name inside ``pyxtal.operations`` is
    replaced, and only until the block ends.
    """
    # pyxtal is an optional dependency (the ``generate`` extra)
    import pyxtal.operations as ops

    real = ops.Tol_matrix
    if getattr(real, "_sgpredict_shared", False):  # nested: already shared
        yield
        return
    cache = {}

    def shared(*tuples, prototype="atomic", factor=1.0):
        if tuples:
            return real(*tuples, prototype=prototype, factor=factor)
        key = (prototype, factor)
        if key not in cache:
            cache[key] = real(prototype=prototype, factor=factor)
        return cache[key]

    shared._sgpredict_shared = True
    ops.Tol_matrix = shared
    try:
        yield
    finally:
        ops.Tol_matrix = real


def _formula(comp):
    return reduced_formula([e for e, n in comp.items() for _ in range(n)])


def _smallest_z(sg, comp, max_atoms):
    # pyxtal is an optional dependency (the ``generate`` extra)
    from pyxtal.symmetry import Group

    g = Group(sg)
    nred = sum(comp.values())
    for z in range(1, max_atoms // nred + 1):
        ok, _ = g.check_compatible([comp[e] * z for e in sorted(comp)])
        if ok:
            return z
    return None


def _prototype_keys(sg):
    """The generator's structure types of a group, sorted by key.

    Sorted (not in the library's preferred order) because the items
    draw them in a seeded random order: the same keys give the same
    dataset whatever the order of the file.
    """
    return sorted(generator_types([sg]))


def _item_seed(seed, route, sg, index):
    ss = numpy.random.SeedSequence(
        [int(seed), ROUTES.index(route), int(sg), int(index)]
    )
    return int(ss.generate_state(1, dtype=numpy.uint64)[0] % (2**63))


def generation_items(
    n_per_group, groups=None, route="both", seed=0, prototype_fraction=0.5
):
    """List the work items of a generated dataset.

    Each item has a deterministic id and seed, so a build restarted with
    the same arguments makes the same crystals.

    Parameters
    ----------
    n_per_group : int
        Crystals asked per group (before spglib relabelling).
    groups : sequence of int, optional
        Space groups; default the 45.
    route : {"statistics", "prototype", "both"}
    seed : int
    prototype_fraction : float
        With ``route="both"``, the share of prototype variants in groups
        that have prototypes; groups without any get all from statistics.

    Returns
    -------
    list of dict
        ``id``, ``route``, ``sg``, ``index``, ``seed`` and, for the
        prototype route, ``prototype``.

    Examples
    --------
    >>> [it["id"] for it in generation_items(1, [14, 225], "statistics")]
    ['stat-014-00000', 'stat-225-00000']
    """
    if route not in ROUTES + ("both",):
        raise ValueError(f"route must be one of {ROUTES + ('both',)}")
    groups = list(spacegroups.NUMBERS if groups is None else groups)
    per_group = []
    for sg in groups:
        items = []
        per_group.append(items)
        keys = _prototype_keys(sg)
        if route == "statistics" or (route == "both" and not keys):
            counts = {"statistics": n_per_group}
        elif route == "prototype":
            counts = {"prototype": n_per_group if keys else 0}
        else:
            n_p = int(round(n_per_group * prototype_fraction))
            counts = {"statistics": n_per_group - n_p, "prototype": n_p}
        order = []
        if keys:
            rng = numpy.random.default_rng([int(seed), int(sg)])
            order = [keys[i] for i in rng.permutation(len(keys))]
        n = max(counts.values()) if counts else 0
        for i in range(n):
            for r in ROUTES:
                if i >= counts.get(r, 0):
                    continue
                it = {
                    "id": f"{_ROUTE_TAG[r]}-{sg:03d}-{i:05d}",
                    "route": r,
                    "sg": int(sg),
                    "index": i,
                    "seed": _item_seed(seed, r, sg, i),
                }
                if r == "prototype":
                    it["prototype"] = order[i % len(order)]
                items.append(it)
    # interleave the groups, so that a build stopped early is balanced
    out = []
    longest = max((len(x) for x in per_group), default=0)
    for k in range(longest):
        for items in per_group:
            if k < len(items):
                out.append(items[k])
    return out


def generate_item(
    item, max_atoms=60, symprec=0.01, all_groups=False, exclude=None
):
    """Make the crystal of one work item.

    ``exclude`` is a set of (reduced formula, group) pairs never to make
    (see :func:`statistics_crystal`).

    Raises
    ------
    SkipStructure
        When no crystal could be made or its group is not among the 45.
    """
    if item["route"] == "statistics":
        c = statistics_crystal(
            item["sg"],
            item["seed"],
            max_atoms,
            symprec=symprec,
            exclude=exclude,
        )
        if c is None:
            raise SkipStructure(f"generation failed: group {item['sg']}")
        c.meta["prototype"] = f"stat:{c.meta['formula']}"
        c.meta["source"] = f"statistics:{item['seed']}"
    else:
        rng = numpy.random.default_rng(item["seed"])
        c = make_variant(
            item["prototype"], rng, symprec=symprec, exclude=exclude
        )
        if c is None:
            raise SkipStructure(
                f"generation failed: prototype {item['prototype']}"
            )
        c.meta["source"] = f"prototype:{item['prototype']}"
    sg = c.meta["sg_number"]
    if sg == 0:
        raise SkipStructure("no symmetry: spglib failed")
    if not all_groups and sg not in spacegroups.NUMBERS:
        raise SkipStructure(
            f"group not among the 45: {sg} (asked {item['sg']})"
        )
    return c

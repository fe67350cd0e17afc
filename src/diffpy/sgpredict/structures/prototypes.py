"""Variants of real structure types, keeping their space group.

The structure types come from the package's one library,
:mod:`diffpy.sgpredict.structures.library` (AFLOW prototypes, published
Wyckoff descriptions, ase and pyxtal types; source, licence and
citation per entry); the generator uses the entries whose ``uses``
holds ``"generate"``, keyed as in the library (``aflow:AB_cF8_225_a_b``).

A *variant* of a structure type (:func:`make_variant`) keeps its space
group:

1. element substitution: a real formula of the same group and the same
   stoichiometry pattern from the ICSD counts table is chosen, its
   elements mapped onto the prototype's by count and electronegativity;
   when the group has none, each element is replaced by a chemically
   similar one (close electronegativity and radius, same metal class);
2. the lattice is scaled by the ratio of atomic volumes;
3. the metric tensor and the atomic positions are perturbed by random
   amounts that are averaged over the group's operations
   (:func:`symmetric_perturbation`), so the group is kept.

Examples
--------
>>> lib = load_library()
>>> len(lib) > 200
True
>>> p = lib["aflow:AB_cF8_225_a_b"]
>>> p["number"], p["formula"]
(225, 'NaCl')
"""

import warnings
from collections import Counter
from functools import lru_cache
from math import gcd

import numpy

from diffpy.sgpredict.structures import (
    CONTRAST,
    ELEMENTS,
    Crystal,
    apparent_group,
    symmetry_dataset,
)
from diffpy.sgpredict.structures.library import (
    expand,
    generator_types,
    get_type,
    library_info,
    load_types,
)
from diffpy.sgpredict.structures.stats import formulas_for_group

__all__ = [
    "load_library",
    "seed_pairs",
    "prototype_crystal",
    "symmetric_perturbation",
    "substitution_map",
    "make_variant",
    "element_properties",
    "atomic_volume",
    "similar_elements",
]


def load_library(groups=None):
    """Return the generator's structure types, key -> library entry.

    The entries of :func:`diffpy.sgpredict.structures.library.
    generator_types` (the 45 groups, preferred order).

    Examples
    --------
    >>> sorted({p["source"] for p in load_library().values()})
    ['aflow', 'ase', 'published', 'pyxtal']
    """
    return generator_types(groups)


def seed_pairs(keys=None):
    """(reduced formula, space group) of the structure types of keys.

    Evaluation deduplicates real structures against training data by
    (formula, group); for prototype-driven rows the seed's own formula
    and group matter too, since a variant keeps the structure type.

    Parameters
    ----------
    keys : iterable of str, optional
        Library keys (the ``prototype`` field of a dataset); keys that
        are not in the library (``stat:...``, CIF formulas) are ignored.
        Default: every entry the generator uses.

    Returns
    -------
    set of (str, int)

    Examples
    --------
    >>> sorted(seed_pairs(["aflow:AB_cF8_225_a_b", "stat:NaCl"]))
    [('NaCl', 225)]
    """
    if keys is None:
        entries = load_library().values()
        return {(e["formula"], int(e["number"])) for e in entries}
    keys = set(keys)
    pairs = {
        (e["formula"], int(e["number"]))
        for e in load_types()
        if e["key"] in keys
    }
    # entries left out of the library (their group depends on the
    # tolerance) may have seeded older models: both groups count
    for e in library_info().get("excluded", []):
        if e["key"] in keys:
            pairs |= {(e["formula"], int(n)) for n in e.get("numbers", [])}
    return pairs


def prototype_crystal(entry, key=None):
    """Return the primitive-cell :class:`Crystal` of a library entry.

    Examples
    --------
    >>> c = prototype_crystal(get_type("aflow:A_cF4_225_a"))
    >>> c.natoms, c.meta["sg_number"], c.label()
    (1, 225, 225)
    """
    crystal = expand(entry, primitive=True)
    crystal.meta["prototype"] = key or entry["key"]
    return crystal


# --------------------------------------------------------------------------
# chemistry helpers


@lru_cache(maxsize=None)
def element_properties():
    """Return per-element (electronegativity, radius, is_metal, row, group).

    From pymatgen's element data; the radius is the empirical atomic
    radius (A).  Elements without data get neutral defaults.
    """
    # pymatgen is an optional dependency (the ``generate`` extra)
    from pymatgen.core.periodic_table import Element

    props = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for s in ELEMENTS:
            e = Element(s)
            x = e.X if e.X == e.X and e.X else 1.5
            r = e.atomic_radius or e.atomic_radius_calculated or 1.5
            props[s] = (float(x), float(r), bool(e.is_metal), e.row, e.group)
    return props


def atomic_volume(symbol):
    """A rough volume per atom (A^3) from the atomic radius.

    Examples
    --------
    >>> 10 < atomic_volume("Cu") < 30
    True
    """
    r = element_properties()[symbol][1]
    return 4.0 / 3.0 * numpy.pi * r**3


def similar_elements(symbol, exclude=()):
    """Elements that can replace ``symbol`` in a structure type."""
    props = element_properties()
    x0, r0, m0, _, g0 = props[symbol]
    out = []
    for s, (x, r, m, row, g) in props.items():
        if (
            s == symbol
            or s in exclude
            or s in ("He", "Ne", "Ar", "Kr", "Xe", "Rn")
        ):
            continue
        if m != m0:
            continue
        if abs(x - x0) <= 0.45 and abs(r - r0) <= 0.25 * r0:
            out.append(s)
    return out


# --------------------------------------------------------------------------
# symmetry-keeping perturbation


def _symmetric_metric(lattice, rotations, rng, d_lat):
    """A lattice whose metric got a random, group-invariant change.

    .. math:: M' = M + \\frac{1}{|G|} \\sum_{g} R_g^T \\delta M R_g
    """
    M = lattice @ lattice.T  # metric tensor in the fractional basis
    scale = numpy.sqrt(numpy.diag(M))
    dm = rng.normal(size=(3, 3)) * d_lat
    dm = (dm + dm.T) / 2 * numpy.outer(scale, scale)
    dm_sym = numpy.mean([R.T @ dm @ R for R in rotations], axis=0)
    try:
        return numpy.linalg.cholesky(M + dm_sym)
    except numpy.linalg.LinAlgError:  # not positive definite: keep M
        return numpy.linalg.cholesky(M)


def _symmetric_displacements(lattice, frac, rotations, translations, u):
    """Average displacements ``u`` (fractional) over the operations.

    .. math::

        \\mathbf{u}'_j = \\frac{1}{|G|} \\sum_{g \\in G}
        R_g \\mathbf{u}_{g^{-1}(j)}
    """
    usym = numpy.zeros_like(u)
    counts = numpy.zeros(len(frac))
    for R, t in zip(rotations, translations):
        img = (frac @ R.T + t) % 1.0
        d = img[:, None, :] - frac[None, :, :]
        d -= numpy.round(d)
        j = numpy.argmin(numpy.linalg.norm(d @ lattice, axis=-1), axis=1)
        numpy.add.at(usym, j, u @ R.T)
        numpy.add.at(counts, j, 1)
    return usym / counts[:, None]


def symmetric_perturbation(
    crystal, rng, d_coord=0.05, d_lat=0.03, symprec=0.01
):
    """Return a copy perturbed without lowering its space group.

    Random atomic displacements (RMS ``d_coord`` A) and a random change of
    the metric tensor (relative ``d_lat``) are averaged over the
    operations of the crystal's space group: the displacement field and
    the metric that result are invariant under every operation, so the
    group is kept (it can only rise when a free parameter happens to
    come out zero, which spglib checks afterwards).

    .. math::

        \\mathbf{u}'_j = \\frac{1}{|G|} \\sum_{g \\in G}
        R_g \\mathbf{u}_{g^{-1}(j)}, \\qquad
        M' = M + \\frac{1}{|G|} \\sum_{g} R_g^T \\delta M R_g

    Parameters
    ----------
    crystal : Crystal
    rng : numpy.random.Generator
    d_coord : float
        RMS displacement before averaging (A).
    d_lat : float
        Relative size of the metric-tensor change.
    symprec : float
        spglib tolerance for the operations.

    Returns
    -------
    Crystal
        The Cholesky factor of the new metric as lattice: the cell is
        rotated, which changes nothing physical.

    Examples
    --------
    >>> import numpy
    >>> c = Crystal(numpy.diag([3.0, 4.0, 5.0]), [[0, 0, 0.1], [.5, .5, .6]],
    ...             ["Na", "Cl"])
    >>> g = c.label()
    >>> p = symmetric_perturbation(c, numpy.random.default_rng(0), 0.1, 0.05)
    >>> p.label() == g
    True
    """
    ds = symmetry_dataset(
        crystal.lattice, crystal.frac, crystal.species, symprec
    )
    rots = numpy.asarray(ds.rotations, dtype=float)
    trans = numpy.asarray(ds.translations, dtype=float)
    frac = crystal.frac % 1.0
    lat = crystal.lattice
    new_lattice = _symmetric_metric(lat, rots, rng, d_lat)
    inv = numpy.linalg.inv(lat)
    u = rng.normal(size=(len(frac), 3)) * (d_coord / numpy.sqrt(3)) @ inv
    usym = _symmetric_displacements(lat, frac, rots, trans, u)
    return Crystal(
        new_lattice,
        (frac + usym) % 1.0,
        list(crystal.species),
        crystal.occupancy.copy(),
        dict(crystal.meta),
    )


# --------------------------------------------------------------------------
# element substitution


def _pattern(species):
    counts = Counter(species)
    g = 0
    for v in counts.values():
        g = gcd(g, v)
    return {k: v // g for k, v in counts.items()}


def substitution_map(species, sg, rng, formulas=None, keep_prob=0.15):
    """Choose new elements for a prototype's elements.

    Parameters
    ----------
    species : list of str
        The prototype's elements (one per atom).
    sg : int
        Its space group.
    rng : numpy.random.Generator
    formulas : list of (dict, float), optional
        Real formulas of the group as (element -> count, weight); default
        from the ICSD counts shipped with the package.
    keep_prob : float
        Probability to keep the prototype's own elements.

    Returns
    -------
    dict
        old element -> new element (injective).
    """
    pat = _pattern(species)
    elements = sorted(pat)
    if rng.random() < keep_prob:
        return {e: e for e in elements}
    props = element_properties()
    want = sorted(pat.values())
    if formulas is None:
        formulas = formulas_for_group(sg)
    cands = [
        (comp, w)
        for comp, w in formulas
        if len(comp) == len(pat) and sorted(comp.values()) == want
    ]
    if cands and rng.random() < 0.8:
        w = numpy.array([c[1] for c in cands], dtype=float)
        comp = cands[rng.choice(len(cands), p=w / w.sum())][0]
        old = sorted(elements, key=lambda e: (pat[e], props[e][0]))
        new = sorted(comp, key=lambda e: (comp[e], props[e][0]))
        return dict(zip(old, new))
    mapping = {}
    for e in elements:
        opts = similar_elements(e, exclude=set(mapping.values()))
        opts = [o for o in opts if o not in mapping.values()]
        mapping[e] = opts[rng.integers(len(opts))] if opts else e
    if len(set(mapping.values())) != len(mapping):
        return {e: e for e in elements}
    return mapping


def _substituted(base, number, rng, volume_jitter):
    """The base crystal with new elements and a cell scaled to them.

    Returns the crystal and the element map.
    """
    mapping = substitution_map(base.species, number, rng)
    species = [mapping[s] for s in base.species]
    v_old = sum(atomic_volume(s) for s in base.species)
    v_new = sum(atomic_volume(s) for s in species)
    f = (v_new / v_old) ** (1 / 3)
    f *= float(numpy.exp(rng.normal() * volume_jitter / 3))
    crystal = Crystal(
        base.lattice * f, base.frac, species, meta=dict(base.meta)
    )
    return crystal, mapping


def _rejected(c, sg, min_ratio, exclude, contrast, symprec):
    """Why a variant cannot be used (None when it can).

    Too short a distance for the atomic radii, an excluded (formula,
    group) pair, or elements without the X-ray contrast that shows the
    group (the PDF would carry the parent structure's label noise).
    """
    if c.natoms > 1:
        props = element_properties()
        radii = numpy.array([props[s][1] for s in c.species])
        if _pair_min_ratio(c, radii) < min_ratio:
            return "atoms too close"
    if exclude and (c.reduced_formula, sg) in exclude:
        return "excluded (formula, group)"
    if (
        contrast
        and len(set(c.species)) > 1
        and apparent_group(c.lattice, c.frac, c.species, symprec, contrast)
        != sg
    ):
        return "elements hide the ordering that sets the group"
    return None


def make_variant(
    key,
    rng,
    library=None,
    d_coord=0.08,
    d_lat=0.04,
    volume_jitter=0.05,
    min_ratio=0.6,
    symprec=0.01,
    tries=8,
    exclude=None,
    contrast=CONTRAST,
):
    """Make one variant of a structure type, keeping its space group.

    Parameters
    ----------
    key : str
        Key of the structure type in the library.
    rng : numpy.random.Generator
    library : dict, optional
        key -> entry; default the package's library.
    d_coord, d_lat : float
        Perturbation sizes, see :func:`symmetric_perturbation`.
    volume_jitter : float
        Relative spread of the cell volume after scaling.
    min_ratio : float
        Shortest distance allowed, as a fraction of the sum of the two
        atomic radii.
    symprec : float
        spglib tolerance for the final label.
    tries : int
        Attempts before giving up.
    exclude : set of (str, int), optional
        (reduced formula, group) pairs never to make; a variant that hits
        one is made again.
    contrast : float
        A variant whose elements lack the X-ray contrast to show its
        group (:func:`~diffpy.sgpredict.structures.apparent_group` is
        higher) is made again; 0 turns the check off.

    Returns
    -------
    Crystal or None
        ``meta`` holds ``prototype``, ``substitution``, ``sg_number``
        (spglib) and ``declared_sg`` (the library's group).

    Examples
    --------
    >>> import numpy
    >>> c = make_variant("aflow:AB_cF8_225_a_b", numpy.random.default_rng(1))
    >>> c.meta["sg_number"]
    225
    """
    entry = library[key] if library is not None else get_type(key)
    base = prototype_crystal(entry, key)
    for _ in range(tries):
        c, mapping = _substituted(base, entry["number"], rng, volume_jitter)
        c = symmetric_perturbation(c, rng, d_coord, d_lat, symprec=0.01)
        sg = c.label(symprec)
        if _rejected(c, sg, min_ratio, exclude, contrast, symprec):
            continue
        c.meta.update(
            prototype=key,
            substitution=mapping,
            sg_number=sg,
            declared_sg=entry["number"],
            formula=c.reduced_formula,
        )
        return c
    return None


def _pair_min_ratio(c, radii):
    """Smallest d_ij / (r_i + r_j) over all pairs and nearby images."""
    lat, frac = c.lattice, c.frac % 1.0
    shifts = (
        numpy.array(
            [
                (i, j, k)
                for i in (-1, 0, 1)
                for j in (-1, 0, 1)
                for k in (-1, 0, 1)
            ]
        )
        @ lat
    )
    best = numpy.inf
    for i in range(len(frac)):
        d = frac - frac[i]
        d -= numpy.round(d)
        cart = d @ lat
        dist = numpy.linalg.norm(cart[:, None, :] + shifts[None], axis=-1)
        dist[i, 13] = numpy.inf
        ratio = dist.min(axis=1) / (radii + radii[i])
        best = min(best, float(ratio.min()))
    return best

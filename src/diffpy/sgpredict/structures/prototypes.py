"""Prototype structures from open libraries and their variants.

The library (``data/prototypes/prototypes.json.gz``) holds real structure
types from collections that PyPI packages ship with an open licence:

* the AFLOW Library of Crystallographic Prototypes as shipped by pymatgen
  (``pymatgen/analysis/prototypes/aflow_prototypes.json.gz``, MIT; cite
  Mehl et al., Comput. Mater. Sci. 136, S1 (2017));
* the structure types ``ase.build.bulk`` builds (LGPL-2.1+);
* the inorganic example CIFs of pyxtal (``pyxtal/database/cifs``, MIT).

Each record holds the key, lattice, species, fractional coordinates,
spglib group (tolerance 0.01), reduced formula, source and licence.
:func:`build_library` writes the file from the installed packages; the
package ships the result, so users need none of them.

A *variant* of a prototype (:func:`make_variant`) keeps its space group:

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
>>> len(lib) > 100
True
>>> p = lib["aflow:AB_cF8_225_a_b"]
>>> p["sg_number"], p["formula"]
(225, 'NaCl')
"""

import gzip
import json
import os
from functools import lru_cache

import numpy

from diffpy.sgpredict.structures import (
    CONTRAST,
    ELEMENTS,
    Crystal,
    apparent_group,
    neutral_element,
    reduced_formula,
    spglib_group,
)

__all__ = [
    "LIBRARY_PATH",
    "load_library",
    "seed_pairs",
    "build_library",
    "prototype_crystal",
    "symmetric_perturbation",
    "make_variant",
    "element_properties",
]

_DATA = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data")
LIBRARY_PATH = os.path.join(_DATA, "prototypes", "prototypes.json.gz")


@lru_cache(maxsize=None)
def _load(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return json.load(f)


def load_library(path=None):
    """Return the prototype library as a dict keyed by prototype key.

    Parameters
    ----------
    path : str, optional
        A library file; default the one shipped with the package.

    Returns
    -------
    dict
        key -> record with ``lattice``, ``species``, ``frac``,
        ``sg_number``, ``formula``, ``source``, ``licence``.

    Examples
    --------
    >>> sorted({p["source"].split(":")[0] for p in load_library().values()})
    ['aflow', 'ase', 'pyxtal']
    """
    data = _load(path or LIBRARY_PATH)
    return data["prototypes"]


def seed_pairs(keys=None):
    """(reduced formula, space group) of the prototypes that seed rows.

    Evaluation deduplicates real structures against training data by
    (formula, group); for prototype-driven rows the seed's own formula
    and group matter too, since a variant keeps the structure type.

    Parameters
    ----------
    keys : iterable of str, optional
        Prototype keys (the ``prototype`` field of a dataset); keys that
        are not in the library (``stat:...``, CIF formulas) are ignored.
        Default: the whole library.

    Returns
    -------
    set of (str, int)

    Examples
    --------
    >>> sorted(seed_pairs(["aflow:AB_cF8_225_a_b", "stat:NaCl"]))
    [('NaCl', 225)]
    """
    lib = load_library()
    keys = lib if keys is None else set(keys)
    return {
        (lib[k]["formula"], int(lib[k]["sg_number"])) for k in keys if k in lib
    }


def prototype_crystal(record, key=None):
    """Return the :class:`Crystal` of a library record."""
    return Crystal(
        record["lattice"],
        record["frac"],
        record["species"],
        meta={"prototype": key, "sg_number": record["sg_number"]},
    )


# --------------------------------------------------------------------------
# building the library


def _record(lattice, frac, species, source, licence, extra=None):
    from diffpy.sgpredict import spacegroups

    lattice = numpy.asarray(lattice, dtype=float)
    frac = numpy.asarray(frac, dtype=float) % 1.0
    sg = spglib_group(lattice, frac, species, 0.01)
    if sg not in spacegroups.NUMBERS:
        return None
    rec = {
        "lattice": numpy.round(lattice, 6).tolist(),
        "species": list(species),
        "frac": numpy.round(frac, 6).tolist(),
        "sg_number": sg,
        "formula": reduced_formula(species),
        "natoms": len(species),
        "source": source,
        "licence": licence,
    }
    rec.update(extra or {})
    return rec


def _aflow_records():
    import pymatgen.analysis.prototypes as mod

    path = os.path.join(
        os.path.dirname(mod.__file__), "aflow_prototypes.json.gz"
    )
    with gzip.open(path, "rt") as f:
        raw = json.load(f)
    out = {}
    for entry in raw:
        snl = entry["snl"]
        tags = entry.get("tags", {})
        species, frac, ok = [], [], True
        for site in snl["sites"]:
            sp = site["species"]
            if len(sp) != 1 or abs(sp[0].get("occu", 1.0) - 1) > 1e-6:
                ok = False
                break
            el = neutral_element(sp[0]["element"])
            if el is None:
                ok = False
                break
            species.append(el)
            frac.append(site["abc"])
        if not ok:
            continue
        label = tags.get("aflow", "unknown")
        key = f"aflow:{label}"
        rec = _record(
            snl["lattice"]["matrix"],
            frac,
            species,
            "aflow:pymatgen/analysis/prototypes/aflow_prototypes.json.gz",
            "MIT (pymatgen); AFLOW Library of Crystallographic Prototypes, "
            "Mehl et al. 2017",
            {
                k: tags[k]
                for k in ("mineral", "strukturbericht", "pearson")
                if tags.get(k)
            },
        )
        if rec is not None:
            out[key] = rec
    return out


_ASE_TYPES = (
    ("Cu", "fcc", {"a": 3.61}),
    ("Fe", "bcc", {"a": 2.87}),
    ("Mg", "hcp", {"a": 3.21, "c": 5.21}),
    ("Po", "sc", {"a": 3.35}),
    ("Si", "diamond", {"a": 5.43}),
    ("ZnS", "zincblende", {"a": 5.41}),
    ("NaCl", "rocksalt", {"a": 5.64}),
    ("CsCl", "cesiumchloride", {"a": 4.12}),
    ("CaF2", "fluorite", {"a": 5.46}),
    ("ZnO", "wurtzite", {"a": 3.25, "c": 5.21}),
)


def _ase_records():
    from ase.build import bulk

    out = {}
    for name, kind, kw in _ASE_TYPES:
        atoms = bulk(name, kind, **kw)
        rec = _record(
            atoms.cell[:],
            atoms.get_scaled_positions(),
            atoms.get_chemical_symbols(),
            f"ase:ase.build.bulk({name!r}, {kind!r})",
            "LGPL-2.1+ (ase)",
        )
        if rec is not None:
            out[f"ase:{kind}"] = rec
    return out


def _pyxtal_records():
    import warnings

    import pyxtal
    from pymatgen.io.cif import CifParser

    folder = os.path.join(os.path.dirname(pyxtal.__file__), "database", "cifs")
    out = {}
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".cif"):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                s = CifParser(os.path.join(folder, name)).parse_structures(
                    primitive=False
                )[0]
        except Exception:
            continue
        if not s.is_ordered or len(s) > 200:
            continue
        species = [neutral_element(str(site.specie)) for site in s]
        if None in species or {"C", "H"} <= set(species):
            continue
        if (
            len(s) > 1
            and s.distance_matrix[numpy.triu_indices(len(s), 1)].min() < 0.7
        ):
            continue
        rec = _record(
            s.lattice.matrix,
            s.frac_coords,
            species,
            f"pyxtal:pyxtal/database/cifs/{name}",
            "MIT (pyxtal)",
        )
        if rec is not None:
            out[f"pyxtal:{name[:-4]}"] = rec
    return out


def _wyckoff_counts(rec):
    """Occupied Wyckoff letters of a record (one per orbit)."""
    from diffpy.sgpredict.structures import _dataset, atomic_number

    cell = (
        numpy.array(rec["lattice"]),
        numpy.array(rec["frac"]),
        [atomic_number(s) for s in rec["species"]],
    )
    ds = _dataset(cell, 0.01)
    letters = []
    for i in sorted(set(ds.equivalent_atoms)):
        letters.append(ds.wyckoffs[i])
    return letters


def build_library(path=LIBRARY_PATH, exclude=None):
    """Write the prototype library from the installed open collections.

    Needs pymatgen, ase and pyxtal.  Prototypes outside the 45 groups,
    with partial occupancy or unknown elements are left out, and so are
    those whose (reduced formula, space group) is listed in ``exclude``:
    evaluation structures must never seed training data.

    Parameters
    ----------
    path : str
        Output file (gzip JSON).
    exclude : str, optional
        A CSV file with columns ``formula`` and ``sg_number`` (such as the
        shared ``structures.csv`` of the evaluation set).

    Returns
    -------
    dict
        Number of prototypes per source.

    Examples
    --------
    >>> build_library("/tmp/prototypes.json.gz")  # doctest: +SKIP
    {'aflow': 200, 'ase': 10, 'pyxtal': 20}
    """
    import csv

    protos = {}
    for part in (_aflow_records(), _ase_records(), _pyxtal_records()):
        protos.update(part)
    excluded = []
    if exclude:
        with open(exclude, newline="") as f:
            pairs = {
                (row["formula"], int(row["sg_number"]))
                for row in csv.DictReader(f)
            }
        for key in sorted(protos):
            rec = protos[key]
            if (rec["formula"], rec["sg_number"]) in pairs:
                excluded.append(key)
                del protos[key]
    for rec in protos.values():
        rec["wyckoffs"] = "".join(_wyckoff_counts(rec))
    counts = {}
    for key in protos:
        src = key.split(":")[0]
        counts[src] = counts.get(src, 0) + 1
    data = {
        "format": "diffpy.sgpredict.prototypes",
        "version": 1,
        "sources": {
            "aflow": "AFLOW Library of Crystallographic Prototypes (Mehl et "
            "al., Comput. Mater. Sci. 136, S1, 2017) as shipped in pymatgen "
            "(MIT): pymatgen/analysis/prototypes/aflow_prototypes.json.gz",
            "ase": "structure types of ase.build.bulk (ase, LGPL-2.1+)",
            "pyxtal": "inorganic CIFs of pyxtal/database/cifs (pyxtal, MIT)",
        },
        "counts": counts,
        "excluded": {
            "reason": "same reduced formula and space group as an "
            "evaluation structure",
            "list": os.path.basename(exclude) if exclude else None,
            "keys": excluded,
        },
        "prototypes": dict(sorted(protos.items())),
    }
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        json.dump(data, f, separators=(",", ":"))
    _load.cache_clear()
    return counts


# --------------------------------------------------------------------------
# chemistry helpers


@lru_cache(maxsize=None)
def element_properties():
    """Return per-element (electronegativity, radius, is_metal, row, group).

    From pymatgen's element data; the radius is the empirical atomic
    radius (A).  Elements without data get neutral defaults.
    """
    import warnings

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


def _symmetry(crystal, symprec=0.01):
    from diffpy.sgpredict.structures import _dataset, atomic_number

    cell = (
        crystal.lattice,
        crystal.frac,
        [atomic_number(s) for s in crystal.species],
    )
    ds = _dataset(cell, symprec)
    return ds


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
    ds = _symmetry(crystal, symprec)
    rots = numpy.asarray(ds.rotations, dtype=float)
    trans = numpy.asarray(ds.translations, dtype=float)
    frac = crystal.frac % 1.0
    lat = crystal.lattice
    n = len(frac)
    # metric tensor in the fractional basis
    M = lat @ lat.T
    scale = numpy.sqrt(numpy.diag(M))
    dm = rng.normal(size=(3, 3)) * d_lat
    dm = (dm + dm.T) / 2 * numpy.outer(scale, scale)
    dm_sym = numpy.mean([R.T @ dm @ R for R in rots], axis=0)
    M2 = M + dm_sym
    try:
        L = numpy.linalg.cholesky(M2)
    except numpy.linalg.LinAlgError:
        L = numpy.linalg.cholesky(M)
    # displacements in fractional units
    inv = numpy.linalg.inv(lat)
    u = rng.normal(size=(n, 3)) * (d_coord / numpy.sqrt(3)) @ inv
    usym = numpy.zeros_like(u)
    counts = numpy.zeros(n)
    for R, t in zip(rots, trans):
        img = (frac @ R.T + t) % 1.0
        d = img[:, None, :] - frac[None, :, :]
        d -= numpy.round(d)
        j = numpy.argmin(numpy.linalg.norm(d @ lat, axis=-1), axis=1)
        numpy.add.at(usym, j, u @ R.T)
        numpy.add.at(counts, j, 1)
    usym /= counts[:, None]
    out = Crystal(
        L,
        (frac + usym) % 1.0,
        list(crystal.species),
        crystal.occupancy.copy(),
        dict(crystal.meta),
    )
    # Cholesky factor has the same metric: the cell is only rotated
    return out


# --------------------------------------------------------------------------
# element substitution


def _pattern(species):
    from collections import Counter
    from math import gcd

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
    from diffpy.sgpredict.structures.stats import formulas_for_group

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
        opts = similar_elements(e, exclude=set(mapping.values()) | set())
        opts = [o for o in opts if o not in mapping.values()]
        mapping[e] = opts[rng.integers(len(opts))] if opts else e
    if len(set(mapping.values())) != len(mapping):
        return {e: e for e in elements}
    return mapping


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
    """Make one variant of a prototype, keeping its space group.

    Parameters
    ----------
    key : str
        Prototype key in the library.
    rng : numpy.random.Generator
    library : dict, optional
        Default :func:`load_library`.
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
        (spglib) and ``declared_sg`` (the prototype's group).

    Examples
    --------
    >>> import numpy
    >>> c = make_variant("aflow:AB_cF8_225_a_b", numpy.random.default_rng(1))
    >>> c.meta["sg_number"]
    225
    """
    lib = library or load_library()
    rec = lib[key]
    base = prototype_crystal(rec, key)
    props = element_properties()
    for _ in range(tries):
        mapping = substitution_map(base.species, rec["sg_number"], rng)
        species = [mapping[s] for s in base.species]
        v_old = sum(atomic_volume(s) for s in base.species)
        v_new = sum(atomic_volume(s) for s in species)
        f = (v_new / v_old) ** (1 / 3)
        f *= float(numpy.exp(rng.normal() * volume_jitter / 3))
        c = Crystal(base.lattice * f, base.frac, species, meta=dict(base.meta))
        c = symmetric_perturbation(c, rng, d_coord, d_lat, symprec=0.01)
        # distance check against radii
        if c.natoms > 1:
            rad = numpy.array([props[s][1] for s in c.species])
            dmin = _pair_min_ratio(c, rad)
            if dmin < min_ratio:
                continue
        sg = c.label(symprec)
        if exclude and (c.reduced_formula, sg) in exclude:
            continue
        if (
            contrast
            and len(set(c.species)) > 1
            and apparent_group(c.lattice, c.frac, c.species, symprec, contrast)
            != sg
        ):
            # the new elements hide the ordering that sets the group:
            # the PDF would carry the parent structure's label noise
            continue
        c.meta.update(
            prototype=key,
            substitution=mapping,
            sg_number=sg,
            declared_sg=rec["sg_number"],
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

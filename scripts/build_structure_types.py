"""Write the structure-type library (maintainers only).

The package's one library of structure types,
``src/diffpy/sgpredict/data/structure_types/structure_types.json.gz``
(read by :mod:`diffpy.sgpredict.structures.library`), is written by this
script from open sources, in this order of preference:

``aflow``
    the AFLOW Library of Crystallographic Prototypes as shipped in the
    pymatgen-core wheel (``pymatgen/analysis/prototypes/
    aflow_prototypes.json.gz``, MIT licence; cite M. J. Mehl et al.,
    Comput. Mater. Sci. 136, S1 (2017));
``published``
    common structure types that no package ships (ThCr2Si2, pyrochlore,
    garnet, the tilted perovskites, olivine, scheelite, ...), entered
    from their published Wyckoff descriptions (:data:`PUBLISHED`, one
    reference per entry);
``ase``
    the structure types of ``ase.build.bulk`` (LGPL-2.1+);
``pyxtal``
    the inorganic CIFs of ``pyxtal/database/cifs`` (MIT);
``shared``
    three structures of the project's shared public set for groups no
    package covers (Pbam, Pbcn, P6_3/m), with the origin and licence of
    its ``structures.csv``; these are evaluation structures, so they are
    marked for the refinement only.

Every structure is labelled by spglib (the same group at tolerances
1e-3 and 0.01 A, else it is left out and listed), put into diffpy's
setting of its group (:func:`diffpy.sgpredict.refine.settings.
standardize`) and stored as lattice parameters plus asymmetric unit;
the entry is then expanded again with
:func:`diffpy.sgpredict.structures.library.expand` and must give the
same atoms count and group.

Needs pymatgen, ase and pyxtal (the ``generate`` extra)::

    python scripts/build_structure_types.py --shared ../shared

Examples
--------
>>> counts = build("/tmp/types.json.gz", "../shared")  # doctest: +SKIP
"""

import argparse
import csv
import gzip
import json
import os
import sys
import warnings
from pathlib import Path

import numpy

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.chemistry import element_symbol
from diffpy.sgpredict.refine import settings
from diffpy.sgpredict.structures import (
    reduced_formula,
    spglib_group,
    symmetry_dataset,
)
from diffpy.sgpredict.structures.library import LIBRARY_PATH, expand
from diffpy.sgpredict.wyckoff import setting_shift

SOURCES = {
    "aflow": {
        "name": "AFLOW Library of Crystallographic Prototypes as shipped "
        "in pymatgen-core",
        "path": "pymatgen/analysis/prototypes/aflow_prototypes.json.gz",
        "licence": "MIT (pymatgen-core)",
        "citation": "M. J. Mehl, D. Hicks, C. Toher, O. Levy, R. M. "
        "Hanson, G. Hart & S. Curtarolo, Comput. Mater. Sci. 136, S1 "
        "(2017)",
    },
    "published": {
        "name": "structure types entered from their published Wyckoff "
        "descriptions (reference per entry)",
        "path": "scripts/build_structure_types.py PUBLISHED",
        "licence": "facts from the literature (no copyright)",
        "citation": "per entry",
    },
    "ase": {
        "name": "structure types of ase.build.bulk",
        "path": "ase/build/bulk.py",
        "licence": "LGPL-2.1+ (ase)",
        "citation": "A. H. Larsen et al., J. Phys.: Condens. Matter 29, "
        "273002 (2017)",
    },
    "pyxtal": {
        "name": "inorganic CIFs of the pyxtal structure database",
        "path": "pyxtal/database/cifs",
        "licence": "MIT (pyxtal)",
        "citation": "S. Fredericks, K. Parrish, D. Sayre & Q. Zhu, "
        "Comput. Phys. Commun. 261, 107810 (2021)",
    },
    "shared": {
        "name": "diffpy.sgpredict shared public structure set (evaluation "
        "structures; per-entry origin and licence)",
        "path": "shared/data/structures",
        "licence": "per entry",
        "citation": "per entry",
    },
}

#: The commonest structure type(s) of their groups (ids): tried first.
PREFERRED = (
    "A_cF4_225_a",
    "AB_cF8_225_a_b",
    "AB2_cF12_225_a_c",
    "AB_hP4_186_b_b",
    "A2B_tP6_136_f_a",
    "A_hP2_194_c",
    "AB_hP4_194_c_a",
    "AB_cF8_216_c_a",
    "A_cF8_227_a",
    "A2BC4_cF56_227_d_a_e",
    "A2B2C7_cF88_227_c_d_bf",
    "AB3C_cP5_221_a_c_b",
    "AB_cP2_221_b_a",
    "A2B3_hR10_167_c_e",
    "ABC3_hR10_167_b_a_e",
    "A2B_tI12_141_e_a",
    "AB3C_oP20_62_c_cd_a",
    "A2B4C_oP28_62_ac_2cd_c",
    "AB2C2_tI10_139_a_d_e",
    "AB2C4_tI14_139_a_e_ce",
    "A2B_tP6_129_ac_c",
    "ABC_tP6_129_c_a_c",
    "A3B5C12_cI160_230_c_ad_h",
    "A3BC_tI20_140_ah_b_c",
    "AB4C_tI24_88_b_f_a",
    "A2BC6D_cF40_225_c_a_e_b",
    "AB2_hP3_164_a_d",
)

#: Groups that neither AFLOW nor pyxtal covers: group -> shared id.
SHARED_PICKS = {55: "rs0275", 60: "rs0125", 176: "rs0302"}

#: Structure types entered from their published Wyckoff descriptions:
#: (key, id, name, group, lattice, asymmetric unit, setting, reference).
#: ``setting`` is ``"ITA"`` (the International Tables' standard: origin
#: choice 2, hexagonal axes; moved to diffpy's setting here) or
#: ``"diffpy"`` (origin choice 1, entered as is).
PUBLISHED = (
    (
        "ThCr2Si2",
        "AB2C2_tI10_139_a_d_e",
        "ThCr2Si2",
        139,
        [4.043, 4.043, 10.577, 90, 90, 90],
        [["Th", 0, 0, 0], ["Cr", 0, 0.5, 0.25], ["Si", 0, 0, 0.378]],
        "ITA",
        "Z. Ban & M. Sikirica, Acta Cryst. 18, 594 (1965)",
    ),
    (
        "pyrochlore",
        "A2B2C7_cF88_227_c_d_bf",
        "Pyrochlore (Gd2Ti2O7)",
        227,
        [10.185] * 3 + [90] * 3,
        # origin choice 2: Gd 16d, Ti 16c, O 48f (x,1/8,1/8), O' 8b
        [
            ["Gd", 0.5, 0.5, 0.5],
            ["Ti", 0, 0, 0],
            ["O", 0.3274, 0.125, 0.125],
            ["O", 0.375, 0.375, 0.375],
        ],
        "ITA",
        "M. A. Subramanian, G. Aravamudan & G. V. Subba Rao, Prog. Solid "
        "State Chem. 15, 55 (1983)",
    ),
    (
        "garnet",
        "A3B5C12_cI160_230_c_ad_h",
        "Garnet (Y3Al5O12)",
        230,
        [12.000] * 3 + [90] * 3,
        [
            ["Y", 0.125, 0, 0.25],
            ["Al", 0, 0, 0],
            ["Al", 0.375, 0, 0.25],
            ["O", -0.0306, 0.0512, 0.1500],
        ],
        "ITA",
        "F. Euler & J. A. Bruce, Acta Cryst. 19, 971 (1965)",
    ),
    (
        "perovskite-a0a0c-",
        "A3BC_tI20_140_ah_b_c",
        "Perovskite a0a0c- tilt (SrTiO3 below 105 K)",
        140,
        [5.507, 5.507, 7.796, 90, 90, 90],
        # Sr 4b, Ti 4c, O 4a, O 8h (x, x+1/2, 0); x < 1/4 rotates the
        # octahedra about c (about 2 degrees in SrTiO3)
        [
            ["Sr", 0, 0.5, 0.25],
            ["Ti", 0, 0, 0],
            ["O", 0, 0, 0.25],
            ["O", 0.241, 0.741, 0],
        ],
        "ITA",
        "Wyckoff description of tilt system a0a0c-: C. J. Howard & H. T. "
        "Stokes, Acta Cryst. B54, 782 (1998); free parameter set for a "
        "2 degree rotation",
    ),
    (
        "perovskite-a-a-a-",
        "ABC3_hR10_167_b_a_e",
        "Perovskite a-a-a- tilt (LaAlO3)",
        167,
        [5.365, 5.365, 13.11, 90, 90, 120],
        # La 6a, Al 6b, O 18e (x, 0, 1/4); x > 1/2 rotates the octahedra
        # about the threefold axis
        [["Al", 0, 0, 0], ["La", 0, 0, 0.25], ["O", 0.525, 0, 0.25]],
        "ITA",
        "Wyckoff description of tilt system a-a-a-: C. J. Howard & H. T. "
        "Stokes, Acta Cryst. B54, 782 (1998); LaAlO3 cell: C. J. Howard, "
        "B. J. Kennedy & B. C. Chakoumakos, J. Phys.: Condens. Matter 12, "
        "349 (2000); free parameter rounded",
    ),
    (
        "olivine",
        "A2B4C_oP28_62_ac_2cd_c",
        "Olivine (forsterite Mg2SiO4)",
        62,
        # Pbnm cell a 4.7535, b 10.1943, c 5.9807 of the reference, moved
        # to Pnma: (a, b, c) -> (b, c, a), (x, y, z) -> (y, z, x)
        [10.1943, 5.9807, 4.7535, 90, 90, 90],
        [
            ["Mg", 0, 0, 0],
            ["Mg", 0.2774, 0.25, 0.9915],
            ["Si", 0.0940, 0.25, 0.4262],
            ["O", 0.0913, 0.25, 0.7657],
            ["O", 0.4474, 0.25, 0.2215],
            ["O", 0.1628, 0.0331, 0.2777],
        ],
        "ITA",
        "W. L. Bragg & G. B. Brown, Z. Kristallogr. 63, 538 (1926); "
        "forsterite parameters after J. D. Birle, G. V. Gibbs, P. B. "
        "Moore & J. V. Smith, Am. Mineral. 53, 807 (1968), rounded "
        "(checked here: Si-O 1.61-1.65 A, Mg-O 2.05-2.21 A)",
    ),
    (
        "scheelite",
        "AB4C_tI24_88_b_f_a",
        "Scheelite (CaWO4)",
        88,
        [5.243, 5.243, 11.376, 90, 90, 90],
        # origin choice 1: W 4a (0,0,0), Ca 4b (0,0,1/2), O 16f
        [["W", 0, 0, 0], ["Ca", 0, 0, 0.5], ["O", 0.2415, 0.1504, 0.0861]],
        "diffpy",
        "R. M. Hazen, L. W. Finger & J. W. E. Mariathasan, J. Phys. Chem. "
        "Solids 46, 253 (1985); after L. G. Sillen & A. L. Nylander, Ark. "
        "Kemi Mineral. Geol. 17A, 1 (1943); free parameters rounded "
        "(checked here: W-O 1.78 A, Ca-O 2.44 and 2.48 A)",
    ),
    (
        "double-perovskite",
        "A2BC6D_cF40_225_c_a_e_b",
        "Double perovskite, rock-salt order (Ba2MgWO6)",
        225,
        [8.10, 8.10, 8.10, 90, 90, 90],
        # Ba 8c, Mg 4a, W 4b, O 24e (x, 0, 0)
        [
            ["Ba", 0.25, 0.25, 0.25],
            ["Mg", 0, 0, 0],
            ["W", 0.5, 0.5, 0.5],
            ["O", 0.2605, 0, 0],
        ],
        "ITA",
        "Wyckoff description: M. T. Anderson, K. B. Greenwood, G. A. "
        "Taylor & K. R. Poeppelmeier, Prog. Solid State Chem. 22, 197 "
        "(1993); free parameter from Mg-O 2.11 A, W-O 1.94 A",
    ),
    (
        "Ruddlesden-Popper-2",
        "A7B3C2_tI24_139_aeg_be_e",
        "Ruddlesden-Popper n=2 (Sr3Ti2O7)",
        139,
        [3.90, 3.90, 20.38, 90, 90, 90],
        [
            ["Sr", 0, 0, 0.5],
            ["Sr", 0, 0, 0.3177],
            ["Ti", 0, 0, 0.0975],
            ["O", 0, 0, 0],
            ["O", 0, 0, 0.1934],
            ["O", 0, 0.5, 0.0964],
        ],
        "ITA",
        "S. N. Ruddlesden & P. Popper, Acta Cryst. 11, 54 (1958)",
    ),
)

#: (formula, ase kind, lattice keywords) of ``ase.build.bulk``.
ASE_TYPES = (
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


class Candidate:
    """One structure before it is checked: a cell and its record."""

    def __init__(self, key, ident, name, cell, source, licence, citation):
        self.key, self.id, self.name = key, ident, name
        self.lattice, self.frac, self.species = cell
        self.source, self.licence, self.citation = source, licence, citation
        self.tags = {}


# ---------------------------------------------------------------- sources


def aflow_candidates():
    """AFLOW prototypes of pymatgen-core (ordered ones only)."""
    from pymatgen.analysis import prototypes as pmgproto
    from pymatgen.core import Structure

    path = Path(pmgproto.__file__).parent / "aflow_prototypes.json.gz"
    with gzip.open(path, "rt") as f:
        raw = json.load(f)
    labels = [item["tags"]["aflow"] for item in raw]
    out = []
    for i, item in enumerate(raw):
        pmg = Structure.from_dict(item["snl"])
        species = [element_symbol(str(sp), strict=False) for sp in pmg.species]
        if not pmg.is_ordered or None in species:
            continue
        label = labels[i]
        # the last of several entries with one label keeps the plain key
        # (the one the old generator library held); others get -1, -2...
        later = labels[i + 1 :].count(label)
        key = f"aflow:{label}" + (f"-{later}" if later else "")
        tags = {
            k: item["tags"][k]
            for k in ("mineral", "strukturbericht", "pearson")
            if item["tags"].get(k) not in (None, "", "None")
        }
        name = tags.get("mineral") or tags.get("strukturbericht") or ""
        cand = Candidate(
            key,
            label,
            name,
            (pmg.lattice.matrix, pmg.frac_coords, species),
            "aflow",
            SOURCES["aflow"]["licence"],
            f"AFLOW prototype {label}; " + SOURCES["aflow"]["citation"],
        )
        cand.tags = tags
        out.append(cand)
    return out


def published_candidates():
    """Entries of :data:`PUBLISHED`, expanded in diffpy's setting."""
    out = []
    for key, ident, name, number, lattice, sites, setting, ref in PUBLISHED:
        shift = setting_shift(number) if setting == "ITA" else (0, 0, 0)
        moved = [
            [el, *[(v + t) % 1.0 for v, t in zip(xyz, shift)]]
            for el, *xyz in sites
        ]
        stru = settings.expand(lattice, moved, number)
        cell = settings.cell_from_structure(stru)
        out.append(
            Candidate(
                f"published:{key}",
                ident,
                name,
                (cell[0], cell[1], [a.element for a in stru]),
                "published",
                SOURCES["published"]["licence"],
                ref,
            )
        )
    return out


def ase_candidates():
    """Structure types of ``ase.build.bulk``."""
    from ase.build import bulk

    out = []
    for formula, kind, kw in ASE_TYPES:
        atoms = bulk(formula, kind, **kw)
        out.append(
            Candidate(
                f"ase:{kind}",
                f"ase:{kind}",
                formula,
                (
                    atoms.cell[:],
                    atoms.get_scaled_positions(),
                    atoms.get_chemical_symbols(),
                ),
                "ase",
                SOURCES["ase"]["licence"],
                f"ase.build.bulk({formula!r}, {kind!r}); "
                + SOURCES["ase"]["citation"],
            )
        )
    return out


def pyxtal_candidates():
    """Ordered inorganic CIFs of pyxtal's database (<= 200 atoms)."""
    import pyxtal
    from pymatgen.io.cif import CifParser

    folder = Path(pyxtal.__file__).parent / "database" / "cifs"
    out = []
    for path in sorted(folder.glob("*.cif")):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pmg = CifParser(path).parse_structures(primitive=False)[0]
        except (ValueError, KeyError, IndexError) as exc:
            print(f"pyxtal {path.name}: skipped ({exc})", file=sys.stderr)
            continue
        if not pmg.is_ordered or len(pmg) > 200:
            continue
        species = [element_symbol(str(sp), strict=False) for sp in pmg.species]
        if None in species or {"C", "H"} <= set(species):
            continue
        dist = pmg.distance_matrix[numpy.triu_indices(len(pmg), 1)]
        if len(pmg) > 1 and dist.min() < 0.7:
            continue
        out.append(
            Candidate(
                f"pyxtal:{path.stem}",
                f"pyxtal:{path.stem}",
                path.stem,
                (pmg.lattice.matrix, pmg.frac_coords, species),
                "pyxtal",
                SOURCES["pyxtal"]["licence"],
                f"pyxtal {pyxtal.__version__} database/cifs/{path.name}; "
                + SOURCES["pyxtal"]["citation"],
            )
        )
    return out


def shared_candidates(shared):
    """The :data:`SHARED_PICKS` of the shared public structure set."""
    from diffpy.sgpredict.structures.cifs import read_structure

    with open(Path(shared) / "data" / "structures.csv", newline="") as f:
        rows = {r["id"]: r for r in csv.DictReader(f)}
    out = []
    for ident in SHARED_PICKS.values():
        row = rows[ident]
        stru = read_structure(Path(shared) / "data" / row["file"], fmt="cif")
        cell = settings.cell_from_structure(stru)
        out.append(
            Candidate(
                f"shared:{ident}",
                f"shared:{ident}",
                row["formula"],
                (cell[0], cell[1], [element_symbol(a.element) for a in stru]),
                "shared",
                row["licence"],
                f"{row['source']} {row['source_path']}",
            )
        )
    return out


# ------------------------------------------------------------- the entry


def make_entry(cand):
    """Return the library entry of a candidate, or (None, reason)."""
    groups = {
        tol: spglib_group(cand.lattice, cand.frac, cand.species, tol)
        for tol in (1e-3, 0.01)
    }
    number = groups[1e-3]
    if number != groups[0.01]:
        return None, f"group {groups[1e-3]} at 1e-3 A, {groups[0.01]} at 0.01"
    if number not in spacegroups.NUMBERS:
        return None, f"group {number} is not one of the 45"
    numbers = [settings.atomic_number(s) for s in cand.species]
    stru = settings.structure_from_cell(cand.lattice, cand.frac, numbers)
    std = settings.standardize(stru, number, symprec=1e-3)
    hall = settings.hall_number(number)
    lat = numpy.array(std.lattice.base, dtype=float)
    xyz = numpy.array(std.xyz, dtype=float)
    elements = [a.element for a in std]
    ds = symmetry_dataset(lat, xyz, elements, 1e-3, hall_number=hall)
    sites, wyckoff = [], []
    for site in settings.asymmetric_unit(std, number, symprec=1e-3):
        i = next(
            j
            for j, a in enumerate(std)
            if a.element == site[0]
            and numpy.allclose(numpy.round(a.xyz, 6), site[1:])
        )
        orbit = int(ds.equivalent_atoms[i])
        mult = int(numpy.sum(ds.equivalent_atoms == orbit))
        sites.append([site[0], *[float(v) for v in site[1:]]])
        wyckoff.append(f"{mult}{ds.wyckoffs[i]}")
    composition = {}
    for el in elements:
        composition[el] = composition.get(el, 0) + 1
    lp = std.lattice
    entry = {
        "key": cand.key,
        "id": cand.id,
        "name": cand.name,
        "number": number,
        "hall": hall,
        "lattice": [
            round(float(v), 5)
            for v in (lp.a, lp.b, lp.c, lp.alpha, lp.beta, lp.gamma)
        ],
        "sites": sites,
        "wyckoff": wyckoff,
        "composition": composition,
        "formula": reduced_formula(elements),
        "natoms": len(elements),
        "source": cand.source,
        "licence": cand.licence,
        "citation": cand.citation,
        **cand.tags,
    }
    check = expand(entry)
    for tol in (1e-3, 0.01):
        found = check.label(tol)
        if check.natoms != len(elements) or found != number:
            return None, f"re-expanded: {check.natoms} atoms, group {found}"
    return entry, None


def _signature(entry):
    """Group and site multiplicities per element, elements anonymous.

    Coarser than the Wyckoff letters on purpose: two descriptions of
    one type can differ by an origin shift (zincblende's 4a + 4c or
    4a + 4d).
    """
    per = {}
    for (el, *_), w in zip(entry["sites"], entry["wyckoff"]):
        per.setdefault(el, []).append(int(w[:-1]))
    return entry["number"], tuple(
        sorted(tuple(sorted(v)) for v in per.values())
    )


def assign_uses(entries):
    """Set ``uses`` (and ``same_as``) of every entry, in place."""
    seen = {}
    for entry in entries:
        if entry["source"] in ("aflow", "published"):
            seen.setdefault(_signature(entry), entry["key"])
    for entry in entries:
        if entry["source"] == "shared":
            entry["uses"] = ["refine"]
            continue
        twin = seen.get(_signature(entry))
        if entry["source"] in ("ase", "pyxtal") and twin:
            entry["uses"] = ["generate"]
            entry["same_as"] = twin
        else:
            entry["uses"] = ["generate", "refine"]


def build(path=LIBRARY_PATH, shared=None):
    """Collect, check and write the library; return counts per source."""
    cands = aflow_candidates() + published_candidates()
    cands += ase_candidates() + pyxtal_candidates()
    if shared:
        cands += shared_candidates(shared)
    entries, excluded = [], []
    for cand in cands:
        entry, reason = make_entry(cand)
        if entry is None:
            if "not one of the 45" not in reason:
                # formula and both groups stay known, so that the seeds
                # of models trained on an entry before it was excluded
                # are still recognised (structures.prototypes.seed_pairs)
                excluded.append(
                    {
                        "key": cand.key,
                        "reason": reason,
                        "formula": reduced_formula(cand.species),
                        "numbers": sorted(
                            {
                                spglib_group(
                                    cand.lattice, cand.frac, cand.species, tol
                                )
                                for tol in (1e-3, 0.01)
                            }
                        ),
                    }
                )
            continue
        entry["preferred"] = entry["id"] in PREFERRED
        entries.append(entry)
    keys = [e["key"] for e in entries]
    if len(set(keys)) != len(keys):
        raise RuntimeError("duplicate keys")
    assign_uses(entries)
    entries.sort(
        key=lambda e: (e["number"], not e["preferred"], e["natoms"], e["key"])
    )
    counts = {}
    for e in entries:
        counts[e["source"]] = counts.get(e["source"], 0) + 1
    missing = set(spacegroups.NUMBERS) - {e["number"] for e in entries}
    doc = {
        "format": "diffpy.sgpredict structure types",
        "version": 1,
        "description": "Structure types of the 45 space groups: lattice "
        "parameters (A, deg) and asymmetric unit in the setting of "
        "diffpy.structure.spacegroups.GetSpaceGroup (spglib Hall number "
        "per entry), in the preferred order (group, commonest types "
        "first, then size).",
        "sources": SOURCES,
        "counts": counts,
        "groups_without_entry": sorted(missing),
        "excluded": excluded,
        "types": entries,
    }
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        json.dump(doc, f, separators=(",", ":"))
    return counts


def main(argv=None):
    """Command line: ``--shared DIR`` and ``--output FILE``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=os.environ.get("SHARED"))
    parser.add_argument("--output", default=LIBRARY_PATH)
    args = parser.parse_args(argv)
    counts = build(args.output, args.shared)
    print(f"{args.output}: {counts}", file=sys.stderr)


if __name__ == "__main__":
    main()

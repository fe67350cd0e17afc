"""Build ``data/refine_prototypes/prototypes.json`` (maintainers only).

Run ``python -m diffpy.sgpredict.refine._build_prototypes [SHARED]``
with pymatgen-core and pyxtal installed.  Sources, in order of
preference:

1. the AFLOW Library of Crystallographic Prototypes as shipped in the
   ``pymatgen-core`` wheel (``pymatgen/analysis/prototypes/
   aflow_prototypes.json.gz``, MIT licence);
2. the CIF files shipped in the ``pyxtal`` wheel (``pyxtal/database/
   cifs``, MIT licence) for groups that AFLOW lacks;
3. for groups that neither package covers, three structures of the
   project's shared public structure set (``SHARED/data/structures``),
   each with the source and licence recorded in its ``structures.csv``;
4. common structure types that neither package holds (ThCr2Si2,
   pyrochlore, garnet), entered from their published Wyckoff
   descriptions (:data:`PUBLISHED`, reference per entry);
   ``--add-published`` refreshes only these in an existing library.

Every structure is checked with spglib, put into diffpy.structure's
setting of its group and stored as lattice parameters plus asymmetric
unit.
"""

import gzip
import json
import os
import sys
from pathlib import Path

from diffpy.sgpredict import spacegroups
from diffpy.sgpredict.refine import settings

OUT = (
    Path(__file__).resolve().parents[1]
    / "data"
    / "refine_prototypes"
    / "prototypes.json"
)

SOURCES = {
    "aflow": {
        "name": "AFLOW Library of Crystallographic Prototypes "
        "(Mehl et al., Comput. Mater. Sci. 136, S1 (2017)) as shipped "
        "in pymatgen-core",
        "path": "pymatgen/analysis/prototypes/aflow_prototypes.json.gz",
        "licence": "MIT (pymatgen-core)",
    },
    "pyxtal": {
        "name": "pyxtal structure database",
        "path": "pyxtal/database/cifs",
        "licence": "MIT (pyxtal)",
    },
    "published": {
        "name": "structure types entered from their published Wyckoff "
        "descriptions (reference per entry)",
        "path": "diffpy/sgpredict/refine/_build_prototypes.py PUBLISHED",
        "licence": "facts from the literature (no copyright)",
    },
    "shared": {
        "name": "diffpy.sgpredict shared public structure set "
        "(per-entry origin and licence recorded)",
        "path": "shared/data/structures",
        "licence": "per entry",
    },
}

#: Groups that neither AFLOW nor pyxtal covers: (group, shared id).
#: Common structure types tried first in their group.
PREFERRED = (
    "A_cF4_225_a",
    "AB_cF8_225_a_b",
    "A_cI2_229_a",
    "AB_hP4_186_b_b",
    "A2B_tP6_136_f_a",
    "A_hP2_194_c",
    "AB_hP4_194_c_a",
    "AB_cF8_216_c_a",
    "A_cF8_227_a",
    "AB3C_cP5_221_a_c_b",
    "AB_cP2_221_b_a",
    "A2B3_hR10_167_c_e",
    "A2B_tI12_141_e_a",
    "AB3C_oP20_62_c_cd_a",
    "AB2_cF12_225_a_c",
)
SHARED_PICKS = {55: "rs0275", 60: "rs0125", 176: "rs0302"}
PYXTAL_PICKS = {88: "NbO2.cif"}


#: Structure types entered from their published Wyckoff descriptions:
#: (id, name, group, lattice, asymmetric unit in the International
#: Tables' standard setting, origin shift to diffpy's setting, reference).
PUBLISHED = (
    (
        "AB2C2_tI10_139_a_d_e",
        "ThCr2Si2",
        139,
        [4.043, 4.043, 10.577, 90, 90, 90],
        [["Th", 0, 0, 0], ["Cr", 0, 0.5, 0.25], ["Si", 0, 0, 0.378]],
        "Z. Ban & M. Sikirica, Acta Cryst. 18, 594 (1965)",
    ),
    (
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
        "M. A. Subramanian, G. Aravamudan & G. V. Subba Rao, Prog. Solid "
        "State Chem. 15, 55 (1983)",
    ),
    (
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
        "F. Euler & J. A. Bruce, Acta Cryst. 19, 971 (1965)",
    ),
)


def published_entries():
    """Entries of :data:`PUBLISHED`, checked like the others."""
    from diffpy.sgpredict.chemistry import setting_shift

    out = []
    for ident, name, number, lattice, sites, ref in PUBLISHED:
        shift = setting_shift(number)
        moved = [
            [el, *[(v + t) % 1.0 for v, t in zip(xyz, shift)]]
            for el, *xyz in sites
        ]
        stru = settings.expand(lattice, moved, number)
        out.append(
            _entry(
                stru,
                number,
                ident,
                name,
                "published",
                SOURCES["published"]["licence"],
                origin=ref,
            )
        )
    return out


def add_published(path=OUT):
    """Add (or refresh) the published entries in an existing library."""
    with open(path) as fp:
        doc = json.load(fp)
    doc["sources"] = SOURCES
    entries = [e for e in doc["prototypes"] if e["source"] != "published"]
    entries.extend(published_entries())
    entries.sort(
        key=lambda e: (
            e["number"],
            e["id"] not in PREFERRED,
            e["natoms"],
            e["id"],
        )
    )
    doc["prototypes"] = entries
    with open(path, "w") as fp:
        json.dump(doc, fp, separators=(",", ":"))
        fp.write("\n")
    return len(entries)


def _formula(structure):
    counts = {}
    for atom in structure:
        counts[atom.element] = counts.get(atom.element, 0) + 1
    return counts


def _entry(structure, number, ident, name, source, licence, origin=None):
    std = settings.standardize(structure, number, symprec=1e-3)
    sites = settings.asymmetric_unit(std, number, symprec=1e-3)
    lat = std.lattice
    entry = {
        "id": ident,
        "name": name or "",
        "number": number,
        "formula": _formula(std),
        "natoms": len(std),
        "lattice": [
            round(float(v), 5)
            for v in (lat.a, lat.b, lat.c, lat.alpha, lat.beta, lat.gamma)
        ],
        "sites": [[s[0], s[1], s[2], s[3]] for s in sites],
        "source": source,
        "licence": licence,
    }
    if origin:
        entry["origin"] = origin
    check = settings.expand(entry["lattice"], entry["sites"], number)
    if len(check) != len(std) or settings.spglib_group(check, 1e-3) != number:
        raise RuntimeError(f"{ident}: expansion check failed")
    return entry


def _from_pymatgen(pmg):
    return settings.structure_from_cell(
        pmg.lattice.matrix,
        pmg.frac_coords,
        [sp.Z for sp in pmg.species],
    )


def build(shared=None):
    """Collect the prototypes and write the JSON file."""
    import spglib
    from diffpy.structure import loadStructure
    from pymatgen.analysis import prototypes as pmgproto
    from pymatgen.core import Structure

    wanted = set(spacegroups.NUMBERS)
    entries = []
    path = Path(pmgproto.__file__).parent / "aflow_prototypes.json.gz"
    for item in json.load(gzip.open(path)):
        pmg = Structure.from_dict(item["snl"])
        stru = _from_pymatgen(pmg)
        data = spglib.get_symmetry_dataset(
            settings.cell_from_structure(stru), symprec=1e-3
        )
        if data is None or int(data.number) not in wanted:
            continue
        tags = item["tags"]
        name = tags.get("mineral") or tags.get("strukturbericht") or ""
        name = "" if name == "None" else name
        entries.append(
            _entry(
                stru,
                int(data.number),
                tags["aflow"],
                name,
                "aflow",
                "MIT (pymatgen-core)",
            )
        )
    import pyxtal

    root = Path(pyxtal.__file__).parent / "database" / "cifs"
    for number, fname in PYXTAL_PICKS.items():
        stru = _from_pymatgen(Structure.from_file(root / fname))
        entries.append(
            _entry(
                stru,
                number,
                f"pyxtal:{fname}",
                Path(fname).stem,
                "pyxtal",
                "MIT (pyxtal)",
                origin=f"pyxtal {pyxtal.__version__} database/cifs/{fname}",
            )
        )
    if shared:
        import csv

        rows = {
            r["id"]: r
            for r in csv.DictReader(
                open(Path(shared) / "data" / "structures.csv")
            )
        }
        for number, ident in SHARED_PICKS.items():
            row = rows[ident]
            stru = loadStructure(
                str(Path(shared) / "data" / row["file"]), fmt="cif"
            )
            for atom in stru:
                atom.element = settings.bare_element(atom.element)
            entries.append(
                _entry(
                    stru,
                    number,
                    f"shared:{ident}",
                    row["formula"],
                    "shared",
                    row["licence"],
                    origin=f"{row['source']} {row['source_path']}",
                )
            )
    entries.sort(
        key=lambda e: (
            e["number"],
            e["id"] not in PREFERRED,
            e["natoms"],
            e["id"],
        )
    )
    entries.extend(published_entries())
    missing = wanted - {e["number"] for e in entries}
    if missing:
        print("groups without prototype:", sorted(missing), file=sys.stderr)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "format": "diffpy.sgpredict refine prototypes 1",
        "description": "Structure types for starting refinements: lattice "
        "parameters (A, deg) and asymmetric unit in the setting of "
        "diffpy.structure.spacegroups.GetSpaceGroup.",
        "sources": SOURCES,
        "prototypes": entries,
    }
    with open(OUT, "w") as fp:
        json.dump(doc, fp, separators=(",", ":"))
        fp.write("\n")
    print(f"{OUT}: {len(entries)} prototypes", file=sys.stderr)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--add-published"]:
        print(add_published(), "prototypes", file=sys.stderr)
    else:
        build(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SHARED"))

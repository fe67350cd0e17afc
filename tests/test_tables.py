"""Structure tables: reading, filters, the dedupe rule, the table build."""

import gzip

import numpy
import pytest

from diffpy.sgpredict.dataset import build_config, build_dataset, load_arrays
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.structures.tables import (
    dedupe_rows,
    primitive_crystal,
    read_structure_table,
    row_crystal,
    structure_type_key,
    table_items,
)

HEADER = (
    "id,formula,nsites,sg_number,sg_symprec0p1,experimental,icsd_linked,"
    "lattice,species,frac\n"
)
FCC = "0 0 0 0 0.5 0.5 0.5 0 0.5 0.5 0.5 0"


def _row(i, formula, sg, species, frac, a, exp=1, icsd=0):
    lat = f"{a} 0 0 0 {a} 0 0 0 {a}"
    n = len(species.split())
    return (
        f"mp-{i},{formula},{n},{sg},{sg},{exp},{icsd},{lat},{species},{frac}\n"
    )


@pytest.fixture()
def table(tmp_path):
    nacl_frac = FCC + " 0.5 0 0 0 0.5 0 0 0 0.5 0.5 0.5 0.5"
    rows = [
        _row(10, "Ni", 225, "Ni Ni Ni Ni", FCC, 3.52, exp=1),
        # the same (formula, group) again: ICSD-linked wins
        _row(11, "Ni", 225, "Ni Ni Ni Ni", FCC, 3.53, exp=1, icsd=1),
        # hypothetical, with more sites
        _row(12, "Cu", 225, "Cu Cu Cu Cu", FCC, 3.61, exp=0),
        _row(13, "NaCl", 225, "Na Na Na Na Cl Cl Cl Cl", nacl_frac, 5.64),
        _row(14, "MgO", 225, "Mg Mg Mg Mg O O O O", nacl_frac, 4.21),
        # a group outside the 45: Im-3m (229) bcc
        _row(15, "Fe", 229, "Fe Fe", "0 0 0 0.5 0.5 0.5", 2.87),
    ]
    path = tmp_path / "t.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write(HEADER + "".join(rows))
    return path


def test_read_filters(table):
    rows = read_structure_table(table)
    assert [r["id"] for r in rows] == [f"mp-{i}" for i in range(10, 16)]
    assert rows[3]["formula"] == "NaCl" and rows[3]["nsites"] == 8
    only = read_structure_table(table, groups=[225], experimental_only=True)
    assert [r["id"] for r in only] == ["mp-10", "mp-11", "mp-13", "mp-14"]
    small = read_structure_table(table, max_atoms=4)
    assert {r["id"] for r in small} == {"mp-10", "mp-11", "mp-12", "mp-15"}


def test_dedupe_rule_prefers_icsd_then_experimental_then_small(table):
    kept, dropped = dedupe_rows(read_structure_table(table))
    assert dropped == 1
    ids = [r["id"] for r in kept]
    assert "mp-11" in ids and "mp-10" not in ids
    rows = [
        {
            "id": "mp-3",
            "formula": "A",
            "sg_number": 2,
            "nsites": 4,
            "experimental": 0,
            "icsd_linked": 0,
        },
        {
            "id": "mp-2",
            "formula": "A",
            "sg_number": 2,
            "nsites": 8,
            "experimental": 1,
            "icsd_linked": 0,
        },
        {
            "id": "mp-1",
            "formula": "A",
            "sg_number": 2,
            "nsites": 8,
            "experimental": 1,
            "icsd_linked": 0,
        },
        {
            "id": "mp-9",
            "formula": "A",
            "sg_number": 14,
            "nsites": 8,
            "experimental": 0,
            "icsd_linked": 0,
        },
    ]
    kept, dropped = dedupe_rows(rows)
    # experimental beats fewer sites; then the lower id
    assert [r["id"] for r in kept] == ["mp-1", "mp-9"] and dropped == 2


def test_missing_labels_come_from_spglib(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text(
        "id,lattice,species,frac\n"
        "x,3.52 0 0 0 3.52 0 0 0 3.52,Ni Ni Ni Ni," + FCC + "\n"
    )
    (row,) = read_structure_table(path)
    assert row["sg_number"] == 225 and row["formula"] == "Ni"


def test_bad_tables_are_one_line_errors(tmp_path):
    with pytest.raises(InputError, match="no such structure table"):
        read_structure_table(tmp_path / "nope.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("id,lattice\nx,1 0 0 0 1 0 0 0 1\n")
    with pytest.raises(InputError, match="missing column.*species"):
        read_structure_table(bad)
    with pytest.raises(InputError, match="3 coordinates per site"):
        row_crystal(
            {
                "id": "y",
                "lattice": "1 0 0 0 1 0 0 0 1",
                "species": "Ni Ni",
                "frac": "0 0 0",
            }
        )


def test_structure_type_key_and_primitive_cell(table):
    rows = {r["id"]: r for r in read_structure_table(table)}
    nacl, mgo = row_crystal(rows["mp-13"]), row_crystal(rows["mp-14"])
    ni = row_crystal(rows["mp-10"])
    # rock salt: one type for NaCl and MgO, another for fcc Ni
    assert structure_type_key(nacl) == structure_type_key(mgo)
    assert structure_type_key(nacl) == "AB|225|a,b"
    assert structure_type_key(ni) == "A|225|a"
    prim = primitive_crystal(nacl)
    assert prim.natoms == 2
    assert prim.volume == pytest.approx(nacl.volume / 4)
    assert prim.label() == 225


def test_max_per_group_keeps_experimental_first(table):
    items, info = table_items(table, groups=[225], max_per_group=2)
    assert info == {"rows": 5, "duplicates": 1, "capped": 2}
    ids = [it["id"] for it in items]
    # mp-12 (hypothetical) goes first; of the experimental the first two
    assert ids == ["mp-11", "mp-13"]


def test_table_build_has_physics_per_row(table, tmp_path):
    items, _ = table_items(table, groups=[225])
    out = tmp_path / "t.h5"
    stats = build_dataset(
        out, items, build_config(settings="physics", seed=3), progress=False
    )
    assert stats["rows"] == 4
    d = load_arrays(out)
    assert set(d["id"]) == {"mp-11", "mp-12", "mp-13", "mp-14"}
    # the rows were computed from primitive cells with their type keys
    assert sorted(d["prototype"]) == sorted(
        ["A|225|a", "A|225|a", "AB|225|a,b", "AB|225|a,b"]
    )
    assert set(d["natoms"]) == {1, 2}
    q = d["settings/qmax"]
    assert numpy.all((q >= 14) & (q <= 40)) and len(set(q)) == 4
    assert set(d["settings/neutron"]) <= {0.0, 1.0}
    assert numpy.isfinite(d["G"]).all()
    # resuming adds nothing
    again = build_dataset(
        out, items, build_config(settings="physics", seed=3), progress=False
    )
    assert again["rows"] == 0 and again["already"] == 4


def test_cif_archives_build_like_the_folder(tmp_path, capsys):
    import tarfile
    import zipfile
    from pathlib import Path

    from diffpy.sgpredict.sgpredictapp import main

    cifs = Path(__file__).parent / "data" / "cifs"
    names = sorted(p.name for p in cifs.glob("*.cif"))
    zpath = tmp_path / "export.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        for name in names:
            z.write(cifs / name, f"export/{name}")
        z.writestr("../evil.cif", "data_evil")  # never written outside
        z.writestr("notes.txt", "not a CIF")
    tpath = tmp_path / "export.tar.gz"
    with tarfile.open(tpath, "w:gz") as t:
        for name in names:
            t.add(cifs / name, f"export/{name}")
    folder_rows = tmp_path / "folder.h5"
    assert main(["dataset", "build", "--cifs", str(cifs), "-o",
                 str(folder_rows), "--quiet"]) == 0  # fmt: skip
    ref = load_arrays(folder_rows, ["formula", "G"])
    for archive in (zpath, tpath):
        out = tmp_path / (archive.name + ".h5")
        rc = main(["dataset", "build", "--cifs", str(archive), "-o",
                   str(out), "--quiet"])  # fmt: skip
        assert rc == 0
        d = load_arrays(out, ["id", "formula", "G"])
        assert sorted(d["formula"]) == sorted(ref["formula"])
        assert all(i.startswith("export/") for i in d["id"])
        order = numpy.argsort(d["formula"])
        ref_order = numpy.argsort(ref["formula"])
        numpy.testing.assert_allclose(d["G"][order], ref["G"][ref_order])
    assert not (tmp_path.parent / "evil.cif").exists()
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("a.txt", "x")
    rc = main(["dataset", "build", "--cifs", str(empty), "-o",
               str(tmp_path / "e.h5")])  # fmt: skip
    assert rc == 2 and "holds no .cif file" in capsys.readouterr().err


def test_site_patterns_are_counted_once_per_compound(table, tmp_path):
    from diffpy.sgpredict.structures.stats import (
        build_site_patterns,
        site_pattern,
        site_patterns,
    )

    rows = {r["id"]: r for r in read_structure_table(table)}
    assert site_pattern(row_crystal(rows["mp-13"])) == (
        "AB",
        225,
        ("1:4a:0", "1:4b:1"),
    )
    out = tmp_path / "patterns.json.gz"
    counts = build_site_patterns(table, out)
    # Fe (Im-3m) is not one of the 45 groups; Ni twice is one compound
    assert counts == {"rows": 5, "patterns": 2, "skipped": 0}
    # rock salt: NaCl and MgO, any multiple of the formula
    # (amount, multiplicity, letter, electronegativity rank)
    assert site_patterns(225, {"Mg": 4, "O": 4}, out) == [
        ([(1, 4, "a", 0), (1, 4, "b", 1)], 2)
    ]
    assert site_patterns(225, {"Au": 1}, out) == [([(1, 4, "a", 0)], 2)]
    assert site_patterns(225, {"Ti": 1, "O": 2}, out) == []
    assert site_patterns(221, {"Au": 1}, out) == []


def test_site_patterns_script_writes_the_table(table, tmp_path, capsys):
    from _scripts import load_script

    from diffpy.sgpredict.structures.stats import site_patterns

    out = tmp_path / "patterns.json.gz"
    load_script("build_site_patterns").main([str(table), "--out", str(out)])
    printed = capsys.readouterr().out
    assert "5 rows in the 45 groups, 0 skipped" in printed
    assert "2 patterns written" in printed
    assert site_patterns(225, {"Cu": 4}, out) == [([(1, 4, "a", 0)], 2)]

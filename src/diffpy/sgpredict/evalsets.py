"""Evaluation sets: what :func:`diffpy.sgpredict.evaluate.evaluate` scores.

:func:`load_eval_set` reads an HDF5 dataset (optionally only its
held-out test rows), a folder of CIFs (PDFs computed at the paper's
Table-2 settings, labels from a CSV or spglib) or a folder of measured
``.gr`` files with a CSV of known groups, into model inputs and labels.
:func:`training_keys` and :func:`heldout_ids` read what a model folder
says about its training data, so that evaluation rows seen in training
are left out.  Formulas are compared by
:func:`diffpy.sgpredict.chemistry.formula_key`.
"""

import csv
import json
from pathlib import Path

import numpy

from diffpy.sgpredict.chemistry import formula_key, parse_composition
from diffpy.sgpredict.dataset import load_arrays
from diffpy.sgpredict.errors import InputError
from diffpy.sgpredict.grid import to_model_input
from diffpy.sgpredict.pdfcalc import calculate_pdf
from diffpy.sgpredict.structures.cifs import SkipStructure, read_cif
from diffpy.sgpredict.structures.prototypes import seed_pairs

__all__ = ["load_eval_set", "training_keys", "heldout_ids"]


def _read_csv(path):
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such CSV file")
    with open(path, newline="") as fp:
        rows = list(csv.DictReader(fp))
    if not rows or "file" not in rows[0] or "sg_number" not in rows[0]:
        raise InputError(
            f"{path}: the CSV needs the columns 'file' and 'sg_number'"
        )
    return rows


def _find_file(folder, csv_path, name):
    """Locate a CSV ``file`` entry relative to the folder or the CSV."""
    for base in (Path(folder), Path(csv_path).parent):
        for cand in (base / name, base / Path(name).name):
            if cand.is_file():
                return cand
    return None


def _sg_from_row(row, path):
    try:
        return int(float(row["sg_number"]))
    except (TypeError, ValueError):
        raise InputError(
            f"{path}: sg_number {row.get('sg_number')!r} is not a number"
        ) from None


def _is_formula(text):
    """Whether a text reads as a chemical formula."""
    try:
        parse_composition(text)
    except InputError:
        return False
    return True


def _formula_of(row):
    for key in ("formula", "reduced_formula", "material"):
        text = (row.get(key) or "").strip()
        if text:
            first = text.split()[0]
            if _is_formula(first):
                return formula_key(first)
    return ""


def _hdf5_set(path, grid, min_rmax, ids=None):

    arrays = load_arrays(path, ["r", "G", "sg_number", "formula", "id"])
    n = len(arrays["id"])
    # the later reads keep the first read's rows: a build still writing
    # the file may have committed more in between
    try:
        proto = load_arrays(path, ["prototype"])["prototype"][:n]
    except InputError:
        proto = numpy.full(n, "")
    try:
        neutron = load_arrays(path, ["settings/neutron"])["settings/neutron"]
        neutron = neutron[:n]
    except InputError:
        neutron = numpy.zeros(n)
    if ids is not None:
        pick = numpy.isin(numpy.asarray(arrays["id"]).astype(str), ids)
        arrays = {k: (v[pick] if k != "r" else v) for k, v in arrays.items()}
        proto, neutron = proto[pick], neutron[pick]
    r = arrays["r"]
    xs, nv = [], []
    for row in arrays["G"]:
        x, n = to_model_input(r, row, grid, min_rmax)
        xs.append(x)
        nv.append(n)
    return {
        "name": numpy.asarray(arrays["id"]).astype(str),
        "x": numpy.array(xs, dtype=numpy.float32).reshape(-1, grid.npoints),
        "sg_number": numpy.asarray(arrays["sg_number"], dtype=int),
        "formula": numpy.array(
            [formula_key(f) for f in arrays["formula"]], dtype=object
        ),
        "prototype": numpy.asarray(proto).astype(str),
        "radiation": numpy.nan_to_num(numpy.asarray(neutron, float)),
        "material": numpy.asarray(arrays["id"]).astype(str),
    }


def _radiation_of(row):
    """0 for X-rays, 1 for neutrons, NaN when the CSV does not say."""
    text = str(row.get("radiation", "")).strip().lower()
    if text.startswith("neutron"):
        return 1.0
    if text.startswith(("x", "synchrotron")):
        return 0.0
    return numpy.nan


def _gr_set(folder, csv_path, predictor):
    rows = _read_csv(csv_path)
    names, xs, sgs, forms, unreadable = [], [], [], [], []
    rads, mats = [], []
    for row in rows:
        path = _find_file(folder, csv_path, row["file"])
        if path is None:
            raise InputError(
                f"{csv_path}: file {row['file']!r} not found in {folder}"
            )
        try:
            name, x, _, _ = predictor.prepare(str(path))
        except InputError as exc:
            unreadable.append(
                {"name": Path(row["file"]).name, "reason": str(exc)}
            )
            continue
        names.append(Path(row["file"]).name)
        xs.append(x)
        sgs.append(_sg_from_row(row, csv_path))
        forms.append(_formula_of(row))
        rads.append(_radiation_of(row))
        mats.append(row.get("group") or row.get("material") or names[-1])
    return {
        "name": numpy.array(names),
        "x": numpy.array(xs, dtype=numpy.float32),
        "sg_number": numpy.array(sgs, dtype=int),
        "formula": numpy.array(forms, dtype=object),
        "prototype": numpy.full(len(names), ""),
        "radiation": numpy.array(rads, dtype=float),
        "material": numpy.array(mats, dtype=str),
        "unreadable": unreadable,
    }


def _cif_set(folder, csv_path, grid, min_rmax, radiation="xray"):

    if csv_path is not None:
        items = []
        for row in _read_csv(csv_path):
            path = _find_file(folder, csv_path, row["file"])
            if path is not None:
                items.append(
                    (path, _sg_from_row(row, csv_path), _formula_of(row))
                )
        if not items:
            raise InputError(
                f"{csv_path}: none of its files were found in {folder}"
            )
    else:
        items = []
        for path in sorted(Path(folder).glob("*.cif")):
            try:
                meta = read_cif(str(path)).meta
            except SkipStructure:
                continue
            items.append(
                (
                    path,
                    int(meta["sg_number"]),
                    formula_key(meta["formula"]),
                )
            )
    names, xs, sgs, forms, unreadable = [], [], [], [], []
    for path, sg, formula in items:
        try:
            r, g = calculate_pdf(str(path), scattering=radiation)
            x, _ = to_model_input(r, g, grid, min_rmax, Path(path).name)
        except Exception as exc:  # one bad structure must not stop the rest
            unreadable.append({"name": Path(path).name, "reason": str(exc)})
            continue
        names.append(Path(path).name)
        xs.append(x)
        sgs.append(sg)
        forms.append(formula)
    return {
        "name": numpy.array(names),
        "x": numpy.array(xs, dtype=numpy.float32),
        "sg_number": numpy.array(sgs, dtype=int),
        "formula": numpy.array(forms, dtype=object),
        "prototype": numpy.full(len(names), ""),
        "radiation": numpy.full(len(names), float(radiation == "neutron")),
        "material": numpy.array(names, dtype=str),
        "unreadable": unreadable,
    }


def load_eval_set(
    data, predictor, csv_path=None, ids=None, cif_radiation="xray"
):
    """Read an evaluation set into model inputs and labels.

    Parameters
    ----------
    data : str or Path
        HDF5 dataset, a folder of CIFs or a folder of ``.gr`` files.
    predictor : diffpy.sgpredict.predictor.Predictor
        Supplies the input grid and the reading path of measured data.
    csv_path : str or Path, optional
        Known groups (``file``, ``sg_number``); required for ``.gr``
        folders; looked for as ``<folder>.csv`` beside the folder when
        not given.  Its ``radiation`` column (``xray``/``neutron``) and
        its ``group`` (material or series) column are used when present.
    ids : collection of str, optional
        For a dataset: only these row ids.
    cif_radiation : {"xray", "neutron"}
        Radiation of the PDFs computed from CIFs.

    Returns
    -------
    dict
        ``name``, ``x`` (n, npoints), ``sg_number``, ``formula``
        (canonical, "" when unknown), ``prototype``, ``radiation`` (0
        X-ray, 1 neutron, NaN unknown), ``material`` (the unit that is
        counted once in material-balanced scores), ``kind``.
    """
    data = Path(data)
    grid, min_rmax = predictor.grid, predictor.min_rmax
    if data.is_file():
        out = _hdf5_set(data, grid, min_rmax, ids)
        out["kind"] = "hdf5"
        return out
    if not data.is_dir():
        raise InputError(f"{data}: no such file or folder")
    if csv_path is None:
        guess = data.parent / (data.name + ".csv")
        csv_path = guess if guess.is_file() else None
    grs = sorted(data.glob("*.gr"))
    cifs = sorted(data.glob("*.cif"))
    if grs and not cifs:
        if csv_path is None:
            raise InputError(
                f"{data}: measured PDFs need a CSV with their known groups "
                "(columns file, sg_number); give it with --csv"
            )
        out = _gr_set(data, csv_path, predictor)
        out["kind"] = "measured"
        return out
    if cifs:
        out = _cif_set(data, csv_path, grid, min_rmax, cif_radiation)
        out["kind"] = "cif"
        return out
    raise InputError(f"{data}: the folder holds no .gr or .cif files")


def training_keys(model_dir, seeds_only=False):
    path = Path(model_dir) / "training_set.json"
    if not path.is_file():
        raise InputError(
            f"{path}: missing; this model has no record of its training "
            "data, so --exclude-training cannot be applied"
        )
    info = json.loads(path.read_text())
    prototypes = set(info.get("prototypes", []))
    if seeds_only:
        # real structures only: CIF rows (keyed by their formula) and the
        # library prototypes; generated crystals (stat:...) are not
        prototypes = {p for p in prototypes if not str(p).startswith("stat:")}
        pairs = set()
        if info.get("cif_formula_sg"):
            pairs = {
                (formula_key(f), int(s)) for f, s in info["cif_formula_sg"]
            }
    else:
        pairs = {(formula_key(f), int(s)) for f, s in info["formula_sg"]}
    # the structure types the prototype-driven rows were made from count
    # as seen in training too
    pairs |= {(formula_key(f), s) for f, s in seed_pairs(prototypes)}
    return pairs, prototypes


def heldout_ids(model_dir, name):
    path = Path(model_dir) / "heldout.json"
    if not path.is_file():
        raise InputError(
            f"{path}: missing; this model set no test rows aside (train "
            "with --test-fraction)"
        )
    sets = json.loads(path.read_text())
    if name not in sets:
        raise InputError(
            f"heldout={name!r}: the model has the test sets "
            f"{', '.join(sorted(sets))}"
        )
    return numpy.asarray(sets[name], dtype=str)

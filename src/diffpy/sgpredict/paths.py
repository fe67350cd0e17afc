"""Files by name: the inputs of a series, and where outputs go.

* :func:`expand_inputs` turns files, folders and glob patterns into the
  list of data files of a series, in a stable order;
* :func:`unique_stems` and :func:`image_paths` name one output per
  input so that two inputs never share a name;
* :func:`value_from_name` reads the temperature, doping or index that a
  file name carries (``Ni_300K.gr``, ``x0.15``), and
  :func:`formula_from_name` the formula it starts with;
* :func:`check_output` refuses an output path that cannot be written,
  in one line;
* :func:`without_folders` cuts the paths of a recorded command line to
  their names, so that no machine's folders go into a model card.
"""

import glob
import re
from pathlib import Path

from diffpy.sgpredict.errors import InputError

__all__ = [
    "expand_inputs",
    "unique_stems",
    "value_from_name",
    "formula_from_name",
    "check_output",
    "image_paths",
    "without_folders",
]

_DATA_SUFFIXES = (".gr", ".dat", ".txt", ".csv")


def expand_inputs(sources, suffixes=_DATA_SUFFIXES):
    """Turn files, folders and glob patterns into a list of files.

    Folders give their files with the data ``suffixes`` (sorted by
    name); glob patterns (``*``, ``?``, ``[``) are expanded and sorted;
    anything else is kept as given, so that a missing file is reported
    when it is read.  Order is kept.

    Parameters
    ----------
    sources : str or Path or list
        What the user named.
    suffixes : tuple of str
        File endings taken from folders.

    Returns
    -------
    list of str

    Raises
    ------
    InputError
        For a folder without data files or a pattern that matches
        nothing.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> for n in ("b.gr", "a.gr", "notes.md"):
    ...     _ = (d / n).write_text("0 0")
    >>> [pathlib.Path(p).name for p in expand_inputs([d])]
    ['a.gr', 'b.gr']
    >>> [pathlib.Path(p).name for p in expand_inputs([str(d / "*.gr")])]
    ['a.gr', 'b.gr']
    """
    if isinstance(sources, (str, Path)):
        sources = [sources]
    out = []
    for source in sources:
        text = str(source)
        path = Path(text)
        if path.is_dir():
            found = sorted(
                str(p)
                for p in path.iterdir()
                if p.is_file() and p.name.lower().endswith(suffixes)
            )
            if not found:
                raise InputError(
                    f"{text}: folder holds no data files "
                    f"({', '.join(suffixes)})"
                )
            out.extend(found)
        elif any(c in text for c in "*?[") and not path.exists():
            found = sorted(p for p in glob.glob(text) if Path(p).is_file())
            if not found:
                raise InputError(f"{text}: no file matches this pattern")
            out.extend(found)
        else:
            out.append(text)
    return out


def unique_stems(paths):
    """Return output names for files that never collide.

    The file stem where it is unique; otherwise the stem prefixed with
    as many parent folders as it takes, joined by ``_``; a counter as a
    last resort.

    Examples
    --------
    >>> unique_stems(["a/x.gr", "b/x.gr", "b/y.gr"])
    ['a_x', 'b_x', 'y']
    >>> unique_stems(["x.gr", "x.gr"])
    ['x', 'x-2']
    """
    parts = []
    for p in paths:
        path = Path(p).with_suffix("")
        parts.append(
            tuple(x for x in path.parts if x not in (path.anchor, "..", "."))
            or ("file",)
        )
    depth = [1] * len(paths)
    names = ["_".join(p[-1:]) for p in parts]
    for _ in range(max(len(p) for p in parts) if parts else 0):
        clash = {n for n in names if names.count(n) > 1}
        if not clash:
            return names
        new = [
            min(d + 1, len(p)) if n in clash else d
            for p, d, n in zip(parts, depth, names)
        ]
        if new == depth:
            break
        depth = new
        names = ["_".join(p[-d:]) for p, d in zip(parts, depth)]
    if len(set(names)) == len(names):
        return names
    names = [p[-1] for p in parts]
    out, seen = [], {}
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}-{seen[n]}")
    return out


_NAME_TEMP = re.compile(
    r"(?i)(?:(?<![a-z0-9.])([-+]?\d+(?:\.\d+)?)\s*(k|c|degc)(?![a-z])"
    r"|(?<![a-z0-9])t=?(\d+(?:\.\d+)?)(?![\d.]))"
)
_NAME_DOPING = re.compile(r"(?<![A-Za-z0-9])[xy]=?(\d*\.\d+|\d+)(?![\d.])")
_NAME_INDEX = re.compile(r"[_-](\d+)$")


def value_from_name(name):
    """Return ``(kind, value)`` parsed from a file name, or ``(None, None)``.

    A temperature with its unit (``300K``, ``25C``, in kelvin then) or
    written ``T300``; else a doping level ``x0.15`` / ``x=0.15``; else a
    trailing scan index (``_012``).

    Examples
    --------
    >>> value_from_name("BaFe2As2_300K.gr")
    ('temperature', 300.0)
    >>> value_from_name("run-25C.gr"), value_from_name("LSMO_T150.gr")
    (('temperature', 298.15), ('temperature', 150.0))
    >>> value_from_name("Ba1-xKx_x0.15.gr"), value_from_name("scan_012.gr")
    (('value', 0.15), ('index', 12.0))
    >>> value_from_name("Ni_ch03_xray.gr")
    (None, None)
    """
    stem = Path(str(name)).stem
    match = _NAME_TEMP.search(stem)
    if match:
        if match.group(3) is not None:
            return "temperature", float(match.group(3))
        value = float(match.group(1))
        if match.group(2).lower() in ("c", "degc"):
            value = round(value + 273.15, 6)
        return "temperature", value
    match = _NAME_DOPING.search(stem)
    if match:
        return "value", float(match.group(1))
    match = _NAME_INDEX.search(stem)
    if match:
        return "index", float(match.group(1))
    return None, None


def formula_from_name(name):
    """The formula a file name starts with, as a composition, or None.

    The stem's text before the first ``_`` counts when it reads as a
    formula of element symbols (:func:`~diffpy.sgpredict.chemistry.
    parse_composition`) with two elements or more, or with a number:
    a lone symbol may be a word (``In_situ``, ``As_made``).

    Examples
    --------
    >>> sorted(formula_from_name("BaFe2As2_300K_xray.gr").items())
    [('As', 2.0), ('Ba', 1.0), ('Fe', 2.0)]
    >>> formula_from_name("sample_300K.gr"), formula_from_name("In_situ.gr")
    (None, None)
    """
    from diffpy.sgpredict.chemistry import parse_composition

    head = Path(str(name)).stem.split("_")[0].strip()
    if not head or not head[0].isupper():
        return None
    try:
        comp = parse_composition(head)
    except InputError:
        return None
    if len(comp) < 2 and not any(c.isdigit() for c in head):
        return None
    return comp


def check_output(path, what="the output", folder=False):
    """Refuse an output path that cannot be written, in one line.

    Parameters
    ----------
    path : str or Path
        A file to write, or with ``folder`` a folder to write into
        (created by the caller when missing).
    what : str
        The option or output named in the message (``"--csv"``).
    folder : bool
        ``path`` is a folder.

    Raises
    ------
    InputError
        When the containing folder does not exist, a file is asked for
        where a folder exists, or a folder where a file exists.

    Examples
    --------
    >>> check_output("/nonexistent/x.csv", "--csv")
    Traceback (most recent call last):
        ...
    diffpy.sgpredict.errors.InputError: /nonexistent/x.csv: folder \
/nonexistent does not exist; create it first
    """
    path = Path(path)
    missing = InputError(
        f"{path}: folder {path.parent} does not exist; create it first"
    )
    if folder:
        if path.exists() and not path.is_dir():
            raise InputError(
                f"{path}: {what} must be a folder, but a file of that name "
                "exists"
            )
        if not path.exists() and not path.parent.is_dir():
            raise missing
        return
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a file name for {what}")
    if not path.parent.is_dir():
        raise missing


def image_paths(target, inputs):
    """One image path per input file; two inputs never share a name.

    ``target`` is a folder (existing, or ending in ``/``): one
    ``STEM.png`` per input inside it; a file name: used as it is for one
    input, else a distinct part (:func:`unique_stems`) is added to its
    stem.

    Examples
    --------
    >>> [str(p) for p in image_paths("out.png", ["a/s.gr", "b/s.gr"])]
    ['out_a_s.png', 'out_b_s.png']
    >>> [str(p) for p in image_paths("plots/", ["a/s.gr"])]
    ['plots/s.png']
    """
    folder = Path(target)
    stems = unique_stems(inputs)
    if folder.is_dir() or str(target).endswith(("/", "\\")):
        return [folder / f"{stem}.png" for stem in stems]
    if len(inputs) == 1:
        return [folder]
    suffix = folder.suffix or ".png"
    return [folder.with_name(f"{folder.stem}_{s}{suffix}") for s in stems]


def without_folders(command):
    """Return a command line with every path cut to its last part.

    Parameters
    ----------
    command : str
        A command line as recorded (words split on white space).

    Returns
    -------
    str

    Examples
    --------
    >>> without_folders("train /work/runs/mp.h5 -o ../runs/model --seed 0")
    'train mp.h5 -o model --seed 0'
    """
    return " ".join(
        Path(w).name if "/" in w else w for w in str(command).split()
    )

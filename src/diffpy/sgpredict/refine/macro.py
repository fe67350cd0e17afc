"""The diffpy.apps ``runmacro`` macro (``fit.dp-in``) of a candidate.

:func:`macro_text` writes it with the variables and starting values of
the recipe that ``refine --fit`` and ``fit.py`` build; :func:`check_macro`
checks it against the runmacro grammar without diffpy.apps;
:func:`parse_macro` parses a written file with diffpy.apps' own parser
when that is installed.

Examples
--------
>>> from diffpy.sgpredict.refine.macro import check_macro
>>> check_macro('load structure G1 from "start.cif"') is None
True
"""

import re
from pathlib import Path

from diffpy.sgpredict.refine.fitting import recipe_from_spec

__all__ = ["macro_text", "check_macro", "parse_macro"]


def _recipe_variables(spec):
    """Variables of the recipe that ``--fit`` and ``fit.py`` build.

    Returns a dict tag -> list of (name, value) from
    :func:`~diffpy.sgpredict.refine.fitting.recipe_from_spec`.
    """
    recipe, _, _, _ = recipe_from_spec(spec, calculator="builtin")
    out = {}
    for name, value in zip(recipe.names, recipe.values):
        if name == "scale":
            tag = "scale"
        elif name in ("qdamp", "delta2", "qbroad"):
            tag = "profile"
        elif re.match(r"^U(iso|\d\d)_", name):
            tag = "adp"
        elif name in ("a", "b", "c", "alpha", "beta", "gamma"):
            tag = "lat"
        else:
            tag = "xyz"
        out.setdefault(tag, []).append((name, float(value)))
    return out


def macro_text(spec, start, data_name, rstep=0.01):
    """Return a ``diffpy.apps runmacro`` macro for one candidate.

    The variables and their starting values are those of the recipe
    that ``refine --fit`` and ``fit.py`` build from the same
    :class:`~diffpy.sgpredict.refine.fitting.RecipeSpec` (scale, cell,
    one isotropic ADP per orbit -- or the symmetry-allowed Uij when
    ``start.cif`` holds anisotropic ADPs --, free coordinates, delta2,
    Qdamp, Qbroad).

    Parameters
    ----------
    spec : RecipeSpec
        The refinement (its ``structure`` is ``start.cif``).
    start : StartingStructure
        The candidate's starting structure.
    data_name : str
        File name of the data in the folder.
    rstep : float
        Calculation step (A).

    Returns
    -------
    str
    """
    names = _recipe_variables(spec)
    lines = [
        f"# diffpy.apps runmacro: refine {start.symbol} "
        f"({start.number}) against {data_name}",
        f"# start: {start.name} ({start.source}); variables from the "
        "recipe of diffpy.sgpredict.refine.fitting.build_recipe",
        "# run: diffpy.apps runmacro fit.dp-in",
        'load structure G1 from "start.cif"',
        f'load profile exp from "{data_name}"',
        "",
        f"set G1 spacegroup as {start.diffpy_name}",
        f"set exp q_range as {spec.qmin:g} {spec.qmax:g}",
        f"set exp calculation_range as {spec.rmin:g} {spec.rmax:g} "
        f"{rstep:g}",
        "create equation variables s0",
        'set equation as "s0*G1"',
        'save to "fit-results.json"',
        "",
        "variables:",
        "---",
    ]
    for name, value in names.get("scale", []):
        lines.append(f"- s0: {value:.5g}")
    for tag in ("lat", "adp", "xyz"):
        for name, value in names.get(tag, []):
            lines.append(f"- G1.{name}: {value:.5f}")
    for tag in ("profile",):
        for name, value in names.get(tag, []):
            prefix = "G1." if name.startswith("delta") else ""
            lines.append(f"- {prefix}{name}: {value:.5g}")
    # fixed at first in the recipe, freed in its last step
    lines.append(f"- qbroad: {spec.qbroad:.5g}")
    lines.append("---")
    return "\n".join(lines) + "\n"


_MACRO_COMMAND = re.compile(
    r"^(load\s+(structure|profile)\s+\w+\s+from\s+\"[^\"]+\""
    r"|set\s+\w+(\s+\w+)?\s+as\s+\S.*"
    r"|create\s+equation\s+variables(\s+\S+)+"
    r"|save\s+to\s+\"[^\"]+\")$"
)


def check_macro(text):
    """Check a macro against the runmacro grammar (no diffpy.apps needed).

    A small re-statement of the grammar of ``diffpy.apps``: commands
    ``load``, ``set``, ``create``, ``save``, then an optional
    ``variables:`` block between ``---`` lines holding a YAML list.

    Raises
    ------
    ValueError
        With the line that does not fit.

    Examples
    --------
    >>> check_macro('load structure G1 from "s.cif"\\nvariables:\\n---\\n'
    ...             '- s0: 1\\n---\\n')
    """
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = (
            lines[i].split("#", 1)[0].strip()
            if not lines[i].lstrip().startswith("set equation")
            else lines[i].strip()
        )
        i += 1
        if not line:
            continue
        if line == "variables:":
            rest = [x.strip() for x in lines[i:]]
            rest = [x for x in rest if x and not x.startswith("#")]
            if len(rest) < 2 or rest[0] != "---" or rest[-1] != "---":
                raise ValueError("variables block must sit between '---'")
            for item in rest[1:-1]:
                if not re.match(r"^-\s+[\w.]+(\s*:\s*\S+)?$", item):
                    raise ValueError(f"bad variables item: {item!r}")
            return None
        if not _MACRO_COMMAND.match(line):
            raise ValueError(f"line {i}: not a runmacro command: {line!r}")
    return None


def _absolute_loads(text, folder):
    """The macro with every relative ``from "file"`` made absolute
    (resolved in ``folder``), so that no working directory is needed.

    Examples
    --------
    >>> _absolute_loads('load structure G1 from "start.cif"', Path("/f"))
    'load structure G1 from "/f/start.cif"'
    """

    def fix(match):
        name = match.group(1)
        full = name if Path(name).is_absolute() else str(Path(folder) / name)
        return f'from "{full}"'

    return re.sub(r'from\s+"([^"]+)"', fix, text)


def parse_macro(path):
    """Parse a ``.dp-in`` file with diffpy.apps' own parser if present.

    The file's ``load`` paths are resolved in its folder (made
    absolute; the working directory is not changed).  Without
    diffpy.apps, :func:`check_macro` checks the grammar instead.

    Returns
    -------
    dict
        ``parser`` (``"diffpy.apps"`` or ``"builtin"``) and, with
        diffpy.apps, ``inputs`` (what the macro sets).

    Examples
    --------
    >>> parse_macro("fits/sg225_Fm-3m/fit.dp-in")["parser"]  # doctest: +SKIP
    'diffpy.apps'
    """
    path = Path(path)
    text = path.read_text()
    try:  # optional dependency: diffpy.apps' own parser when installed
        from diffpy.apps.app_runmacro import MacroParser
    except ImportError:
        check_macro(text)
        return {"parser": "builtin"}
    parser = MacroParser()
    parser.parse(_absolute_loads(text, path.parent))
    return {"parser": "diffpy.apps", "inputs": parser.inputs}

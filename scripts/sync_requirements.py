"""Write requirements/*.txt from setup.cfg, the one dependency list.

``setup.cfg`` names every dependency once: ``install_requires``, the
extras, and in ``[tool:requirements]`` the pin CI installs and the
conda-forge names.  This script writes the files pip and conda read:

``requirements/pip.txt``
    ``install_requires`` with the pins applied (``torch==2.13.0``);
``requirements/test.txt``, ``requirements/docs.txt``
    the ``test`` and ``docs`` extras;
``requirements/conda.txt``
    ``install_requires`` and every extra except ``test`` and ``docs``,
    by conda-forge name, plus the conda-only packages.

Run it after changing a dependency in setup.cfg::

    python scripts/sync_requirements.py          # write the files
    python scripts/sync_requirements.py --check  # exit 1 if they differ

Examples
--------
>>> files = requirement_files("setup.cfg")  # doctest: +SKIP
>>> files["requirements/pip.txt"].splitlines()[3]  # doctest: +SKIP
'torch==2.13.0'
"""

import argparse
import configparser
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = (
    "# Generated from setup.cfg by scripts/sync_requirements.py: do not\n"
    "# edit; change setup.cfg and run the script.\n"
)
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _lines(value):
    """Non-empty, uncommented lines of a multi-line setup.cfg value."""
    out = []
    for line in value.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return out


def requirement_name(spec):
    """Return the distribution name of a requirement, lower case.

    Examples
    --------
    >>> requirement_name("diffpy.srfit>=3.2"), requirement_name("Six")
    ('diffpy.srfit', 'six')
    """
    match = _NAME.match(spec)
    if not match:
        raise ValueError(f"not a requirement: {spec!r}")
    return match.group(1).lower()


def read_setup_cfg(path):
    """Read the dependency lists of a setup.cfg.

    Returns
    -------
    dict
        ``install_requires`` (list), ``extras`` (dict of lists),
        ``pip_pins``, ``conda_only``, ``optional_integrations`` (lists)
        and ``conda_names`` (dict).
    """
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(path, encoding="utf-8")
    extras = {
        key: _lines(value)
        for key, value in cfg.items("options.extras_require")
    }
    tool = (
        dict(cfg.items("tool:requirements"))
        if cfg.has_section("tool:requirements")
        else {}
    )
    names = {}
    for line in _lines(tool.get("conda_names", "")):
        pip_name, conda_name = (s.strip() for s in line.split("=", 1))
        names[pip_name.lower()] = conda_name
    return {
        "install_requires": _lines(cfg.get("options", "install_requires")),
        "extras": extras,
        "pip_pins": _lines(tool.get("pip_pins", "")),
        "conda_only": _lines(tool.get("conda_only", "")),
        "optional_integrations": _lines(tool.get("optional_integrations", "")),
        "conda_names": names,
    }


def _pinned(requirements, pins):
    by_name = {requirement_name(p): p for p in pins}
    unknown = set(by_name) - {requirement_name(r) for r in requirements}
    if unknown:
        raise ValueError(f"pins of undeclared packages: {sorted(unknown)}")
    return [by_name.get(requirement_name(r), r) for r in requirements]


def _unique(names):
    seen, out = set(), []
    for name in names:
        if name.lower() not in seen:
            seen.add(name.lower())
            out.append(name)
    return out


def requirement_files(setup_cfg=ROOT / "setup.cfg"):
    """Return the text of every requirements file, by relative path.

    Parameters
    ----------
    setup_cfg : str or pathlib.Path
        The setup.cfg to read.

    Returns
    -------
    dict
        ``"requirements/<name>.txt"`` -> file text.
    """
    deps = read_setup_cfg(setup_cfg)
    extras = deps["extras"]
    pip = _pinned(deps["install_requires"], deps["pip_pins"])
    features = [k for k in extras if k not in ("test", "docs", "all")]
    conda = [requirement_name(r) for r in deps["install_requires"]]
    for key in features:
        conda += [requirement_name(r) for r in extras[key]]
    conda = [deps["conda_names"].get(n, n) for n in conda]
    conda = _unique(conda + deps["conda_only"])
    return {
        "requirements/pip.txt": HEADER
        + "# Runtime requirements (setup.cfg install_requires); torch is\n"
        "# pinned to the build CI uses, any torch >= 2.2 works.  Without a\n"
        "# GPU install the CPU build first, see README.md.\n"
        + "\n".join(pip)
        + "\n",
        "requirements/test.txt": HEADER
        + "# The [test] extra of setup.cfg.\n"
        + "\n".join(extras["test"])
        + "\n",
        "requirements/docs.txt": HEADER
        + "# The [docs] extra of setup.cfg.\n"
        + "\n".join(extras["docs"])
        + "\n",
        "requirements/conda.txt": HEADER
        + "# conda-forge packages: install_requires and every feature extra;\n"
        "# diffpy.srreal (C++ core) is conda-only and enables the 'srreal'\n"
        "# PDF calculator backend.\n" + "\n".join(conda) + "\n",
    }


def stale_files(root=ROOT):
    """Return the requirements files that differ from setup.cfg.

    Examples
    --------
    >>> stale_files()  # doctest: +SKIP
    []
    """
    root = Path(root)
    stale = []
    for rel, text in requirement_files(root / "setup.cfg").items():
        path = root / rel
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(rel)
    return stale


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="only report files that differ from setup.cfg (exit 1)",
    )
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for rel in stale:
            print(f"{rel} differs from setup.cfg", file=sys.stderr)
        if stale:
            print("run: python scripts/sync_requirements.py", file=sys.stderr)
        return 1 if stale else 0
    for rel, text in requirement_files().items():
        (ROOT / rel).write_text(text, encoding="utf-8")
        print(f"wrote {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

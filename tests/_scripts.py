"""Import a script of ``scripts/`` as a module, for its tests."""

import importlib.util
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def load_script(name):
    """Return ``scripts/<name>`` (``.py`` optional) as a fresh module."""
    stem = name[:-3] if name.endswith(".py") else name
    spec = importlib.util.spec_from_file_location(stem, SCRIPTS / f"{stem}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

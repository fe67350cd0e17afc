"""Sphinx configuration for diffpy.sgpredict."""

import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

project = "diffpy.sgpredict"
copyright = f"2026-{time.strftime('%Y')}, The Trustees of Columbia University"
author = "Billinge group"
try:
    release = version("diffpy.sgpredict")
except PackageNotFoundError:
    release = "0.0.0"
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
]
autodoc_mock_imports = []
autodoc_member_order = "bysource"
napoleon_numpy_docstring = True
napoleon_google_docstring = False
# "str or path" in parameter types means a file name
napoleon_preprocess_types = True
napoleon_type_aliases = {"path": ":class:`pathlib.Path`"}
templates_path = []
exclude_patterns = []
source_suffix = ".rst"
master_doc = "index"
html_theme = "sphinx_rtd_theme"
html_static_path = ["_static"]
nitpicky = False

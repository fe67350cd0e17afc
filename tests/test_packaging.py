"""Packaging: one dependency list, every import declared, editable install."""

import ast
import configparser
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "diffpy" / "sgpredict"

#: import name -> distribution name, where they differ
DISTRIBUTION = {"sklearn": "scikit-learn"}


def _sync_module():
    from _scripts import load_script

    return load_script("sync_requirements")


def _declared():
    deps = _sync_module().read_setup_cfg(ROOT / "setup.cfg")
    return deps


def test_requirement_files_are_generated_from_setup_cfg():
    stale = _sync_module().stale_files(ROOT)
    assert stale == [], (
        f"{stale} differ from setup.cfg; "
        "run: python scripts/sync_requirements.py"
    )


def test_pip_requirements_pin_torch_for_ci():
    text = (ROOT / "requirements" / "pip.txt").read_text()
    assert "torch==2.13.0" in text.split()


def test_test_and_all_extras_hold_every_feature_extra():
    sync = _sync_module()
    extras = _declared()["extras"]
    features = set()
    for key, reqs in extras.items():
        if key not in ("test", "docs", "all"):
            features |= set(reqs)
    assert set(extras["all"]) == features
    assert features <= set(extras["test"])
    assert "pytest" in {sync.requirement_name(r) for r in extras["test"]}


def _imported_roots(path):
    """Top-level (for diffpy: two-level) names a file imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            mods = [node.module]
        else:
            continue
        for mod in mods:
            parts = mod.split(".")
            names.add(
                ".".join(parts[:2]) if parts[0] == "diffpy" else parts[0]
            )
    return names


def test_every_import_of_the_package_is_declared():
    sync = _sync_module()
    deps = _declared()
    declared = {sync.requirement_name(r) for r in deps["install_requires"]}
    for reqs in deps["extras"].values():
        declared |= {sync.requirement_name(r) for r in reqs}
    for key in ("conda_only", "optional_integrations"):
        declared |= {sync.requirement_name(r) for r in deps[key]}
    missing = {}
    for path in sorted(SRC.rglob("*.py")):
        for name in _imported_roots(path):
            if name in sys.stdlib_module_names or name == "diffpy.sgpredict":
                continue
            dist = DISTRIBUTION.get(name, name).lower()
            if dist not in declared:
                missing.setdefault(dist, []).append(
                    str(path.relative_to(ROOT))
                )
    assert missing == {}, f"imported but not declared in setup.cfg: {missing}"


def test_editable_install_maps_the_package_with_a_finder():
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(ROOT / "setup.cfg")
    package_dir = cfg.get("options", "package_dir").split()
    # more than "= src": setuptools then installs an import finder, which
    # works beside another distribution's regular diffpy/__init__.py
    assert "diffpy.sgpredict" in package_dir


def _run(args, cwd):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.slow
def test_editable_install_imports_beside_diffpy_srfit(tmp_path):
    """A fresh venv: srfit, an editable install, srfit reinstalled."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = str(env_dir / "bin" / "python")
    pip = [py, "-m", "pip", "install", "-q"]
    _run(pip + ["diffpy.srfit>=3.2", "diffpy.structure>=3.2"], tmp_path)
    _run(pip + ["--no-deps", "-e", str(ROOT)], tmp_path)
    check = (
        "import diffpy.sgpredict, diffpy.structure, diffpy.srfit\n"
        "from diffpy.sgpredict.errors import InputError\n"
        "import diffpy.sgpredict.spacegroups as sg\n"
        "print(diffpy.sgpredict.__file__)\n"
        "print(len(sg.NUMBERS))\n"
    )
    for _ in range(2):
        out = _run([py, "-c", check], tmp_path).split()
        assert Path(out[0]) == SRC / "__init__.py"
        assert out[1] == "45"
        # srfit installed after the editable install writes its regular
        # diffpy/__init__.py again: the package must still import
        _run(
            pip + ["--force-reinstall", "--no-deps", "diffpy.srfit"], tmp_path
        )


@pytest.mark.slow
def test_wheel_holds_every_source_and_data_file(tmp_path):
    """``pip install .`` ships the model, examples and tables."""
    import shutil
    import zipfile

    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to list the tracked files")
    tracked = subprocess.run(  # tracked and new, not ignored
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"]
        + ["src"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    expected = {p[len("src/") :] for p in tracked if ".egg-info" not in p}
    # build from a copy: pip builds in the source tree (build/, egg-info)
    copy = tmp_path / "repo"
    shutil.copytree(
        ROOT / "src",
        copy / "src",
        ignore=shutil.ignore_patterns(
            "*.egg-info", "__pycache__", "*.pyc", "*.h5.partial"
        ),
    )
    for name in ("setup.cfg", "pyproject.toml", "README.md", "LICENSE.rst"):
        shutil.copy2(ROOT / name, copy / name)
    pip = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps"]
    _run(pip + ["-w", str(tmp_path), str(copy)], tmp_path)
    (wheel,) = tmp_path.glob("diffpy_sgpredict-*.whl")
    names = {
        n for n in zipfile.ZipFile(wheel).namelist() if ".dist-info" not in n
    }
    assert names == expected
    assert "diffpy/sgpredict/data/model/model.safetensors" in names

"""The wheel installs one top-level package, ``wenda``, with every sub-package and the page."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from tests.conftest import REPO

FOLDERS = {"index": "wenda.index", "api": "wenda.api", "bot": "wenda.bot"}
_CACHES = shutil.ignore_patterns("__pycache__", "*.pyc")


def _source_packages() -> set[str]:
    """Dotted names of every folder with an ``__init__.py`` under the three source folders."""
    found = set()
    for folder, dotted in FOLDERS.items():
        for init in (REPO / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / folder).parts
            found.add(".".join((dotted, *rel)))
    return found


def test_every_source_package_is_listed_in_pyproject() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    assert _source_packages() == listed


def test_wheel_has_only_the_wenda_top_level_package(tmp_path: Path) -> None:
    # Built from a copy: setuptools writes build/ and *.egg-info next to the sources.
    source = tmp_path / "src"
    for folder in FOLDERS:
        shutil.copytree(REPO / folder, source / folder, ignore=_CACHES)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    run = subprocess.run(
        [*pip_wheel, "-q", "-w", str(tmp_path), str(source)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    (wheel,) = tmp_path.glob("wenda-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"wenda", wheel.name.split("-py3")[0] + ".dist-info"}
    assert not any(n.startswith("wenda/__init__") for n in names)  # a namespace package
    assert "wenda/api/static/index.html" in names
    modules = {
        n[: -len("/__init__.py")].replace("/", ".") for n in names if n.endswith("__init__.py")
    }
    assert modules == _source_packages()

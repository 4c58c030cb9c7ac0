"""Layering: the core imports no web or bot code; the two adapters never import each other."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO

WEB = ("fastapi", "starlette", "uvicorn", "wenda.api")
BOT = ("telegram", "wenda.bot")


def _imports_of(package: str, forbidden: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    """Import every module of ``package`` in a fresh process and list forbidden modules."""
    code = (
        "import pkgutil, importlib, sys\n"
        f"pkg = importlib.import_module({package!r})\n"
        "for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(m.name)\n"
        f"bad = sorted(n for n in sys.modules if n.startswith({forbidden!r}))\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [("wenda.index", WEB + BOT), ("wenda.api", BOT), ("wenda.bot", WEB)],
)
def test_layering(package: str, forbidden: tuple[str, ...]) -> None:
    run = _imports_of(package, forbidden)
    assert run.returncode == 0, run.stdout + run.stderr

"""The core must not import web or bot code (the client's layering rule)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_index_package_imports_no_web_or_bot_code() -> None:
    code = (
        "import pkgutil, importlib, sys, index\n"
        "for m in pkgutil.iter_modules(index.__path__):\n"
        "    if m.name != 'st_embedder':\n"
        "        importlib.import_module('index.' + m.name)\n"
        "bad = [n for n in sys.modules if n.split('.')[0] in "
        "('fastapi', 'starlette', 'uvicorn', 'telegram', 'api', 'bot')]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr

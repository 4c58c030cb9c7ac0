"""A /reindex job that cannot write (read-only index folder) reports why (issue 10 item 12)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from wenda.api import create_app

from tests.api.conftest import auth, copy_seed_corpus, make_settings, wait_job, wait_ready
from tests.index.disk_faults import read_only


def test_reindex_job_reports_the_write_failure(tmp_path: Path) -> None:
    copy_seed_corpus(tmp_path / "corpus")
    settings = make_settings(tmp_path)
    with TestClient(create_app(settings)) as client:
        version = wait_ready(client)["version"]
        (settings.corpus_dir / "新文件.txt").write_text("新加入的文件。内容一句话。", "utf-8")
        try:
            with read_only(settings.index_dir):
                accepted = client.post("/reindex", headers=auth())
                assert accepted.status_code == 202
                job = wait_job(client, accepted.json()["job_id"])
        except PermissionError as exc:
            pytest.skip(f"no way to make a folder read-only here: {exc}")
        assert job["status"] == "failed"
        assert "索引写入失败" in job["error"] and version in job["error"]
        assert "内部错误" not in job["error"]
        assert client.get("/readyz").json()["version"] == version  # still serving

from __future__ import annotations

import json
from pathlib import Path

import pytest
from wenda.index.cli import main
from wenda.index.settings import Settings


@pytest.fixture
def cli_env(hashing_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("WENDA_CORPUS_DIR", str(hashing_settings.corpus_dir))
    monkeypatch.setenv("WENDA_INDEX_DIR", str(hashing_settings.index_dir))
    monkeypatch.setenv("WENDA_MODEL", "hashing")
    return hashing_settings


def test_index_then_ask_json(cli_env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index"]) == 0
    out = capsys.readouterr().out
    assert "2 added" in out and "chunks:" in out
    assert main(["index"]) == 0
    assert "2 unchanged" in capsys.readouterr().out
    assert main(["ask", "成达万高铁", "--json", "--top-k", "3"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["passages"]) == 3


def test_ask_prints_numbered_citations(cli_env: Settings, capsys) -> None:
    assert main(["ask", "中欧班列（成渝）号今年1—4月开行了多少列？"]) == 0
    out = capsys.readouterr().out
    assert "[1]" in out and "[2]" in out


def test_empty_question_is_a_clear_error_not_a_traceback(cli_env: Settings, capsys) -> None:
    assert main(["ask", "   "]) == 1
    err = capsys.readouterr().err
    assert "问题不能为空" in err and "Traceback" not in err


def test_eval_command(cli_env: Settings, tmp_path: Path, capsys) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps(
            {"id": "1", "question": "定点医疗机构5182家", "answers": ["5182家"], "type": "number"},
            ensure_ascii=False,
        )
        + "\n",
        "utf-8",
    )
    assert main(["eval", str(questions), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["metrics"]["hit@5"] == 1.0


def test_status_and_rollback(cli_env: Settings, capsys) -> None:
    assert main(["index"]) == 0
    (cli_env.corpus_dir / "x.txt").write_text("补充\n一句话。\n", "utf-8")
    assert main(["index"]) == 0
    capsys.readouterr()
    assert main(["status"]) == 0
    assert json.loads(capsys.readouterr().out)["documents"] == 3
    assert main(["rollback"]) == 0
    capsys.readouterr()
    assert main(["status"]) == 0
    assert json.loads(capsys.readouterr().out)["documents"] == 2

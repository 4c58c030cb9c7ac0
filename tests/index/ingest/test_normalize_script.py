"""Radical look-alikes are unified at load time; traditional/simplified fold for matching."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from wenda.index.ingest.cjk_table import LOOKALIKES
from wenda.index.ingest.loaders import load_bytes
from wenda.index.ingest.normalize import fold, fold_chars, match_key, normalize_for_match, unify_cjk
from wenda.index.ingest.pages import build_document
from wenda.index.store.lexical import ChineseTokenizer

REPO = Path(__file__).resolve().parents[3]


def test_radicals_and_compatibility_ideographs_become_unified_ideographs() -> None:
    # ⻔ U+2ED4 (supplement), ⾯ U+2F6F and ⼈ U+2F08 (Kangxi), 豈 U+F900 (compatibility)
    assert unify_cjk("⻔票、⾯积、⼈口、\uf900") == "门票、面积、人口、豈"
    assert unify_cjk("（全角：标点）ＡＢ") == "（全角：标点）ＡＢ"  # widths untouched
    text = "⻓江⻛景⻢上⻅"
    assert len(unify_cjk(text)) == len(text)


def test_shipped_table_is_what_the_script_generates() -> None:
    spec = importlib.util.spec_from_file_location("gen", REPO / "bench" / "gen_cjk_table.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert gen.build_table() == LOOKALIKES
    assert (REPO / "index" / "ingest" / "cjk_table.py").read_text("utf-8") == gen.render(LOOKALIKES)
    assert LOOKALIKES[0x2ED4] == "门" and 0x2ED0 not in LOOKALIKES  # ⻐ is a component (钅)


def test_look_alikes_are_fixed_in_the_cited_text() -> None:
    raw = "景区⻔票\n\n海棠湖景区⻔票价格为每⼈⼋⼗元，⾯向全体游客。".encode()
    doc = build_document("票价.txt", load_bytes("票价.txt", raw), "h")
    assert "海棠湖景区门票价格为每人八十元，面向全体游客。" in doc.text
    assert not any(0x2E80 <= ord(ch) <= 0x2FDF for ch in doc.text)


def test_traditional_and_simplified_fold_to_the_same_tokens() -> None:
    assert fold("臺灣的資訊產業") == "台湾的资讯产业"
    assert fold_chars("門票資訊") == "门票资讯" and len(fold_chars("門票")) == 2
    assert normalize_for_match("門票ＡＢ") == "门票ab"
    assert match_key("門票") == match_key("门票")
    tok = ChineseTokenizer()
    assert tok.query_terms("台湾大学的门票多少钱") == tok.query_terms("臺灣大學的門票多少錢")
    assert "门票" in tok.tokens("國立臺灣大學門票")

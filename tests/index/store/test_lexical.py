from __future__ import annotations

from pathlib import Path

from wenda.index.store.lexical import ChineseTokenizer, LexicalIndex


def test_tokens_treat_full_and_half_width_alike() -> None:
    tok = ChineseTokenizer()
    assert tok.tokens("ＧＤＰ增长５１８２家") == tok.tokens("GDP增长5182家")
    assert "5182" in tok.tokens("定点医疗机构5182家")


def test_query_terms_drop_question_words() -> None:
    terms = ChineseTokenizer().query_terms("川渝两地住院费用直接结算的定点医疗机构有多少家？")
    assert "多少" not in terms and "的" not in terms
    assert "结算" in terms


def test_bm25_finds_exact_number_and_roundtrips(tmp_path: Path) -> None:
    tok = ChineseTokenizer()
    texts = [
        "两地住院费用直接结算定点医疗机构5182家。",
        "成达万高铁可研报告获批。",
        "川渝两地共建科技创新中心。",
    ]
    index = LexicalIndex.build([tok.tokens(t) for t in texts])
    ids, scores = index.search(tok.query_terms("5182家"), 3)
    assert ids.tolist()[0] == 0 and scores[0] > 0
    index.save(tmp_path / "lex")
    loaded = LexicalIndex.load(tmp_path / "lex")
    ids2, _ = loaded.search(tok.query_terms("成达万高铁"), 3)
    assert ids2.tolist()[0] == 1
    assert loaded.term_idf("从未出现的词") > loaded.max_idf


def test_empty_index_returns_nothing(tmp_path: Path) -> None:
    index = LexicalIndex.build([])
    ids, _ = index.search(["成都"], 5)
    assert ids.size == 0
    index.save(tmp_path / "lex")
    assert LexicalIndex.load(tmp_path / "lex").search(["成都"], 5)[0].size == 0


def test_words_cover_the_text_once_without_punctuation() -> None:
    """Precise mode: the words tile the text (search mode adds overlapping sub-words)."""
    tok = ChineseTokenizer()
    text = "川渝两地住院费用直接结算，共5182家。"
    words = tok.words(text)
    assert "".join(words) == "川渝两地住院费用直接结算共5182家"
    assert len(tok.tokens(text)) > len(words)

from __future__ import annotations

import pytest
from wenda.index.models import Chunk
from wenda.index.query.answer import MISSING_TYPE_REASON, explain, nameable
from wenda.index.query.answer_types import holds_type
from wenda.index.query.features import SPAN_FEATURES, candidate_spans
from wenda.index.query.numbers import unit_hit
from wenda.index.query.pipeline import match_form as match
from wenda.index.query.question import TYPE_NAMES, read_question
from wenda.index.store.lexical import ChineseTokenizer


def _spans(question: str, text: str, section: str = ""):
    tok = ChineseTokenizer()
    q = read_question(question, tok.query_terms(question), lambda t: 1.0, match)
    chunk = Chunk("d.txt", "标题", section, 0, len(text), text)
    spans = candidate_spans(q, [chunk], [1.0], [0.8], match)
    return [(s.text, dict(zip(SPAN_FEATURES, s.features, strict=True))) for s in spans]


def test_sentences_and_pairs_are_candidates() -> None:
    spans = _spans("图书馆馆长是谁？", "图书馆藏书十万册。现任馆长为林晓雯。她曾在北京工作。")
    texts = [t for t, _ in spans]
    assert "现任馆长为林晓雯。" in texts
    assert "图书馆藏书十万册。现任馆长为林晓雯。" in texts  # a pair
    f = dict(spans)["现任馆长为林晓雯。"]
    assert f["type_hit"] == 1.0 and f["pair"] == 0.0  # jieba tags 林晓雯 as a person
    assert dict(spans)["图书馆藏书十万册。"]["type_miss"] == 1.0


def test_ordinals_and_numbers_must_agree() -> None:
    spans = dict(_spans("第10条规定了什么？", "第8条规定了期限。第10条规定了罚则。"))
    assert spans["第8条规定了期限。"]["ordinal_conflict"] == 1.0
    assert spans["第10条规定了罚则。"]["ordinal_conflict"] == 0.0
    spans = dict(_spans("2022年全年开行多少列？", "今年1—4月开行1936列。"))
    assert spans["今年1—4月开行1936列。"]["num_missing"] == 1.0


def test_numbers_match_whole_and_ordinals_in_either_script() -> None:
    """ "10" is not in "第105条" or "2010年" (it was, as a substring); "第一届" is "第1届"."""
    spans = dict(_spans("第10条规定了什么？", "第105条规定了期限。2010年第10条修订。"))
    assert spans["第105条规定了期限。"]["num_missing"] == 1.0
    assert spans["第105条规定了期限。"]["ordinal_conflict"] == 1.0
    assert spans["2010年第10条修订。"]["num_missing"] == 0.0
    spans = dict(_spans("1月有几场比赛？", "1929年举行比赛。"))
    assert spans["1929年举行比赛。"]["num_missing"] == 1.0
    spans = dict(_spans("第一届大会在哪里举行？", "第1届大会在北京举行。"))
    assert spans["第1届大会在北京举行。"]["ordinal_conflict"] == 0.0
    spans = dict(_spans("增长了3.5%吗？", "增长3.55%。"))
    assert spans["增长3.55%。"]["num_missing"] == 1.0


def test_traditional_text_matches_simplified_question() -> None:
    spans = dict(_spans("这座图书馆的馆长是谁？", "這座圖書館的館長是林曉雯。"))
    (features,) = spans.values()
    assert features["cov"] > 0.9


def test_answer_types_in_text() -> None:
    assert holds_type("money", "票价为120元。", "票价为120元。")
    assert holds_type("area", "面积达2.5平方公里", "面积达2.5平方公里")
    assert holds_type("date", "1998年7月1日开馆", "1998年7月1日开馆")
    assert not holds_type("money", "共有120个站点", "共有120个站点")


@pytest.mark.parametrize(
    ("kind", "text"),
    [  # answers the first recognizers missed, mostly on traditional Wikipedia (DRCD)
        ("money", "累计投资5万余元"),
        ("measure", "隧道全长300多米"),
        ("count", "林默娘廿八歲時溺斃"),
        ("count", "主要分为两类"),
        ("count", "占西藏總面積的五分之一"),
        ("measure", "防火山道全長二千九百公尺"),
        ("measure", "株距約20㎝"),
        ("duration", "忍受了6個小時的煎熬"),
        ("date", "至元十三年二月十一日"),
        ("date", "七月初四帶兵包圍了燕王府"),
        ("date", "白堊紀中期開始隆起"),
        ("date", "一次大戰期間"),
        ("year", "國民政府自民國18年起實行"),
        ("year", "西漢元封二年，漢武帝派兵"),
        ("year", "1998年7月1日开馆"),
    ],
)
def test_answer_types_in_chinese_numerals_and_traditional_forms(kind: str, text: str) -> None:
    assert holds_type(kind, text, text)


def test_a_year_question_is_not_answered_by_a_day() -> None:
    assert holds_type("date", "11月4日 国家发展改革委正式批复", "11月4日")
    assert not holds_type("year", "11月4日 国家发展改革委正式批复", "11月4日")
    assert not holds_type("date", "为纪念建馆而设", "为纪念建馆而设")  # 纪念 is no period


def test_focus_term_features() -> None:
    """The span naming the thing asked about, with a value of the asked type beside it."""
    text = "新建的公交线路有9条。全市现有机场2座，其中1座在建。市内有多座公园。"
    spans = dict(_spans("全市有几座机场？", text))
    airport = spans["全市现有机场2座，其中1座在建。"]
    assert airport["focus"] == 1.0 and airport["focus_near"] == 1.0 and airport["has_focus"]
    bus = spans["新建的公交线路有9条。"]
    assert bus["focus"] == 0.0 and bus["focus_near"] == 0.0 and bus["focus_passage"] == 1.0


def test_numbers_match_chinese_numerals() -> None:
    spans = dict(_spans("严长寿23岁时做了什么？", "二十三岁经朋友介绍，进入美国运通工作。"))
    (features,) = spans.values()
    assert features["num_missing"] == 0.0
    spans = dict(_spans("严长寿24岁时做了什么？", "二十三岁经朋友介绍，进入美国运通工作。"))
    (features,) = spans.values()
    assert features["num_missing"] == 1.0


@pytest.mark.parametrize("text", ["5万余家", "40多家", "10余家", "1.5万多家", "三百家", "5182家"])
def test_the_asked_measure_word_follows_approximate_numbers(text: str) -> None:
    """ "重庆在四川投资的民营企业5万余家" answers "多少家": 万 before 余 was not read, so the
    span model chose "40多家配套企业" of the sentence before."""
    assert unit_hit("家", text) == 1.0
    assert unit_hit("家", "家里有人") == 0.0


def test_an_ordinal_is_no_count_and_the_generic_classifier_takes_any() -> None:
    """ "多少个嫌疑人": "第一个联合治安联调室" counts nothing (it was chosen for its 一个), while
    "抓捕嫌疑人29人" answers, since 个 stands for whatever classifier the noun takes."""
    assert unit_hit("个", "第一个联合治安联调室") == 0.0
    assert unit_hit("座", "第3座") == 0.0
    assert unit_hit("个", "抓捕嫌疑人29人") == 1.0
    assert unit_hit("个", "十一个") == 1.0
    assert unit_hit("项", "抓捕嫌疑人29人") == 0.0  # a specific measure word stays specific


def test_refusal_reason_skips_words_jieba_made_up() -> None:
    tok = ChineseTokenizer()
    question = "四川的人到重庆看病，累计有多少人办了备案？"
    q = read_question(question, tok.query_terms(question), lambda t: 1.0, match)
    assert "人办" in q.terms  # an HMM word: not in jieba's dictionary
    union = match("四川参保人员到重庆就医，办理备案23.88万人。")
    reason, missing = explain(q, [], union)
    assert "人办" not in missing and "人办" not in reason
    assert "看病" in missing and "看病" in reason
    # a made-up word whose characters the passages lack is still named
    reason, missing = explain(q, [], match("四川重庆备案。"))
    assert "人办" in missing


def test_late_columns_come_from_the_passages_sentence_scores() -> None:
    """With sentence scores for every top passage each span gets its late cosine, its gap
    to the best span and that best; without, the columns stay 0 (the ``dense`` variant)."""
    import numpy as np
    from wenda.index.embedding.sentence_states import pack
    from wenda.index.query.late import sentence_scores

    text = "图书馆藏书十万册。现任馆长为林晓雯。她曾在北京工作。"
    rng = np.random.default_rng(3)
    states = rng.standard_normal((3, 8)).astype(np.float32)
    q_vec = states[1] / np.linalg.norm(states[1])  # the question "means" sentence 2
    chunk = Chunk("d.txt", "标题", "", 0, len(text), text, states=pack(states))
    tok = ChineseTokenizer()
    question = "图书馆馆长是谁？"
    q = read_question(question, tok.query_terms(question), lambda t: 1.0, match)
    scores = sentence_scores(chunk, q_vec)
    assert scores is not None
    spans = candidate_spans(q, [chunk], [1.0], [0.8], match, (), [scores])
    col = {n: SPAN_FEATURES.index(n) for n in ("late", "late_gap", "late_best")}
    by_text = {s.text: s.features for s in spans}
    best = by_text["现任馆长为林晓雯。"]
    assert best[col["late"]] > 0.99 and best[col["late_gap"]] == 0.0
    assert all(f[col["late_best"]] == best[col["late"]] for f in by_text.values())
    assert all(f[col["late_gap"]] < 0 for t, f in by_text.items() if t != "现任馆长为林晓雯。")
    plain = candidate_spans(q, [chunk], [1.0], [0.8], match)
    assert all(s.features[c] == 0.0 for s in plain for c in col.values())


def test_refusal_reason_names_things_first_and_skips_function_words() -> None:
    """ "分娩过程中…对于准妈妈考验最强的是哪一个期间" lacks only 对于/一个/期间 beside a thing:
    the reason names the thing (and an open-class verb after it), never a function word."""
    assert nameable(["对于", "属于", "一个", "期间", "票价", "2023", "通常"]) == [
        "票价",
        "2023",
        "属于",
    ]
    tok = ChineseTokenizer()
    question = "对于一个游客来说，景区的票价通常是多少？"
    q = read_question(question, tok.query_terms(question), lambda t: 1.0, match)
    reason, missing = explain(q, [], match("景区位于山区，游客众多。"))
    assert missing[0] == "票价" and "票价" in reason
    assert not {"对于", "一个", "通常"} & set(missing)


def test_refusal_reason_reads_numbers_as_the_number_rule_does() -> None:
    """ "10" inside "105" is not there; "23" written "二十三" is."""
    tok = ChineseTokenizer()
    question = "第10条规定的23岁以上人员有多少？"
    q = read_question(question, tok.query_terms(question), lambda t: 1.0, match)
    assert {"10", "23"} <= set(q.terms)
    _, missing = explain(q, [], match("第105条：二十三岁以上人员须登记。"))
    assert "10" in missing and "23" not in missing


def test_refusal_reason_never_names_the_question_phrase() -> None:
    """ "多长时间" asks for the answer (a duration); the documents lacking it says nothing.
    The reason falls back to the kind of value asked for."""
    tok = ChineseTokenizer()
    question = "重庆到成都的高铁要多长时间？"
    q = read_question(question, tok.query_terms(question), lambda t: 1.0, match)
    assert "多长时间" in q.terms
    reason, missing = explain(q, [], match("重庆到成都的高铁已经开通。"))
    assert "多长时间" not in missing and "多长时间" not in reason
    assert reason == MISSING_TYPE_REASON.format(kind=TYPE_NAMES["duration"])

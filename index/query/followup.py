"""Resolve an elliptical follow-up question against the previous turn of a conversation.

People ask "那重庆呢？", "第二批呢？" or "它是什么时候开通的？" after a first question; retrieval
on the fragment alone finds nothing useful. The fragment is rewritten into a stand-alone
question by carrying over the previous question's content and replacing the part the new
question names. Rules are deliberately conservative: a question that stands on its own comes
back unchanged (same string), because a wrong rewrite is worse than none.

Three kinds of follow-up are recognised:

- substitution, "X呢？" / "那X？": X replaces its counterpart in the previous question
  (same numeric shape such as 第一批 → 第二批, the span of shared words such as
  重庆在四川 → 四川在重庆, or a proper noun such as 川渝 → 重庆);
- pronoun, "它/其/该/它们 …": the pronoun becomes the previous question's topic phrase;
- aspect, a short question with no subject of its own ("总投资多少？", "在哪里闭幕？"): the
  previous question's topic phrase is put in front.

Pure and cheap: jieba part-of-speech tags only, no index access.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wenda.index.store.lexical import STOPWORDS, ChineseTokenizer

PRONOUNS = frozenset("它 它们 其 该 此 他们 她们 上述 这项 这些 这个 此次 这次 该项".split())  # noqa: SIM905
OPENERS = ("那么", "那", "还有", "另外", "而")
_ASPECT = (
    "时候 时间 日期 规模 数量 人数 金额 总量 地方 地点 情况 目标 形式 方式 内容 原因 范围 名字 名称"
)
ASPECT_NOUNS = frozenset(_ASPECT.split())
PROPER_FLAGS = frozenset({"ns", "nr", "nt", "nz", "nrt", "nrfg", "j", "eng"})
QUESTION_WORDS = frozenset(
    "多少 几 什么 哪 哪些 哪个 哪里 哪天 哪年 如何 怎么 怎样 为什么 何时".split()  # noqa: SIM905
)
MAX_FRAGMENT_CHARS = 12  # "X呢" / "那X" longer than this is a question of its own
MAX_ASPECT_CHARS = 10

_END_PUNCT = "？?。！!.，, \t\r\n"
_NUMERAL = "零〇一二三四五六七八九十百千万两\\d"
_NUMERAL_RUN = re.compile(f"[{_NUMERAL}]+")
_WORD = re.compile(r"\w")


@dataclass(frozen=True)
class _Token:
    word: str
    flag: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.word)


_POS_LOCK = threading.Lock()
_POS: dict[int, Any] = {}


def _pos_tokenizer(tokenizer: ChineseTokenizer) -> Any:
    """A jieba POS tagger sharing the tokenizer's loaded dictionary (built once)."""
    base = tokenizer._tokenizer()  # the process-wide jieba dictionary
    with _POS_LOCK:
        tagger = _POS.get(id(base))
        if tagger is None:
            import jieba.posseg

            tagger = jieba.posseg.POSTokenizer(base)
            _POS[id(base)] = tagger
    return tagger


def _tag(text: str, tokenizer: ChineseTokenizer) -> list[_Token]:
    out, pos = [], 0
    for pair in _pos_tokenizer(tokenizer).cut(text):
        out.append(_Token(pair.word, pair.flag, pos))
        pos += len(pair.word)
    return out


def _is_nounish(tok: _Token) -> bool:
    return tok.flag in PROPER_FLAGS or (tok.flag.startswith("n") and len(tok.word) >= 2)


def _is_breaker(tok: _Token) -> bool:
    """Where a subject phrase ends: verbs, adverbs, particles, prepositions, question words."""
    if tok.word in QUESTION_WORDS or not _WORD.search(tok.word):
        return True
    if tok.flag == "vn":
        return False
    if tok.flag.startswith("t"):
        return len(tok.word) > 1  # 今年 ends a subject; 节 in 诗歌节 does not
    return tok.flag[:1] in {"v", "r", "p", "d", "u", "y", "c"}


def topic_phrase(question: str, tokenizer: ChineseTokenizer) -> str:
    """The leading subject phrase of a question ("中欧班列(成渝)号今年…" → "中欧班列(成渝)号")."""
    collected: list[_Token] = []
    noun_seen = False
    for tok in _tag(question, tokenizer):
        if noun_seen:
            if _is_breaker(tok) and tok.word not in "()（）":
                break
            collected.append(tok)
            continue
        if not _WORD.search(tok.word) and tok.word not in "()（）":
            collected = []  # a clause boundary before any noun: start again
        elif tok.flag[:1] in {"p", "c", "d", "r", "u", "y"} or tok.word in QUESTION_WORDS:
            continue
        else:
            collected.append(tok)
            noun_seen = _is_nounish(tok)
    if not noun_seen:
        return ""
    return "".join(t.word for t in collected).strip()


def _strip_end(text: str) -> str:
    return text.strip().rstrip(_END_PUNCT)


def _fragment(body: str) -> str | None:
    """X of "X呢" or "那X", or None when the question is not of that shape."""
    has_ne = body.endswith("呢")
    core = body[:-1] if has_ne else body
    opener = next((o for o in OPENERS if core.startswith(o)), None)
    if opener is not None:
        core = core[len(opener) :]
    elif not has_ne:
        return None
    core = core.strip(" ，,").removesuffix("的")
    if not core or len(core) > MAX_FRAGMENT_CHARS:
        return None
    return core


def _numeric_substitute(previous: str, fragment: str) -> str | None:
    """第一批 → 第二批, 2020年 → 2022年: same shape, other number."""
    if not _NUMERAL_RUN.search(fragment):
        return None
    pattern = f"[{_NUMERAL}]+".join(re.escape(part) for part in _NUMERAL_RUN.split(fragment))
    for match in re.finditer(pattern, previous):
        if match.group(0) != fragment:
            return previous[: match.start()] + fragment + previous[match.end() :]
    return None


def _overlap_substitute(previous: str, fragment: str, tokenizer: ChineseTokenizer) -> str | None:
    """重庆在四川 → 四川在重庆: replace the span of the previous question the fragment reuses."""
    content = [t for t in _tag(fragment, tokenizer) if _WORD.search(t.word)]
    content = [t for t in content if t.word not in STOPWORDS and len(t.word) >= 2]
    shared = [t.word for t in content if t.word in previous]
    if not shared or (len(shared) == len(content) and fragment in previous):
        return None
    if len(shared) < 2 and len(content) > 1:
        return None  # one shared word is too little to locate the counterpart span
    starts = [previous.find(w) for w in shared]
    ends = [previous.find(w) + len(w) for w in shared]
    lo, hi = min(starts), max(ends)
    if previous[lo:hi] == fragment:
        return None
    return previous[:lo] + fragment + previous[hi:]


def _proper_substitute(previous: str, fragment: str, tokenizer: ChineseTokenizer) -> str | None:
    """川渝 → 重庆, 迁入重庆 → 迁入四川: the fragment names another place or organisation.

    Applies when every other word of the fragment is carried over from the previous
    question; the previous question's first proper noun the fragment does not repeat is
    replaced by the fragment's proper noun(s).
    """
    frag_tokens = [t for t in _tag(fragment, tokenizer) if _WORD.search(t.word)]
    names = [t.word for t in frag_tokens if t.flag in PROPER_FLAGS]
    others = [t.word for t in frag_tokens if t.flag not in PROPER_FLAGS]
    if not names or not all(w in previous for w in others):
        return None
    new_name = "".join(names) if not others else names[0]
    if len(names) > 1 and others:
        return None
    runs: list[tuple[int, int]] = []
    for tok in _tag(previous, tokenizer):
        if tok.flag in PROPER_FLAGS:
            if runs and runs[-1][1] == tok.start:
                runs[-1] = (runs[-1][0], tok.end)
            else:
                runs.append((tok.start, tok.end))
    for lo, hi in runs:
        if previous[lo:hi] not in fragment:
            return previous[:lo] + new_name + previous[hi:]
    return None


def _substitute(previous: str, fragment: str, tokenizer: ChineseTokenizer) -> str:
    for rule in (
        lambda: _numeric_substitute(previous, fragment),
        lambda: _overlap_substitute(previous, fragment, tokenizer),
        lambda: _proper_substitute(previous, fragment, tokenizer),
    ):
        rewritten = rule()
        if rewritten is not None:
            return rewritten
    topic = topic_phrase(previous, tokenizer)
    if topic and topic not in fragment:
        return f"{topic}{fragment}？"
    return f"{fragment}，{previous}"


def _stands_alone(tokens: Sequence[_Token], body: str) -> bool:
    """Has a subject of its own: a proper noun, a number, or a content noun."""
    if len(body) > MAX_ASPECT_CHARS or _NUMERAL_RUN.search(body):
        return True
    return any(_is_nounish(t) and t.word not in ASPECT_NOUNS for t in tokens)


def _resolve_one(previous: str, question: str, tokenizer: ChineseTokenizer) -> str:
    body = _strip_end(question)
    prev = previous.strip()
    if not body or not prev:
        return question
    fragment = _fragment(body)
    if fragment is not None:
        return _substitute(prev, fragment, tokenizer)
    tokens = _tag(body, tokenizer)
    pronoun = next((t for t in tokens if t.word in PRONOUNS), None)
    if pronoun is not None:
        topic = topic_phrase(prev, tokenizer) or _strip_end(prev)
        return f"{body[: pronoun.start]}{topic}{body[pronoun.end :]}？"
    if _stands_alone(tokens, body):
        return question
    topic = topic_phrase(prev, tokenizer)
    return f"{topic}{body}？" if topic else question


def resolve_followup(
    history: Sequence[str], question: str, tokenizer: ChineseTokenizer | None = None
) -> str:
    """The stand-alone form of ``question`` given the earlier user questions (oldest first).

    The history is resolved as a chain (each turn against the resolved turn before it), so
    a stateless caller passes the raw earlier user messages. A question that stands on its
    own is returned unchanged (the very same string).
    """
    tok = tokenizer or ChineseTokenizer()
    previous: str | None = None
    for turn in history:
        if not turn or not turn.strip():
            continue
        previous = turn if previous is None else _resolve_one(previous, turn, tok)
    if previous is None:
        return question
    return _resolve_one(previous, question, tok)

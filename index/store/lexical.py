"""Lexical side of hybrid search: jieba tokens, BM25 (bm25s), and IDF for answer scoring.

Lexical search is what finds exact strings (numbers, names, ids such as "5182家" or
"成达万高铁") that dense embeddings blur.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from wenda.index.ingest.normalize import match_key

TOKENIZER_NAME = "jieba-search-nfkc-t2s-v2"  # t2s: traditional folded to simplified

# Function words and question words that carry no topic (kept short on purpose: BM25's IDF
# already discounts common words; these would only add noise to answer scoring).
STOPWORDS = frozenset(
    """
    的 了 是 在 和 与 及 或 等 也 都 就 而 并 又 被 把 对 从 向 由 为 以
    于 之 其 这 那 哪 哪些 哪个 哪里 什么 多少 几 怎么 怎样 如何 为什么
    吗 呢 吧 啊 有 没有 个 还 是否 请问 一共 共 目前 现在 么 啥 谁 多 要
    会 能 可以 所 该 此 每 各 a an the of to in on is are was
    """.split()  # noqa: SIM905 - a word list reads better as text
)
_WORD = re.compile(r"\w", re.UNICODE)

log = logging.getLogger("wenda.lexical")


_JIEBA_LOCK = threading.Lock()
_JIEBA: list[object] = []  # the loaded dictionary (read-only once built), shared per process


def _jieba_tokenizer():
    """Load jieba's dictionary once per process (about a second), on first use."""
    with _JIEBA_LOCK:
        if not _JIEBA:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            tok = jieba.Tokenizer()
            tok.initialize()
            _JIEBA.append(tok)
    return _JIEBA[0]


def dictionary_frequency(word: str) -> int:
    """``word``'s count in jieba's dictionary; 0 for words its HMM makes up ("人办")."""
    return int(_jieba_tokenizer().FREQ.get(word) or 0)


class ChineseTokenizer:
    """jieba in search mode over NFKC-normalized, lower-cased, simplified-script text."""

    def _tokenizer(self):
        return _jieba_tokenizer()

    def tokens(self, text: str) -> list[str]:
        """All word tokens (no punctuation or spaces) for indexing."""
        norm = match_key(text)  # NFKC + traditional→simplified, same for documents and questions
        return [t for t in self._tokenizer().cut_for_search(norm) if _WORD.search(t)]

    def words(self, text: str) -> list[str]:
        """Word tokens in jieba's precise mode (no overlapping sub-words): how long a text
        is, in words."""
        norm = match_key(text)
        return [t for t in self._tokenizer().cut(norm) if _WORD.search(t)]

    def query_terms(self, text: str) -> list[str]:
        """Distinct content tokens of a question, stopwords removed, in order."""
        seen: dict[str, None] = {}
        for tok in self.tokens(text):
            if tok not in STOPWORDS:
                seen.setdefault(tok, None)
        return list(seen)


class LexicalIndex:
    """BM25 over pre-tokenized chunks plus per-token IDF, saved in a version directory."""

    def __init__(self, bm25, idf: dict[str, float], n_docs: int) -> None:
        self._bm25 = bm25
        self.idf = idf
        self.n_docs = n_docs
        self.max_idf = max(idf.values(), default=1.0)

    @classmethod
    def build(cls, token_lists: Sequence[Sequence[str]]) -> LexicalIndex:
        import bm25s

        bm25 = None
        if token_lists:
            bm25 = bm25s.BM25()
            bm25.index([list(t) if t else [""] for t in token_lists], show_progress=False)
        return cls(bm25, compute_idf(token_lists), len(token_lists))

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        if self._bm25 is not None:
            self._bm25.save(str(directory / "bm25"))
        payload = {"n_docs": self.n_docs, "idf": self.idf}
        (directory / "idf.json").write_text(json.dumps(payload, ensure_ascii=False), "utf-8")

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        import bm25s

        payload = json.loads((directory / "idf.json").read_text("utf-8"))
        bm25 = None
        if (directory / "bm25").exists():
            bm25 = bm25s.BM25.load(str(directory / "bm25"))
        return cls(bm25, payload["idf"], payload["n_docs"])

    def scores(self, tokens: Iterable[str]) -> np.ndarray:
        """BM25 score of every chunk (zeros when nothing matches)."""
        terms = list(tokens)
        if self._bm25 is None or not terms or self.n_docs == 0:
            return np.zeros(self.n_docs, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(terms), dtype=np.float32)

    def search(self, tokens: Iterable[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k chunk ids and BM25 scores (only chunks that share a token)."""
        scores = self.scores(tokens)
        if not scores.size or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        keep = scores[top] > 0
        return top[keep].astype(np.int64), scores[top][keep].astype(np.float32)

    def term_idf(self, term: str) -> float:
        """IDF of a term; unseen terms get more than any seen one (they are the rarest)."""
        return self.idf.get(term, self.max_idf + 1.0)


def compute_idf(token_lists: Sequence[Sequence[str]]) -> dict[str, float]:
    df: Counter[str] = Counter()
    for toks in token_lists:
        df.update(set(toks))
    n = len(token_lists)
    return {t: math.log(1.0 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}

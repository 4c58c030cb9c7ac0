"""Turn answers into Telegram HTML: escaped text, bold answer spans, numbered citations.

Pure functions (no Telegram objects) so they are unit-tested without a bot. Everything that
comes from a document or a user goes through :func:`html.escape`; documents do contain
``<``, ``&`` and ``*``.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from html import escape

from wenda.bot.splitting import split_html
from wenda.index.models import Answer, BuildReport, DocumentInfo, IndexStatus, Passage
from wenda.index.query.answer import NO_ANSWER

SNIPPET_CHARS = 110
"""Width of a citation snippet (the brief asks for roughly 80–120 characters)."""

SHOWN_PASSAGES = 3
"""Citations in the first reply; the rest sit behind the "更多来源" button."""

MAX_TITLES_IN_HELP = 30
EXAMPLE_QUESTION = "川渝两地住院费用直接结算的定点医疗机构有多少家？"
NOT_FOUND = NO_ANSWER  # one no-answer text for the core, the bot and the API
_SENTENCE_ENDS = "。！？；!?;"


def tidy_with_map(text: str) -> tuple[str, list[int]]:
    """Collapse every whitespace run to one space and trim the ends.

    Chat snippets read better on one line; the core has already rejoined broken lines, so
    what remains are paragraph and heading breaks, shown as a space. Returns the tidy text
    and ``mapping[i]`` = position in it of ``text[i]`` (``len(text) + 1`` entries) so answer
    offsets survive the clean-up.
    """
    out: list[str] = []
    mapping = [0] * (len(text) + 1)
    i, n = 0, len(text)
    while i < n:
        if not text[i].isspace():
            mapping[i] = len(out)
            out.append(text[i])
            i += 1
            continue
        j = i
        while j < n and text[j].isspace():
            j += 1
        for k in range(i, j):
            mapping[k] = len(out)
        if out and j < n:
            out.append(" ")
        i = j
    mapping[n] = len(out)
    return "".join(out), mapping


def tidy(text: str) -> str:
    return tidy_with_map(text)[0]


def _body_and_span(passage: Passage, answer: str | None) -> tuple[str, tuple[int, int] | None]:
    """The passage text minus a leading copy of its section heading (the citation line
    already shows it), and the answer span relative to that text."""
    span = answer_span(passage, answer) if answer else None
    section = passage.section.strip()
    stripped = passage.text.lstrip()
    skip = 0
    if section and section != passage.title.strip() and stripped.startswith(section):
        at = len(passage.text) - len(stripped) + len(section)
        if at < len(passage.text) and passage.text[at].isspace():
            skip = at
    if span is None:
        return passage.text[skip:], None
    if span[0] < skip:  # the answer overlaps the heading: keep the text whole
        return passage.text, span
    return passage.text[skip:], (span[0] - skip, span[1] - skip)


def answer_span(passage: Passage, answer: str) -> tuple[int, int] | None:
    """Where the answer lies inside ``passage.text``, or None.

    The contract does not say whether ``answer_start``/``answer_end`` count from the passage
    or from the document, so both readings are tried and the one whose text matches the
    answer wins; failing that, the answer string is searched for (also whitespace-tidied).
    """
    wanted = tidy(answer)
    valid: list[tuple[int, int]] = []
    if passage.answer_start is not None and passage.answer_end is not None:
        readings = [
            (passage.answer_start, passage.answer_end),
            (passage.answer_start - passage.start, passage.answer_end - passage.start),
        ]
        valid = [(a, b) for a, b in readings if 0 <= a < b <= len(passage.text)]
        for a, b in valid:
            found = tidy(passage.text[a:b])
            if wanted and found and (wanted in found or found in wanted):
                return a, b
    if wanted:
        at = passage.text.find(answer)
        if at >= 0:
            return at, at + len(answer)
        clean, mapping = tidy_with_map(passage.text)
        at = clean.find(wanted)
        if at >= 0:
            return bisect_left(mapping, at), bisect_left(mapping, at + len(wanted))
    return valid[0] if valid else None


def highlight_html(text: str, span: tuple[int, int] | None) -> str:
    """The whole text, tidied and escaped, with the span in bold."""
    clean, mapping = tidy_with_map(text)
    if span is None:
        return escape(clean)
    start, end = mapping[span[0]], mapping[span[1]]
    if start >= end:
        return escape(clean)
    return f"{escape(clean[:start])}<b>{escape(clean[start:end])}</b>{escape(clean[end:])}"


def snippet_html(text: str, span: tuple[int, int] | None, width: int = SNIPPET_CHARS) -> str:
    """About ``width`` characters of ``text`` around ``span`` (bold), with ellipses.

    When the window starts mid-text it moves to the first sentence beginning inside it,
    so the snippet reads naturally rather than starting mid-word.
    """
    clean, mapping = tidy_with_map(text)
    size = len(clean)
    start, end = (mapping[span[0]], mapping[span[1]]) if span else (0, 0)
    if end - start >= width:
        left, right = start, start + width
    else:
        room = width - (end - start)
        left = max(0, start - room // 2)
        right = min(size, left + width)
        left = max(0, right - width)
        if left > 0:  # begin at the first sentence start in the window, if any
            cuts = [at for mark in _SENTENCE_ENDS if (at := clean.find(mark, left, start)) >= 0]
            if cuts:
                left = min(cuts) + 1
                right = min(size, max(right, left + width))
    bold_end = min(end, right)
    body = (
        escape(clean[left:start])
        + (f"<b>{escape(clean[start:bold_end])}</b>" if bold_end > start else "")
        + escape(clean[max(bold_end, left) : right])
    )
    return ("…" if left > 0 else "") + body + ("…" if right < size else "")


def citation_html(
    passage: Passage, number: int, answer: str | None, *, snippet: bool = True
) -> str:
    """``[n] 《title》 · section · 第p页`` then the snippet (answer in bold if ``answer``)."""
    head = f"<b>[{number}]</b> 《{escape(tidy(passage.title))}》"
    section = tidy(passage.section)
    if section and section != tidy(passage.title):
        head += f" · {escape(section)}"
    if passage.page:
        head += f" · 第{passage.page}页"
    if not snippet:
        return head
    return f"{head}\n{snippet_html(*_body_and_span(passage, answer))}"


def passage_number(passage: Passage, index: int) -> int:
    """The core numbers citations from 1; fall back to the position when it did not."""
    return passage.n if passage.n > 0 else index + 1


def answer_html(answer: Answer, shown: int = SHOWN_PASSAGES) -> str:
    """The answer text followed by the first ``shown`` citations (one HTML string)."""
    if answer.answerable:
        lines = [f"<b>答：</b>{escape(tidy(answer.answer))}"]
        highlight: str | None = answer.answer
    else:
        why = escape(answer.reason or NOT_FOUND)
        lines = [why + ("\n以下是最接近的段落，仅供参考：" if answer.passages else "")]
        highlight = None
    cited = [
        citation_html(p, passage_number(p, i), highlight)
        for i, p in enumerate(answer.passages[:shown])
    ]
    if cited and answer.answerable:
        cited[0] = f"<b>来源：</b>\n{cited[0]}"
    lines.extend(cited)
    rest = len(answer.passages) - shown
    if rest > 0:
        lines.append(f"<i>还有 {rest} 条来源，点击“更多来源”查看。</i>")
    return "\n\n".join(line for line in lines if line)


def format_answer(answer: Answer, shown: int = SHOWN_PASSAGES) -> list[str]:
    """The reply for a question, split into messages Telegram accepts."""
    return split_html(answer_html(answer, shown))


def format_more(
    question: str,
    passages: Sequence[Passage],
    offset: int,
    answer: str | None,
    count: int = SHOWN_PASSAGES,
) -> list[str]:
    """Citations ``offset .. offset+count`` of an earlier answer (the "更多来源" button)."""
    batch = passages[offset : offset + count]
    lines = [f"<b>更多来源</b>（问题：{escape(tidy(question))}）"]
    lines += [citation_html(p, passage_number(p, offset + i), answer) for i, p in enumerate(batch)]
    if not batch:
        lines.append("没有更多来源了。")
    return split_html("\n\n".join(lines))


def format_passage(passage: Passage, number: int, answer: str | None) -> list[str]:
    """A cited passage in full, with where it sits in its document."""
    head = citation_html(passage, number, None, snippet=False)
    where = f"<i>第 {passage.start}–{passage.end} 字</i>" if passage.end > passage.start else ""
    body = highlight_html(*_body_and_span(passage, answer))
    return split_html("\n".join(x for x in (head, where, "", body) if x is not None))


def help_html(documents: Sequence[DocumentInfo], bot_username: str | None = None) -> list[str]:
    """/start and /help: what the bot knows and how to ask it."""
    mention = f"@{bot_username}" if bot_username else "@机器人"
    titles = [f"• {escape(tidy(d.title) or d.doc_id)}" for d in documents[:MAX_TITLES_IN_HELP]]
    if len(documents) > MAX_TITLES_IN_HELP:
        titles.append(f"……等共 {len(documents)} 篇")
    known = "\n".join(titles) if titles else "（暂时还没有收录资料）"
    text = (
        "你好！我是<b>问答</b>机器人：根据收录的资料回答问题，并注明出处。\n\n"
        f"<b>我收录的资料</b>（{len(documents)} 篇）：\n{known}\n\n"
        "<b>怎么提问</b>\n"
        "• 私聊：直接发送问题。\n"
        f"• 群组：发送 /ask 问题，或 {escape(mention)} 加问题，或回复我的消息。\n\n"
        f"<b>示例</b>\n/ask {EXAMPLE_QUESTION}\n\n"
        "回答下方的按钮可以查看段落全文和更多来源。"
    )
    return split_html(text)


ASK_USAGE = f"用法：/ask 问题\n例如：/ask {EXAMPLE_QUESTION}"


def status_html(status: IndexStatus) -> str:
    return (
        "<b>索引状态</b>\n"
        f"文档：{status.documents}\n"
        f"片段：{status.chunks}\n"
        f"版本：<code>{escape(status.version)}</code>\n"
        f"模型：<code>{escape(status.model)}</code>"
        f"（{status.dim} 维，{escape(status.dense_index)}）"
    )


def report_html(report: BuildReport) -> str:
    """/reindex result: the counts an admin wants to see."""
    lines = [
        "<b>索引更新完成</b>" if report.published else "<b>资料没有变化</b>，继续使用当前索引。",
        f"新增 {len(report.added)} · 修改 {len(report.changed)} · "
        f"删除 {len(report.removed)} · 未变 {len(report.unchanged)}",
        f"重新嵌入片段：{report.chunks_embedded}（共 {report.chunks_total}）",
    ]
    if report.skipped:
        lines.append(f"跳过文件：{len(report.skipped)}")
    lines.append(f"版本：<code>{escape(report.version)}</code>，用时 {report.seconds:.1f} 秒")
    return "\n".join(lines)

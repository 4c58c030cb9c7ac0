// Wenda 问答 — the question page. Plain JS, no dependencies, no build step.
// Every piece of document or answer text goes into the page through textContent or
// text nodes, never parsed as HTML, so a document cannot inject markup.
"use strict";

(function () {
  const MAX_CHARS = 500;
  const CONTEXT_CHARS = 300; // characters shown either side of a passage in "上下文"

  const $ = (id) => document.getElementById(id);
  const form = $("ask-form");
  const input = $("q");
  const button = $("submit");
  const count = $("count");
  const statusLine = $("status");
  const result = $("result");
  const answerCard = $("answer-card");
  const answerHeading = $("answer-heading");
  const answerText = $("answer");
  const meta = $("meta");
  const passagesHeading = $("passages-heading");
  const passagesList = $("passages");
  const indexInfo = $("index-info");

  const keyForm = $("key-form");
  const keyInput = $("api-key");

  const docCache = new Map(); // doc_id -> Promise of {text, title}
  let current = null; // AbortController of the question in flight
  let pendingQuestion = null; // asked while the server wanted a key we did not have
  const talk = WendaConversation.create(readError); // follow-ups, history, votes

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function setStatus(text, isError) {
    statusLine.textContent = text || "";
    statusLine.classList.toggle("error", Boolean(isError));
  }

  function docUrl(docId, start, end) {
    const path = docId.split("/").map(encodeURIComponent).join("/");
    const query = start === undefined ? "" : "?start=" + start + "&end=" + end;
    return "documents/" + path + query;
  }

  async function readError(response) {
    try {
      const body = await response.json();
      if (body && body.error && body.error.message) return body.error.message;
    } catch (_) {
      /* not JSON */
    }
    return "请求失败（HTTP " + response.status + "）。";
  }

  // Append `text` to `parent`, wrapping [from, to) in <mark> when that range is valid.
  function appendHighlighted(parent, text, from, to, markClass) {
    if (from === null || from === undefined || to === null || to === undefined ||
        from < 0 || to > text.length || from >= to) {
      parent.appendChild(document.createTextNode(text));
      return;
    }
    parent.appendChild(document.createTextNode(text.slice(0, from)));
    parent.appendChild(el("mark", markClass || "", text.slice(from, to)));
    parent.appendChild(document.createTextNode(text.slice(to)));
  }

  // Answer text carries citation markers like "[1]"; turn them into links to the passages.
  function renderAnswer(text, passageNumbers) {
    answerText.textContent = "";
    const pattern = /\[(\d+)\]/g;
    let last = 0;
    let match;
    while ((match = pattern.exec(text)) !== null) {
      const n = Number(match[1]);
      answerText.appendChild(document.createTextNode(text.slice(last, match.index)));
      if (passageNumbers.has(n)) {
        const link = el("a", "cite", "[" + n + "]");
        link.href = "#p-" + n;
        link.setAttribute("aria-label", "出处 " + n);
        link.addEventListener("click", (event) => {
          event.preventDefault();
          focusPassage(n);
        });
        answerText.appendChild(link);
      } else {
        answerText.appendChild(document.createTextNode(match[0]));
      }
      last = match.index + match[0].length;
    }
    answerText.appendChild(document.createTextNode(text.slice(last)));
  }

  function focusPassage(n) {
    const item = $("p-" + n);
    if (!item) return;
    item.scrollIntoView({ behavior: "smooth", block: "start" });
    item.classList.add("flash");
    setTimeout(() => item.classList.remove("flash"), 1200);
  }

  function loadDocument(docId) {
    if (!docCache.has(docId)) {
      const promise = fetch(docUrl(docId), { headers: { Accept: "application/json" } })
        .then(async (response) => {
          if (!response.ok) throw new Error(await readError(response));
          return response.json();
        });
      promise.catch(() => docCache.delete(docId));
      docCache.set(docId, promise);
    }
    return docCache.get(docId);
  }

  // Show the passage inside its surrounding document text, passage and answer highlighted.
  async function toggleContext(passage, box, link) {
    if (!box.hidden) {
      box.hidden = true;
      link.textContent = "查看上下文";
      return;
    }
    box.hidden = false;
    box.textContent = "正在加载上下文…";
    link.textContent = "收起上下文";
    try {
      const doc = await loadDocument(passage.doc_id);
      const text = doc.text;
      const from = Math.max(0, passage.start - CONTEXT_CHARS);
      const to = Math.min(text.length, passage.end + CONTEXT_CHARS);
      box.textContent = "";
      if (from > 0) box.appendChild(document.createTextNode("…"));
      box.appendChild(document.createTextNode(text.slice(from, passage.start)));
      const span = el("span", "ctx-passage");
      appendHighlighted(
        span, text.slice(passage.start, passage.end), passage.answer_start, passage.answer_end
      );
      box.appendChild(span);
      box.appendChild(document.createTextNode(text.slice(passage.end, to)));
      if (to < text.length) box.appendChild(document.createTextNode("…"));
      span.scrollIntoView({ block: "nearest" });
    } catch (error) {
      box.textContent = "无法加载上下文：" + error.message;
    }
  }

  function renderPassage(p, highlight) {
    const item = el("li", "passage");
    item.id = "p-" + p.n;

    const head = el("div", "p-head");
    head.appendChild(el("span", "p-n", "[" + p.n + "]"));
    head.appendChild(el("span", "p-title", p.title || p.doc_id));
    if (p.section) head.appendChild(el("span", "p-section", "· " + p.section));
    if (p.page) head.appendChild(el("span", "p-page", "· 第" + p.page + "页"));
    item.appendChild(head);

    const body = el("p", "p-text");
    if (highlight) appendHighlighted(body, p.text, p.answer_start, p.answer_end);
    else body.textContent = p.text;
    item.appendChild(body);

    const foot = el("div", "p-foot");
    const link = el("a", "p-link", "查看上下文");
    link.href = docUrl(p.doc_id, p.start, p.end);
    const box = el("div", "p-context");
    box.hidden = true;
    link.addEventListener("click", (event) => {
      if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      toggleContext(p, box, link);
    });
    const where = el("span", "p-doc", p.doc_id + " · 第 " + p.start + "–" + p.end + " 字");
    const percent = WendaView.relevance(p.score);
    const rel = el("span", "p-rel");
    const bar = el("meter", "p-meter");
    bar.min = 0;
    bar.max = 100;
    bar.value = percent;
    bar.setAttribute("aria-label", "相关度");
    rel.appendChild(el("span", "", "相关度 " + percent + "%"));
    rel.appendChild(bar);
    foot.appendChild(link);
    foot.appendChild(rel);
    foot.appendChild(where);
    item.appendChild(foot);
    item.appendChild(box);
    return item;
  }

  function render(data) {
    const numbers = new Set(data.passages.map((p) => p.n));
    answerCard.classList.toggle("no-answer", !data.answerable);
    if (data.answerable) {
      answerHeading.textContent = "答案";
      renderAnswer(data.answer, numbers);
      passagesHeading.textContent = "出处";
    } else {
      answerHeading.textContent = "没有找到答案";
      answerText.textContent = data.reason || "资料中没有找到相关内容。";
      passagesHeading.textContent = "参考：最接近的段落（不一定包含答案）";
    }
    passagesHeading.hidden = data.passages.length === 0;
    meta.textContent = "用时 " + Math.round(data.took_ms) + " 毫秒";
    passagesList.textContent = "";
    const parts = WendaView.fold(data.passages);
    for (const p of parts.shown) passagesList.appendChild(renderPassage(p, data.answerable));
    if (parts.folded.length) {
      const more = el("li", "folded");
      const details = el("details");
      details.appendChild(
        el("summary", "", "另有 " + parts.folded.length + " 个相关度较低的段落")
      );
      const inner = el("ol", "passages");
      for (const p of parts.folded) inner.appendChild(renderPassage(p, data.answerable));
      details.appendChild(inner);
      more.appendChild(details);
      passagesList.appendChild(more);
    }
    result.hidden = false;
  }

  async function ask(question) {
    if (current) current.abort();
    const controller = new AbortController();
    current = controller;
    button.disabled = true;
    setStatus("正在查找…");
    try {
      const resolved = await talk.resolve(question, controller.signal);
      const response = await fetch("ask", {
        method: "POST",
        headers: WendaKey.headers({ "Content-Type": "application/json", Accept: "application/json" }),
        body: JSON.stringify({ question: resolved }),
        signal: controller.signal,
      });
      if (response.status === 401) {
        // the server wants an API key: ask for it, then ask the question again
        setStatus(await readError(response), true);
        keyForm.hidden = false;
        pendingQuestion = question;
        keyInput.focus();
        return;
      }
      if (!response.ok) {
        setStatus(await readError(response), true);
        return;
      }
      const data = await response.json();
      render(data);
      talk.answered(question, resolved, data);
      setStatus("");
      const url = new URL(window.location.href);
      url.searchParams.set("q", question);
      window.history.replaceState(null, "", url);
    } catch (error) {
      if (error.name !== "AbortError") setStatus("无法连接服务器，请稍后再试。", true);
    } finally {
      if (current === controller) {
        current = null;
        button.disabled = false;
      }
    }
  }

  function updateCount() {
    const n = input.value.length;
    count.textContent = n + " / " + MAX_CHARS;
    count.classList.toggle("over", n > MAX_CHARS);
  }

  async function showIndexInfo() {
    try {
      const response = await fetch("readyz", { headers: { Accept: "application/json" } });
      if (response.status === 503) {
        const body = await response.json().catch(() => ({}));
        if (body.status === "loading") {
          indexInfo.textContent = "索引加载中…";
          setTimeout(showIndexInfo, 2000);
        } else {
          indexInfo.textContent = "索引不可用";
        }
        return;
      }
      if (!response.ok) throw new Error(String(response.status));
      const s = await response.json();
      indexInfo.textContent = "已收录 " + s.documents + " 篇文档、" + s.chunks + " 个段落";
    } catch (_) {
      indexInfo.textContent = "无法获取索引状态";
    }
  }

  keyForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const key = keyInput.value.trim();
    if (!key) {
      keyInput.focus();
      return;
    }
    WendaKey.set(key);
    keyInput.value = "";
    keyForm.hidden = true;
    const question = pendingQuestion || input.value.trim();
    pendingQuestion = null;
    if (question) ask(question);
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const question = input.value.trim();
    if (!question) {
      setStatus("请先输入问题。", true);
      input.focus();
      return;
    }
    if (question.length > MAX_CHARS) {
      setStatus("问题太长了，最多 " + MAX_CHARS + " 个字。", true);
      return;
    }
    ask(question);
  });

  input.addEventListener("keydown", (event) => {
    // Enter asks; Shift+Enter makes a new line; never submit while an IME is composing.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  input.addEventListener("input", updateCount);

  const initial = new URLSearchParams(window.location.search).get("q");
  if (initial) {
    input.value = initial;
    ask(initial.trim());
  }
  updateCount();
  showIndexInfo();
})();

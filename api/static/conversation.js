// Wenda 问答 — the page's conversation: its own question history (so "那重庆呢？" is read
// against the previous question), the "理解为" note and the 👍/👎 votes. Plain JS, no
// dependencies; text only ever goes in through textContent. Loaded before app.js.
"use strict";

// The API key, when the server asks for one (WENDA_API_KEYS): typed once into the page,
// kept for this tab only (sessionStorage), sent as "Authorization: Bearer <key>".
const WendaKey = {
  STORE: "wenda-api-key",
  memory: "",

  get() {
    try {
      return sessionStorage.getItem(WendaKey.STORE) || WendaKey.memory;
    } catch (_) {
      return WendaKey.memory;
    }
  },

  set(key) {
    WendaKey.memory = key || "";
    try {
      if (key) sessionStorage.setItem(WendaKey.STORE, key);
      else sessionStorage.removeItem(WendaKey.STORE);
    } catch (_) {
      /* private mode: the key lives in memory only */
    }
  },

  // ``extra`` plus the Authorization header when a key is set.
  headers(extra) {
    const headers = Object.assign({}, extra);
    const key = WendaKey.get();
    if (key) headers.Authorization = "Bearer " + key;
    return headers;
  },
};

// Pure helpers (no DOM), shared with app.js and loaded by the tests under node.
const WendaView = {
  FOLD_RATIO: 0.5, // passages scoring under half the first one are folded away
  MAX_HISTORY: 5, // earlier questions a follow-up may build on

  // Relevance in percent of the fused retrieval score (0..1).
  relevance(score) {
    const value = Number(score);
    if (!Number.isFinite(value)) return 0;
    return Math.round(Math.min(1, Math.max(0, value)) * 100);
  },

  // Split passages into those shown and those folded (far below the first one).
  fold(passages, ratio) {
    const cut = ratio === undefined ? WendaView.FOLD_RATIO : ratio;
    if (!passages.length) return { shown: [], folded: [] };
    const top = Number(passages[0].score) || 0;
    const shown = [passages[0]];
    const folded = [];
    for (const p of passages.slice(1)) {
      if (top > 0 && Number(p.score) < cut * top) folded.push(p);
      else shown.push(p);
    }
    return { shown: shown, folded: folded };
  },

  // The page's own conversation: the latest questions, oldest first.
  remember(history, question) {
    return history.concat([question]).slice(-WendaView.MAX_HISTORY);
  },
};

if (typeof module !== "undefined" && module.exports) module.exports = WendaView;

// The DOM side. `readError(response)` turns an error response into a message (app.js's).
const WendaConversation = {
  create(readError) {
    const $ = (id) => document.getElementById(id);
    const understood = $("understood");
    const feedbackBox = $("feedback");
    const feedbackNote = $("feedback-note");
    const conversation = $("conversation");
    const historyList = $("history");
    const voteButtons = Array.from(document.querySelectorAll("#feedback button[data-vote]"));
    const KEY = "wenda-history";
    let history = []; // this page's earlier questions, as typed
    let shown = null; // {asked, question, answer} of the answer on screen (for votes)
    try {
      history = JSON.parse(sessionStorage.getItem(KEY) || "[]");
      if (!Array.isArray(history)) history = [];
    } catch (_) {
      history = [];
    }

    function renderHistory() {
      historyList.textContent = "";
      for (const q of history) {
        const item = document.createElement("li");
        const link = document.createElement("a");
        link.textContent = q;
        link.href = "?q=" + encodeURIComponent(q);
        item.appendChild(link);
        historyList.appendChild(item);
      }
      conversation.hidden = history.length === 0;
    }

    function save() {
      try {
        sessionStorage.setItem(KEY, JSON.stringify(history));
      } catch (_) {
        /* private mode: the history lives in memory only */
      }
      renderHistory();
    }

    // The stand-alone form of `question` (the server resolves it); unchanged on any failure.
    async function resolve(question, signal) {
      if (!history.length) return question;
      try {
        const response = await fetch("followup", {
          method: "POST",
          headers: WendaKey.headers({
            "Content-Type": "application/json",
            Accept: "application/json",
          }),
          body: JSON.stringify({ history: history, question: question }),
          signal: signal,
        });
        if (!response.ok) return question;
        const body = await response.json();
        return body.question || question;
      } catch (error) {
        if (error.name === "AbortError") throw error;
        return question;
      }
    }

    // An answer is on screen: note the rewrite, arm the votes, remember the question.
    function answered(question, resolved, data) {
      understood.textContent = resolved === question ? "" : "理解为：" + resolved;
      understood.hidden = resolved === question;
      shown = { asked: question, question: resolved, answer: data.answer };
      feedbackBox.hidden = false;
      feedbackNote.textContent = "";
      for (const b of voteButtons) b.disabled = false;
      history = WendaView.remember(history, question);
      save();
    }

    async function vote(kind) {
      if (!shown) return;
      for (const b of voteButtons) b.disabled = true;
      feedbackNote.textContent = "正在提交…";
      try {
        const response = await fetch("feedback", {
          method: "POST",
          headers: WendaKey.headers({
            "Content-Type": "application/json",
            Accept: "application/json",
          }),
          body: JSON.stringify({
            vote: kind,
            question: shown.question,
            asked: shown.asked,
            answer: shown.answer,
          }),
        });
        if (!response.ok) throw new Error(await readError(response));
        feedbackNote.textContent = "谢谢你的反馈！";
      } catch (error) {
        feedbackNote.textContent = "反馈没有提交成功：" + error.message;
        for (const b of voteButtons) b.disabled = false;
      }
    }

    for (const b of voteButtons) b.addEventListener("click", () => vote(b.dataset.vote));
    $("new-chat").addEventListener("click", () => {
      history = [];
      save();
      $("q").focus();
    });
    renderHistory();
    return { resolve: resolve, answered: answered };
  },
};

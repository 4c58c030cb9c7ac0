// Drives the real page scripts (api/static/conversation.js + app.js) under node against a
// running Wenda server, with a minimal stand-in DOM: ask, follow up, vote, report JSON.
// usage: node page_driver.js BASE_URL STATIC_DIR QUESTION FOLLOWUP [API_KEY]
// With API_KEY the first question is asked without a key: the page must ask for one, and
// answer once it is typed into the key form.
"use strict";

const fs = require("fs");
const path = require("path");
const vm = require("vm");

const [base, staticDir, first, followup, apiKey] = process.argv.slice(2);

class Node {
  constructor(tag, text) {
    this.tag = tag;
    this.children = [];
    this.ownText = text === undefined ? "" : String(text);
    this.listeners = {};
    this.hidden = false;
    this.disabled = false;
    this.className = "";
    this.dataset = {};
    this.attributes = {};
    this.value = "";
    this.classList = {
      set: new Set(),
      toggle(name, on) {
        if (on === undefined ? !this.set.has(name) : on) this.set.add(name);
        else this.set.delete(name);
      },
      add(name) { this.set.add(name); },
      remove(name) { this.set.delete(name); },
    };
  }
  get textContent() {
    return this.children.length ? this.children.map((c) => c.textContent).join("") : this.ownText;
  }
  set textContent(value) {
    this.children = [];
    this.ownText = String(value);
  }
  appendChild(child) {
    this.children.push(child);
    return child;
  }
  setAttribute(name, value) { this.attributes[name] = String(value); }
  addEventListener(type, fn) { (this.listeners[type] = this.listeners[type] || []).push(fn); }
  dispatch(type, extra) {
    const event = Object.assign({ preventDefault() {}, button: 0 }, extra || {});
    for (const fn of this.listeners[type] || []) fn(event);
  }
  requestSubmit() { this.dispatch("submit"); }
  focus() {}
  scrollIntoView() {}
  all(tag) {
    const out = [];
    for (const c of this.children) {
      if (c.tag === tag) out.push(c);
      if (c.all) out.push(...c.all(tag));
    }
    return out;
  }
}

const ids = {};
const make = (id, tag) => { ids[id] = new Node(tag || "div"); ids[id].id = id; return ids[id]; };
for (const id of ["ask-form", "q", "submit", "count", "status", "result", "answer-card",
  "answer-heading", "answer", "meta", "passages-heading", "passages", "index-info",
  "understood", "feedback", "feedback-note", "conversation", "history", "new-chat",
  "key-form", "api-key"]) make(id);
ids["key-form"].hidden = true;
ids.result.hidden = true;
ids.feedback.hidden = true;
const votes = ["up", "down"].map((v) => { const b = new Node("button"); b.dataset.vote = v; return b; });

const store = new Map();
Object.assign(globalThis, {
  document: {
    getElementById: (id) => ids[id] || null,
    createElement: (tag) => new Node(tag),
    createTextNode: (text) => new Node("#text", text),
    querySelectorAll: (sel) => (sel === "#feedback button[data-vote]" ? votes : []),
  },
  window: {
    location: { href: base + "/", search: "" },
    history: { replaceState() {} },
  },
  sessionStorage: {
    getItem: (k) => (store.has(k) ? store.get(k) : null),
    setItem: (k, v) => store.set(k, String(v)),
    removeItem: (k) => store.delete(k),
  },
});
const realFetch = globalThis.fetch;
globalThis.fetch = (url, options) => realFetch(base + "/" + url, options);

for (const name of ["conversation.js", "app.js"]) {
  vm.runInThisContext(fs.readFileSync(path.join(staticDir, name), "utf8"), { filename: name });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(check, what) {
  for (let i = 0; i < 600; i++) {
    if (check()) return;
    await sleep(50);
  }
  throw new Error("timed out waiting for " + what);
}

function snapshot() {
  const top = ids.passages.children;
  const folded = top.filter((li) => li.className === "folded");
  return {
    answer: ids.answer.textContent,
    meta: ids.meta.textContent,
    understood: ids.understood.hidden ? null : ids.understood.textContent,
    shown: top.filter((li) => li.className === "passage").length,
    folded: folded.length ? folded[0].all("li").length : 0,
    relevance: ids.passages
      .all("span")
      .filter((s) => !s.children.length && s.textContent.startsWith("相关度"))
      .map((s) => s.textContent),
    history: ids.history.all("a").map((a) => a.textContent),
  };
}

async function ask(question) {
  ids.answer.textContent = "";
  ids.q.value = question;
  ids["ask-form"].dispatch("submit");
  await until(() => ids.answer.textContent && ids.submit.disabled === false, "an answer");
  return snapshot();
}

async function askForKey(question) {
  ids.q.value = question;
  ids["ask-form"].dispatch("submit");
  await until(() => !ids["key-form"].hidden && ids.submit.disabled === false, "the key form");
  const prompt = ids.status.textContent;
  ids["api-key"].value = apiKey;
  ids["key-form"].dispatch("submit");
  await until(() => ids.answer.textContent && ids.submit.disabled === false, "an answer");
  return { prompt: prompt, answer: snapshot(), form_hidden: ids["key-form"].hidden };
}

(async () => {
  await until(() => ids["index-info"].textContent.startsWith("已收录"), "index info");
  const keyed = apiKey ? await askForKey(first) : null;
  const one = keyed ? keyed.answer : await ask(first);
  const two = await ask(followup);
  votes[1].dispatch("click");
  await until(() => ids["feedback-note"].textContent.startsWith("谢谢"), "the vote");
  ids["new-chat"].dispatch("click");
  console.log(JSON.stringify({
    index_info: ids["index-info"].textContent,
    first: one,
    second: two,
    vote_note: ids["feedback-note"].textContent,
    history_after_new_chat: JSON.parse(store.get("wenda-history")),
    key: keyed && { prompt: keyed.prompt, form_hidden: keyed.form_hidden,
      stored: store.get("wenda-api-key") || null },
  }));
})().catch((error) => {
  console.error(error.stack || String(error));
  process.exit(1);
});

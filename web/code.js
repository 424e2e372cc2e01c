// A fenced code block: the language named in the fence, a Copy button (copy.js), and the code highlighted by Prism
// (web/prism.js, vendored from the pinned npm package by `make vendor`). Prism.tokenize returns a token tree, not
// HTML: each token becomes a <span> whose text goes in as a Text node, so model text never meets an HTML parser.
// Without Prism (the file failed to load) the code is shown plain.
import { el } from "./inline.js";

// Names models write in fences that Prism's components do not define themselves.
const ALIASES = { zsh: "bash", console: "bash", "c++": "cpp", golang: "go", rs: "rust", jsonc: "json" };

function grammarFor(lang) {
  const languages = globalThis.Prism?.languages;
  if (!languages || !lang) return null;
  const name = lang.toLowerCase();
  const key = ALIASES[name] ?? name;
  // The name comes from the model, and Prism.languages also holds functions (extend, insertBefore, DFS) and
  // inherits from Object: only an own grammar object will do.
  if (!Object.hasOwn(languages, key)) return null;
  const grammar = languages[key];
  return grammar && typeof grammar === "object" ? grammar : null;
}

function appendTokens(parent, tokens) {
  for (const token of tokens) {
    if (typeof token === "string") {
      parent.append(token);
      continue;
    }
    const span = el("span");
    // Token types and aliases are names from Prism's grammars, never from the model's text.
    span.className = ["token", token.type, ...[token.alias].flat()].filter(Boolean).join(" ");
    appendTokens(span, Array.isArray(token.content) ? token.content : [token.content]);
    parent.append(span);
  }
}

export function highlight(code, lang, parent) {
  const grammar = grammarFor(lang);
  if (grammar) appendTokens(parent, globalThis.Prism.tokenize(code, grammar));
  else parent.append(code);
}

export function codeBlock(code, lang) {
  const block = el("div");
  block.className = "code-block";
  const head = el("div");
  head.className = "code-head";
  const label = el("span", lang);
  label.className = "code-lang";
  const copy = el("button", "Copy code");
  copy.type = "button";
  copy.dataset.copy = "code";
  head.append(label, copy);
  const pre = el("pre");
  pre.tabIndex = 0; // a long line scrolls sideways: keyboard users can scroll it too
  const codeNode = el("code");
  if (lang) codeNode.dataset.lang = lang;
  highlight(code, lang, codeNode);
  pre.append(codeNode);
  block.append(head, pre);
  return block;
}

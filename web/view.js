// The conversation view: messages and notices in the log, and the reply streaming into it (rendered at most once
// per animation frame, and only its open last block: markdown.js's MarkdownStream) until an end, an error or a
// closed socket finishes it.
import { announce } from "./announce.js";
import { renew } from "./connection.js"; // a refreshed token waits for the reply to end (see finishReply)
import { offerCopy } from "./copy.js";
import { MarkdownStream, renderMarkdown } from "./markdown.js";
import { state, ui, updateControls } from "./state.js";

const STOP_REASONS = {
  end_turn: "",
  max_tokens: "cut off at the reply length limit",
  stop_sequence: "stopped at a stop sequence",
  refusal: "the model declined to answer",
  stopped: "stopped",
};

function scrolledToEnd() {
  return ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 40;
}

export function addMessage(role, render, text) {
  const follow = scrolledToEnd();
  const article = document.createElement("article");
  article.className = `message ${role}`;
  const label = document.createElement("h2");
  label.className = "visually-hidden";
  label.textContent = role === "user" ? "You" : "Assistant";
  const body = document.createElement("div");
  body.className = "body";
  body.append(render(text));
  const meta = document.createElement("p");
  meta.className = "meta";
  article.append(label, body, meta);
  ui.log.append(article);
  if (follow) ui.log.scrollTop = ui.log.scrollHeight;
  return { article, body, meta };
}

export function addNotice(text, kind = "error") {
  const p = document.createElement("p");
  p.className = `notice ${kind}`;
  p.textContent = text;
  ui.log.append(p);
  ui.log.scrollTop = ui.log.scrollHeight;
}

export function usageText(frame) {
  const parts = [];
  const reason = STOP_REASONS[frame.stop_reason] ?? frame.stop_reason ?? "";
  if (reason) parts.push(reason);
  const usage = frame.usage ?? {};
  if (usage.input_tokens != null || usage.output_tokens != null) {
    parts.push(`${usage.input_tokens ?? "?"} tokens in, ${usage.output_tokens ?? "?"} out`);
  }
  return parts.join(" · ");
}

// The end frame's `budget` ({limit, remaining}, in input-token equivalents) when the stack has a daily budget.
export function budgetText(budget) {
  const remaining = budget?.remaining;
  if (typeof remaining !== "number" || !Number.isFinite(remaining)) return "";
  return `budget left today: ${Math.max(0, remaining).toLocaleString("en")}`;
}

// --- a reply streaming in --------------------------------------------------------------------------------

let renderQueued = false;

function renderReply(done = false) {
  renderQueued = false;
  const reply = state.reply;
  if (!reply) return;
  const follow = scrolledToEnd();
  if (!reply.stream) {
    announce("", true);
    reply.stream = new MarkdownStream(reply.body, (node) => announce(node.textContent));
  }
  reply.stream.update(reply.text, done);
  if (follow) ui.log.scrollTop = ui.log.scrollHeight;
}

export function onDelta(text) {
  if (!state.reply) state.reply = { ...addMessage("assistant", renderMarkdown, ""), text: "", chars: 0 };
  state.reply.text += text;
  state.reply.chars += [...text].length; // what a `resume` says the page holds: code points, as the server counts
  state.reply.article.classList.add("streaming");
  if (!renderQueued) {
    renderQueued = true;
    requestAnimationFrame(() => renderReply()); // one render per frame, however many deltas arrived
  }
}

export function finishReply(metaText, kind = "", budget = "") {
  const reply = state.reply;
  if (!reply) return false;
  renderReply(true);
  reply.article.classList.remove("streaming", "waiting");
  reply.meta.textContent = metaText;
  if (kind) reply.meta.dataset.kind = kind;
  if (kind === "error") announce(metaText);
  if (budget) {
    const line = document.createElement("p");
    line.className = "budget";
    line.textContent = budget;
    reply.meta.after(line);
  }
  offerCopy(reply.article, reply.text);
  state.reply = null;
  updateControls();
  if (state.renew) setTimeout(renew);
  return true;
}

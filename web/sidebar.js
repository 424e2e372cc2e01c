// The conversation list beside the chat: titles newest first, the open one marked, more on scroll, a filter box;
// selecting one loads its history and continues it; rename inline, delete (confirmed), delete all (signed in),
// export as Markdown or JSON. Collapsible; at phone width it is a menu over the chat.
import * as conversations from "./conversations.js";
import { requestHistory } from "./connection.js";
import { note, remember, state, updateControls } from "./state.js";

const $ = (id) => document.getElementById(id);
const panel = $("chats");
const toggle = $("chats-toggle");
const items = $("chats-list");
const filter = $("chats-filter");
const deleteAll = $("chats-delete-all");
const narrow = window.matchMedia("(max-width: 60rem)");

function setOpen(open) {
  panel.hidden = !open;
  // As a menu it opens below the header (whose height wraps with the width), so the Chats button stays in reach.
  panel.style.top = narrow.matches ? `${document.querySelector("header").getBoundingClientRect().bottom}px` : "";
  toggle.setAttribute("aria-expanded", String(open));
  document.body.classList.toggle("chats-open", open);
  if (open) conversations.refresh();
}

toggle.addEventListener("click", () => setOpen(panel.hidden));
panel.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && narrow.matches && event.target.tagName !== "INPUT") setOpen(false);
});
setOpen(!narrow.matches);

function select(conversationId) {
  if (state.reply || state.waiting || conversationId === state.conversationId) return;
  remember(conversationId);
  note("");
  requestHistory();
  if (narrow.matches) setOpen(false);
  draw();
  updateControls();
}

function startRename(entry, row) {
  const input = document.createElement("input");
  input.value = entry.title;
  input.maxLength = 80;
  input.setAttribute("aria-label", "New title");
  const done = (save) => {
    const title = input.value.trim();
    if (save && title && title !== entry.title) conversations.rename(entry.conversationId, title);
    draw();
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") done(true);
    if (event.key === "Escape") done(false);
  });
  input.addEventListener("blur", () => done(true));
  row.replaceChildren(input);
  input.focus();
  input.select();
}

function button(text, label, onClick) {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = text;
  if (label) element.setAttribute("aria-label", label);
  element.addEventListener("click", onClick);
  return element;
}

function row(entry) {
  const li = document.createElement("li");
  const current = entry.conversationId === state.conversationId;
  const title = entry.title || "Untitled";
  const open = button(title, null, () => select(entry.conversationId));
  open.className = "chat-title";
  open.title = `${title} (updated ${new Date(entry.updatedAt).toLocaleString()})`;
  if (current) open.setAttribute("aria-current", "true");
  const rename = button("✎", `Rename ${title}`, () => startRename(entry, li));
  const remove = button("🗑", `Delete ${title}`, () => {
    if (window.confirm(`Delete “${title}” from the server? This cannot be undone.`)) {
      conversations.remove(entry.conversationId);
    }
  });
  li.append(open, rename, remove);
  return li;
}

export function draw() {
  const words = filter.value.trim().toLowerCase();
  const shown = conversations.list.entries.filter((entry) => entry.title.toLowerCase().includes(words));
  items.replaceChildren(...shown.map(row));
  deleteAll.hidden = state.signIn === null;
  deleteAll.disabled = conversations.list.entries.length === 0;
  // A filter that leaves the list too short to scroll would never ask for more: ask now.
  if (items.scrollHeight <= items.clientHeight + 40) conversations.more();
}

filter.addEventListener("input", draw);
items.addEventListener("scroll", () => {
  if (items.scrollHeight - items.scrollTop - items.clientHeight < 80) conversations.more();
});
deleteAll.addEventListener("click", () => {
  if (window.confirm("Delete all your chats from the server? This cannot be undone.")) conversations.removeAll();
});
$("export-markdown").addEventListener("click", () => conversations.startExport("md"));
$("export-json").addEventListener("click", () => conversations.startExport("json"));
conversations.whenChanged(draw, () => !panel.hidden);

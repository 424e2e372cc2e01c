// The conversation list's side of the protocol (docs/protocol.md, "The conversation list"): asking for the list
// (signed in: the principal's own; anonymous: the ids this page created, kept per API URL), rename, delete,
// delete all, and export of the open conversation, built from its `history` and downloaded, never sent anywhere.
import { requestHistory, send } from "./connection.js";
import { state } from "./state.js";

const MAX_IDS = 100; // the server takes at most 100 ids in one `conversations` message
const idsKey = () => `bedrock-ws-chat.conversations.${state.url}`;
export const list = { entries: [], next: null, loading: false, exportAs: null };
let onChange = () => {};
let shown = () => true;

// `callback` redraws the list; `visible` says whether it is on screen (a hidden list is not asked for).
export function whenChanged(callback, visible) {
  onChange = callback;
  shown = visible;
}

const signedIn = () => state.signIn !== null;

function knownIds() {
  try {
    const ids = JSON.parse(localStorage.getItem(idsKey()) ?? "[]");
    return Array.isArray(ids) ? ids.filter((id) => typeof id === "string") : [];
  } catch {
    return [];
  }
}

function keepIds(ids) {
  localStorage.setItem(idsKey(), JSON.stringify(ids.slice(0, MAX_IDS)));
}

// A reply ended in this conversation: remember its id (anonymous) and read the list again, newest first.
export function touched(conversationId) {
  if (typeof conversationId !== "string" || !conversationId) return;
  if (!signedIn()) keepIds([conversationId, ...knownIds().filter((id) => id !== conversationId)]);
  refresh();
}

function request(next) {
  if (!state.open) return;
  const message = { action: "conversations" };
  if (!signedIn()) message.conversationIds = knownIds();
  if (next) message.next = next;
  if (message.conversationIds?.length === 0) return onConversations({ conversations: [], next: null }, true);
  list.loading = send(message);
}

export function refresh() {
  list.next = null;
  if (shown()) request(null);
}

export function more() {
  if (list.next && !list.loading) request(list.next);
}

export function onConversations(frame, fresh = list.next === null) {
  const page = Array.isArray(frame.conversations) ? frame.conversations : [];
  list.entries = fresh ? page : [...list.entries, ...page.filter((c) => !list.entries.some((e) => sameId(e, c)))];
  list.next = typeof frame.next === "string" ? frame.next : null;
  list.loading = false;
  // The whole list of an anonymous page's ids came back: ids the server no longer has (expired) are dropped.
  if (!signedIn() && fresh && list.next === null) keepIds(page.map((c) => c.conversationId));
  onChange();
}

const sameId = (a, b) => a.conversationId === b.conversationId;

export function rename(conversationId, title) {
  send({ action: "rename", conversationId, title });
}

export function onRenamed(frame) {
  for (const entry of list.entries) if (entry.conversationId === frame.conversationId) entry.title = frame.title;
  onChange();
}

export function remove(conversationId) {
  send({ action: "forget", conversationId });
}

export function removeAll() {
  send({ action: "forget", all: true });
}

// `forgotten`: one conversation, or (signed in) all of them, `more` when the server had more than it deletes at once.
export function onRemoved(frame) {
  if (frame.all) {
    list.entries = [];
    if (frame.more) removeAll();
  } else {
    list.entries = list.entries.filter((entry) => entry.conversationId !== frame.conversationId);
    if (!signedIn()) keepIds(knownIds().filter((id) => id !== frame.conversationId));
  }
  onChange();
}

// Export: ask for the open conversation's history; history.js hands the turns to `exported` instead of drawing.
export function startExport(kind) {
  if (!state.conversationId || state.waiting) return;
  list.exportAs = kind;
  requestHistory();
}

export function exported(conversationId, turns) {
  const kind = list.exportAs;
  list.exportAs = null;
  const title = list.entries.find((entry) => entry.conversationId === conversationId)?.title || "Conversation";
  const body =
    kind === "json"
      ? JSON.stringify({ conversationId, title, exportedAt: new Date().toISOString(), turns }, null, 2)
      : asMarkdown(title, turns);
  const blob = new Blob([body], { type: kind === "json" ? "application/json" : "text/markdown" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `${title.replace(/[^\p{L}\p{N} _-]+/gu, "").trim().slice(0, 60) || "conversation"}.${kind}`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

function asMarkdown(title, turns) {
  const parts = [`# ${title}`];
  for (const turn of turns) parts.push(`## You\n\n${turn.user}`, `## Assistant\n\n${turn.assistant}`);
  return `${parts.join("\n\n")}\n`;
}

// What the page knows (the socket, the conversation, the reply streaming in) and the header and composer controls
// that show it. Every other module reads and changes `state`; none keeps a copy of it.

// The stored conversation id is a capability (with sign-in off it is the whole access control), so it is kept per
// API URL and only ever sent to the API it came from.
const storedId = () => `bedrock-ws-chat.conversationId@${state.url}`;

const $ = (id) => document.getElementById(id);
export const ui = {
  log: $("log"),
  status: $("status"),
  form: $("composer"),
  input: $("input"),
  send: $("send"),
  stop: $("stop"),
  note: $("note"),
  newChat: $("new-chat"),
  deleteChat: $("delete-chat"),
  model: $("model"),
};

export const state = {
  url: "",
  ws: null,
  open: false,
  attempts: 0, // failed connection attempts in a row
  retryTimer: 0,
  conversationId: null, // this API's stored conversation (useApi)
  startNew: false, // the next sendtext starts a fresh conversation
  needsHistory: false, // redraw from the server's history once connected
  reply: null, // the assistant message streaming in: {body, meta, text, chars (code points), conversationId, ...}
  waiting: null, // "history" or "forget" while the server answers one
  history: null, // history frames received so far: {conversationId, turns}
  noHistory: false, // the server answered `history` with UnknownAction: it keeps no conversations
  pendingStop: null, // the conversation whose reply Stop ended while the socket was down: stop it once reconnected
  renew: false, // reconnect once the current reply is done (a refreshed token)
  signIn: null, // signin.js, when the stack needs a token
};

export function setStatus(text, kind = "") {
  ui.status.textContent = text;
  ui.status.dataset.kind = kind;
}

export function note(text) {
  ui.note.textContent = text;
}

export function updateControls() {
  const ready = state.open && !state.waiting;
  ui.send.disabled = !ready || state.reply !== null;
  ui.stop.disabled = state.reply === null || state.reply.stopRequested === true;
  ui.deleteChat.disabled = !ready || !state.conversationId || state.reply !== null;
  ui.newChat.disabled = state.reply !== null;
}

// The API this page talks to (from config.json, never from the page's own URL), and its stored conversation.
export function useApi(url) {
  state.url = url;
  state.conversationId = localStorage.getItem(storedId());
  state.needsHistory = state.conversationId !== null;
}

export function remember(conversationId) {
  if (typeof conversationId !== "string" || !conversationId) return;
  state.conversationId = conversationId;
  state.startNew = false;
  localStorage.setItem(storedId(), conversationId);
}

export function forgetLocally() {
  state.conversationId = null;
  localStorage.removeItem(storedId());
}

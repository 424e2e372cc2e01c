// The chat page: one WebSocket to the API, replies streamed in as Markdown, conversations resumed after a
// reload or reconnect. The protocol is the README's "Message protocol" section.
import { renderMarkdown, renderPlain } from "./markdown.js";

const FRAME_LIMIT = 32768; // API Gateway's WebSocket frame quota: a longer message would cost the connection
const STORED_ID = "bedrock-ws-chat.conversationId";
const RETRY_MS = [500, 1000, 2000, 4000, 8000, 15000, 30000]; // then 30 s, each with up to 30% jitter

const ERRORS = {
  BadRequest: "The server could not use that message.",
  UnknownAction: "The server does not know that request.",
  Throttled: "The model is busy right now. Try again in a moment.",
  ModelError: "The model failed to answer.",
  Internal: "Something went wrong on the server.",
  ConversationNotFound: "That conversation no longer exists.",
  ConversationBusy: "This conversation is still answering another message. Wait for it, or press Stop.",
  Unauthorized: "Your sign-in has expired. Sign in again.",
  QuotaExceeded: "Today's token budget is used up.",
};
// API Gateway's own frames: {"message": "...", "connectionId": ..., "requestId": ...}, no "type".
const GATEWAY = {
  Forbidden: "The gateway refused the request (Forbidden).",
  "Internal server error": "The server failed to handle the request (Internal server error).",
  "Endpoint request timed out": "The gateway stopped waiting for the server (Endpoint request timed out).",
};
const STOP_REASONS = {
  end_turn: "",
  max_tokens: "cut off at the reply length limit",
  stop_sequence: "stopped at a stop sequence",
  refusal: "the model declined to answer",
};

const $ = (id) => document.getElementById(id);
const ui = {
  log: $("log"),
  status: $("status"),
  form: $("composer"),
  input: $("input"),
  send: $("send"),
  stop: $("stop"),
  note: $("note"),
  newChat: $("new-chat"),
  deleteChat: $("delete-chat"),
};

const state = {
  url: "",
  ws: null,
  open: false,
  attempts: 0, // failed connection attempts in a row
  retryTimer: 0,
  conversationId: localStorage.getItem(STORED_ID),
  startNew: false, // the next sendtext starts a fresh conversation
  needsHistory: localStorage.getItem(STORED_ID) !== null, // redraw from the server's history once connected
  reply: null, // the assistant message streaming in: {body, meta, text}
  waiting: null, // "history" or "forget" while the server answers one
  history: null, // history frames received so far: {conversationId, turns}
  noHistory: false, // the server answered `history` with UnknownAction: it keeps no conversations
  renew: false, // reconnect once the current reply is done (a refreshed token)
};

function setStatus(text, kind = "") {
  ui.status.textContent = text;
  ui.status.dataset.kind = kind;
}

function note(text) {
  ui.note.textContent = text;
}

function updateControls() {
  const ready = state.open && !state.waiting;
  ui.send.disabled = !ready || state.reply !== null;
  ui.stop.disabled = state.reply === null;
  ui.deleteChat.disabled = !ready || !state.conversationId || state.reply !== null;
  ui.newChat.disabled = state.reply !== null;
}

function remember(conversationId) {
  if (typeof conversationId !== "string" || !conversationId) return;
  state.conversationId = conversationId;
  state.startNew = false;
  localStorage.setItem(STORED_ID, conversationId);
}

function forgetLocally() {
  state.conversationId = null;
  localStorage.removeItem(STORED_ID);
}

// --- the conversation view -----------------------------------------------------------------------------

function scrolledToEnd() {
  return ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 40;
}

function addMessage(role, render, text) {
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

function addNotice(text, kind = "error") {
  const p = document.createElement("p");
  p.className = `notice ${kind}`;
  p.textContent = text;
  ui.log.append(p);
  ui.log.scrollTop = ui.log.scrollHeight;
}

function usageText(frame) {
  const parts = [];
  const reason = STOP_REASONS[frame.stop_reason] ?? frame.stop_reason ?? "";
  if (reason) parts.push(reason);
  const usage = frame.usage ?? {};
  if (usage.input_tokens != null || usage.output_tokens != null) {
    parts.push(`${usage.input_tokens ?? "?"} tokens in, ${usage.output_tokens ?? "?"} out`);
  }
  return parts.join(" · ");
}

function errorText(frame) {
  const readable = ERRORS[frame.code] ?? "The request failed.";
  const detail = typeof frame.message === "string" && frame.message ? ` ${frame.message}` : "";
  return `${readable}${detail} (${frame.code ?? "error"})`;
}

// --- a reply streaming in --------------------------------------------------------------------------------

let renderQueued = false;

function renderReply() {
  renderQueued = false;
  const reply = state.reply;
  if (!reply) return;
  const follow = scrolledToEnd();
  reply.body.replaceChildren(renderMarkdown(reply.text));
  if (follow) ui.log.scrollTop = ui.log.scrollHeight;
}

function onDelta(text) {
  if (!state.reply) state.reply = { ...addMessage("assistant", renderMarkdown, ""), text: "" };
  state.reply.text += text;
  state.reply.article.classList.add("streaming");
  if (!renderQueued) {
    renderQueued = true;
    requestAnimationFrame(renderReply); // one render per frame, however many deltas arrived
  }
}

function finishReply(metaText, kind = "") {
  const reply = state.reply;
  if (!reply) return false;
  renderReply();
  reply.article.classList.remove("streaming", "waiting");
  reply.meta.textContent = metaText;
  if (kind) reply.meta.dataset.kind = kind;
  state.reply = null;
  updateControls();
  if (state.renew) setTimeout(renew);
  return true;
}

// --- frames from the server ------------------------------------------------------------------------------

function onFrame(data) {
  let frame;
  try {
    frame = JSON.parse(data);
  } catch {
    addNotice("The server sent a frame that is not JSON.");
    return;
  }
  if (typeof frame === "string") return onDelta(frame);
  if (!frame || typeof frame !== "object") return;
  switch (frame.type) {
    case "end":
      remember(frame.conversationId);
      finishReply(usageText(frame));
      return;
    case "error":
      remember(frame.conversationId);
      return onError(frame);
    case "history":
      return onHistory(frame);
    case "forgotten":
      return onForgotten(frame);
    default:
      if (typeof frame.message === "string") onGatewayFrame(frame.message);
  }
}

function onError(frame) {
  if (state.waiting === "history" && !state.reply) {
    state.waiting = null;
    state.history = null;
    if (frame.code === "UnknownAction") {
      state.noHistory = true; // a server without conversations: replies are single-turn
    } else if (frame.code === "ConversationNotFound") {
      forgetLocally();
      note("The last conversation is gone; a new one starts with your next message.");
    } else {
      addNotice(`Could not load the conversation. ${errorText(frame)}`);
    }
    updateControls();
    return;
  }
  if (state.waiting === "forget") state.waiting = null;
  if (frame.code === "Unauthorized") signIn?.expired();
  if (frame.code === "ConversationNotFound") {
    forgetLocally(); // else every next message would name it again
    note("Your next message starts a new conversation.");
  }
  if (!finishReply(errorText(frame), "error")) addNotice(errorText(frame));
  updateControls();
}

function onGatewayFrame(message) {
  const text = GATEWAY[message] ?? `The gateway answered: ${message}`;
  if (message === "Endpoint request timed out" && state.reply) {
    // API Gateway stops waiting after 29 s, but the function goes on streaming the reply.
    state.reply.meta.textContent = `${text} The reply goes on.`;
    return;
  }
  if (state.waiting) {
    state.waiting = null;
    state.history = null;
    addNotice(text);
  } else if (!finishReply(text, "error")) {
    addNotice(text);
  }
  updateControls();
}

// A turn too long for one frame comes as several entries with the same `turn`: join their texts.
function assemble(entries) {
  const turns = [];
  for (const entry of entries) {
    const last = turns.at(-1);
    if (last && last.turn === entry.turn) {
      last.user += entry.user ?? "";
      last.assistant += entry.assistant ?? "";
      for (const key of ["status", "stop_reason", "usage"]) if (entry[key] != null) last[key] = entry[key];
    } else {
      turns.push({ ...entry, user: entry.user ?? "", assistant: entry.assistant ?? "" });
    }
  }
  return turns;
}

function onHistory(frame) {
  if (frame.part === 1 || !state.history || state.history.conversationId !== frame.conversationId) {
    state.history = { conversationId: frame.conversationId, turns: [] };
  }
  state.history.turns.push(...(Array.isArray(frame.turns) ? frame.turns : []));
  if (frame.part < frame.parts) return;
  const turns = assemble(state.history.turns);
  state.history = null;
  state.waiting = null;
  remember(frame.conversationId);
  if (!state.reply) {
    ui.log.replaceChildren();
    for (const turn of turns) drawTurn(turn);
    ui.log.scrollTop = ui.log.scrollHeight;
  }
  updateControls();
}

function drawTurn(turn) {
  if (turn.user) addMessage("user", renderPlain, turn.user);
  const { meta } = addMessage("assistant", renderMarkdown, turn.assistant);
  if (turn.status === "complete") {
    meta.textContent = usageText(turn);
  } else {
    meta.textContent = {
      partial: "Stopped before the end.",
      failed: "This reply failed.",
      pending: "Still being written…",
    }[turn.status] ?? "";
    meta.dataset.kind = turn.status === "failed" ? "error" : "";
  }
}

function onForgotten(frame) {
  state.waiting = null;
  if (!frame.conversationId || frame.conversationId === state.conversationId) forgetLocally();
  ui.log.replaceChildren();
  note("Chat deleted.");
  updateControls();
}

// --- the socket --------------------------------------------------------------------------------------------

function send(message) {
  const frame = JSON.stringify(message);
  const bytes = new TextEncoder().encode(frame).length;
  if (bytes > FRAME_LIMIT) {
    note(
      `This message is too long to send: ${bytes.toLocaleString("en")} bytes as sent, and one WebSocket frame ` +
        `holds at most ${FRAME_LIMIT.toLocaleString("en")} bytes. Shorten it or split it in parts.`,
    );
    return false;
  }
  state.ws.send(frame);
  return true;
}

function requestHistory() {
  if (!state.conversationId || state.noHistory) return;
  state.waiting = "history";
  send({ action: "history", conversationId: state.conversationId });
}

function connect() {
  clearTimeout(state.retryTimer);
  const token = signIn?.token();
  let ws;
  try {
    // The token rides as the second subprotocol: browsers cannot set headers on a WebSocket handshake.
    ws = token ? new WebSocket(state.url, ["bedrock-ws-chat", token]) : new WebSocket(state.url);
  } catch (error) {
    setStatus(`Cannot connect: ${error.message}`, "error");
    return;
  }
  state.ws = ws;
  let opened = false;
  setStatus("Connecting…");
  ws.onopen = () => {
    opened = true;
    state.open = true;
    state.attempts = 0;
    setStatus("Connected", "ok");
    if (state.needsHistory) requestHistory();
    state.needsHistory = false;
    updateControls();
  };
  ws.onmessage = (event) => onFrame(event.data);
  ws.onclose = (event) => {
    if (state.ws !== ws) return;
    state.ws = null;
    state.open = false;
    state.waiting = null;
    // A reply cut off by a dropped socket: the server kept what it sent, so redraw from its history. After Stop
    // the page already shows exactly what arrived, and the next message continues the conversation by its id.
    if (state.reply && !ws.stopped) state.needsHistory = true;
    finishReply("The connection closed before the reply ended.", "error");
    if (!opened) state.attempts += 1;
    if (!opened && signIn?.refused(state.attempts)) {
      setStatus("Not connected: sign in below", "warn");
      return updateControls();
    }
    if (!opened && !signIn && state.attempts === 2) {
      note("Cannot connect. If this API needs sign-in, add &auth=token to the page's address to paste a token.");
    }
    const delay = ws.stopped ? 0 : retryDelay(event);
    setStatus(delay ? `Disconnected; reconnecting in ${Math.ceil(delay / 1000)} s…` : "Reconnecting…", "warn");
    state.retryTimer = setTimeout(connect, delay);
    updateControls();
  };
  updateControls();
}

function retryDelay(event) {
  if (event.code === 1001 && state.attempts === 0) return 0; // API Gateway's idle or 2-hour limit: just reopen
  const base = RETRY_MS[Math.min(state.attempts, RETRY_MS.length - 1)];
  return Math.round(base * (1 + 0.3 * Math.random()));
}

function reconnectNow() {
  if (state.ws) {
    state.ws.stopped = true;
    state.ws.close(1000, "Reconnecting");
  } else {
    connect();
  }
}

// A fresh token: this connection was let in with the old one, so reopen, but never in the middle of a reply.
function renew() {
  state.renew = state.reply !== null;
  if (!state.renew) reconnectNow();
}

function disconnect() {
  clearTimeout(state.retryTimer);
  const ws = state.ws;
  state.ws = null;
  state.open = false;
  ws?.close(1000, "Signed out");
  finishReply("Signed out.");
  setStatus("Not connected", "warn");
  updateControls();
}

// --- the controls ------------------------------------------------------------------------------------------

function submit() {
  const text = ui.input.value;
  if (!text.trim() || ui.send.disabled) return;
  const message = { action: "sendtext", text };
  if (state.startNew) message.new = true;
  else if (state.conversationId) message.conversationId = state.conversationId;
  if (!send(message)) return;
  note("");
  ui.input.value = "";
  addMessage("user", renderPlain, text);
  state.reply = { ...addMessage("assistant", renderMarkdown, ""), text: "" };
  state.reply.article.classList.add("waiting");
  updateControls();
}

ui.form.addEventListener("submit", (event) => {
  event.preventDefault();
  submit();
});

ui.input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    submit();
  }
});

// Closing the socket is how a client stops a reply: the server's next post gets GoneException and it stops
// the model, keeping the reply so far as a partial turn. Then reconnect at once.
ui.stop.addEventListener("click", () => {
  finishReply("Stopped.");
  note("");
  reconnectNow();
});

ui.newChat.addEventListener("click", () => {
  forgetLocally();
  state.startNew = true;
  ui.log.replaceChildren();
  note("New chat: your next message starts a fresh conversation.");
  ui.input.focus();
  updateControls();
});

ui.deleteChat.addEventListener("click", () => {
  if (!state.conversationId || !window.confirm("Delete this chat from the server? This cannot be undone.")) return;
  state.waiting = "forget";
  send({ action: "forget", conversationId: state.conversationId });
  updateControls();
});

// --- start -------------------------------------------------------------------------------------------------

// Settings: the page's query string (?url=wss://…&auth=cognito&clientId=…&region=…), over the config.json served
// beside the page (the emulator's describes its stack: url, region, outputs, local AWS endpoints).
async function loadConfig() {
  const params = Object.fromEntries(new URLSearchParams(location.search));
  let served = {};
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    if (response.ok) served = await response.json();
  } catch {
    // no config.json: the query string must say where the API is
  }
  const outputs = served.outputs ?? {};
  const region = params.region ?? served.region ?? "";
  return {
    url: params.url ?? served.url ?? "",
    auth: params.auth ?? outputs.Auth ?? "none", // none | cognito | oidc | token (paste one)
    clientId: params.clientId ?? outputs.UserPoolClientId ?? "",
    cognitoEndpoint:
      params.cognitoEndpoint ??
      served.endpoints?.AWS_ENDPOINT_URL_COGNITO_IDP ??
      (region ? `https://cognito-idp.${region}.amazonaws.com/` : ""),
  };
}

let signIn = null; // signin.js, when the stack needs a token

async function start() {
  const config = await loadConfig();
  if (!/^wss?:\/\//.test(config.url)) {
    setStatus("No WebSocket URL: open this page with ?url=wss://…", "error");
    return;
  }
  state.url = config.url;
  if (config.auth !== "none") {
    const module = await import("./signin.js");
    signIn = module.setUp(config, { reconnectNow, renew, disconnect });
    if (!signIn.ready()) {
      setStatus("Not connected: sign in below", "warn");
      return; // the form connects once signed in
    }
  }
  connect();
}

updateControls();
start();

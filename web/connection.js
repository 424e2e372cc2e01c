// The one WebSocket to the API: sending (within API Gateway's frame quota), connecting with the sign-in token,
// reconnecting with backoff when it drops (and resuming the reply it cut off), and reopening on request (a refreshed
// token, sign-out).
import { refresh as refreshList } from "./conversations.js";
import { onFrame, stopReply } from "./frames.js";
import { note, setStatus, state, updateControls } from "./state.js";
import { finishReply } from "./view.js";

const FRAME_LIMIT = 32768; // API Gateway's WebSocket frame quota: a longer message would cost the connection
const RETRY_MS = [500, 1000, 2000, 4000, 8000, 15000, 30000]; // then 30 s, each with up to 30% jitter

export function send(message) {
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

export function requestHistory() {
  if (!state.conversationId || state.noHistory) return;
  state.waiting = "history";
  send({ action: "history", conversationId: state.conversationId });
}

export function connect() {
  clearTimeout(state.retryTimer);
  const token = state.signIn?.token();
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
    if (state.pendingStop) send({ action: "stop", conversationId: state.pendingStop });
    state.pendingStop = null;
    if (state.reply?.resume) resumeReply();
    else if (state.needsHistory) requestHistory();
    state.needsHistory = false;
    refreshList();
    updateControls();
  };
  ws.onmessage = (event) => onFrame(event.data);
  ws.onclose = (event) => {
    if (state.ws !== ws) return;
    state.ws = null;
    state.open = false;
    state.waiting = null;
    // A reply cut off by a dropped socket goes on on the server for a grace period: resume it once reconnected.
    // Without its conversation's id (a server without `resume`), redraw from the server's history instead.
    if (state.reply?.conversationId && !ws.stopped) {
      state.reply.resume = true;
      state.reply.meta.textContent = "Connection lost; the reply resumes when the page reconnects…";
    } else {
      if (state.reply && !ws.stopped) state.needsHistory = true;
      finishReply("The connection closed before the reply ended.", "error");
    }
    if (!opened) state.attempts += 1;
    if (!opened && state.signIn?.refused(state.attempts)) {
      setStatus("Not connected: sign in below", "warn");
      return updateControls();
    }
    if (!opened && !state.signIn && state.attempts === 2) {
      note("Cannot connect. If this API needs sign-in, its config.json must say so (outputs.Auth; make web-config).");
    }
    const delay = ws.stopped ? 0 : retryDelay(event);
    setStatus(delay ? `Disconnected; reconnecting in ${Math.ceil(delay / 1000)} s…` : "Reconnecting…", "warn");
    state.retryTimer = setTimeout(connect, delay);
    updateControls();
  };
  updateControls();
}

// Ask for the rest of the reply the dropped socket cut off, from the characters the page holds.
function resumeReply() {
  const reply = state.reply;
  reply.resume = false;
  reply.meta.textContent = "";
  send({ action: "resume", conversationId: reply.conversationId, from: reply.chars });
  if (reply.stopRequested) stopReply();
}

function retryDelay(event) {
  if (event.code === 1001 && state.attempts === 0) return 0; // API Gateway's idle or 2-hour limit: just reopen
  const base = RETRY_MS[Math.min(state.attempts, RETRY_MS.length - 1)];
  return Math.round(base * (1 + 0.3 * Math.random()));
}

export function reconnectNow() {
  if (state.ws) {
    state.ws.stopped = true;
    state.ws.close(1000, "Reconnecting");
  } else {
    connect();
  }
}

// A fresh token: this connection was let in with the old one, so reopen, but never in the middle of a reply.
export function renew() {
  state.renew = state.reply !== null;
  if (!state.renew) reconnectNow();
}

export function disconnect() {
  clearTimeout(state.retryTimer);
  const ws = state.ws;
  state.ws = null;
  state.open = false;
  ws?.close(1000, "Signed out");
  finishReply("Signed out.");
  setStatus("Not connected", "warn");
  updateControls();
}

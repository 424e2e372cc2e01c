// Frames from the server, one at a time: text deltas, `started` and `resume` (a reply resumed after a dropped
// socket), `end`, `error`, `history`, `forgotten`, the list's
// `conversations` and `renamed` (conversations.js), and API Gateway's
// own frames (which have no "type"). The protocol is the README's "Message protocol" section.
import { onConversations, onRemoved, onRenamed, touched } from "./conversations.js";
import { onHistory } from "./history.js";
import { forgetLocally, note, remember, state, ui, updateControls } from "./state.js";
import { send } from "./connection.js";
import { addNotice, budgetText, finishReply, onDelta, usageText } from "./view.js";

const ERRORS = {
  BadRequest: "The server could not use that message.",
  UnknownAction: "The server does not know that request.",
  Throttled: "The model is busy right now. Try again in a moment.",
  ModelError: "The model failed to answer.",
  Internal: "Something went wrong on the server.",
  ConversationNotFound: "That conversation no longer exists.",
  ConversationBusy: "This conversation is still answering another message. Wait for it, or press Stop.",
  Unauthorized: "Your sign-in has expired. Sign in again.",
  QuotaExceeded: "Today's token budget does not cover another reply.",
  TooManyReplies: "Your other replies are still answering. Wait for one to finish.",
  GuardrailIntervened: "The content guardrail stopped this reply.",
};
// API Gateway's own frames: {"message": "...", "connectionId": ..., "requestId": ...}, no "type".
const GATEWAY = {
  Forbidden: "The gateway refused the request (Forbidden).",
  "Internal server error": "The server failed to handle the request (Internal server error).",
  "Endpoint request timed out": "The gateway stopped waiting for the server (Endpoint request timed out).",
};

function errorText(frame) {
  const readable = ERRORS[frame.code] ?? "The request failed.";
  const detail = typeof frame.message === "string" && frame.message ? ` ${frame.message}` : "";
  return `${readable}${detail} (${frame.code ?? "error"})`;
}

export function onFrame(data) {
  let frame;
  try {
    frame = JSON.parse(data);
  } catch {
    addNotice("The server sent a frame that is not JSON.");
    return;
  }
  if (typeof frame === "string") {
    resendStop();
    return onDelta(frame);
  }
  if (!frame || typeof frame !== "object") return;
  switch (frame.type) {
    case "end":
      remember(frame.conversationId);
      finishReply(usageText(frame), "", budgetText(frame.budget));
      return touched(frame.conversationId);
    case "error":
      remember(frame.conversationId);
      return onError(frame);
    case "started":
      return onStarted(frame);
    case "resume":
      return onResume(frame);
    case "history":
      return onHistory(frame);
    case "forgotten":
      return onForgotten(frame);
    case "conversations":
      return onConversations(frame);
    case "renamed":
      return onRenamed(frame);
    default:
      if (typeof frame.message === "string") onGatewayFrame(frame.message);
  }
}

// A `stop` sent before the reply's first delta may find nothing streaming yet (the reply had not begun): the first
// delta after it says it had, so ask once more.
function resendStop() {
  const reply = state.reply;
  if (!reply?.stopSent || reply.stopResent) return;
  reply.stopResent = true;
  send({ action: "stop", conversationId: reply.conversationId });
}

// The reply's conversation, before its first delta: what a `resume` or `stop` names.
function onStarted(frame) {
  remember(frame.conversationId);
  if (!state.reply) return;
  state.reply.conversationId = frame.conversationId;
  if (state.reply.stopRequested) stopReply();
}

// The catch-up after a reconnect: the reply's text from `offset` on (the page asked from what it holds), then live
// deltas as usual.
function onResume(frame) {
  if (!state.reply || typeof frame.text !== "string") return;
  const overlap = state.reply.chars - frame.offset; // never more than 0 when the page asked from what it held
  onDelta(overlap > 0 ? [...frame.text].slice(overlap).join("") : frame.text);
}

export function stopReply() {
  state.reply.stopSent = true;
  send({ action: "stop", conversationId: state.reply.conversationId });
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
  if (frame.code === "Unauthorized") state.signIn?.expired();
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

function onForgotten(frame) {
  state.waiting = null;
  onRemoved(frame);
  if (frame.all || !frame.conversationId || frame.conversationId === state.conversationId) {
    forgetLocally();
    ui.log.replaceChildren();
  }
  note(frame.all ? "All chats deleted." : "Chat deleted.");
  updateControls();
}

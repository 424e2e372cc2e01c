// The composer and the chat actions: sending a message (Enter or Send), Stop, New chat and Delete chat.
import { send } from "./connection.js";
import { stopReply } from "./frames.js";
import { renderMarkdown, renderPlain } from "./markdown.js";
import { forgetLocally, note, state, ui, updateControls } from "./state.js";
import { addMessage, finishReply } from "./view.js";

function submit() {
  const text = ui.input.value;
  if (!text.trim() || ui.send.disabled) return;
  const message = { action: "sendtext", text, resumable: true }; // a `started` frame names the reply's conversation
  if (state.startNew) message.new = true;
  else if (state.conversationId) message.conversationId = state.conversationId;
  if (!ui.model.hidden) message.model = ui.model.value; // the picker: one of the stack's models
  if (!send(message)) return;
  note("");
  ui.input.value = "";
  addMessage("user", renderPlain, text);
  state.reply = { ...addMessage("assistant", renderMarkdown, ""), text: "", chars: 0 };
  state.reply.article.classList.add("waiting");
  updateControls();
}

// The model picker, when the stack lets a message choose among several models (the first is its default).
export function offerModels(models) {
  if (models.length < 2) return;
  ui.model.replaceChildren(...models.map((id) => new Option(id, id)));
  ui.model.hidden = false;
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

// Stop asks the server to stop the model at once; the reply ends with its end frame (stop_reason "stopped"), and the
// server keeps it as a partial turn. Before the `started` frame names the conversation, the request waits for it.
ui.stop.addEventListener("click", () => {
  const reply = state.reply;
  if (!reply) return;
  note("");
  reply.stopRequested = true;
  if (reply.conversationId && state.open) stopReply();
  else if (!state.open) {
    state.pendingStop = reply.conversationId ?? null; // sent once reconnected: the server would wait out its grace
    finishReply("Stopped.");
  }
  updateControls();
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

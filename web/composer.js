// The composer and the chat actions: sending a message (Enter or Send), Stop, New chat and Delete chat.
import { reconnectNow, send } from "./connection.js";
import { renderMarkdown, renderPlain } from "./markdown.js";
import { forgetLocally, note, state, ui, updateControls } from "./state.js";
import { addMessage, finishReply } from "./view.js";

function submit() {
  const text = ui.input.value;
  if (!text.trim() || ui.send.disabled) return;
  const message = { action: "sendtext", text };
  if (state.startNew) message.new = true;
  else if (state.conversationId) message.conversationId = state.conversationId;
  if (!ui.model.hidden) message.model = ui.model.value; // the picker: one of the stack's models
  if (!send(message)) return;
  note("");
  ui.input.value = "";
  addMessage("user", renderPlain, text);
  state.reply = { ...addMessage("assistant", renderMarkdown, ""), text: "" };
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

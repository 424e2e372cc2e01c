// Redrawing a conversation from the server's `history` frames: after a reload, or a socket that dropped mid-reply.
// A long history comes in several frames (part/parts), and a turn too long for one frame in several entries.
import { exported, list } from "./conversations.js";
import { offerCopy } from "./copy.js";
import { renderMarkdown, renderPlain } from "./markdown.js";
import { remember, state, ui, updateControls } from "./state.js";
import { addMessage, usageText } from "./view.js";

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

export function onHistory(frame) {
  if (frame.part === 1 || !state.history || state.history.conversationId !== frame.conversationId) {
    state.history = { conversationId: frame.conversationId, turns: [] };
  }
  state.history.turns.push(...(Array.isArray(frame.turns) ? frame.turns : []));
  if (frame.part < frame.parts) return;
  const turns = assemble(state.history.turns);
  state.history = null;
  state.waiting = null;
  if (list.exportAs) return exported(frame.conversationId, turns); // a download; the view stays as it is
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
  const { article, meta } = addMessage("assistant", renderMarkdown, turn.assistant);
  offerCopy(article, turn.assistant);
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

// Copy buttons: "Copy code" on each code block (exactly the code, not its label) and "Copy reply" under each
// finished reply (the Markdown as the model wrote it). One listener for the whole page, so buttons in a reply
// that is re-rendered as it streams need no wiring.
import { announce } from "./announce.js";
import { el } from "./inline.js";

const replies = new WeakMap(); // a message's <article> -> its Markdown text

export function offerCopy(article, text) {
  if (!text) return;
  replies.set(article, text);
  const button = el("button", "Copy reply");
  button.type = "button";
  button.dataset.copy = "reply";
  const actions = el("div");
  actions.className = "reply-actions";
  actions.append(button);
  article.append(actions);
}

function copiedText(button) {
  if (button.dataset.copy === "code") return button.closest(".code-block")?.querySelector("code")?.textContent;
  return replies.get(button.closest("article"));
}

async function copy(button) {
  const text = copiedText(button);
  if (text === undefined) return;
  const label = button.dataset.label ?? button.textContent;
  button.dataset.label = label;
  let done;
  try {
    await navigator.clipboard.writeText(text);
    done = "Copied";
  } catch {
    done = "Copy failed"; // no clipboard: an insecure (http) page, or permission refused
  }
  button.textContent = done;
  announce(done);
  setTimeout(() => (button.textContent = label), 2000);
}

document.addEventListener("click", (event) => {
  const button = event.target.closest?.("button[data-copy]");
  if (button) copy(button);
});

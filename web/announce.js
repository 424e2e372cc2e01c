// What a screen reader hears of a reply: not every token (the log itself is not a live region), but each block of
// the reply once it has settled, then the rest when it ends, through one polite live region (index.html).
const region = document.getElementById("announcer");

export function announce(text, fresh = false) {
  if (fresh) region.replaceChildren();
  if (!text.trim()) return;
  const line = document.createElement("p");
  line.textContent = text;
  region.append(line);
}

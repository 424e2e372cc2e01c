// GitHub-flavoured Markdown, the part models write, built as DOM nodes. Model output is untrusted: no string from
// it is ever parsed as HTML (text goes in through textContent and Text nodes only), so a reply containing
// <script> or <img onerror=…> shows those characters and nothing runs or loads. Blocks: paragraphs (single line
// breaks kept), headings, bullet, numbered and task lists (nested by indentation), block quotes, tables (table.js),
// fenced code (code.js); inline Markdown is inline.js. Anything else is shown as the text it is.
import { codeBlock } from "./code.js";
import { el, inline } from "./inline.js";
import { table, tableAt } from "./table.js";

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$/;
const BULLET = /^(\s*)[-*+•]\s+(.*)$/;
const NUMBERED = /^(\s*)(\d{1,9})[.)]\s+(.*)$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const BLANK = /^\s*$/;
const RULE = /^ {0,3}([-*_])(?: *\1){2,} *$/;
const TASK = /^\[([ xX])\]\s+(.*)$/;

function listItem(line) {
  let m = BULLET.exec(line);
  if (m) return { ordered: false, indent: m[1].length, text: m[2] };
  m = NUMBERED.exec(line);
  if (m) return { ordered: true, indent: m[1].length, start: Number(m[2]), text: m[3] };
  return null;
}

function startsBlock(line) {
  return FENCE.test(line) || HEADING.test(line) || QUOTE.test(line) || RULE.test(line) || listItem(line) !== null;
}

function lines(parent, items) {
  items.forEach((line, n) => {
    if (n) parent.append(el("br"));
    inline(line, parent);
  });
}

// A list item's text; "[ ]" / "[x]" first makes it a task, shown with a checkbox nobody can tick.
function itemNode(text) {
  const li = el("li");
  const task = TASK.exec(text);
  inline(task ? task[2] : text, li);
  if (task) {
    const box = el("input");
    box.type = "checkbox";
    box.disabled = true;
    box.checked = task[1] !== " ";
    box.setAttribute("aria-label", li.textContent);
    li.prepend(box, " ");
    li.className = "task";
  }
  return li;
}

// One list from lines[i] (an item) on; items indented deeper than `first` nest in the previous item.
function list(source, i, first) {
  const node = el(first.ordered ? "ol" : "ul");
  if (first.ordered && first.start !== 1) node.start = first.start;
  let li = null;
  while (i < source.length) {
    const line = source[i];
    if (BLANK.test(line)) {
      const next = i + 1 < source.length ? listItem(source[i + 1]) : null;
      if (!next || next.indent < first.indent) break;
      i++;
      continue;
    }
    const item = listItem(line);
    if (item && li && item.indent > first.indent + 1) {
      const [nested, j] = list(source, i, item);
      li.append(nested);
      i = j;
    } else if (item) {
      if (item.indent < first.indent || item.ordered !== first.ordered) break;
      li = itemNode(item.text);
      node.append(li);
      i++;
    } else if (li && !startsBlock(line)) {
      li.append(el("br"));
      inline(line.trim(), li);
      i++;
    } else {
      break;
    }
  }
  return [node, i];
}

// The block starting at source[i] (not blank) as one node, and the index of the line after it. `open`: the text
// is a reply still streaming in, so its last line may be incomplete.
function block(source, i, open) {
  const line = source[i];
  let m;
  if ((m = FENCE.exec(line))) {
    // Until the closing fence, or the end of the text (a reply still streaming in).
    const body = [];
    for (i++; i < source.length && !source[i].trim().startsWith(m[1]); i++) body.push(source[i]);
    return [codeBlock(body.join("\n"), m[2]), i + 1];
  }
  if ((m = HEADING.exec(line))) {
    const heading = el(`h${Math.min(m[1].length + 2, 6)}`); // the page's own h1/h2 stay above replies
    inline(m[2], heading);
    return [heading, i + 1];
  }
  if (RULE.test(line)) return [el("hr"), i + 1];
  if (QUOTE.test(line)) {
    const quoted = [];
    for (; i < source.length && (m = QUOTE.exec(source[i])); i++) quoted.push(m[1]);
    const quote = el("blockquote");
    quote.append(renderMarkdown(quoted.join("\n")));
    return [quote, i];
  }
  const item = listItem(line);
  if (item) return list(source, i, item);
  const align = tableAt(source, i, open);
  if (align) return table(source, i, align, (row) => !BLANK.test(row) && row.includes("|") && !startsBlock(row));
  const paragraph = [line];
  for (i++; i < source.length && !BLANK.test(source[i]) && !startsBlock(source[i]) && !tableAt(source, i, open); i++) {
    paragraph.push(source[i]);
  }
  const p = el("p");
  lines(p, paragraph);
  return [p, i];
}

// The text's blocks in order: {start (its first line's index), node}.
function blocks(source, open) {
  const found = [];
  for (let i = 0; i < source.length; ) {
    if (BLANK.test(source[i])) {
      i++;
      continue;
    }
    const [node, next] = block(source, i, open);
    found.push({ start: i, node });
    i = next;
  }
  return found;
}

const split = (text) => text.replace(/\r\n?/g, "\n").split("\n");

export function renderMarkdown(text) {
  const out = document.createDocumentFragment();
  for (const { node } of blocks(split(text), false)) out.append(node);
  return out;
}

// A reply streaming into `parent`: each update renders only the text after the last settled block, so the time
// per delta does not grow with the reply. A block has settled once the block after it starts on a complete line
// with another complete line after it: no later text can change it (a block's end depends on at most the line
// after the next block's first line). `onSettle(node)` hears of each settled block once, in order.
export class MarkdownStream {
  constructor(parent, onSettle = () => {}) {
    this.parent = parent;
    this.onSettle = onSettle;
    this.settled = 0; // characters of the text already in settled blocks
    this.tail = []; // the nodes rendered from the rest, replaced on every update
  }

  update(text, done = false) {
    const source = split(text.slice(this.settled));
    const found = blocks(source, !done);
    let keep = done ? found.length : 0;
    while (keep + 1 < found.length && found[keep + 1].start + 2 < source.length) keep++;
    for (const node of this.tail) node.remove();
    this.parent.append(...found.map((b) => b.node));
    for (const { node } of found.slice(0, keep)) this.onSettle(node);
    this.tail = found.slice(keep).map((b) => b.node);
    if (keep === found.length) {
      this.settled = text.length;
    } else if (keep) {
      // To the start of the first open block's line, counting line breaks as the text has them (\r\n is one).
      let n = 0;
      for (const lineBreak of text.slice(this.settled).matchAll(/\r\n?|\n/g)) {
        if (++n === found[keep].start) {
          this.settled += lineBreak.index + lineBreak[0].length;
          break;
        }
      }
    }
  }
}

// Text that is not Markdown (what the user typed): shown exactly as typed (style.css keeps its line breaks).
export function renderPlain(text) {
  return el("p", text);
}

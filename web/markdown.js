// A small Markdown subset, built as DOM nodes. Model output is untrusted: no string from it is ever parsed as
// HTML (text goes in through textContent and Text nodes only), so a reply containing <script> or
// <img onerror=…> shows those characters and nothing runs or loads. Links only to http(s), opened in a new tab
// without a referrer; never images. Supported: paragraphs (single line breaks kept), headings, bullet and
// numbered lists (nested by indentation), block quotes, fenced code, inline code, bold, italic, links and bare
// http(s) URLs. Anything else is shown as the text it is.

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$/;
const BULLET = /^(\s*)[-*+•]\s+(.*)$/;
const NUMBERED = /^(\s*)(\d{1,9})[.)]\s+(.*)$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const BLANK = /^\s*$/;

const INLINE = new RegExp(
  [
    /(`+)([\s\S]*?[^`])\1(?!`)/.source, // 1, 2: code span
    /\*\*(?=\S)([\s\S]*?\S)\*\*/.source, // 3: bold
    /(?<![\w])__(?=\S)([\s\S]*?\S)__(?!\w)/.source, // 4: bold
    /\*(?=[^\s*])([\s\S]*?[^\s*])\*/.source, // 5: italic
    /(?<![\w])_(?=\S)([\s\S]*?\S)_(?!\w)/.source, // 6: italic
    /\[([^\]\n]+)\]\(([^()\s]+)\)/.source, // 7, 8: [label](url)
    /(https?:\/\/[^\s<>()[\]"']*[^\s<>()[\]"'.,;:!?])/.source, // 9: a bare URL
  ].join("|"),
);

function el(tag, text) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  return node;
}

function link(href, label) {
  let url;
  try {
    url = new URL(href);
  } catch {
    return null;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return null;
  const a = el("a", label);
  a.href = url.href;
  a.title = url.href; // where it really goes, whatever the label says
  a.rel = "noopener noreferrer nofollow";
  a.referrerPolicy = "no-referrer";
  a.target = "_blank";
  return a;
}

function inline(text, parent) {
  let rest = text;
  while (rest) {
    const m = INLINE.exec(rest);
    if (!m) {
      parent.append(rest); // a string becomes a Text node: never markup
      return;
    }
    if (m.index) parent.append(rest.slice(0, m.index));
    if (m[1] !== undefined) {
      parent.append(el("code", m[2].replace(/^ ([\s\S]*) $/, "$1")));
    } else if (m[3] !== undefined || m[4] !== undefined) {
      const strong = el("strong");
      inline(m[3] ?? m[4], strong);
      parent.append(strong);
    } else if (m[5] !== undefined || m[6] !== undefined) {
      const em = el("em");
      inline(m[5] ?? m[6], em);
      parent.append(em);
    } else if (m[7] !== undefined) {
      parent.append(link(m[8], m[7]) ?? m[0]);
    } else {
      parent.append(link(m[9], m[9]) ?? m[0]);
    }
    rest = rest.slice(m.index + m[0].length);
  }
}

function listItem(line) {
  let m = BULLET.exec(line);
  if (m) return { ordered: false, indent: m[1].length, text: m[2] };
  m = NUMBERED.exec(line);
  if (m) return { ordered: true, indent: m[1].length, start: Number(m[2]), text: m[3] };
  return null;
}

function startsBlock(line) {
  return FENCE.test(line) || HEADING.test(line) || QUOTE.test(line) || listItem(line) !== null;
}

function lines(parent, items) {
  items.forEach((line, n) => {
    if (n) parent.append(el("br"));
    inline(line, parent);
  });
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
      li = el("li");
      inline(item.text, li);
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

export function renderMarkdown(text) {
  const out = document.createDocumentFragment();
  const source = text.replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  while (i < source.length) {
    const line = source[i];
    let m;
    if (BLANK.test(line)) {
      i++;
    } else if ((m = FENCE.exec(line))) {
      // Until the closing fence, or the end of the text (a reply still streaming in).
      const body = [];
      for (i++; i < source.length && !source[i].trim().startsWith(m[1]); i++) body.push(source[i]);
      i++;
      const code = el("code", body.join("\n"));
      if (m[2]) code.dataset.lang = m[2];
      const pre = el("pre");
      pre.append(code);
      out.append(pre);
    } else if ((m = HEADING.exec(line))) {
      const heading = el(`h${Math.min(m[1].length + 2, 6)}`); // the page's own h1/h2 stay above replies
      inline(m[2], heading);
      out.append(heading);
      i++;
    } else if (QUOTE.test(line)) {
      const quoted = [];
      for (; i < source.length && (m = QUOTE.exec(source[i])); i++) quoted.push(m[1]);
      const quote = el("blockquote");
      quote.append(renderMarkdown(quoted.join("\n")));
      out.append(quote);
    } else if (listItem(line)) {
      const [node, j] = list(source, i, listItem(line));
      out.append(node);
      i = j;
    } else {
      const paragraph = [];
      for (; i < source.length && !BLANK.test(source[i]) && (!paragraph.length || !startsBlock(source[i])); i++) {
        paragraph.push(source[i]);
      }
      const p = el("p");
      lines(p, paragraph);
      out.append(p);
    }
  }
  return out;
}

// Text that is not Markdown (what the user typed): shown exactly as typed (style.css keeps its line breaks).
export function renderPlain(text) {
  return el("p", text);
}

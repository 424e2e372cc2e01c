// Inline Markdown (code spans, bold, italic, strikethrough, links, bare URLs) built as DOM nodes. Model output is
// untrusted: no string from it is ever parsed as HTML; text goes in through textContent and Text nodes only.
// Links only to http(s), opened in a new tab without a referrer; never images.

const INLINE = new RegExp(
  [
    /(?<ticks>`+)(?<code>[\s\S]*?[^`])\k<ticks>(?!`)/.source,
    /\*\*(?=\S)(?<bold>[\s\S]*?\S)\*\*/.source,
    /(?<![\w])__(?=\S)(?<bold2>[\s\S]*?\S)__(?!\w)/.source,
    /\*(?=[^\s*])(?<em>[\s\S]*?[^\s*])\*/.source,
    /(?<![\w])_(?=\S)(?<em2>[\s\S]*?\S)_(?!\w)/.source,
    /~~(?=\S)(?<del>[\s\S]*?\S)~~/.source,
    /\[(?<label>[^\]\n]+)\]\((?<href>[^()\s]+)\)/.source,
    /(?<url>https?:\/\/[^\s<>()[\]"']*[^\s<>()[\]"'.,;:!?])/.source,
  ].join("|"),
);

export function el(tag, text) {
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

function wrap(tag, text) {
  const node = el(tag);
  inline(text, node);
  return node;
}

export function inline(text, parent) {
  let rest = text;
  while (rest) {
    const m = INLINE.exec(rest);
    if (!m) {
      parent.append(rest); // a string becomes a Text node: never markup
      return;
    }
    if (m.index) parent.append(rest.slice(0, m.index));
    const g = m.groups;
    if (g.code !== undefined) parent.append(el("code", g.code.replace(/^ ([\s\S]*) $/, "$1")));
    else if (g.bold !== undefined || g.bold2 !== undefined) parent.append(wrap("strong", g.bold ?? g.bold2));
    else if (g.em !== undefined || g.em2 !== undefined) parent.append(wrap("em", g.em ?? g.em2));
    else if (g.del !== undefined) parent.append(wrap("del", g.del));
    else if (g.label !== undefined) parent.append(link(g.href, g.label) ?? m[0]);
    else parent.append(link(g.url, g.url) ?? m[0]);
    rest = rest.slice(m.index + m[0].length);
  }
}

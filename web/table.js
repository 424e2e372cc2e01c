// GFM tables: a header row, a delimiter row giving each column's alignment (:--, :-:, --:), then body rows until
// a blank line, a line without a pipe or another block. A ragged row is padded or cut to the header's width.
// A wide table scrolls inside its own box instead of widening the page.
import { el, inline } from "./inline.js";

const DELIMITER_CELL = /^\s*(:?)-+(:?)\s*$/;
// While a reply streams, a row starting with a pipe as the last line, or followed by a delimiter row still arriving
// ("|--"), shows as the table it is becoming rather than as a line of pipes.
const DELIMITER_SO_FAR = /^ {0,3}[|:-][\s:|-]*$/;

// Cells split at pipes not escaped with a backslash; the outer pipes are optional.
export function cells(line) {
  let row = line.trim();
  if (row.startsWith("|")) row = row.slice(1);
  if (row.endsWith("|") && !row.endsWith("\\|")) row = row.slice(0, -1);
  return row.split(/(?<!\\)\|/).map((cell) => cell.trim().replaceAll("\\|", "|"));
}

function alignments(line) {
  if (!line.includes("-")) return null;
  const align = [];
  for (const cell of cells(line)) {
    const m = DELIMITER_CELL.exec(cell);
    if (!m) return null;
    align.push(m[1] && m[2] ? "center" : m[2] ? "right" : m[1] ? "left" : "");
  }
  return align;
}

// The columns' alignments if a table starts at source[i], else null. `open`: the last line may still grow.
export function tableAt(source, i, open) {
  const line = source[i];
  if (!line.includes("|")) return null;
  const width = cells(line).length;
  const next = source[i + 1];
  const align = next === undefined ? null : alignments(next);
  if (align && align.length === width) return align;
  const last = source.length - 1;
  const growing = i === last || (i + 1 === last && DELIMITER_SO_FAR.test(next));
  return open && growing && line.trim().startsWith("|") ? new Array(width).fill("") : null;
}

function row(line, tag, align) {
  const tr = el("tr");
  const values = cells(line);
  align.forEach((alignment, n) => {
    const cell = el(tag);
    if (tag === "th") cell.scope = "col";
    if (alignment) cell.dataset.align = alignment;
    inline(values[n] ?? "", cell);
    tr.append(cell);
  });
  return tr;
}

// The table starting at source[i] (tableAt said so), and the index of the line after it. `isRow(line)` says
// whether a line goes on as a body row.
export function table(source, i, align, isRow) {
  const node = el("table");
  const head = el("thead");
  head.append(row(source[i], "th", align));
  node.append(head);
  const body = el("tbody");
  for (i += 2; i < source.length && isRow(source[i]); i++) body.append(row(source[i], "td", align));
  if (body.childElementCount) node.append(body);
  const scroller = el("div");
  scroller.className = "table-wrap";
  scroller.tabIndex = 0; // scrollable sideways: reachable by keyboard
  scroller.setAttribute("role", "region");
  scroller.setAttribute("aria-label", "Table");
  scroller.append(node);
  return [scroller, i];
}

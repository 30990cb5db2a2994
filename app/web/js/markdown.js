// A small Markdown renderer that builds DOM nodes directly.
//
// Why hand-written: the answer is model output, so it must never reach the
// page as HTML. Renderers that produce an HTML string need a sanitizer after
// them; this one never makes a string of markup at all: every piece of text
// becomes a text node, and links are kept only for http(s) and mailto URLs.
// It covers what chat answers use: paragraphs, headings, fenced code, lists,
// quotes, tables, rules, and inline code, bold, italic, strike and links.
// Raw HTML in the input is shown as the text it is.

import { h } from "./dom.js";

const FENCE = /^\s{0,3}(`{3,}|~{3,})\s*([\w+#.-]*)/;
const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^\s{0,3}([-*_])(\s*\1){2,}\s*$/;
const QUOTE = /^\s{0,3}>\s?(.*)$/;
const BULLET = /^\s*([-*+])\s+(.*)$/;
const ORDERED = /^\s*(\d{1,9})[.)]\s+(.*)$/;
const TABLE_SEP = /^\s*\|?\s*:?-{1,}:?\s*(\|\s*:?-{1,}:?\s*)*\|?\s*$/;

/** Render `text` into a DocumentFragment. */
export function renderMarkdown(text) {
  const fragment = document.createDocumentFragment();
  renderBlocks(String(text || "").split(/\r\n|\r|\n/), fragment);
  return fragment;
}

function renderBlocks(lines, parent) {
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) {
      i += 1;
      continue;
    }
    const fence = line.match(FENCE);
    if (fence) {
      const body = [];
      i += 1;
      while (i < lines.length && !lines[i].trim().startsWith(fence[1])) body.push(lines[i++]);
      i += 1; // the closing fence (or the end, while a code block still streams)
      const code = h("code", { class: fence[2] ? `lang-${fence[2]}` : null }, body.join("\n"));
      parent.append(h("pre", {}, code));
      continue;
    }
    const heading = line.match(HEADING);
    if (heading) {
      parent.append(inline(h(`h${Math.min(6, heading[1].length + 2)}`), heading[2]));
      i += 1;
      continue;
    }
    if (RULE.test(line)) {
      parent.append(h("hr"));
      i += 1;
      continue;
    }
    if (QUOTE.test(line)) {
      const body = [];
      while (i < lines.length && QUOTE.test(lines[i])) body.push(lines[i++].match(QUOTE)[1]);
      const quote = h("blockquote");
      renderBlocks(body, quote);
      parent.append(quote);
      continue;
    }
    if (BULLET.test(line) || ORDERED.test(line)) {
      i = renderList(lines, i, parent);
      continue;
    }
    if (line.includes("|") && i + 1 < lines.length && TABLE_SEP.test(lines[i + 1])) {
      i = renderTable(lines, i, parent);
      continue;
    }
    const para = [];
    while (i < lines.length && lines[i].trim() && !startsBlock(lines, i)) para.push(lines[i++]);
    if (!para.length) para.push(lines[i++]);
    const p = h("p");
    para.forEach((text, n) => {
      if (n) p.append(h("br"));
      inline(p, text.trim());
    });
    parent.append(p);
  }
}

function startsBlock(lines, i) {
  const line = lines[i];
  return (
    FENCE.test(line) ||
    HEADING.test(line) ||
    RULE.test(line) ||
    QUOTE.test(line) ||
    BULLET.test(line) ||
    ORDERED.test(line) ||
    (line.includes("|") && i + 1 < lines.length && TABLE_SEP.test(lines[i + 1]))
  );
}

function renderList(lines, i, parent) {
  const ordered = ORDERED.test(lines[i]);
  const pattern = ordered ? ORDERED : BULLET;
  const list = h(ordered ? "ol" : "ul");
  if (ordered) {
    const start = Number(lines[i].match(ORDERED)[1]);
    if (start !== 1) list.setAttribute("start", String(start));
  }
  let item = null;
  while (i < lines.length) {
    const line = lines[i];
    const match = line.match(pattern);
    if (match) {
      item = inline(h("li"), match[2]);
      list.append(item);
    } else if (item && line.trim() && /^\s+/.test(line) && !FENCE.test(line)) {
      item.append(" ");
      inline(item, line.trim()); // a continuation or a nested item, kept flat
    } else break;
    i += 1;
  }
  parent.append(list);
  return i;
}

function splitRow(line) {
  let row = line.trim();
  if (row.startsWith("|")) row = row.slice(1);
  if (row.endsWith("|")) row = row.slice(0, -1);
  return row.split("|").map((cell) => cell.trim());
}

function renderTable(lines, i, parent) {
  const head = splitRow(lines[i]);
  const table = h("table");
  table.append(h("thead", {}, h("tr", {}, head.map((cell) => inline(h("th"), cell)))));
  const body = h("tbody");
  i += 2;
  while (i < lines.length && lines[i].includes("|") && lines[i].trim()) {
    body.append(h("tr", {}, splitRow(lines[i]).map((cell) => inline(h("td"), cell))));
    i += 1;
  }
  table.append(body);
  parent.append(h("div", { class: "table-wrap" }, table));
  return i;
}

const INLINE = new RegExp(
  [
    /(`+)([\s\S]*?[^`])\1(?!`)/.source, // 1,2 code
    /\*\*(?=\S)([\s\S]*?\S)\*\*/.source, // 3 bold
    /__(?=\S)([\s\S]*?\S)__/.source, // 4 bold
    /\*(?=[^\s*])([^*]*?[^\s*])\*/.source, // 5 italic
    /(?<![\w])_(?=[^\s_])([^_]*?[^\s_])_(?![\w])/.source, // 6 italic
    /~~(?=\S)([\s\S]*?\S)~~/.source, // 7 strike
    /\[([^\]]+)\]\(\s*([^)\s]+)(?:\s+"[^"]*")?\s*\)/.source, // 8,9 link
    /(https?:\/\/[^\s<>()]*[^\s<>().,;:!?'"*_])/.source, // 10 bare URL
  ].join("|"),
);

const SAFE_URL = /^(https?:\/\/|mailto:)/i;

function link(href, children) {
  if (!SAFE_URL.test(href)) return null;
  return h("a", { href, target: "_blank", rel: "noopener noreferrer nofollow" }, children);
}

/** Append `text` with inline formatting to `el`; returns `el`. */
export function inline(el, text) {
  let rest = text;
  while (rest) {
    const m = rest.match(INLINE);
    if (!m) {
      el.append(rest);
      break;
    }
    if (m.index > 0) el.append(rest.slice(0, m.index));
    rest = rest.slice(m.index + m[0].length);
    if (m[2] !== undefined) el.append(h("code", {}, m[2].replace(/^ (.*) $/, "$1")));
    else if (m[3] !== undefined || m[4] !== undefined) el.append(inline(h("strong"), m[3] ?? m[4]));
    else if (m[5] !== undefined || m[6] !== undefined) el.append(inline(h("em"), m[5] ?? m[6]));
    else if (m[7] !== undefined) el.append(inline(h("del"), m[7]));
    else if (m[8] !== undefined) {
      const a = link(m[9], []);
      if (a) el.append(inline(a, m[8]));
      else el.append(m[0]); // an unsafe scheme (javascript:, data:…) stays text
    } else if (m[10] !== undefined) el.append(link(m[10], [m[10]]));
  }
  return el;
}

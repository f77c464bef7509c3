"""Layout checks run on every page at every width by ``audit.Audit`` (bounding boxes, in the page).

Each check is a JavaScript function returning a list of findings (strings); an empty list passes.

- ``labels_apart``: every visible checkbox (and radio) has a label whose first line of text sits on
  the same line as the box and just beside it;
- ``badly_broken_values``: long values (``code.uri``, the client ID and secret) break across lines only
  right after ``/ . _ ? & = # -`` (never mid-word);
- ``breadcrumb_line_starts``: no line of a breadcrumb starts with the separator (U+203A);
- ``header_rows``: the header's brand, navigation and account fit in two rows, the navigation in one;
- ``scope_grouping``: a scope's description is closer to its own scope than to the next one;
- ``copy_buttons``: the copy buttons of a page line up (one left edge).
"""

from __future__ import annotations

from typing import Final

# The first line box of an element's first non-blank text (skipping the control itself).
_HELPERS = """
const firstCharRect = (root, skip) => {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (skip && skip.contains(node)) continue;
    const at = node.textContent.search(/\\S/);
    if (at < 0) continue;
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + 1);
    const rect = range.getClientRects()[0];
    if (rect) return rect;
  }
  return null;
};
const visible = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
const describe = (el) =>
  el.id ? `#${el.id}` : `${el.tagName.toLowerCase()}[${el.name || ""}=${el.value || ""}]`;
"""

LABELS_APART: Final = (
    "() => {"
    + _HELPERS
    + """
  const boxes = [...document.querySelectorAll("input[type=checkbox], input[type=radio]")];
  return boxes.filter(visible).flatMap(box => {
    const label = box.labels && box.labels[0];
    if (!label) return [`${describe(box)} has no label`];
    const text = firstCharRect(label, box);
    if (!text) return [`${describe(box)} has an empty label`];
    const b = box.getBoundingClientRect();
    const middle = (b.top + b.bottom) / 2;
    const sameLine = middle >= text.top && middle <= text.bottom;
    const beside = text.left >= b.right - 1 && text.left - b.right <= 32;
    return sameLine && beside ? [] : [
      `${describe(box)}: label text at (${Math.round(text.left)}, ${Math.round(text.top)}) is not beside ` +
      `the box at (${Math.round(b.left)}, ${Math.round(b.top)})`];
  });
}"""
)

BADLY_BROKEN_VALUES: Final = """() => {
  const breaks = "/._?&=#-";
  return [...document.querySelectorAll("code.uri, #client-id, #client-secret")].flatMap(el => {
    const bad = [];
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    let previous = null;
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (let i = 0; i < node.textContent.length; i++) {
        const range = document.createRange();
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        const rect = range.getClientRects()[0];
        if (!rect) continue;
        const ch = node.textContent[i];
        if (previous && rect.top > previous.top + previous.height / 2 && !breaks.includes(previous.ch)) {
          bad.push(`${el.textContent} breaks after ${JSON.stringify(previous.ch)}`);
        }
        previous = {top: rect.top, height: rect.height, ch};
      }
    }
    return bad;
  });
}"""

BREADCRUMB_LINE_STARTS: Final = """() => [...document.querySelectorAll(".breadcrumb ol")].flatMap(ol => {
  const items = [...ol.children];
  const left = Math.min(...items.map(li => li.getBoundingClientRect().left));
  return items.filter(li => {
    const before = getComputedStyle(li, "::before").content;
    const startsLine = li.getBoundingClientRect().left <= left + 1;
    return startsLine && before && before !== "none" && before !== "normal";
  }).map(li => `a line starts with the separator before ${JSON.stringify(li.textContent.trim())}`);
})"""

HEADER_ROWS: Final = """() => {
  const header = document.querySelector("header.topbar");
  if (!header) return [];
  const tops = (els) => new Set(els.filter(el => el.getClientRects().length)
    .map(el => Math.round(el.getBoundingClientRect().top / 8)));
  const parts = [...header.querySelectorAll("a, button, .who")];
  const links = [...header.querySelectorAll("nav a")];
  const out = [];
  if (tops(parts).size > 2) out.push(`the header takes ${tops(parts).size} rows`);
  if (tops(links).size > 1) out.push(`the navigation wraps to ${tops(links).size} lines`);
  return out;
}"""

SCOPE_GROUPING: Final = """() => {
  const choices = [...document.querySelectorAll("label.choice")]
    .filter(l => l.querySelector(".choice-hint") && l.querySelector("code"));  // scopes, not other choices
  return choices.slice(0, -1).flatMap((choice, i) => {
    const name = choice.querySelector("code").getBoundingClientRect();
    const hint = choice.querySelector(".choice-hint").getBoundingClientRect();
    const next = choices[i + 1].querySelector("code").getBoundingClientRect();
    const own = hint.top - name.bottom, toNext = next.top - hint.bottom;
    return own < toNext ? [] : [
      `${choice.querySelector("code").textContent}: its description is ${Math.round(own)} px from it ` +
      `and ${Math.round(toNext)} px from the next scope`];
  });
}"""

COPY_BUTTONS: Final = """() => {
  const lefts = [...document.querySelectorAll("button.copy")].filter(b => b.getClientRects().length)
    .map(b => Math.round(b.getBoundingClientRect().left));
  return new Set(lefts).size > 1 ? [`copy buttons start at ${lefts.join(", ")} px`] : [];
}"""

CHECKS: Final = {
    "labels_apart": LABELS_APART,
    "badly_broken_values": BADLY_BROKEN_VALUES,
    "breadcrumb_line_starts": BREADCRUMB_LINE_STARTS,
    "header_rows": HEADER_ROWS,
    "scope_grouping": SCOPE_GROUPING,
    "copy_buttons": COPY_BUTTONS,
}

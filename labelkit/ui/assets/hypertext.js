const textNodes = (root) => {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const found = [];
  while (walker.nextNode()) found.push(walker.currentNode);
  return found;
};
// Label Studio's xpath of a node below root: /div[1]/p[2]/text()[1]
const xpathOf = (node, root) => {
  const steps = [];
  while (node && node !== root) {
    let n = 1;
    for (let s = node.previousSibling; s; s = s.previousSibling) {
      if (node.nodeType === Node.TEXT_NODE ? s.nodeType === Node.TEXT_NODE : s.nodeName === node.nodeName) n++;
    }
    steps.unshift((node.nodeType === Node.TEXT_NODE ? "text()" : node.nodeName.toLowerCase()) + "[" + n + "]");
    node = node.parentNode;
  }
  return "/" + steps.join("/");
};
const nodeOf = (xpath, root) => {
  let node = root;
  for (const step of (xpath || "").split("/").filter(Boolean)) {
    const m = step.match(/^([^\[]+)(?:\[(\d+)\])?$/);
    if (!m || !node) return null;
    const text = m[1] === "text()", want = Number(m[2] || 1);
    let n = 0, hit = null;
    for (const c of node.childNodes) {
      if (text ? c.nodeType === Node.TEXT_NODE : c.nodeName.toLowerCase() === m[1].toLowerCase()) {
        if (++n === want) { hit = c; break; }
      }
    }
    node = hit;
  }
  return node;
};
// The text node and offset of a character position (an end prefers the node it closes).
const locate = (nodes, at, isEnd) => {
  let seen = 0;
  for (const t of nodes) {
    const len = t.data.length;
    if (isEnd ? at > seen && at <= seen + len : at >= seen && at < seen + len) return [t, at - seen];
    seen += len;
  }
  return null;
};
const globalOf = (nodes, node, offset) => {
  let seen = 0;
  for (const t of nodes) {
    if (t === node) return seen + offset;
    seen += t.data.length;
  }
  return null;
};
const wrap = (root, from, to, make) => {
  let seen = 0;
  for (const t of textNodes(root)) {
    const len = t.data.length, a = Math.max(from, seen), b = Math.min(to, seen + len);
    seen += len;
    if (b <= a) continue;
    let piece = t;
    if (a - (seen - len) > 0) piece = piece.splitText(a - (seen - len));
    if (b - a < piece.data.length) piece.splitText(b - a);
    const span = make();
    piece.parentNode.insertBefore(span, piece);
    span.appendChild(piece);
  }
};

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  const box = parentElement.querySelector(".lk-html");
  const html = data.html || "";
  const copy = document.createElement("template");
  copy.innerHTML = html;  // sanitized on the server (labelkit.media.html_safe); inert: a template loads nothing
  const pristine = copy.content;
  const originals = textNodes(pristine);
  const full = originals.map((t) => t.data).join("");
  box.innerHTML = html;  // the same sanitized HTML
  for (const r of data.regions || []) {
    let g = r.globalOffsets;
    if (!g || g.start === undefined) {
      const s = nodeOf(r.start, pristine), e = nodeOf(r.end, pristine);
      const a = s ? globalOf(originals, s, r.startOffset || 0) : null, b = e ? globalOf(originals, e, r.endOffset || 0) : null;
      if (a === null || b === null) continue;
      g = { start: a, end: b };
    }
    wrap(box, g.start, g.end, () => {
      const span = document.createElement("span");
      span.className = "lk-hl" + (r.id === data.picked ? " lk-picked" : "");
      span.style.background = r.color + "66";
      span.title = r.label;
      span.dataset.id = r.id;
      return span;
    });
  }
  box.onclick = (event) => {
    const link = event.target.closest && event.target.closest("a");
    if (!link) return;
    event.preventDefault();  // never leave the labeling page; clickableLinks opens a new tab
    if (data.clickableLinks && link.href) window.open(link.href, "_blank", "noopener,noreferrer");
  };
  box.onmouseup = () => {
    if (data.disabled) return;
    const root = parentElement.getSelection ? parentElement : document;
    const sel = root.getSelection();
    if (!sel || sel.rangeCount === 0) return;
    const range = sel.getRangeAt(0);
    if (range.collapsed) {
      const hit = range.startContainer.parentElement && range.startContainer.parentElement.closest(".lk-hl");
      if (hit) setTriggerValue("picked", hit.dataset.id);
      return;
    }
    if (!box.contains(range.startContainer) || !box.contains(range.endContainer)) return;
    const before = document.createRange();
    before.setStart(box, 0);
    before.setEnd(range.startContainer, range.startOffset);
    let start = before.toString().length;
    let end = start + range.toString().length;
    sel.removeAllRanges();
    while (start < end && /\s/.test(full[start])) start++;
    while (end > start && /\s/.test(full[end - 1])) end--;
    if (data.granularity === "word") {
      while (start > 0 && /\w/.test(full[start - 1]) && /\w/.test(full[start])) start--;
      while (end < full.length && /\w/.test(full[end]) && /\w/.test(full[end - 1])) end++;
    }
    if (end <= start) return;
    const s = locate(originals, start, false), e = locate(originals, end, true);
    if (!s || !e) return;
    setTriggerValue("selected", {
      start: xpathOf(s[0], pristine), startOffset: s[1], end: xpathOf(e[0], pristine), endOffset: e[1],
      globalOffsets: { start: start, end: end }, text: full.slice(start, end),
    });
  };
}

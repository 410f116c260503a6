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
  const { data, parentElement } = component;
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
      span.dataset.ids = r.id;  // nested in the highlights drawn before it: a click picks the innermost
      return span;
    });
  }
  box.onclick = (event) => {
    const link = event.target.closest && event.target.closest("a");
    if (!link) return;
    event.preventDefault();  // never leave the labeling page; clickableLinks opens a new tab
    if (data.clickableLinks && link.href) window.open(link.href, "_blank", "noopener,noreferrer");
  };
  watchSelection(component, box, (range) => {
    const { start, end } = offsetsIn(box, range);  // the same characters as in the untouched copy
    const bounds = snap(full, start, end, data.granularity);
    if (!bounds) return null;
    const s = locate(originals, bounds.start, false), e = locate(originals, bounds.end, true);
    if (!s || !e) return null;
    return {
      start: xpathOf(s[0], pristine), startOffset: s[1], end: xpathOf(e[0], pristine), endOffset: e[1],
      globalOffsets: bounds, text: full.slice(bounds.start, bounds.end),
    };
  });
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  const box = parentElement.querySelector(".lk-text");
  const text = data.text || "";
  const spans = data.spans || [];
  const cuts = new Set([0, text.length]);
  for (const s of spans) { cuts.add(s.start); cuts.add(s.end); }
  const points = [...cuts].filter((c) => c >= 0 && c <= text.length).sort((a, b) => a - b);
  box.replaceChildren();
  for (let i = 0; i + 1 < points.length; i++) {
    const from = points[i], to = points[i + 1];
    const over = spans.filter((s) => s.start <= from && s.end >= to);
    const piece = document.createElement("span");
    piece.textContent = text.slice(from, to);
    piece.dataset.start = String(from);
    if (over.length) {
      const top = over[over.length - 1];
      piece.className = "lk-span" + (over.some((s) => s.id === data.picked) ? " lk-picked" : "");
      piece.style.background = top.color + "55";
      piece.title = over.map((s) => s.label).join(", ");
      piece.dataset.overlap = String(over.length > 1);
      piece.dataset.ids = over.map((s) => s.id).join(" ");
    }
    box.appendChild(piece);
  }
  const offset = (node, within) => {
    const piece = node.nodeType === Node.TEXT_NODE ? node.parentElement : node;
    if (!piece || !piece.dataset || piece.dataset.start === undefined) return null;
    return Number(piece.dataset.start) + (node.nodeType === Node.TEXT_NODE ? within : 0);
  };
  box.onmouseup = () => {
    if (data.disabled) return;
    const root = parentElement.getSelection ? parentElement : document;
    const sel = root.getSelection();
    if (!sel || sel.rangeCount === 0) return;
    const range = sel.getRangeAt(0);
    if (range.collapsed) {
      const piece = range.startContainer.parentElement;
      if (piece && piece.dataset && piece.dataset.ids) {
        const ids = piece.dataset.ids.split(" ");
        setTriggerValue("picked", ids[ids.length - 1]);
      }
      return;
    }
    if (!box.contains(range.startContainer) || !box.contains(range.endContainer)) return;
    const start = offset(range.startContainer, range.startOffset);
    const end = offset(range.endContainer, range.endOffset);
    sel.removeAllRanges();
    if (start === null || end === null || end <= start) return;
    setTriggerValue("selected", { start: start, end: end });
  };
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  const box = parentElement.querySelector(".lk-dialogue");
  const turns = data.turns || [];
  box.className = "lk-dialogue" + (data.bubbles ? " lk-bubbles" : "");
  box.replaceChildren();
  turns.forEach((turn, index) => {
    const row = document.createElement("div");
    row.className = "lk-turn" + (turn.right ? " lk-right" : "");
    row.dataset.index = String(index);
    const author = document.createElement("div");
    author.className = "lk-author" + (data.disabled ? "" : " lk-clickable");
    author.textContent = turn.author;
    author.style.color = turn.color;
    if (!data.disabled) {
      author.title = "Label the whole turn";
      author.onclick = () => setTriggerValue("turn", index);
    }
    const phrase = document.createElement("div");
    phrase.className = "lk-phrase";
    const text = turn.text, marks = turn.marks || [];
    const cuts = new Set([0, text.length]);
    for (const m of marks) { cuts.add(m.start); cuts.add(m.end); }
    const points = [...cuts].filter((c) => c >= 0 && c <= text.length).sort((a, b) => a - b);
    for (let i = 0; i + 1 < points.length; i++) {
      const from = points[i], to = points[i + 1];
      const over = marks.filter((m) => m.start <= from && m.end >= to);
      const piece = document.createElement("span");
      piece.textContent = text.slice(from, to);
      if (over.length) {
        const top = over[over.length - 1];
        piece.className = "lk-span" + (over.some((m) => m.id === data.picked) ? " lk-picked" : "");
        piece.style.background = top.color + "55";
        piece.title = over.map((m) => m.label).join(", ");
        piece.dataset.ids = over.map((m) => m.id).join(" ");
      }
      phrase.appendChild(piece);
    }
    row.append(author, phrase);
    box.appendChild(row);
  });
  const phrases = [...box.querySelectorAll(".lk-phrase")];
  const point = (container, offset, isEnd) => {
    let turn = container === box ? box.children[Math.min(offset, box.children.length - 1)]
      : (container.nodeType === Node.TEXT_NODE ? container.parentElement : container).closest(".lk-turn");
    if (!turn) return null;
    const index = Number(turn.dataset.index), phrase = phrases[index];
    if (container !== box && phrase.contains(container)) {
      const r = document.createRange();
      r.setStart(phrase, 0);
      r.setEnd(container, offset);
      return [index, r.toString().length];
    }
    const here = document.createRange();
    here.setStart(container, offset);
    const edge = document.createRange();
    edge.setStart(phrase, 0);
    const before = container === box || here.compareBoundaryPoints(Range.START_TO_START, edge) <= 0;
    if (before) return isEnd ? (index > 0 ? [index - 1, turns[index - 1].text.length] : null) : [index, 0];
    return isEnd ? [index, turns[index].text.length] : (index + 1 < turns.length ? [index + 1, 0] : null);
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
    const a = point(range.startContainer, range.startOffset, false);
    const b = point(range.endContainer, range.endOffset, true);
    sel.removeAllRanges();
    if (!a || !b) return;
    setTriggerValue("selected", { start: a[0], startOffset: a[1], end: b[0], endOffset: b[1] });
  };
}

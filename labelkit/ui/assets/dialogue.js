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
    phrase.append(markedPieces(turn.text, turn.marks || [], data.picked));
    row.append(author, phrase);
    box.appendChild(row);
  });
  const phrases = [...box.querySelectorAll(".lk-phrase")];
  // A point of the selection as [turn, character of that turn's text]. A point outside the
  // texts (on an author's name, between turns) moves to the nearest text in the selection:
  // a start forward to the beginning of the next text, an end back to the end of the previous one.
  const point = (container, offset, isEnd) => {
    let turn = container === box ? box.children[Math.min(offset, box.children.length - 1)]
      : (container.nodeType === Node.TEXT_NODE ? container.parentElement : container).closest(".lk-turn");
    if (!turn) return null;
    const index = Number(turn.dataset.index), phrase = phrases[index];
    if (container !== box && phrase.contains(container)) return [index, charsBefore(phrase, container, offset)];
    const here = document.createRange();
    here.setStart(container, offset);
    const edge = document.createRange();
    edge.setStart(phrase, 0);
    const before = container === box || here.compareBoundaryPoints(Range.START_TO_START, edge) <= 0;
    if (before) return isEnd ? (index > 0 ? [index - 1, turns[index - 1].text.length] : null) : [index, 0];
    return isEnd ? [index, turns[index].text.length] : (index + 1 < turns.length ? [index + 1, 0] : null);
  };
  watchSelection(component, box, (range) => {
    const a = point(range.startContainer, range.startOffset, false);
    const b = point(range.endContainer, range.endOffset, true);
    return a && b ? { start: a[0], startOffset: a[1], end: b[0], endOffset: b[1] } : null;
  });
}

// Text a person selects with the mouse, shared by the components that label text (spans,
// dialogue, hypertext): components.py puts this script before theirs, so these functions are
// in their module's scope. It draws marked text as pieces, and turns a selection into
// character offsets of the text (what Range.toString() counts: the data of text nodes, so
// the pieces and highlights drawn over a text never shift them).

// A text cut into pieces (spans, in a fragment) wherever a mark starts or ends, so each piece
// is covered by the same marks ({id, start, end, color, label}); a marked piece shows the last
// of them on top and names all their ids in data-ids, the last on top (what a click picks).
function markedPieces(text, marks, picked) {
  const cuts = new Set([0, text.length]);
  for (const m of marks) { cuts.add(m.start); cuts.add(m.end); }
  const points = [...cuts].filter((c) => c >= 0 && c <= text.length).sort((a, b) => a - b);
  const pieces = document.createDocumentFragment();
  for (let i = 0; i + 1 < points.length; i++) {
    const from = points[i], to = points[i + 1];
    const over = marks.filter((m) => m.start <= from && m.end >= to);
    const piece = document.createElement("span");
    piece.textContent = text.slice(from, to);
    piece.dataset.start = String(from);
    if (over.length) {
      const top = over[over.length - 1];
      piece.className = "lk-span" + (over.some((m) => m.id === picked) ? " lk-picked" : "");
      piece.style.background = top.color + "55";
      piece.title = over.map((m) => m.label).join(", ");
      piece.dataset.overlap = String(over.length > 1);
      piece.dataset.ids = over.map((m) => m.id).join(" ");
    }
    pieces.appendChild(piece);
  }
  return pieces;
}

// The characters of text from the start of root to a point of a selection inside it.
function charsBefore(root, container, offset) {
  const before = document.createRange();
  before.setStart(root, 0);
  before.setEnd(container, offset);
  return before.toString().length;
}

// Where a selection inside root starts and ends, in characters of root's text.
function offsetsIn(root, range) {
  return {
    start: charsBefore(root, range.startContainer, range.startOffset),
    end: charsBefore(root, range.endContainer, range.endOffset),
  };
}

// A selection of text trimmed of white space and, at word granularity, widened to whole
// words; null when nothing is left. (For <Text>, labelkit.ui.spans.snap does this on the
// server; HyperText must do it here, where the xpaths of the snapped ends are known.)
function snap(text, start, end, granularity) {
  while (start < end && /\s/.test(text[start])) start++;
  while (end > start && /\s/.test(text[end - 1])) end--;
  if (granularity === "word") {
    while (start > 0 && /\w/.test(text[start - 1]) && /\w/.test(text[start])) start--;
    while (end < text.length && /\w/.test(text[end]) && /\w/.test(text[end - 1])) end++;
  }
  return end > start ? { start: start, end: end } : null;
}

// The id of the region drawn under a click (the innermost element of box naming ids, its
// last id), or null.
function regionAt(box, node) {
  const hit = node.parentElement && node.parentElement.closest("[data-ids]");
  if (!hit || !box.contains(hit)) return null;
  const ids = hit.dataset.ids.split(" ");
  return ids[ids.length - 1];
}

// When the mouse is released over box (and the component is not disabled): a click picks
// the region under it (trigger "picked"); a selection that starts and ends inside box is
// cleared and sent as what selected(range) makes of it (trigger "selected"; nothing when
// null). A selection reaching outside box is not this component's, and is left alone.
function watchSelection(component, box, selected) {
  const { data, parentElement, setTriggerValue } = component;
  box.onmouseup = () => {
    if (data.disabled) return;
    // Mounted in a shadow root, only the root's own getSelection() sees inside it.
    const root = parentElement.getSelection ? parentElement : document;
    const sel = root.getSelection();
    if (!sel || sel.rangeCount === 0) return;
    const range = sel.getRangeAt(0);
    if (range.collapsed) {
      const id = regionAt(box, range.startContainer);
      if (id) setTriggerValue("picked", id);
      return;
    }
    if (!box.contains(range.startContainer) || !box.contains(range.endContainer)) return;
    const value = selected(range);
    sel.removeAllRanges();  // what was kept shows as a highlight after the rerun, not as a lingering selection
    if (value) setTriggerValue("selected", value);
  };
}

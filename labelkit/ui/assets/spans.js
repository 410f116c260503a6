export default function (component) {
  const { data, parentElement } = component;
  const box = parentElement.querySelector(".lk-text");
  box.replaceChildren(markedPieces(data.text || "", data.spans || [], data.picked));
  // Offsets as the browser selected them: labelkit.ui.spans.snap trims them and widens them to words.
  watchSelection(component, box, (range) => {
    const { start, end } = offsetsIn(box, range);
    return end > start ? { start: start, end: end } : null;
  });
}

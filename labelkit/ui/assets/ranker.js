export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  const root = parentElement.querySelector(".lk-ranker");
  const columns = data.columns || [];
  const items = data.items || {};
  const order = JSON.parse(JSON.stringify(data.order || {}));
  root.dataset.order = JSON.stringify(data.order || {});  // what the server holds (moves here show at once)
  const ranked = columns.length === 1;
  let dragged = null;

  const move = (id, toCol, toIndex) => {
    let fromCol = null, fromIndex = -1;
    for (const c of columns) {
      const i = (order[c.id] || []).indexOf(id);
      if (i >= 0) { fromCol = c.id; fromIndex = i; }
    }
    if (fromCol === null) return;
    order[fromCol].splice(fromIndex, 1);
    if (fromCol === toCol && toIndex > fromIndex) toIndex -= 1;
    const target = order[toCol] || (order[toCol] = []);
    target.splice(Math.max(0, Math.min(toIndex, target.length)), 0, id);
    draw(id);
    setTriggerValue("moved", { order: order, focus: id });
  };
  const place = (id) => {
    for (let ci = 0; ci < columns.length; ci++) {
      const i = (order[columns[ci].id] || []).indexOf(id);
      if (i >= 0) return [ci, i];
    }
    return [-1, -1];
  };
  const step = (id, key) => {
    const [ci, i] = place(id);
    if (ci < 0) return false;
    const col = columns[ci].id;
    if (key === "ArrowUp" && i > 0) move(id, col, i - 1);
    else if (key === "ArrowDown" && i < order[col].length - 1) move(id, col, i + 2);
    else if (key === "ArrowLeft" && ci > 0) move(id, columns[ci - 1].id, order[columns[ci - 1].id].length);
    else if (key === "ArrowRight" && ci < columns.length - 1) move(id, columns[ci + 1].id, order[columns[ci + 1].id].length);
    else return false;
    return true;
  };
  const button = (text, label, enabled, key, id) => {
    const b = document.createElement("button");
    b.type = "button"; b.textContent = text; b.title = label; b.setAttribute("aria-label", label);
    b.disabled = !enabled;
    b.onclick = (e) => { e.stopPropagation(); step(id, key); };
    return b;
  };
  const dropIndex = (list, y) => {
    const cards = [...list.querySelectorAll(".lk-item")];
    for (let i = 0; i < cards.length; i++) {
      const r = cards[i].getBoundingClientRect();
      if (y < r.top + r.height / 2) return i;
    }
    return cards.length;
  };

  function draw(focus) {
    root.replaceChildren();
    root.style.gridTemplateColumns = "repeat(" + Math.max(1, columns.length) + ", minmax(0, 1fr))";
    columns.forEach((col, ci) => {
      const box = document.createElement("div");
      box.className = "lk-col htx-ranker-column";
      box.dataset.col = col.id;
      const ids = order[col.id] || [];
      const head = document.createElement("div");
      head.className = "lk-col-title";
      head.textContent = (col.title || col.id) + " (" + ids.length + ")";
      box.appendChild(head);
      const list = document.createElement("div");
      list.className = "lk-items";
      list.setAttribute("role", "list");
      ids.forEach((id, i) => {
        const item = items[id] || { title: id };
        const card = document.createElement("div");
        card.className = "lk-item htx-ranker-item";
        card.dataset.id = id;
        card.tabIndex = 0;
        card.setAttribute("role", "listitem");
        card.draggable = !data.disabled;
        if (ranked) {
          const n = document.createElement("span");
          n.className = "lk-rank"; n.textContent = String(i + 1) + ".";
          card.appendChild(n);
        }
        const main = document.createElement("div");
        main.className = "lk-main";
        const title = document.createElement("div");
        title.className = "lk-title"; title.textContent = item.title || id;
        main.appendChild(title);
        if (item.body) {
          const body = document.createElement("div");
          body.className = "lk-body"; body.textContent = item.body;
          main.appendChild(body);
        }
        if (item.html) {  // sanitized by labelkit.media.html_safe on the server
          const html = document.createElement("div");
          html.className = "lk-body"; html.innerHTML = item.html;
          main.appendChild(html);
        }
        card.appendChild(main);
        if (!data.disabled) {
          const moves = document.createElement("div");
          moves.className = "lk-moves";
          moves.appendChild(button("\u2191", "Move up", i > 0, "ArrowUp", id));
          moves.appendChild(button("\u2193", "Move down", i < ids.length - 1, "ArrowDown", id));
          if (columns.length > 1) {
            moves.appendChild(button("\u2190", "Move to " + (ci > 0 ? columns[ci - 1].title : ""), ci > 0, "ArrowLeft", id));
            moves.appendChild(button("\u2192", "Move to " + (ci < columns.length - 1 ? columns[ci + 1].title : ""),
              ci < columns.length - 1, "ArrowRight", id));
          }
          card.appendChild(moves);
          card.ondragstart = (e) => { dragged = id; card.classList.add("lk-dragging");
            e.dataTransfer.effectAllowed = "move"; e.dataTransfer.setData("text/plain", id); };
          card.ondragend = () => { dragged = null; card.classList.remove("lk-dragging"); };
          card.onkeydown = (e) => { if (step(id, e.key)) e.preventDefault(); };
        }
        list.appendChild(card);
      });
      box.appendChild(list);
      if (!data.disabled) {
        box.ondragover = (e) => { if (dragged) { e.preventDefault(); box.classList.add("lk-over"); } };
        box.ondragleave = () => box.classList.remove("lk-over");
        box.ondrop = (e) => {
          e.preventDefault();
          box.classList.remove("lk-over");
          const id = dragged || e.dataTransfer.getData("text/plain");
          if (id) move(id, col.id, dropIndex(list, e.clientY));
        };
      }
      root.appendChild(box);
    });
    if (focus) {
      const card = [...root.querySelectorAll(".lk-item")].find((c) => c.dataset.id === focus);
      if (card) card.focus();
    }
  }
  draw(data.focus);
}

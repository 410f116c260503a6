export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  const root = parentElement.querySelector(".lk-ts");
  const svg = root.querySelector("svg");
  const hint = root.querySelector(".lk-ts-hint");
  const NS = "http://www.w3.org/2000/svg";
  const plots = data.plots || [];
  const span = data.span || [0, 1];
  const full = [span[0], span[1] > span[0] ? span[1] : span[0] + 1];
  const state = root.__lk || (root.__lk = {});
  if (state.series !== data.series || !state.view) { state.view = full.slice(); state.series = data.series; }
  const LEFT = 58, RIGHT = 10, GAP = 8, AXIS = 22, OVER = 36;
  const heights = plots.map((p) => Math.max(40, p.height || 120));
  const top = [];
  let y0 = 4;
  for (const h of heights) { top.push(y0); y0 += h + GAP; }
  const plotsBottom = y0 - GAP;
  const overTop = plotsBottom + AXIS + 6;
  const height = overTop + OVER + 2;
  const el = (tag, attrs, parent) => {
    const node = document.createElementNS(NS, tag);
    for (const k in attrs) node.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(node);
    return node;
  };
  const label = (parent, x, y, text, attrs) => {
    const t = el("text", Object.assign({ x: x, y: y }, attrs || {}), parent);
    t.textContent = text;  // task text only ever as text
    return t;
  };
  const STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 15e3, 3e4, 6e4, 12e4, 3e5, 6e5, 9e5, 18e5,
    36e5, 72e5, 108e5, 216e5, 432e5, 864e5, 1728e5, 6048e5, 12096e5, 2592e6, 7776e6, 15552e6, 31536e6];
  const niceStep = (range, count) => {
    if (data.dates) return STEPS.find((s) => s >= range / count) || STEPS[STEPS.length - 1];
    const raw = range / count, p = Math.pow(10, Math.floor(Math.log10(raw)));
    return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw);
  };
  const pad = (n, w) => String(n).padStart(w || 2, "0");
  const fmt = (t, step) => {
    if (!data.dates) {
      const digits = step && step < 1 ? Math.min(6, Math.ceil(-Math.log10(step))) : 0;
      return Number(t).toFixed(digits);
    }
    const d = new Date(t);
    const day = d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate());
    const clock = pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
    if (step >= 864e5) return day;
    if (step >= 6e4) return (step >= 36e5 ? day + " " : "") + clock;
    if (step >= 1e3) return clock + ":" + pad(d.getUTCSeconds());
    return clock + ":" + pad(d.getUTCSeconds()) + "." + pad(d.getUTCMilliseconds(), 3);
  };

  function render() {
    const width = Math.max(240, root.clientWidth || 700);
    const inner = width - LEFT - RIGHT;
    const [a, b] = state.view;
    const X = (t) => LEFT + ((t - a) / (b - a)) * inner;
    const OX = (t) => LEFT + ((t - full[0]) / (full[1] - full[0])) * inner;
    state.X = X;
    state.toTime = (px) => a + ((px - LEFT) / inner) * (b - a);
    state.toFullTime = (px) => full[0] + ((px - LEFT) / inner) * (full[1] - full[0]);
    state.inner = inner;
    svg.replaceChildren();
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    svg.setAttribute("height", String(height));
    const defs = el("defs", {}, svg);
    const clipId = "lk-clip-" + String(data.series).replace(/[^A-Za-z0-9_-]/g, "_");
    const clip = el("clipPath", { id: clipId }, defs);
    el("rect", { x: LEFT, y: 0, width: inner, height: plotsBottom + 4 }, clip);
    const clipRef = "url(#" + clipId + ")";
    // Lines, one plot per channel (or MultiChannel)
    plots.forEach((plot, n) => {
      const y = top[n], h = heights[n];
      el("rect", { x: LEFT, y: y, width: inner, height: h, fill: "#fafafa", class: "lk-axis" }, svg);
      let lo = Infinity, hi = -Infinity;
      for (const line of plot.lines) {
        for (let i = 0; i < line.x.length; i++) {
          const v = line.y[i];
          if (v === null || line.x[i] < a || line.x[i] > b) continue;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
      }
      if (lo === Infinity) { lo = 0; hi = 1; }
      if (lo === hi) { lo -= 1; hi += 1; }
      const m = (hi - lo) * 0.06; lo -= m; hi += m;
      const Y = (v) => y + h - ((v - lo) / (hi - lo)) * h;
      const step = niceStep(hi - lo, 4);
      for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) {
        el("line", { x1: LEFT - 3, x2: LEFT + inner, y1: Y(v), y2: Y(v), class: "lk-axis", "stroke-dasharray": "2 3" }, svg);
        label(svg, LEFT - 5, Y(v) + 4, Number(v.toFixed(10)).toLocaleString(), { "text-anchor": "end" });
      }
      const group = el("g", { "clip-path": clipRef }, svg);
      let lx = LEFT + 6;
      for (const line of plot.lines) {
        let d = "", pen = false;
        const first = Math.max(0, lowerBound(line.x, a) - 1), last = Math.min(line.x.length, lowerBound(line.x, b) + 1);
        for (let i = first; i < last; i++) {
          const v = line.y[i];
          if (v === null) { pen = false; continue; }
          d += (pen ? "L" : "M") + X(line.x[i]).toFixed(1) + " " + Y(v).toFixed(1);
          pen = true;
        }
        el("path", { d: d, fill: "none", stroke: line.color, "stroke-width": line.width || 1 }, group);
        const name = line.legend + (line.units ? " (" + line.units + ")" : "");
        el("rect", { x: lx, y: y + 5, width: 10, height: 3, fill: line.color }, svg);
        const t = label(svg, lx + 14, y + 11, name, { "font-weight": "600" });
        let used = name.length * 7;
        try { used = t.getComputedTextLength() || used; } catch (e) { /* not laid out yet */ }
        lx += 26 + used;
      }
    });
    // Regions as bands over every plot
    const bands = el("g", { "clip-path": clipRef }, svg);
    for (const r of data.regions || []) {
      const x1 = X(r.start), x2 = X(r.end);
      const picked = r.id === data.picked;
      const w = Math.max(r.instant || x2 - x1 < 2 ? 3 : x2 - x1, 1);
      const band = el("rect", {
        x: r.instant ? x1 - 1.5 : x1, y: 0, width: w, height: plotsBottom, fill: r.color,
        "fill-opacity": r.instant ? 0.9 : 0.22, stroke: picked ? "#31333f" : r.color, "stroke-width": picked ? 2 : 1,
        class: "lk-band",
      }, bands);
      band.dataset.id = r.id;
      const title = el("title", {}, band);
      title.textContent = r.label;
      label(bands, Math.max(x1, LEFT) + 4, plotsBottom - 5, r.label, { "font-weight": picked ? "700" : "400" });
    }
    // The time axis
    const axisY = plotsBottom;
    el("line", { x1: LEFT, x2: LEFT + inner, y1: axisY, y2: axisY, class: "lk-axis" }, svg);
    const tstep = niceStep(b - a, Math.max(2, Math.floor(inner / 110)));
    for (let t = Math.ceil(a / tstep) * tstep; t <= b; t += tstep) {
      el("line", { x1: X(t), x2: X(t), y1: axisY, y2: axisY + 4, class: "lk-axis" }, svg);
      label(svg, X(t), axisY + 16, fmt(t, tstep), { "text-anchor": "middle" });
    }
    // The overview: the first channel over the whole span, the window in view
    el("rect", { x: LEFT, y: overTop, width: inner, height: OVER, fill: "#f0f2f6" }, svg);
    const lines = plots.flatMap((p) => p.lines);
    const line = lines.find((l) => (data.overview || []).includes(l.column)) || lines[0] || null;
    if (line) {
      let lo = Infinity, hi = -Infinity;
      for (const v of line.y) if (v !== null) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      if (lo === hi) { lo -= 1; hi += 1; }
      let d = "", pen = false;
      for (let i = 0; i < line.x.length; i++) {
        const v = line.y[i];
        if (v === null) { pen = false; continue; }
        d += (pen ? "L" : "M") + OX(line.x[i]).toFixed(1) + " " + (overTop + OVER - 2 - ((v - lo) / (hi - lo)) * (OVER - 4)).toFixed(1);
        pen = true;
      }
      el("path", { d: d, fill: "none", stroke: "#8c8c8c", "stroke-width": 1 }, svg);
    }
    for (const r of data.regions || []) {
      el("rect", { x: OX(r.start), y: overTop, width: Math.max(2, OX(r.end) - OX(r.start)), height: OVER, fill: r.color, "fill-opacity": 0.35 }, svg);
    }
    el("rect", { x: OX(a), y: overTop, width: Math.max(2, OX(b) - OX(a)), height: OVER, fill: "#4363d8", "fill-opacity": 0.12, stroke: "#4363d8" }, svg);
    state.cursor = el("line", { x1: -10, x2: -10, y1: 0, y2: plotsBottom, stroke: "#31333f", "stroke-opacity": 0.35,
      "pointer-events": "none" }, svg);
    state.drag = el("rect", { x: 0, y: 0, width: 0, height: plotsBottom, fill: "#31333f", "fill-opacity": 0.12,
      visibility: "hidden", "pointer-events": "none" }, svg);
    state.plotsBottom = plotsBottom; state.overTop = overTop;
  }
  function regionAt(px) {
    // The narrowest region under the pointer (an instant within 4 px), so one inside another can be picked.
    let best = null;
    for (const r of data.regions || []) {
      const x1 = state.X(r.start), x2 = state.X(r.end);
      const near = x2 - x1 < 8 ? Math.abs((x1 + x2) / 2 - px) <= 4 : x1 <= px && px <= x2;
      if (near && (!best || r.end - r.start < best.end - best.start)) best = r;
    }
    return best;
  }
  function lowerBound(xs, t) {
    let lo = 0, hi = xs.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (xs[mid] < t) lo = mid + 1; else hi = mid; }
    return lo;
  }
  let queued = false;
  const redraw = () => { if (!queued) { queued = true; requestAnimationFrame(() => { queued = false; render(); }); } };
  const setView = (a, b) => {
    const width = full[1] - full[0];
    let w = Math.max(b - a, width / 20000);
    if (w >= width) { state.view = full.slice(); redraw(); return; }
    if (a < full[0]) a = full[0];
    if (a + w > full[1]) a = full[1] - w;
    state.view = [a, a + w];
    redraw();
  };
  const point = (ev) => {
    const box = svg.getBoundingClientRect();
    const scale = box.width ? (svg.viewBox.baseVal.width / box.width) : 1;
    return [(ev.clientX - box.left) * scale, (ev.clientY - box.top) * scale];
  };
  const clampX = (x) => Math.min(LEFT + state.inner, Math.max(LEFT, x));
  svg.onwheel = (ev) => {
    const [x, y] = point(ev);
    if (y > state.plotsBottom + 2 && y < state.overTop) return;
    ev.preventDefault();
    const [a, b] = state.view;
    if (ev.shiftKey || Math.abs(ev.deltaX) > Math.abs(ev.deltaY)) {
      const d = (ev.shiftKey ? ev.deltaY : ev.deltaX) / state.inner * (b - a);
      setView(a + d, b + d);
      return;
    }
    const t = state.toTime(clampX(x));
    const f = Math.pow(1.0015, ev.deltaY);
    setView(t - (t - a) * f, t + (b - t) * f);
  };
  svg.onpointerdown = (ev) => {
    if (ev.button !== 0) return;
    const [x, y] = point(ev);
    state.press = { x: clampX(x), y: y, over: y >= state.overTop, moved: false };
    svg.setPointerCapture(ev.pointerId);
  };
  svg.onpointermove = (ev) => {
    const [x, y] = point(ev);
    const press = state.press;
    if (!press) {
      if (y <= state.plotsBottom && x >= LEFT) {
        state.cursor.setAttribute("x1", x); state.cursor.setAttribute("x2", x);
        hint.textContent = "at " + fmt(state.toTime(x), (state.view[1] - state.view[0]) / 1000);
      }
      return;
    }
    if (Math.abs(clampX(x) - press.x) > 3) press.moved = true;
    if (press.moved && (press.over || !data.disabled)) {
      const lo = Math.min(press.x, clampX(x)), hi = Math.max(press.x, clampX(x));
      state.drag.setAttribute("x", lo); state.drag.setAttribute("width", hi - lo);
      state.drag.setAttribute("y", press.over ? state.overTop : 0);
      state.drag.setAttribute("height", press.over ? 36 : state.plotsBottom);
      state.drag.setAttribute("visibility", "visible");
    }
  };
  svg.onpointerup = (ev) => {
    const press = state.press;
    state.press = null;
    if (!press) return;
    state.drag.setAttribute("visibility", "hidden");
    const [x] = point(ev);
    const x2 = clampX(x);
    if (press.over) {
      if (press.moved) {
        const t1 = state.toFullTime(Math.min(press.x, x2)), t2 = state.toFullTime(Math.max(press.x, x2));
        setView(t1, t2);
      } else {
        const [a, b] = state.view, t = state.toFullTime(x2);
        setView(t - (b - a) / 2, t + (b - a) / 2);
      }
      return;
    }
    if (press.y > state.plotsBottom) return;
    if (!press.moved) {
      const hit = regionAt(press.x);
      if (hit) { setTriggerValue("picked", hit.id); return; }
      if (data.disabled) return;
      const t = state.toTime(press.x);
      setTriggerValue("selected", { start: t, end: t, instant: true });
      return;
    }
    if (data.disabled) return;
    const t1 = state.toTime(Math.min(press.x, x2)), t2 = state.toTime(Math.max(press.x, x2));
    setTriggerValue("selected", { start: t1, end: t2, instant: false });
  };
  svg.ondblclick = (ev) => {
    const [, y] = point(ev);
    if (y >= state.overTop) setView(full[0], full[1]);
  };
  svg.onpointerleave = () => { if (state.cursor) state.cursor.setAttribute("x1", -10), state.cursor.setAttribute("x2", -10); };
  render();
  state.render = render;
  if (!state.observer && window.ResizeObserver) {
    state.observer = new ResizeObserver(() => requestAnimationFrame(() => state.render()));
    state.observer.observe(root);
  }
}

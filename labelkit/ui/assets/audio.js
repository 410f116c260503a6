function clock(t) {
  if (!isFinite(t)) return "–";
  const m = Math.floor(t / 60), s = t - 60 * m;
  return m + ":" + (s < 10 ? "0" : "") + s.toFixed(1);
}

function decode(s, url) {
  // Not a WAV read on the server: decode it here (same-origin or CORS-enabled URLs).
  fetch(url).then((r) => r.arrayBuffer())
    .then((bytes) => new OfflineAudioContext(1, 1, 44100).decodeAudioData(bytes))
    .then((buffer) => {
      const data = buffer.getChannelData(0), n = 1600, step = Math.max(1, Math.floor(data.length / n));
      const peaks = [];
      let top = 0;
      for (let i = 0; i < n && i * step < data.length; i++) {
        let m = 0;
        for (let j = i * step; j < Math.min(data.length, (i + 1) * step); j++) m = Math.max(m, Math.abs(data[j]));
        peaks.push(m); top = Math.max(top, m);
      }
      s.peaks = peaks.map((p) => (top ? p / top : 0));
      s.duration = s.duration || buffer.duration;
      draw(s);
    })
    .catch(() => { s.peaks = []; draw(s); });
}

function setup(root) {
  const s = {
    root, audio: root.querySelector(".lk-player"), canvas: root.querySelector(".lk-wave"),
    scroll: root.querySelector(".lk-scroll"), play: root.querySelector(".lk-play"),
    time: root.querySelector(".lk-time"), speed: root.querySelector(".lk-speed"), zoom: root.querySelector(".lk-zoom"),
    peaks: null, duration: 0, stopAt: null, drag: null, down: null, data: {}, send: () => {},
  };
  s.play.onclick = () => {
    if (!s.audio.src) return;
    if (s.audio.paused) { s.stopAt = null; s.audio.play(); } else s.audio.pause();
  };
  s.audio.addEventListener("loadedmetadata", () => {
    if (!s.duration && isFinite(s.audio.duration)) s.duration = s.audio.duration;
    s.audio.playbackRate = Number(s.speed.value) || 1;
    draw(s);
  });
  s.audio.addEventListener("play", () => { s.play.textContent = "❚❚ Pause"; tick(s); });
  s.audio.addEventListener("pause", () => { s.play.textContent = "▶ Play"; draw(s); });
  s.audio.addEventListener("seeked", () => draw(s));
  s.speed.onchange = () => { s.audio.playbackRate = Number(s.speed.value) || 1; };
  s.zoom.onchange = () => draw(s);
  const at = (e) => {
    const rect = s.canvas.getBoundingClientRect();
    return Math.min(s.duration, Math.max(0, ((e.clientX - rect.left) / rect.width) * s.duration));
  };
  const edge = (e) => {  // an edge of the picked segment under the pointer: drag it to adjust the segment
    const g = s.data.editable && s.duration && (s.data.segments || []).find((x) => x.id === s.picked);
    if (!g) return null;
    const rect = s.canvas.getBoundingClientRect(), px = (t) => rect.left + (t / s.duration) * rect.width;
    if (Math.abs(e.clientX - px(g.start)) <= 5) return { id: g.id, side: "start", start: g.start, end: g.end };
    if (Math.abs(e.clientX - px(g.end)) <= 5) return { id: g.id, side: "end", start: g.start, end: g.end };
    return null;
  };
  s.canvas.onpointerdown = (e) => {
    if (!s.duration) return;
    s.canvas.setPointerCapture(e.pointerId);
    s.resize = edge(e);
    if (!s.resize) s.down = { t: at(e), x: e.clientX };
  };
  s.canvas.onpointermove = (e) => {
    if (s.resize) { s.resize[s.resize.side] = at(e); draw(s); return; }
    if (!s.down) { s.canvas.style.cursor = edge(e) ? "ew-resize" : ""; return; }
    if (!s.data.editable) return;
    if (s.drag || Math.abs(e.clientX - s.down.x) > 4) { s.drag = { a: s.down.t, b: at(e) }; draw(s); }
  };
  s.canvas.onpointerup = (e) => {
    if (s.resize) {
      const r = s.resize;
      s.resize = null;
      s.send("moved", { id: r.id, start: Math.min(r.start, r.end), end: Math.max(r.start, r.end), duration: s.duration });
      return;
    }
    const down = s.down, drag = s.drag;
    s.down = null; s.drag = null;
    if (!down) return;
    if (drag && s.data.editable) {
      draw(s);
      s.send("drawn", { start: Math.min(drag.a, drag.b), end: Math.max(drag.a, drag.b), duration: s.duration });
      return;
    }
    const t = at(e);
    const hits = (s.data.segments || []).filter((g) => g.start <= t && t <= g.end);
    hits.sort((a, b) => (a.end - a.start) - (b.end - b.start));  // the shortest on top
    if (hits.length) {
      const g = hits[0];
      s.picked = g.id; s.lastPicked = g.id;
      s.audio.currentTime = g.start; s.stopAt = g.end;
      if (s.audio.src) s.audio.play();
      draw(s);
      if (!s.data.readonly) s.send("picked", g.id);
    } else {
      s.stopAt = null;
      s.audio.currentTime = t;
      draw(s);
    }
  };
  new ResizeObserver(() => draw(s)).observe(s.scroll);
  const onKey = (e) => {  // the tag's hotkey plays and pauses, unless the person is typing
    if (!root.isConnected) { document.removeEventListener("keydown", onKey); return; }
    const target = e.composedPath()[0];
    if (!s.data.hotkey || !s.audio.src || (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)))) return;
    const parts = s.data.hotkey.toLowerCase().split("+"), key = parts.pop();
    const pressed = e.key === " " ? "space" : e.key.toLowerCase();
    if (pressed !== key || ["ctrl", "alt", "shift", "meta"].some((m) => parts.includes(m) !== e[m + "Key"])) return;
    e.preventDefault();
    s.play.onclick();
  };
  document.addEventListener("keydown", onKey);
  return s;
}

function options(select, values, chosen, label) {
  const wanted = values.map(String).join(",");
  if (select.dataset.values === wanted) return;
  select.dataset.values = wanted;
  select.replaceChildren();
  for (const v of values) {
    const o = document.createElement("option");
    o.value = String(v); o.textContent = label(v);
    select.appendChild(o);
  }
  select.value = String(chosen);
}

function tick(s) {
  if (s.stopAt !== null && s.audio.currentTime >= s.stopAt) { s.audio.pause(); s.stopAt = null; }
  draw(s);
  const x = (s.audio.currentTime / (s.duration || 1)) * s.canvas.clientWidth;
  if (x < s.scroll.scrollLeft || x > s.scroll.scrollLeft + s.scroll.clientWidth) s.scroll.scrollLeft = x - 20;
  if (!s.audio.paused) requestAnimationFrame(() => tick(s));
}

function ink(color) {  // black or white, whichever reads on this background
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16));
  return 0.299 * r + 0.587 * g + 0.114 * b > 150 ? "#1f2330" : "white";
}

function lanes(segments) {
  const ends = [], lane = {};
  for (const g of [...segments].sort((a, b) => a.start - b.start)) {
    let i = ends.findIndex((e) => e <= g.start);
    if (i < 0) { i = ends.length; ends.push(0); }
    ends[i] = g.end; lane[g.id] = i;
  }
  return lane;
}

function draw(s) {
  const { canvas, data } = s;
  const zoom = Number(s.zoom.value) || 1;
  const width = Math.max(200, Math.floor(s.scroll.clientWidth * zoom)), ruler = 16;
  const height = Number(data.height) || 96;
  const ratio = window.devicePixelRatio || 1;
  if (canvas.width !== width * ratio || canvas.height !== (height + ruler) * ratio) {
    canvas.width = width * ratio; canvas.height = (height + ruler) * ratio;
    canvas.style.width = width + "px"; canvas.style.height = height + ruler + "px";
  }
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height + ruler);
  g.fillStyle = "#f7f8fa"; g.fillRect(0, 0, width, height);
  const d = s.duration, x = (t) => (d ? (t / d) * width : 0);
  const r = s.resize;  // a segment being adjusted is drawn where its edge is now
  const segments = (data.segments || []).map((x) => (r && x.id === r.id
    ? { ...x, start: Math.min(r.start, r.end), end: Math.max(r.start, r.end) } : x));
  const lane = lanes(segments);
  for (const seg of segments) {
    g.fillStyle = seg.color + "40";
    g.fillRect(x(seg.start), 0, Math.max(1, x(seg.end) - x(seg.start)), height);
  }
  const mid = height / 2, peaks = s.peaks || [];
  g.fillStyle = "#5b6770";
  if (peaks.length) {
    for (let px = 0; px < width; px++) {
      const a = Math.floor((px / width) * peaks.length), b = Math.max(a + 1, Math.floor(((px + 1) / width) * peaks.length));
      let m = 0;
      for (let i = a; i < b && i < peaks.length; i++) m = Math.max(m, peaks[i]);
      const h = Math.max(1, m * (mid - 4));
      g.fillRect(px, mid - h, 1, 2 * h);
    }
  } else {
    g.fillRect(0, mid, width, 1);
  }
  g.font = "12px sans-serif"; g.textBaseline = "top";
  for (const seg of segments) {
    const x0 = x(seg.start), x1 = x(seg.end);
    g.strokeStyle = seg.color; g.lineWidth = 1;
    g.strokeRect(x0 + 0.5, 0.5, Math.max(1, x1 - x0 - 1), height - 1);
    if (seg.id === s.picked) { g.strokeStyle = "#31333f"; g.lineWidth = 2.5; g.strokeRect(x0 + 1, 1, Math.max(1, x1 - x0 - 2), height - 2); }
    const y = 3 + 15 * (lane[seg.id] || 0);
    g.fillStyle = seg.color; g.fillRect(x0, y - 1, Math.min(x1 - x0, g.measureText(seg.label).width + 8), 15);
    g.fillStyle = ink(seg.color); g.fillText(seg.label, x0 + 4, y, Math.max(0, x1 - x0 - 6));
  }
  if (s.drag) {
    g.fillStyle = "rgba(49, 51, 63, 0.18)";
    g.fillRect(x(Math.min(s.drag.a, s.drag.b)), 0, Math.abs(x(s.drag.b) - x(s.drag.a)), height);
  }
  g.fillStyle = "#6b6f7b"; g.textBaseline = "top"; g.font = "10px sans-serif";
  if (d) {
    const every = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600].find((v) => (v / d) * width >= 60) || 600;
    for (let t = 0; t <= d + 1e-9; t += every) {
      g.fillRect(x(t), height, 1, 4);
      const text = clock(t).replace(/\.0$/, "");
      if (x(t) + 2 + g.measureText(text).width <= width) g.fillText(text, x(t) + 2, height + 4);
    }
  }
  g.fillStyle = "#ff4b4b";
  g.fillRect(x(s.audio.currentTime || 0) - 1, 0, 2, height);
  s.time.textContent = clock(s.audio.currentTime || 0) + " / " + clock(d || NaN);
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  const root = parentElement.querySelector(".lk-audio");
  let s = root.lkAudio;  // kept on the element: playback goes on across reruns
  if (!s) { s = root.lkAudio = setup(root); }
  s.data = data; s.send = setTriggerValue;
  root.classList.toggle("lk-readonly", !data.editable);
  if (data.picked !== undefined && data.picked !== s.lastPicked) {
    s.picked = data.picked; s.lastPicked = data.picked;
    const g = (data.segments || []).find((x) => x.id === data.picked);
    if (g && s.audio.paused && s.audio.src) s.audio.currentTime = g.start;  // Play then plays it
  }
  options(s.speed, data.speeds || [1], data.speed || 1, (v) => v + "×");
  options(s.zoom, data.zooms || [1], data.zoom || 1, (v) => v + "×");
  if (s.url !== (data.url || "")) {
    s.url = data.url || "";
    s.duration = data.duration || 0; s.peaks = data.peaks || null;
    if (s.url) s.audio.src = s.url; else s.audio.removeAttribute("src");
    s.audio.volume = data.volume === undefined ? 1 : data.volume;
    if (!s.peaks && s.url) decode(s, s.url);
  }
  draw(s);
}

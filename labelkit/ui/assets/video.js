const BOX = ["x", "y", "width", "height", "rotation"];
function boxAt(sequence, frame) {  // labelkit.media.video.box_at
  const keys = [...(sequence || [])].sort((a, b) => a.frame - b.frame);
  const before = keys.filter((k) => k.frame <= frame);
  if (!before.length) return null;
  const prev = before[before.length - 1];
  const pick = (k) => Object.fromEntries(BOX.map((n) => [n, Number(k[n] || 0)]));
  if (prev.frame === frame) return { ...pick(prev), keyframe: true };
  if (prev.enabled === false) return null;
  const next = keys.find((k) => k.frame > frame);
  if (!next) return { ...pick(prev), keyframe: false };
  const share = (frame - prev.frame) / (next.frame - prev.frame);
  const a = pick(prev), b = pick(next);
  return { ...Object.fromEntries(BOX.map((n) => [n, a[n] + (b[n] - a[n]) * share])), keyframe: false };
}
function spansOf(sequence, count) {  // labelkit.media.video.visible_spans
  const keys = [...(sequence || [])].sort((a, b) => a.frame - b.frame);
  const spans = [];
  keys.forEach((k, i) => {
    let end = k.frame;
    if (k.enabled !== false) end = i + 1 < keys.length ? keys[i + 1].frame : Math.max(count, k.frame);
    const last = spans[spans.length - 1];
    if (last && last[1] >= k.frame) last[1] = Math.max(last[1], end); else spans.push([k.frame, end]);
  });
  return spans;
}
const el = (tag, cls, text) => {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
};

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  const root = parentElement.querySelector(".lk-video");
  let s = root.__lk;
  if (!s) {
    s = root.__lk = { frame: 1 };
    const stage = el("div", "lk-stage");
    const video = el("video");
    video.preload = "auto"; video.playsInline = true;
    const over = el("div", "lk-over");
    stage.append(video, over);
    const bar = el("div", "lk-bar");
    const back = el("button", "", "◀ frame"), play = el("button", "", "▶ Play"), fwd = el("button", "", "frame ▶");
    back.title = "One frame back"; fwd.title = "One frame forward";
    const clock = el("span", "lk-clock", "Frame – / –");
    const speed = el("select");
    for (const v of [0.25, 0.5, 1, 1.5, 2]) {
      const o = el("option", "", v + "×"); o.value = String(v); o.selected = v === 1; speed.append(o);
    }
    speed.title = "Playback speed";
    const tools = el("span", "lk-bar");
    tools.style.margin = "0";
    const sound = el("button", "", "Sound on");
    sound.title = "Sound on or off";
    sound.onclick = () => { video.muted = !video.muted; };
    video.addEventListener("volumechange", () => { sound.textContent = video.muted ? "Sound off" : "Sound on"; });
    bar.append(back, play, fwd, clock, speed, sound, tools);
    const tl = el("div", "lk-tl");
    const hint = el("div", "lk-hint");
    root.append(stage, bar, tl, hint);
    Object.assign(s, { stage, video, over, bar, back, play, fwd, clock, speed, tools, tl, hint });

    s.rate = () => s.data.rate || 24;
    s.count = () => (isFinite(video.duration) && video.duration > 0
      ? Math.max(1, Math.ceil(Math.round(video.duration * s.rate() * 1e6) / 1e6)) : 0);
    s.frameNow = () => {
      const f = Math.floor(Math.round(video.currentTime * s.rate() * 1e6) / 1e6) + 1;
      return Math.max(1, Math.min(f, s.count() || f));
    };
    s.seek = (frame) => {
      const count = s.count();
      if (!count) return;
      frame = Math.max(1, Math.min(count, Math.round(frame)));
      video.pause();
      video.currentTime = (frame - 0.5) / s.rate();
      s.frame = frame; s.draw();
    };
    s.send = (name, value) => s.trigger(name, { ...value, framesCount: s.count(), duration: video.duration });
    back.onclick = () => s.seek(s.frameNow() - 1);
    fwd.onclick = () => s.seek(s.frameNow() + 1);
    play.onclick = () => { if (video.paused) video.play(); else video.pause(); };
    speed.onchange = () => { video.playbackRate = Number(speed.value); };
    const tick = () => {
      const f = s.frameNow();
      if (f !== s.frame) { s.frame = f; s.draw(); }
      if (!video.paused) requestAnimationFrame(tick);
    };
    video.addEventListener("play", () => { play.textContent = "❚❚ Pause"; requestAnimationFrame(tick); });
    video.addEventListener("pause", () => { play.textContent = "▶ Play"; tick(); });
    video.addEventListener("seeked", tick);
    // Keys while the player has the focus (a click on it gives it): arrows step a frame
    // (with Shift a second), space plays and pauses.
    root.tabIndex = 0;
    root.addEventListener("mousedown", () => root.focus({ preventScroll: true }));
    root.addEventListener("keydown", (ev) => {
      if (ev.target !== root || !s.count()) return;
      const step = ev.shiftKey ? Math.round(s.rate()) : 1;
      if (ev.key === "ArrowLeft") s.seek(s.frameNow() - step);
      else if (ev.key === "ArrowRight") s.seek(s.frameNow() + step);
      else if (ev.key === " ") { if (video.paused) video.play(); else video.pause(); }
      else return;
      ev.preventDefault();
    });
    video.addEventListener("loadedmetadata", () => {
      if (s.data.start) s.seek(s.data.start); else s.draw();
    });

    // Boxes: drag on the frame for a new track; drag a box to move it, its corner to resize.
    const pct = (ev) => {
      const r = over.getBoundingClientRect();
      return [Math.max(0, Math.min(100, (ev.clientX - r.left) / r.width * 100)),
              Math.max(0, Math.min(100, (ev.clientY - r.top) / r.height * 100))];
    };
    over.addEventListener("mousedown", (ev) => {
      if (s.data.disabled || !s.count() || ev.button !== 0) return;
      const boxEl = ev.target.closest(".lk-box");
      if (!boxEl && !s.data.drawing) return;
      ev.preventDefault();
      video.pause();
      const frame = s.frameNow();
      const [x0, y0] = pct(ev);
      const id = boxEl ? boxEl.dataset.id : null;
      const grip = ev.target.classList.contains("lk-grip");
      const track = id ? s.data.tracks.find((t) => t.id === id) : null;
      const start = track ? boxAt(track.sequence, frame) : null;
      const rubber = el("div", "lk-rubber");
      if (!id) over.append(rubber);
      let moved = false, box = null;
      const move = (e) => {
        const [x1, y1] = pct(e);
        if (Math.abs(x1 - x0) + Math.abs(y1 - y0) > 0.5) moved = true;
        if (!id) {
          box = { x: Math.min(x0, x1), y: Math.min(y0, y1), width: Math.abs(x1 - x0), height: Math.abs(y1 - y0) };
          Object.assign(rubber.style, { left: box.x + "%", top: box.y + "%", width: box.width + "%", height: box.height + "%" });
        } else if (grip) {
          box = { ...start, width: Math.max(1, x1 - start.x), height: Math.max(1, y1 - start.y) };
        } else {
          box = { ...start, x: Math.max(0, Math.min(100 - start.width, start.x + x1 - x0)),
                  y: Math.max(0, Math.min(100 - start.height, start.y + y1 - y0)) };
        }
        if (id && box) Object.assign(boxEl.style, { left: box.x + "%", top: box.y + "%", width: box.width + "%", height: box.height + "%" });
      };
      const up = () => {
        window.removeEventListener("mousemove", move);
        window.removeEventListener("mouseup", up);
        rubber.remove();
        if (!moved) { if (id) s.trigger("picked", { id: id, n: Date.now() }); return; }
        if (!box || box.width < 0.5 || box.height < 0.5) return;
        s.send("box", { id: id, frame: frame, x: box.x, y: box.y, width: box.width, height: box.height,
                        rotation: box.rotation || 0 });
      };
      window.addEventListener("mousemove", move);
      window.addEventListener("mouseup", up);
    });

    // The timeline: the ruler seeks, the labeling lane makes ranges, bars pick regions.
    tl.addEventListener("mousedown", (ev) => {
      const count = s.count();
      if (!count || ev.button !== 0) return;
      const lane = ev.target.closest(".lk-lane");
      if (!lane) return;
      const frameOf = (e) => {
        const r = (tl.querySelector(".lk-ruler") || tl).getBoundingClientRect();
        return Math.max(1, Math.min(count, Math.floor((e.clientX - r.left) / r.width * count) + 1));
      };
      const t = ev.target;
      if (t.dataset.range !== undefined && !s.data.disabled) {  // a range's end dragged: the range changes
        const r = t.getBoundingClientRect();
        const side = ev.clientX - r.left < 6 ? "start" : (r.right - ev.clientX < 6 ? "end" : null);
        if (side) {
          ev.preventDefault();
          let start = Number(t.dataset.start), end = Number(t.dataset.end);
          const move = (e) => {
            const f = frameOf(e);
            if (side === "start") start = Math.min(f, end); else end = Math.max(f, start);
            t.style.left = ((start - 1) / count * 100) + "%"; t.style.width = ((end - start + 1) / count * 100) + "%";
            s.seek(f);
          };
          const up = () => {
            window.removeEventListener("mousemove", move); window.removeEventListener("mouseup", up);
            if (start !== Number(t.dataset.start) || end !== Number(t.dataset.end)) {
              s.send("span", { id: t.dataset.id, index: Number(t.dataset.range), start: start, end: end });
            }
          };
          window.addEventListener("mousemove", move); window.addEventListener("mouseup", up);
          return;
        }
      }
      if (t.dataset.id) {
        ev.preventDefault();
        s.trigger("picked", { id: ev.target.dataset.id, n: Date.now() });
        if (ev.target.dataset.frame) s.seek(Number(ev.target.dataset.frame));
        return;
      }
      if (lane.classList.contains("lk-ruler")) {
        ev.preventDefault();
        s.seek(frameOf(ev));
        const move = (e) => s.seek(frameOf(e));
        const up = () => { window.removeEventListener("mousemove", move); window.removeEventListener("mouseup", up); };
        window.addEventListener("mousemove", move); window.addEventListener("mouseup", up);
        return;
      }
      if (!lane.classList.contains("lk-new") || s.data.disabled) return;
      ev.preventDefault();
      const first = frameOf(ev);
      const seg = el("div", "lk-seg");
      seg.style.background = s.data.color || "#888";
      lane.append(seg);
      let last = first;
      const paint = () => {
        const a = Math.min(first, last), b = Math.max(first, last);
        seg.style.left = ((a - 1) / count * 100) + "%"; seg.style.width = ((b - a + 1) / count * 100) + "%";
      };
      paint();
      const move = (e) => { last = frameOf(e); paint(); s.seek(last); };
      const up = () => {
        window.removeEventListener("mousemove", move); window.removeEventListener("mouseup", up);
        s.send("range", { start: Math.min(first, last), end: Math.max(first, last) });
      };
      window.addEventListener("mousemove", move); window.addEventListener("mouseup", up);
    });

    s.draw = () => {
      const d = s.data, count = s.count(), frame = s.frame;
      const rate = s.rate();
      const t = ((frame - 1) / rate);
      s.clock.textContent = count
        ? `Frame ${frame} / ${count} · ${Math.floor(t / 60)}:${(t % 60).toFixed(2).padStart(5, "0")}`
        : "Loading…";
      s.over.className = "lk-over" + (d.drawing && !d.disabled ? " lk-draw" : "");
      s.over.replaceChildren();
      for (const track of d.tracks) {
        const b = boxAt(track.sequence, frame);
        if (!b) continue;
        const node = el("div", "lk-box" + (b.keyframe ? "" : " lk-between") + (track.id === d.picked ? " lk-picked" : ""));
        node.dataset.id = track.id;
        Object.assign(node.style, { left: b.x + "%", top: b.y + "%", width: b.width + "%", height: b.height + "%",
                                    borderColor: track.color });
        const tag = el("span", "lk-tag", track.label || "no label");
        tag.style.background = track.color;
        node.append(tag);
        if (!d.disabled) node.append(el("span", "lk-grip"));
        s.over.append(node);
      }
      // the picked track's buttons at this frame
      s.tools.replaceChildren();
      const picked = d.tracks.find((tr) => tr.id === d.picked);
      if (picked && !d.disabled) {
        const here = (picked.sequence || []).find((k) => k.frame === frame);
        const shown = boxAt(picked.sequence, frame);
        const off = el("button", "", here && here.enabled === false ? "Resume track here" : (shown ? "End track here" : "Resume track here"));
        off.disabled = !count || (!shown && !(picked.sequence || []).some((k) => k.frame < frame));
        off.onclick = () => s.send("toggle", { id: picked.id, frame: frame });
        const unkey = el("button", "", "Remove keyframe");
        unkey.disabled = !here || picked.sequence.length < 2;
        unkey.onclick = () => s.send("unkey", { id: picked.id, frame: frame });
        s.tools.append(off, unkey);
      }
      if (d.timeline && !d.disabled) {
        const mark = el("button", "", s.mark ? `End range here (from ${s.mark})` : "Start range here");
        mark.disabled = !count;
        mark.onclick = () => {
          if (!s.mark) { s.mark = frame; s.draw(); return; }
          const a = Math.min(s.mark, frame), b = Math.max(s.mark, frame);
          s.mark = null; s.send("range", { start: a, end: b });
        };
        s.tools.append(mark);
      }
      // the timeline
      s.tl.replaceChildren();
      if (!count) return;
      const at = (f) => ((f - 1) / count * 100) + "%";
      const wide = (a, b) => ((b - a + 1) / count * 100) + "%";
      const ruler = el("div", "lk-lane lk-ruler");
      ruler.append(el("span", "lk-name", "seek"));
      s.tl.append(ruler);
      if (d.timeline && !d.disabled) {
        const lane = el("div", "lk-lane lk-new");
        lane.append(el("span", "lk-name", `drag here to label${d.label ? ": " + d.label : ""}`));
        s.tl.append(lane);
      }
      for (const r of d.ranges) {
        const lane = el("div", "lk-lane");
        lane.append(el("span", "lk-name", r.label || "no label"));
        for (const [index, g] of r.ranges.entries()) {
          const seg = el("div", "lk-seg" + (r.id === d.picked ? " lk-picked" : ""));
          Object.assign(seg.style, { left: at(g.start), width: wide(g.start, g.end), background: r.color });
          seg.dataset.id = r.id; seg.dataset.frame = String(g.start);
          seg.dataset.range = String(index); seg.dataset.start = String(g.start); seg.dataset.end = String(g.end);
          seg.title = `${r.label}: frames ${g.start}–${g.end}`;
          lane.append(seg);
        }
        s.tl.append(lane);
      }
      for (const track of d.tracks) {
        const lane = el("div", "lk-lane");
        lane.append(el("span", "lk-name", (track.label || "no label") + " (box)"));
        for (const [a, b] of spansOf(track.sequence, count)) {
          const seg = el("div", "lk-seg" + (track.id === d.picked ? " lk-picked" : ""));
          Object.assign(seg.style, { left: at(a), width: wide(a, Math.min(b, count)), background: track.color, opacity: 0.35 });
          seg.dataset.id = track.id;
          lane.append(seg);
        }
        for (const k of track.sequence || []) {
          const key = el("div", "lk-key" + (k.enabled === false ? " lk-off" : ""));
          key.style.left = `calc(${at(k.frame)} + ${50 / count}%)`; key.style.background = track.color;
          key.dataset.id = track.id; key.dataset.frame = String(k.frame);
          key.title = `keyframe ${k.frame}${k.enabled === false ? " (track ends)" : ""}`;
          lane.append(key);
        }
        s.tl.append(lane);
      }
      for (const lane of s.tl.children) {  // the playhead across every lane
        const head = el("div", "lk-head");
        head.style.left = `calc(${at(frame)} + ${50 / count}%)`;
        lane.append(head);
      }
    };
  }
  s.trigger = setTriggerValue;
  const before = s.data;
  s.data = data;
  s.hint.textContent = data.hint || "";
  s.back.disabled = s.fwd.disabled = false;
  if (!before || before.src !== data.src) { s.video.muted = !!data.muted; s.video.src = data.src; }
  if (before && data.picked && data.picked !== before.picked && data.start) s.seek(data.start);
  s.draw();
}

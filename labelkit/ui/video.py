"""A <Video>: a player of our own (play, pause, a frame back or forward, speed, a timeline
to seek on), and on it Label Studio's video regions:

- TimelineLabels: drag along the timeline's labeling lane (or mark start and end at the
  current frame) to label a range of frames: {"ranges": [{start, end}], "timelinelabels"}.
- VideoRectangle with <Labels>: pause, drag a box over the frame to start a track with a
  keyframe there; on another frame move the box (drag it) or resize it (its corner) for
  another keyframe; frames between keyframes are interpolated; "End track here" turns the
  track off at a frame: {framesCount, duration, sequence, labels}.

Streamlit has no video widget that reports frames or takes drawings, so this is a small
component of our own (plain JavaScript on components v2, no build step). Labels reach the
page as text only. Frame arithmetic and interpolation are in labelkit.video; the player
repeats the interpolation to draw boxes while it plays."""

from __future__ import annotations

from typing import Any

import streamlit as st

from labelkit import regions as rg
from labelkit import video as vd
from labelkit.config import ControlTag, LabelConfig, Node, ObjectTag
from labelkit.config.parser import truthy
from labelkit.regions import region_id
from labelkit.ui import canvas_shapes as cs
from labelkit.ui import region_panel as rp
from labelkit.ui.media import browser_url, image_source
from labelkit.ui.region_panel import RegionPanel

_CSS = """
.lk-video { font-size: 0.9rem; outline: none; }
.lk-stage { position: relative; display: block; width: 100%; max-width: 640px; line-height: 0; background: #000;
  user-select: none; }
.lk-stage video { width: 100%; height: auto; display: block; }
.lk-over { position: absolute; inset: 0; }
.lk-over.lk-draw { cursor: crosshair; }
.lk-box { position: absolute; border: 2px solid; box-sizing: border-box; cursor: move; }
.lk-box.lk-between { border-style: dashed; }
.lk-box.lk-picked { outline: 2px solid #fff; }
.lk-box .lk-tag { position: absolute; left: -2px; top: -1.35rem; line-height: 1.2rem; font-size: 0.75rem; color: #fff;
  padding: 0 4px; white-space: nowrap; border-radius: 2px; }
.lk-box .lk-grip { position: absolute; right: -5px; bottom: -5px; width: 10px; height: 10px; background: #fff;
  border: 1px solid #333; cursor: nwse-resize; }
.lk-rubber { position: absolute; border: 2px dashed #fff; pointer-events: none; }
.lk-bar { display: flex; flex-wrap: wrap; gap: 0.35rem; align-items: center; margin: 0.4rem 0; max-width: 640px; }
.lk-bar button, .lk-bar select { font: inherit; padding: 0.15rem 0.55rem; border: 1px solid rgba(49,51,63,0.3);
  border-radius: 0.4rem; background: #fff; cursor: pointer; color: #31333f; }
.lk-bar button:disabled { opacity: 0.45; cursor: default; }
.lk-bar .lk-clock { font-variant-numeric: tabular-nums; min-width: 12rem; }
.lk-tl { position: relative; max-width: 640px; box-sizing: border-box; border: 1px solid rgba(49,51,63,0.2);
  border-radius: 0.4rem; padding: 2px 4px 2px 96px; user-select: none; }
.lk-lane { position: relative; height: 20px; margin: 2px 0; }
.lk-lane .lk-name { position: absolute; left: -92px; width: 88px; top: 3px; font-size: 0.7rem; line-height: 0.9rem;
  color: #333; pointer-events: none; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.lk-ruler { background: repeating-linear-gradient(90deg, rgba(49,51,63,0.12) 0 1px, transparent 1px 10%);
  cursor: pointer; }
.lk-new { background: rgba(49,51,63,0.06); cursor: crosshair; }
.lk-seg { position: absolute; top: 2px; bottom: 2px; border-radius: 3px; opacity: 0.75; cursor: pointer;
  min-width: 3px; }
.lk-seg.lk-picked { outline: 2px solid #31333f; opacity: 1; }
.lk-seg[data-range] { border-left: 4px solid rgba(0,0,0,0.35); border-right: 4px solid rgba(0,0,0,0.35);
  box-sizing: border-box; }
.lk-key { position: absolute; top: 5px; width: 9px; height: 9px; margin-left: -5px; transform: rotate(45deg);
  border: 1px solid #31333f; cursor: pointer; }
.lk-key.lk-off { background: #fff !important; }
.lk-head { position: absolute; top: -2px; bottom: -2px; width: 2px; margin-left: -1px; background: #d33; pointer-events: none; }
.lk-hint { font-size: 0.8rem; color: #666; margin: 0.2rem 0; }
"""

_JS = r"""
const BOX = ["x", "y", "width", "height", "rotation"];
function boxAt(sequence, frame) {  // labelkit.video.box_at
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
function spansOf(sequence, count) {  // labelkit.video.visible_spans
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
"""

_component = st.components.v2.component("labelkit.video", html='<div class="lk-video"></div>', css=_CSS, js=_JS)


def _video_value(data: dict, obj: ObjectTag) -> str:
    ref = obj.value
    found = data.get(ref[1:]) if ref.startswith("$") else ref
    return "" if found is None else str(found)


def _source(value: str) -> str | None:
    """The URL the browser plays, or None where there is no page URL (AppTest)."""
    try:
        url = st.context.url
    except Exception:  # noqa: BLE001 - no request context
        url = None
    return browser_url(value, url)


def _muted(video: ObjectTag) -> bool:
    """Label Studio plays a video's sound unless muted="true"."""
    return truthy(video.node.attrs.get("muted"))


def _fallback(value: str) -> None:
    source = image_source(value)
    if source is None:
        st.warning(f"The video {value!r} cannot be played here.", icon=":material/videocam_off:")
    else:
        st.video(str(source))


def _tracks(config: LabelConfig, found: list[dict], data: dict) -> list[dict]:
    return [
        {"id": r["id"], "label": ", ".join(rg.label_names(r)), "color": rp.region_color(config, r, data),
         "sequence": r["geometry"].get("sequence") or []}
        for r in found if r["shape"] == "videorectangle"
    ]


def _ranges(config: LabelConfig, found: list[dict], data: dict) -> list[dict]:
    return [
        {"id": r["id"], "label": ", ".join(rg.label_names(r)), "color": rp.region_color(config, r, data),
         "ranges": r["geometry"].get("ranges") or []}
        for r in found if r["shape"] == "timeline"
    ]


def first_frame(region: dict) -> int | None:
    """Where a region starts: its first range or keyframe (the player goes there when it
    is picked)."""
    geometry = region.get("geometry") or {}
    frames = [r.get("start") for r in geometry.get("ranges") or []] + [k.get("frame") for k in geometry.get("sequence") or []]
    frames = [f for f in frames if isinstance(f, int)]
    return min(frames) if frames else None


class VideoEditor(RegionPanel):
    """The regions of one <Video>, with the region panel beside the player."""

    def __init__(self, config: LabelConfig, video: ObjectTag, data: dict, prefix: str, disabled: bool,
                 shortcut=None) -> None:
        self.config, self.image, self.data, self.prefix = config, video, data, prefix
        self.disabled = disabled
        self.shortcut = shortcut or (lambda hotkey: None)
        self.where = f"{prefix}:{video.name}:"
        self.tools = rp.tools_for(config, video.name)
        self.rate = vd.frame_rate(video.node.attrs)

    def mine(self, region: dict) -> bool:
        return region["to_name"] == self.image.name

    def redraw(self) -> None:
        """Nothing to reload: the player is drawn from the regions on every run."""

    def tool(self) -> ControlTag | None:
        """The tool new regions are made with: the only one, or the one picked above the
        player (boxes or timeline ranges)."""
        if len(self.tools) <= 1 or self.disabled:
            return self.tools[0] if self.tools else None
        names = {t.name: ("Boxes" if t.tag == "VideoRectangle" else "Timeline ranges") for t in self.tools}
        key = f"{self.where}:tool"
        if st.session_state.get(key) not in names:
            st.session_state[key] = self.tools[0].name
        st.segmented_control("Draw", list(names), format_func=names.get, key=key)
        return next((t for t in self.tools if t.name == st.session_state.get(key)), self.tools[0])

    def draw(self, url: str | None, value: str) -> None:
        tool = self.tool()
        if tool is not None and not self.disabled:
            self.label_buttons(tool)
        label = st.session_state.get(f"{self.where}:label") if tool is not None else None
        if url is None:
            _fallback(value)
        player, side = st.columns([3, 1]) if not self.disabled else (st.container(), None)
        if side is not None:  # the list first: until its radio is drawn in a run, the pick in session state is
            with side:        # the label the browser sent, not the region's id
                self.panel()
        picked = st.session_state.get(f"{self.prefix}:selected")
        mine = self.regions
        chosen = next((r for r in mine if r["id"] == picked), None)
        drawing = tool is not None and tool.tag == "VideoRectangle"
        timeline = tool is not None and tool.tag == "TimelineLabels"
        hint = ""
        if drawing and not self.disabled:
            hint = ("Pause, then drag over the frame to start a track. On another frame, drag the box (or its "
                    "corner) to add a keyframe; the frames between follow it. Click the player, then ← → step "
                    "a frame.")
        elif timeline and not self.disabled:
            hint = ("Drag along the labeling lane under the video to label those frames (a click labels one). "
                    "Click the player, then ← → step a frame.")
        with player:
            if url is not None:
                _component(
                    data={"src": url, "rate": self.rate, "muted": _muted(self.image), "tracks": _tracks(self.config, mine, self.data),
                          "ranges": _ranges(self.config, mine, self.data), "picked": picked,
                          "start": first_frame(chosen) if chosen else None, "disabled": self.disabled,
                          "drawing": drawing, "timeline": timeline, "label": label or "",
                          "color": rp.label_color(self.config, self.image.name, label, self.data), "hint": hint},
                    key=f"{self.where}player",
                    on_box_change=self.box, on_range_change=self.range, on_picked_change=self.pick,
                    on_toggle_change=self.toggle, on_unkey_change=self.unkey, on_span_change=self.span,
                )
        self.relations()

    # Events from the player

    def _event(self, name: str) -> dict[str, Any] | None:
        found = (st.session_state.get(f"{self.where}player") or {}).get(name)
        return found if isinstance(found, dict) else None

    def _label_of(self, tool: ControlTag) -> dict[str, list[str]]:
        """The current label, under the control it belongs to."""
        label = st.session_state.get(f"{self.where}:label")
        for control in rp.label_controls(self.config, self.image.name, tool):
            if label in [o.stored for o in control.options_for(self.data)]:
                return {control.name: [label]}
        return {}

    def _sized(self, geometry: dict, event: dict) -> dict:
        count, duration = event.get("framesCount"), event.get("duration")
        if isinstance(count, int | float) and count > 0:
            geometry["framesCount"] = int(count)
        if isinstance(duration, int | float) and duration > 0:
            geometry["duration"] = float(duration)
        return geometry

    def box(self) -> None:
        event = self._event("box")
        tool = next((t for t in self.tools if t.tag == "VideoRectangle"), None)
        if event is None or tool is None:
            return
        frame = int(event["frame"])
        regions = self.regions
        track = next((r for r in regions if r["id"] == event.get("id")), None)
        if track is None:
            track = {
                "id": region_id(), "to_name": self.image.name, "item_index": None, "shape": "videorectangle",
                "geometry": {"framesCount": 0, "duration": 0.0, "sequence": []}, "tool": tool.name,
                "labels": self._label_of(tool), "attributes": {}, "origin": "manual",
            }
            regions.append(track)
        else:
            track["origin"] = cs.changed_origin(track)
        geometry = dict(track["geometry"])
        geometry["sequence"] = vd.set_keyframe(geometry.get("sequence") or [], frame, event, self.rate)
        track["geometry"] = self._sized(geometry, event)
        self.store(regions)
        st.session_state[f"{self.prefix}:selected"] = track["id"]

    def range(self) -> None:
        event = self._event("range")
        tool = next((t for t in self.tools if t.tag == "TimelineLabels"), None)
        if event is None or tool is None:
            return
        count = int(event.get("framesCount") or max(int(event["start"]), int(event["end"])))
        start, end = vd.clamp_range(int(event["start"]), int(event["end"]), count)
        region = {
            "id": region_id(), "to_name": self.image.name, "item_index": None, "shape": "timeline",
            "geometry": {"ranges": [{"start": start, "end": end}]}, "tool": tool.name,
            "labels": self._label_of(tool), "attributes": {}, "origin": "manual",
        }
        self.store([*self.regions, region])
        st.session_state[f"{self.prefix}:selected"] = region["id"]

    def span(self) -> None:
        """A range's start or end dragged along the timeline."""
        event = self._event("span")
        if event is None:
            return
        regions = self.regions
        for region in regions:
            ranges = list(region["geometry"].get("ranges") or [])
            index = int(event.get("index") or 0)
            if region["id"] == event.get("id") and region["shape"] == "timeline" and 0 <= index < len(ranges):
                count = int(event.get("framesCount") or max(int(event["start"]), int(event["end"])))
                start, end = vd.clamp_range(int(event["start"]), int(event["end"]), count)
                ranges[index] = {"start": start, "end": end}
                region["geometry"] = {**region["geometry"], "ranges": ranges}
                region["origin"] = cs.changed_origin(region)
        self.store(regions)

    def _change_track(self, name: str, change) -> None:
        event = self._event(name)
        if event is None:
            return
        regions = self.regions
        for region in regions:
            if region["id"] == event.get("id") and region["shape"] == "videorectangle":
                geometry = dict(region["geometry"])
                geometry["sequence"] = change(geometry.get("sequence") or [], int(event["frame"]))
                region["geometry"] = self._sized(geometry, event)
                region["origin"] = cs.changed_origin(region)
        self.store(regions)

    def toggle(self) -> None:
        self._change_track("toggle", lambda seq, frame: vd.toggle_track(seq, frame, self.rate))

    def unkey(self) -> None:
        self._change_track("unkey", vd.remove_keyframe)

    def pick(self) -> None:
        event = self._event("picked")
        if event and event.get("id"):
            st.session_state[f"{self.prefix}:selected"] = event["id"]


def draw(renderer, node: Node) -> None:
    """A <Video> in a task view: the player always; with the controls, its region editor
    (also when the object itself is not drawn, as on a reviewer's fix)."""
    video = renderer.config.objects.get(node.attrs.get("name", ""))
    if video is None:
        return
    value = _video_value(renderer.data, video)
    url = _source(value)
    has_tools = bool(rp.tools_for(renderer.config, video.name))
    if renderer.controls and has_tools:
        VideoEditor(renderer.config, video, renderer.data, renderer.prefix, renderer.disabled,
                    renderer._shortcut).draw(url, value)
        return
    if not renderer.objects:
        return
    if url is None:
        _fallback(value)
        return
    _component(
        data={"src": url, "rate": vd.frame_rate(video.node.attrs), "muted": _muted(video), "tracks": [], "ranges": [], "picked": None,
              "start": None, "disabled": True, "drawing": False, "timeline": False, "label": "", "hint": ""},
        key=f"{renderer.prefix}:{video.name}:player",
    )


def show(config: LabelConfig, video: ObjectTag, data: dict, found: list[dict]) -> None:
    """An annotation's tracks and timeline ranges on its video, read-only (review page)."""
    value = _video_value(data, video)
    url = _source(value)
    mine = [r for r in found if r["shape"] in ("timeline", "videorectangle")]
    if url is None:
        return
    rp.show_once(_component, {"src": url, "rate": vd.frame_rate(video.node.attrs), "muted": True, "tracks": _tracks(config, mine, data),
                              "ranges": _ranges(config, mine, data), "picked": None, "start": None, "disabled": True,
                              "drawing": False, "timeline": False, "label": "", "hint": ""})

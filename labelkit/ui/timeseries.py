"""A <TimeSeries>: one plot per <Channel> (the channels of a <MultiChannel> share one) on a
shared time axis, zoomed with the wheel or the overview strip under it. Drag across the
plot to label a range with the current <TimeSeriesLabels> label; a click without a drag
marks an instant. Regions are colored bands; a click on one picks it in the region panel
(relabel, per-region answers, delete).

The plot is a small component of our own (SVG drawn by plain JavaScript on Streamlit's
components v2, no build step); task text reaches it only as textContent. A long series is
downsampled for drawing (labelkit.media.timeseries.downsample); a region's ends are snapped to
real times of the data."""

from __future__ import annotations

import json

import streamlit as st

from labelkit.config import LabelConfig, ObjectTag
from labelkit.errors import LabelkitError
from labelkit.media import timeseries as ts
from labelkit.results import regions as rg
from labelkit.storage import local
from labelkit.ui import media
from labelkit.ui import region_panel as rp
from labelkit.ui.components import component
from labelkit.ui.object_regions import ObjectEditor

_HTML = '<div class="lk-ts"><svg class="lk-ts-plot"></svg><div class="lk-ts-hint"></div></div>'
_component = component("timeseries", _HTML)
_PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


@st.cache_resource(max_entries=16, show_spinner="Reading the time series…")
def _prepared(key: str, _obj: ObjectTag, _data: dict, project_id: int | None) -> tuple[ts.Series, list[dict]]:
    """The series and the plots' (downsampled) points, kept for the next runs (of every
    session: the key holds the project, whose files the series may come from)."""
    series = ts.load(_obj, _data, project_id=project_id)
    return series, _plots(series)


def _cache_key(obj: ObjectTag, data: dict, project_id: int | None) -> str:
    ref = obj.value
    value = data.get(ref[1:]) if ref.startswith("$") else ref
    stamp = None
    if isinstance(value, str) and local.is_local(value.strip()):
        try:
            stat = local.resolve_for(value.strip(), project_id).stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except LabelkitError:
            stamp = None
    channels = [(c.tag, c.attrs, [(g.tag, g.attrs) for g in c.children]) for c in obj.node.children]
    return json.dumps([obj.node.attrs, channels, value, stamp, project_id], sort_keys=True, default=str)


def _series(obj: ObjectTag, data: dict) -> tuple[ts.Series, list[dict]]:
    project_id = media.page_project()
    return _prepared(_cache_key(obj, data, project_id), obj, data, project_id)


def load(obj: ObjectTag, data: dict) -> ts.Series | None:
    """The task's series, or None after telling the person why it cannot be shown."""
    try:
        series, _ = _series(obj, data)
    except LabelkitError as e:
        st.warning(f"The time series {obj.name!r} cannot be shown: {e}", icon=":material/warning:")
        return None
    return series


def _plots(series: ts.Series) -> list[dict]:
    groups: dict[int, dict] = {}
    for n, channel in enumerate(series.channels):
        x, y = ts.downsample(series.time, series.values[channel.column])
        plot = groups.setdefault(channel.group, {"height": channel.height, "lines": []})
        plot["lines"].append({
            "column": channel.column, "legend": channel.legend, "units": channel.units, "color": channel.color or _PALETTE[n % len(_PALETTE)],
            "width": channel.width, "x": x, "y": y,
        })
    return list(groups.values())


def _bands(config: LabelConfig, data: dict, found: list[dict]) -> list[dict]:
    return [
        {"id": r["id"], "start": ts.as_time(r["geometry"].get("start")), "end": ts.as_time(r["geometry"].get("end")),
         "instant": bool(r["geometry"].get("instant")), "label": ", ".join(rg.label_names(r)) or "no label",
         "color": rp.region_color(config, r, data)}
        for r in found
        if r.get("shape") == "range" and None not in (ts.as_time(r["geometry"].get("start")), ts.as_time(r["geometry"].get("end")))
    ]


def plot(config: LabelConfig, obj: ObjectTag, data: dict, found: list[dict], key: str | None = None,
         picked: str | None = None, disabled: bool = True, **callbacks) -> None:
    """The plot of a task's series with its regions as bands; the overview strip under it
    shows the config's overviewChannels (else the first channel)."""
    series = load(obj, data)
    if series is None:
        return
    _, plots = _series(obj, data)
    _component(
        data={"plots": plots, "span": list(series.span), "dates": series.dates,
              "overview": [c.strip() for c in obj.node.attrs.get("overviewChannels", "").split(",") if c.strip()], "regions": _bands(config, data, found),
              "picked": picked, "disabled": disabled, "series": key or obj.name},
        key=key, **callbacks,
    )


class SeriesEditor(ObjectEditor):
    """The ranges labeled on one <TimeSeries>, with the region panel beside the plot."""

    def describe(self, region: dict) -> str:
        series = load(self.obj, self.data)
        return ts.describe(series, region) if series is not None else rg.describe(region)

    def draw(self) -> None:
        tool = self.tools[0] if self.tools else None
        if tool is not None and not self.disabled:
            self.label_buttons(tool)
            st.caption("Drag across the plot to label a range; click once to mark an instant; click a band to pick it. "
                       "Wheel: zoom, Shift+wheel: pan; drag on the strip below to zoom to a span, double-click it for all.")
        plot_column, side = st.columns([3, 1]) if not self.disabled else (st.container(), None)
        with plot_column:
            plot(self.config, self.obj, self.data, self.regions, key=f"{self.where}plot",
                 picked=st.session_state.get(f"{self.prefix}:selected"), disabled=self.disabled or tool is None,
                 on_selected_change=self.add, on_picked_change=self.pick)
        if side is not None:
            with side:
                self.panel()

    def add(self) -> None:
        chosen = (st.session_state.get(f"{self.where}plot") or {}).get("selected")
        tool = self.tools[0] if self.tools else None
        series = load(self.obj, self.data)
        if not chosen or tool is None or series is None:
            return
        try:
            geometry = ts.region_range(series, chosen["start"], chosen["end"], bool(chosen.get("instant")))
        except (KeyError, TypeError, ValueError):
            return
        self.keep(self.new_region("range", geometry, tool))

    def pick(self) -> None:
        self.pick_from(f"{self.where}plot")


def draw(renderer, node) -> None:
    """Called by labelkit.ui.labeling for each <TimeSeries> of the config."""
    obj = renderer.config.objects.get(node.attrs.get("name", ""))
    if obj is None:
        return
    editable = renderer.controls and bool(rp.tools_for(renderer.config, obj.name))
    if editable:  # also when only controls are drawn (a reviewer's fix): the editor is the plot
        SeriesEditor(renderer.config, obj, renderer.data, renderer.prefix, renderer.disabled, renderer._shortcut).draw()
    elif renderer.objects:
        plot(renderer.config, obj, renderer.data, [], key=f"{renderer.prefix}:{obj.name}:plot")


def show(config: LabelConfig, obj: ObjectTag, data: dict, found: list[dict]) -> None:
    """An annotation's ranges as bands on the plot, read-only (review page)."""
    import hashlib

    digest = hashlib.sha1(json.dumps(found, sort_keys=True, default=str).encode()).hexdigest()[:12]
    plot(config, obj, data, found, key=f"lk-ts-show:{obj.name}:{digest}")


def describe_region(config: LabelConfig, obj: ObjectTag, data: dict, region: dict) -> str | None:
    """A region as the review page lists it (times as the data shows them), or None."""
    try:
        series, _ = _series(obj, data)
    except LabelkitError:
        return None
    return ts.describe(series, region)

"""The region editor of one object that is not an image: a text, HTML, a dialogue, audio,
a video, a time series (labelkit.ui.spans, hypertext, dialogue, audio, video, timeseries
subclass it). It is the editor's side of the region panel's contract
(labelkit.ui.region_panel.RegionEditor), shared by all of them."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from labelkit.config import ControlTag, LabelConfig, ObjectTag
from labelkit.results import regions as rg
from labelkit.ui.region_panel import RegionPanel, tools_for


class ObjectEditor(RegionPanel):
    """The region editor of one object that is not an image (a text, HTML, a dialogue,
    audio, a video, a time series): its regions are those on this object, drawn afresh from
    session state on every run; new ones take the label picked above it."""

    def __init__(self, config: LabelConfig, obj: ObjectTag, data: dict, prefix: str, disabled: bool,
                 shortcut: Callable[[str | None], str | None] | None = None) -> None:
        self.config, self.obj, self.data, self.prefix = config, obj, data, prefix
        self.disabled = disabled
        self.shortcut = shortcut or (lambda hotkey: None)
        self.where = f"{prefix}:{obj.name}:"
        self.tools: list[ControlTag] = tools_for(config, obj.name)  # the controls that make regions here

    def mine(self, region: dict) -> bool:
        return region["to_name"] == self.obj.name

    def redraw(self) -> None:
        """Nothing to reload: the object is drawn from the regions on every run."""

    def new_region(self, shape: str, geometry: dict, tool: ControlTag, labels: dict | None = None) -> dict:
        """A region drawn with this tool, labeled with the label picked above the object."""
        if labels is None:
            label = st.session_state.get(f"{self.where}:label")
            labels = {tool.name: [label]} if label else {}
        return {"id": rg.region_id(), "to_name": self.obj.name, "item_index": None, "shape": shape,
                "geometry": geometry, "tool": tool.name, "labels": labels, "attributes": {}, "origin": "manual"}

    def keep(self, region: dict) -> None:
        """A new region stored beside the others, and picked in the list."""
        self.store([*self.regions, region])
        self.select(region["id"])

    def select(self, region_id: str) -> None:
        st.session_state[f"{self.prefix}:selected"] = region_id

    def pick_from(self, component_key: str) -> None:
        """The region the component says was clicked, picked in the list."""
        chosen = (st.session_state.get(component_key) or {}).get("picked")
        if chosen:
            self.select(chosen)

"""Regions read-only, as the review page and the history show a result: drawn on their
image, marked on their text, audio, video... by that object's module, and listed with
their labels, per-region answers and relations."""

from __future__ import annotations

import streamlit as st

from labelkit.config import LabelConfig
from labelkit.results import regions as rg
from labelkit.ui import canvas_shapes as cs
from labelkit.ui import spans
from labelkit.ui.media import image_source
from labelkit.ui.region_panel import image_values, region_color, rg_label
from labelkit.ui.text import plain


def show(config: LabelConfig, data: dict, found: list[dict], relations: list[dict]) -> None:
    """Regions read-only: drawn on their image where it is a local file, marked on their
    text, audio, video... by that object's module, and listed with their labels and
    per-region answers."""
    from labelkit.ui import labeling  # here, not above: labeling imports controls, which import this module

    for obj in config.objects.values():
        mine = [r for r in found if r["to_name"] == obj.name]
        module = spans if obj.tag == "Text" else labeling.object_module(obj.tag)
        if mine and module is not None and hasattr(module, "show"):
            module.show(config, obj, data, mine)
    for image in config.objects_of("Image"):
        values = image_values(data, image)
        mine = [r for r in found if r["to_name"] == image.name]
        if not mine:
            continue
        for index, value in enumerate(values):
            here = [r for r in mine if (r.get("item_index") or 0) == index]
            source = image_source(value)
            if here and source is not None and not isinstance(source, str):
                colors = {r["id"]: region_color(config, r, data) for r in here}
                st.image(cs.draw_regions(source, here, colors), width="stretch")
    numbers = {r["id"]: n for n, r in enumerate(found, start=1)}
    lines = []
    for n, region in enumerate(found, start=1):
        answers = "; ".join(
            f"{rg_label(config.controls[k]) if k in config.controls else k}: {rg.answer_text(v)}"
            for k, v in region["attributes"].items() if v not in (None, "", [])
        )
        obj = config.objects.get(region["to_name"])
        module = labeling.object_module(obj.tag) if obj is not None else None
        words = module.describe_region(config, obj, data, region) if hasattr(module, "describe_region") else None
        lines.append(f"{n}. {words or rg.describe(region)}" + (f" ({answers})" if answers else ""))
    for rel in relations:
        labels = f" {', '.join(rel.get('labels') or [])}" if rel.get("labels") else ""
        lines.append(f"{numbers.get(rel['from_id'], '?')} →{labels} → {numbers.get(rel['to_id'], '?')}")
    st.markdown("\n".join(f"- {plain(line)}" for line in lines))

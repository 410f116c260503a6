"""The project settings form: title, texts, label config with a template gallery, live
validation and a preview of the labeling interface, overlap and sampling."""

from __future__ import annotations

import streamlit as st

from labelkit.config import check_config, task_config
from labelkit.config.templates import TEMPLATES, template
from labelkit.errors import InvalidInput
from labelkit.projects.crud import DISTRIBUTION, MAX_OVERLAP, REVIEW_ORDER, SAMPLING, ProjectFields
from labelkit.ui import labeling
from labelkit.ui.text import plain


def template_gallery(key: str) -> None:
    """Cards of starter configs; picking one puts its config into the editor."""
    st.markdown("**Start from a template**")
    groups = list(dict.fromkeys(t.group for t in TEMPLATES))
    for tab, group in zip(st.tabs(groups), groups, strict=True):
        columns = tab.columns(3)
        for i, t in enumerate([t for t in TEMPLATES if t.group == group]):
            with columns[i % 3], st.container(border=True):
                st.markdown(f"**{t.title}**")
                st.caption(t.description)
                if st.button("Use this template", key=f"{key}_tpl_{t.key}", width="stretch"):
                    st.session_state[f"{key}_config"] = t.config
                    st.session_state[f"{key}_sample"] = t.key
                    st.rerun()


def project_form(key: str, initial: ProjectFields, sample: dict | None, submit_label: str) -> ProjectFields | None:
    """Draw the form; returns the fields when the person saves and the config is valid."""
    st.session_state.setdefault(f"{key}_config", initial.label_config)
    title = st.text_input("Title", value=initial.title, key=f"{key}_title", max_chars=200)
    description = st.text_input("Description (optional)", value=initial.description, key=f"{key}_description")
    instructions = st.text_area(
        "Instructions for annotators (Markdown)", value=initial.instructions, key=f"{key}_instructions", height=120,
        placeholder="What to label, how to decide the hard cases. Shown above every task.",
        help="Images show only when uploaded to this project (a path /data/upload/<project id>/..., e.g. an image "
             "file imported on the Import page): an image from another address would be fetched by every annotator's "
             "browser, telling its host who works when, so it is shown as a link instead.",
    )
    left, right = st.columns(2)
    overlap = left.number_input(
        "Annotations per task", min_value=1, max_value=MAX_OVERLAP, value=initial.overlap, key=f"{key}_overlap",
        help="How many different people label each task. More than one lets you measure agreement.",
    )
    sampling = right.selectbox(
        "Order of tasks", list(SAMPLING), index=list(SAMPLING).index(initial.sampling), format_func=SAMPLING.get,
        key=f"{key}_sampling",
    )
    quality = _quality_settings(key, initial)

    st.markdown("**Label config** (Label Studio's XML: paste one from Label Studio, or start from a template)")
    editor, preview = st.columns(2, gap="large")
    with editor:
        config = st.text_area("Label config", key=f"{key}_config", height=360, label_visibility="collapsed")
        parsed = None
        try:
            parsed = check_config(config)
        except InvalidInput as e:
            st.error(e.args[0], icon=":material/error:")
            for issue in e.issues:
                st.markdown(f"- {plain(issue)}")
        else:
            st.success(
                f"Valid: {len(parsed.objects)} object{'s' * (len(parsed.objects) != 1)} "
                f"({', '.join(o.tag for o in parsed.objects.values())}), "
                f"{len(parsed.controls)} control{'s' * (len(parsed.controls) != 1)}; "
                f"tasks need the key{'s' * (len(parsed.data_keys) != 1)} {', '.join(parsed.data_keys) or '(none)'}.",
                icon=":material/check_circle:",
            )
    with preview:
        st.markdown(":gray[Preview]")
        if parsed is not None:
            chosen = st.session_state.get(f"{key}_sample")
            data = dict(sample or (template(chosen).sample if chosen else {}))
            for k in parsed.data_keys:
                data.setdefault(k, f"(the task's {k} goes here)")
            with st.container(border=True):
                try:
                    shown = task_config(config, data)
                except InvalidInput as e:
                    st.caption(f"No preview for this sample: {e}")
                else:
                    labeling.render(shown, data, f"lk:preview:{key}", hotkeys=False, canvas_width=300)
    saved = st.button(submit_label, type="primary", key=f"{key}_save", disabled=parsed is None)
    if not saved:
        return None
    return ProjectFields(
        title=title, label_config=config, description=description, instructions=instructions,
        overlap=int(overlap), sampling=sampling, **quality,
    )


def _quality_settings(key: str, initial: ProjectFields) -> dict:
    """Distribution, review and gold tasks, folded away: the defaults suit most projects."""
    with st.expander("Distribution, review and gold tasks", icon=":material/tune:"):
        left, right = st.columns(2)
        overlap_percent = left.number_input(
            "Share of tasks with that many annotators (%)", min_value=1, max_value=100, value=initial.overlap_percent,
            key=f"{key}_overlap_percent", help="E.g. 10: one task in ten gets the annotations above (for agreement), the rest one.",
        )
        distribution = right.selectbox(
            "Distribution", list(DISTRIBUTION), index=list(DISTRIBUTION).index(initial.distribution),
            format_func=DISTRIBUTION.get, key=f"{key}_distribution",
        )
        review_required = left.toggle("Submissions wait for review", value=initial.review_required, key=f"{key}_review_required",
                                      help="Off: submitted work is final and never enters the review queue.")
        review_order = right.selectbox(
            "Review queue order", list(REVIEW_ORDER), index=list(REVIEW_ORDER).index(initial.review_order),
            format_func=REVIEW_ORDER.get, key=f"{key}_review_order",
        )
        gold_percent = left.number_input(
            "Gold tasks mixed into each queue (%)", min_value=0, max_value=100, value=initial.gold_percent,
            key=f"{key}_gold_percent", help="Tasks with a ground-truth annotation, given unannounced to measure accuracy.",
        )
        pause = right.number_input(
            "Pause annotators below this accuracy on gold (%)", min_value=0, max_value=100,
            value=round(initial.gold_min_accuracy * 100) if initial.gold_min_accuracy is not None else 0,
            key=f"{key}_gold_min_accuracy", help="0: never pause.",
        )
        gold_min_tasks = left.number_input("... after this many gold tasks", min_value=1, max_value=1000,
                                           value=initial.gold_min_tasks, key=f"{key}_gold_min_tasks")
    return {
        "overlap_percent": int(overlap_percent), "distribution": distribution, "review_required": bool(review_required),
        "review_order": review_order, "gold_percent": int(gold_percent),
        "gold_min_accuracy": pause / 100 if pause else None, "gold_min_tasks": int(gold_min_tasks),
    }

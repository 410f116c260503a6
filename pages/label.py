"""Label: the queue. The next task with its controls; submit, skip, and go back to earlier work."""

import json
import time

import pandas as pd
import streamlit as st

from labelkit import progress, queue
from labelkit.auth.permissions import Capability
from labelkit.config import parse_config
from labelkit.db import session_scope
from labelkit.errors import LabelkitError
from labelkit.models import AnnotationState, ReviewStatus
from labelkit.results import build_result, summary, values_of
from labelkit.ui import labeling
from labelkit.ui.context import choose_project, page_user

user = page_user("label")
project = choose_project(user, Capability.TASK_ANNOTATE)
if project is None:
    st.title("Label")
    st.info("You are not in any project yet. Ask a project manager to invite you to one.")
    st.stop()
config = parse_config(project.label_config)
opened: dict = st.session_state.setdefault("lk_open", {})

try:
    with session_scope() as session:
        if opened.get(project.id):
            assignment = queue.open_task(session, user, opened[project.id])
        else:
            assignment = queue.claim_next(session, user, project.id)
        mine = progress.progress(session, user, project.id)
except LabelkitError as e:
    opened.pop(project.id, None)
    st.error(str(e))
    st.stop()

st.title(project.title, anchor=False)
share = mine["project_done"] / mine["project_total"] if mine["project_total"] else 0.0
left, right = st.columns([3, 2], vertical_alignment="bottom")
left.progress(share, text=f"Project: {mine['project_done']} of {mine['project_total']} tasks done")
right.markdown(
    f":material/task_alt: **{mine['submitted']}** submitted · :material/skip_next: **{mine['skipped']}** skipped"
    + (f" · :material/undo: **{mine['rejected']}** sent back" if mine["rejected"] else "")
)
if project.instructions:
    with st.expander("Instructions", icon=":material/menu_book:", expanded=mine["submitted"] == 0):
        st.markdown(project.instructions)

flash = st.session_state.pop("lk_flash", None)
if flash:
    (st.success if flash[0] == "ok" else st.warning)(flash[1])


def recent_work() -> None:
    with session_scope(write=False) as session:
        rows = progress.history(session, user, project.id)
    if not rows:
        return
    with st.expander("Your recent work: go back to a task", icon=":material/history:"):
        table = pd.DataFrame(
            [
                {
                    "task": r["task_id"],
                    "state": r["state"],
                    "review": r["review"] or "",
                    "answer": summary(r["result"]),
                    "updated": r["updated"],
                }
                for r in rows
            ]
        )
        picked = st.dataframe(table, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row", key="lk_history")
        chosen = picked.selection.rows if picked and picked.selection else []
        if chosen:
            task_id = int(table.iloc[chosen[0]]["task"])
            if st.button(f"Open task {task_id}", icon=":material/open_in_new:"):
                opened[project.id] = task_id
                st.rerun()


if assignment is None:
    st.success("You're all done here: no more tasks are waiting for you in this project.", icon=":material/celebration:")
    recent_work()
    st.stop()

task, annotation = assignment.task, assignment.annotation
prefix = f"lk:{project.id}:{task.id}"
labeling.seed(prefix, config, values_of(annotation.result) if annotation else {})
started = st.session_state.setdefault(f"{prefix}:started", time.time())
submitted_before = annotation is not None and annotation.state == AnnotationState.SUBMITTED

caption = f"Task {task.id}"
if assignment.reason == "draft":
    caption += " · your draft is restored"
st.caption(caption)
if assignment.review_comment and annotation and annotation.review_status == ReviewStatus.REJECTED:
    st.warning(f"A reviewer sent this back to you: {assignment.review_comment}", icon=":material/undo:")
elif submitted_before:
    st.info("You submitted this task. Change your answer and press Update to save a new version.", icon=":material/history:")
elif annotation is not None and annotation.state == AnnotationState.SKIPPED:
    st.info("You skipped this task. You can still answer it.", icon=":material/skip_next:")
if mine["rejected"] and assignment.reason != "rejected":
    many = mine["rejected"] != 1
    st.info(
        f"A reviewer sent {mine['rejected']} task{'s' * many} back to you with a comment; "
        f"{'they come' if many else 'it comes'} right after this one.",
        icon=":material/undo:",
    )

values = labeling.render(config, task.data, prefix)
result = build_result(config, values, previous=annotation.result if annotation else None)

if not submitted_before:
    fingerprint = json.dumps(values, sort_keys=True, default=str)
    if st.session_state.get(f"{prefix}:saved") != fingerprint:
        if result or (annotation is not None and annotation.state == AnnotationState.DRAFT):
            with session_scope() as session:
                queue.save_draft(session, user, task.id, result)
        st.session_state[f"{prefix}:saved"] = fingerprint

buttons = st.container(horizontal=True)
primary = "Update" if submitted_before else "Submit"
do_submit = buttons.button(primary, type="primary", icon=":material/send:", shortcut=labeling.SUBMIT_SHORTCUT, key="lk_submit")
do_skip = not submitted_before and buttons.button("Skip", icon=":material/skip_next:", key="lk_skip")
back = opened.get(project.id) and buttons.button("Back to the queue", icon=":material/arrow_back:", key="lk_back")
st.caption(f"{labeling.SUBMIT_SHORTCUT} submits · number keys pick choices that have a hotkey")


def finish(message: tuple[str, str]) -> None:
    labeling.forget(prefix)
    opened.pop(project.id, None)
    st.session_state["lk_flash"] = message
    st.rerun()


if do_submit:
    try:
        with session_scope() as session:
            outcome = queue.submit(session, user, task.id, result, lead_time=time.time() - started)
    except LabelkitError as e:
        st.error(str(e))
    else:
        finish(("ok" if outcome.counted else "warn", f"Task {task.id}: {outcome.message}"))
if do_skip:
    try:
        with session_scope() as session:
            queue.skip(session, user, task.id)
    except LabelkitError as e:
        st.error(str(e))
    else:
        finish(("ok", f"Task {task.id} skipped."))
if back:
    finish(("ok", "Back to the queue."))

recent_work()

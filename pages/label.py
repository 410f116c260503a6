"""Label: the queue. The next task with its controls; submit, skip, and go back to earlier work.

The work area is a fragment and Submit/Skip act in callbacks, so a click reruns only the
task (once), not the whole page."""

import json
import time

import pandas as pd
import streamlit as st

from labelkit.auth.permissions import Capability
from labelkit.config import task_config
from labelkit.db import session_scope
from labelkit.errors import LabelkitError
from labelkit.labeling import predictions, progress, queue, submissions
from labelkit.models import AnnotationState, ReviewStatus
from labelkit.projects import notify
from labelkit.results.items import build_result, summary, values_of
from labelkit.ui import controls, labeling, saving, task_talk
from labelkit.ui.context import page_project
from labelkit.ui.model_panel import suggestion, suggestion_note
from labelkit.ui.text import plain
from labelkit.ui.timings import timed
from labelkit.ui.workload import empty_queue_notice

user, project = page_project("label", Capability.TASK_ANNOTATE, None,
                             "You are not in any project yet. Ask a project manager to invite you to one.")
opened: dict = st.session_state.setdefault("lk_open", {})
if st.query_params.get("task", "").isdigit():  # a link to one task (from the Inbox): its notes are read
    opened[project.id] = int(st.query_params["task"])
    del st.query_params["task"]
    with session_scope() as session:
        notify.mark_read(session, user, task_id=opened[project.id])
FLASH = "lk_flash"
PENDING = f"lk_pending_submit:{project.id}"  # an answer whose Submit is not saved yet

if project.instructions:
    first_look = not st.session_state.get(f"lk_worked_{project.id}")
    with st.expander("Instructions", icon=":material/menu_book:", expanded=first_look):
        st.markdown(project.instructions)


def finish(prefix: str, message: tuple[str, str]) -> None:
    controls.forget(prefix)
    opened.pop(project.id, None)
    st.session_state[FLASH] = message
    st.session_state[f"lk_worked_{project.id}"] = True


def on_submit(task_id: int, prefix: str, previous: list | None, started: float, config) -> None:
    """Keep the answer in the page; the work area saves it (saving.with_retry), so a database
    that is restarting is waited out with a notice instead of losing the click."""
    result = build_result(config, controls.current_values(config, prefix), previous=previous)
    st.session_state[PENDING] = {"task_id": task_id, "prefix": prefix, "result": result, "lead_time": time.time() - started}


def save_pending() -> None:
    pending = st.session_state[PENDING]
    try:
        outcome = saving.with_retry(
            lambda session: submissions.submit(session, user, pending["task_id"], pending["result"], lead_time=pending["lead_time"])
        )
    except saving.NotSavedYet:
        raise
    except LabelkitError as e:
        del st.session_state[PENDING]
        st.session_state[FLASH] = ("error", str(e))
        return
    del st.session_state[PENDING]
    finish(pending["prefix"], ("ok" if outcome.counted else "warn", f"Task {pending['task_id']}: {outcome.message}"))


def on_skip(task_id: int, prefix: str) -> None:
    try:
        if not saving.try_once(lambda session: submissions.skip(session, user, task_id)):
            st.session_state[FLASH] = ("error", saving.NOT_SKIPPED)
            return
    except LabelkitError as e:
        st.session_state[FLASH] = ("error", str(e))
        return
    finish(prefix, ("ok", f"Task {task_id} skipped."))


def recent_work() -> None:
    with session_scope(write=False) as session:
        rows = progress.history(session, user, project.id)
    if not rows:
        return
    with st.expander("Your recent work: go back to a task", icon=":material/history:"):
        table = pd.DataFrame(
            [
                {"task": r["task_id"], "state": r["state"], "review": r["review"] or "",
                 "answer": summary(r["result"]), "updated": r["updated"]}
                for r in rows
            ]
        )
        picked = st.dataframe(table, hide_index=True, width="stretch", on_select="rerun",
                              selection_mode="single-row", key="lk_history")
        chosen = picked.selection.rows if picked and picked.selection else []
        if chosen:
            task_id = int(table.iloc[chosen[0]]["task"])
            if st.button(f"Open task {task_id}", icon=":material/open_in_new:"):
                opened[project.id] = task_id
                st.rerun(scope="fragment")


@st.fragment
def workspace() -> None:
    with timed("label-task"):
        _workspace()


def load(session) -> tuple:  # a Session (pages import no sqlmodel)
    if opened.get(project.id):
        assignment = queue.open_task(session, user, opened[project.id])
    else:
        assignment = queue.claim_next(session, user, project.id)
    shown = (
        predictions.pre_annotation(session, assignment.task.id, project.model_version)
        if assignment is not None and assignment.annotation is None
        else None
    )
    return assignment, progress.progress(session, user, project.id), shown


def _workspace() -> None:
    try:
        if PENDING in st.session_state:
            save_pending()
        assignment, mine, shown = saving.with_retry(load, saying=saving.LOADING)
        predicted = shown.result if shown is not None else None
    except saving.NotSavedYet as e:
        st.error(str(e), icon=":material/cloud_off:")
        if PENDING in st.session_state:
            kept = st.session_state[PENDING]
            st.caption(plain(f"Task {kept['task_id']}, your answer: {summary(kept['result'])}"))
        st.button("Try again", icon=":material/refresh:", key="lk_retry")
        return
    except LabelkitError as e:
        opened.pop(project.id, None)
        st.error(str(e))
        return
    notice = None
    if assignment is not None and assignment.annotation is None and shown is None:  # ask an interactive model
        shown, notice = suggestion(project, assignment.task.id)
        predicted = shown.result if shown is not None else None

    share = mine["project_done"] / mine["project_total"] if mine["project_total"] else 0.0
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    left.progress(share, text=f"Project: {mine['project_done']} of {mine['project_total']} tasks done")
    right.markdown(
        f":material/task_alt: **{mine['submitted']}** submitted · :material/skip_next: **{mine['skipped']}** skipped"
        + (f" · :material/undo: **{mine['rejected']}** sent back" if mine["rejected"] else "")
    )
    flash = st.session_state.pop(FLASH, None)
    if flash:
        {"ok": st.success, "warn": st.warning, "error": st.error}[flash[0]](flash[1])

    if assignment is None:
        if not empty_queue_notice(user, project):
            st.success("You're all done here: no more tasks are waiting for you in this project.", icon=":material/celebration:")
        recent_work()
        return

    task, annotation = assignment.task, assignment.annotation
    prefix = f"lk:{project.id}:{task.id}"
    try:
        config = task_config(project.label_config, task.data)
    except LabelkitError as e:
        st.error(f"Task {task.id} cannot be shown: {e}")
        st.button("Skip", icon=":material/skip_next:", key="lk_skip", on_click=on_skip, args=(task.id, prefix))
        return
    controls.seed(prefix, config, values_of(annotation.result if annotation else predicted, config))
    started = st.session_state.setdefault(f"{prefix}:started", time.time())
    submitted_before = annotation is not None and annotation.state == AnnotationState.SUBMITTED

    st.caption(f"Task {task.id}" + (" · your draft is restored" if assignment.reason == "draft" else ""))
    suggestion_note(shown, notice)
    if assignment.review_comment and annotation and annotation.review_status == ReviewStatus.REJECTED:
        st.warning(f"A reviewer sent this back to you: {plain(assignment.review_comment)}", icon=":material/undo:")
    elif submitted_before:
        st.info("You submitted this task. Change your answer and press Update to save a new version.", icon=":material/history:")
    elif annotation is not None and annotation.state == AnnotationState.SKIPPED:
        st.info("You skipped this task. You can still answer it.", icon=":material/skip_next:")
    this_sent_back = annotation is not None and annotation.review_status == ReviewStatus.REJECTED
    if mine["rejected"] - this_sent_back > 0 and assignment.reason != "rejected":
        many = mine["rejected"] != 1
        st.info(
            f"A reviewer sent {mine['rejected']} task{'s' * many} back to you with a comment; "
            f"{'they come' if many else 'it comes'} right after this one.",
            icon=":material/undo:",
        )

    values = labeling.render(config, task.data, prefix)
    previous = annotation.result if annotation else None
    if not submitted_before:
        # Keep the work as a draft whenever it changes: it survives a refresh.
        fingerprint = json.dumps(values, sort_keys=True, default=str)
        if st.session_state.get(f"{prefix}:saved") != fingerprint:
            result = build_result(config, values, previous=previous)
            if result or (annotation is not None and annotation.state == AnnotationState.DRAFT):
                if saving.try_once(lambda session: submissions.save_draft(session, user, task.id, result)):
                    st.session_state[f"{prefix}:saved"] = fingerprint
                else:
                    st.warning(f"The database is not reachable. {saving.DRAFT_KEPT}", icon=":material/cloud_off:")
            else:
                st.session_state[f"{prefix}:saved"] = fingerprint

    buttons = st.container(horizontal=True)
    buttons.button(
        "Update" if submitted_before else "Submit", type="primary", icon=":material/send:", key="lk_submit",
        shortcut=labeling.SUBMIT_SHORTCUT, on_click=on_submit, args=(task.id, prefix, previous, started, config),
    )
    if not submitted_before:
        buttons.button("Skip", icon=":material/skip_next:", key="lk_skip", on_click=on_skip, args=(task.id, prefix))
    if opened.get(project.id):
        buttons.button("Back to the queue", icon=":material/arrow_back:", key="lk_back",
                       on_click=finish, args=(prefix, ("ok", "Back to the queue.")))
    st.caption(f"{labeling.SUBMIT_SHORTCUT} submits · number keys pick choices that have a hotkey")
    task_talk.panel(user, task.id, "label", expanded=bool(assignment.review_comment))
    recent_work()


workspace()

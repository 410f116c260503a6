"""The Label page's work area: the person's next task of the queue (or the one they opened)
with its controls, their progress, Submit, Skip and Back, and their recent work.

What the browser tab is doing lives in session state: the task opened from the history or
a link (OPENED), a message for the next run (FLASH), and an answer whose Submit is not
saved yet (pending_key), which the work area saves with retries, so a database that is
restarting is waited out with a notice instead of losing the click."""

from __future__ import annotations

import json
import time

import pandas as pd
import streamlit as st
from sqlmodel import Session

from labelkit.config import LabelConfig, task_config
from labelkit.db import session_scope
from labelkit.errors import LabelkitError
from labelkit.labeling import predictions, progress, queue, submissions
from labelkit.labeling.queue import Assignment
from labelkit.media.html_safe import markdown_html
from labelkit.models import Annotation, AnnotationState, Prediction, Project, ReviewStatus, User
from labelkit.projects import notify
from labelkit.results.items import build_result, summary, values_of
from labelkit.ui import controls, labeling, media, saving, task_talk
from labelkit.ui.model_panel import suggestion, suggestion_note
from labelkit.ui.text import plain
from labelkit.ui.workload import empty_queue_notice

OPENED = "lk_open"  # project id -> the task this tab opened instead of the queue's next
FLASH = "lk_flash"  # (kind, message) for the next run: "ok", "warn" or "error"


def pending_key(project: Project) -> str:
    """Where an answer whose Submit is not saved yet waits."""
    return f"lk_pending_submit:{project.id}"


def _opened() -> dict[int, int]:
    return st.session_state.setdefault(OPENED, {})


# Before the work area

def open_linked_task(user: User, project: Project) -> None:
    """A link to one task (from the Inbox, ?task=ID) opens it, and its notes are read."""
    if not st.query_params.get("task", "").isdigit():
        return
    _opened()[project.id] = int(st.query_params["task"])
    del st.query_params["task"]
    with session_scope() as session:
        notify.mark_read(session, user, task_id=_opened()[project.id])


def instructions(project: Project) -> None:
    """The project's instructions, open until the person has finished a task here."""
    if project.instructions:
        first_look = not st.session_state.get(f"lk_worked_{project.id}")
        with st.expander("Instructions", icon=":material/menu_book:", expanded=first_look):
            st.html(markdown_html(project.instructions, local_url=lambda path: media.upload_link(path, project.id)))


# The work area

def work_area(user: User, project: Project) -> None:
    """Save a pending Submit, load the task, and draw it (or say that the queue is empty)."""
    loaded = _load_or_explain(user, project)
    if loaded is None:
        return
    assignment, mine, shown = loaded
    notice = None
    if assignment is not None and assignment.annotation is None and shown is None:  # ask an interactive model
        shown, notice = suggestion(user, project, assignment.task.id)
    _progress(mine)
    _flash()
    if assignment is None:
        if not empty_queue_notice(user, project):
            st.success("You're all done here: no more tasks are waiting for you in this project.", icon=":material/celebration:")
        recent_work(user, project)
        return
    _task(user, project, assignment, mine, shown, notice)


def _load(session: Session, user: User, project: Project) -> tuple[Assignment | None, dict, Prediction | None]:
    """The task to show, the person's progress, and the prediction shown as a start."""
    if _opened().get(project.id):
        assignment = queue.open_task(session, user, _opened()[project.id])
    else:
        assignment = queue.claim_next(session, user, project.id)
    shown = (
        predictions.pre_annotation(session, user, assignment.task.id, project.model_version)
        if assignment is not None and assignment.annotation is None
        else None
    )
    return assignment, progress.progress(session, user, project.id), shown


def _load_or_explain(user: User, project: Project) -> tuple[Assignment | None, dict, Prediction | None] | None:
    """_load, after saving a pending Submit, both retried while the database restarts; None
    when it stayed away (the kept answer and Try again are shown) or the task cannot open."""
    try:
        if pending_key(project) in st.session_state:
            _save_pending(user, project)
        return saving.with_retry(lambda session: _load(session, user, project), saying=saving.LOADING)
    except saving.NotSavedYet as e:
        st.error(str(e), icon=":material/cloud_off:")
        if pending_key(project) in st.session_state:
            kept = st.session_state[pending_key(project)]
            st.caption(plain(f"Task {kept['task_id']}, your answer: {summary(kept['result'])}"))
        st.button("Try again", icon=":material/refresh:", key="lk_retry")
    except LabelkitError as e:
        _opened().pop(project.id, None)
        st.error(str(e))
    return None


def _progress(mine: dict) -> None:
    share = mine["project_done"] / mine["project_total"] if mine["project_total"] else 0.0
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    left.progress(share, text=f"Project: {mine['project_done']} of {mine['project_total']} tasks done")
    right.markdown(
        f":material/task_alt: **{mine['submitted']}** submitted · :material/skip_next: **{mine['skipped']}** skipped"
        + (f" · :material/undo: **{mine['rejected']}** sent back" if mine["rejected"] else "")
    )


def _flash() -> None:
    flash = st.session_state.pop(FLASH, None)
    if flash:
        {"ok": st.success, "warn": st.warning, "error": st.error}[flash[0]](flash[1])


def _task(user: User, project: Project, assignment: Assignment, mine: dict, shown: Prediction | None,
          notice: str | None) -> None:
    """One task: its notes, its controls (seeded with the person's answer, else the
    prediction), the draft kept as it changes, the buttons, its comments and history."""
    task, annotation = assignment.task, assignment.annotation
    prefix = f"lk:{project.id}:{task.id}"
    try:
        config = task_config(project.label_config, task.data)
    except LabelkitError as e:
        st.error(f"Task {task.id} cannot be shown: {e}")
        st.button("Skip", icon=":material/skip_next:", key="lk_skip", on_click=_on_skip, args=(user, project, task.id, prefix))
        return
    predicted = shown.result if shown is not None else None
    controls.seed(prefix, config, values_of(annotation.result if annotation else predicted, config))
    started = st.session_state.setdefault(f"{prefix}:started", time.time())
    submitted_before = annotation is not None and annotation.state == AnnotationState.SUBMITTED

    st.caption(f"Task {task.id}" + (" · your draft is restored" if assignment.reason == "draft" else ""))
    suggestion_note(shown, notice)
    _notes(assignment, mine, submitted_before)
    values = labeling.render(config, task.data, prefix)
    previous = annotation.result if annotation else None
    if not submitted_before:
        _keep_draft(user, config, task.id, annotation, prefix, values)
    _buttons(user, project, task.id, prefix, previous, started, config, submitted_before)
    st.caption(f"{labeling.SUBMIT_SHORTCUT} submits · number keys pick choices that have a hotkey")
    task_talk.panel(user, task.id, "label", expanded=bool(assignment.review_comment))
    recent_work(user, project)


def _notes(assignment: Assignment, mine: dict, submitted_before: bool) -> None:
    """Where this task stands for the person, and the tasks sent back to them that follow it."""
    annotation = assignment.annotation
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


def _keep_draft(user: User, config: LabelConfig, task_id: int, annotation: Annotation | None, prefix: str,
                values: dict) -> None:
    """Keep the work as a draft whenever it changes: it survives a refresh."""
    fingerprint = json.dumps(values, sort_keys=True, default=str)
    if st.session_state.get(f"{prefix}:saved") == fingerprint:
        return
    result = build_result(config, values, previous=annotation.result if annotation else None)
    if result or (annotation is not None and annotation.state == AnnotationState.DRAFT):
        if saving.try_once(lambda session: submissions.save_draft(session, user, task_id, result)):
            st.session_state[f"{prefix}:saved"] = fingerprint
        else:
            st.warning(f"The database is not reachable. {saving.DRAFT_KEPT}", icon=":material/cloud_off:")
    else:
        st.session_state[f"{prefix}:saved"] = fingerprint


def _buttons(user: User, project: Project, task_id: int, prefix: str, previous: list | None, started: float,
             config: LabelConfig, submitted_before: bool) -> None:
    buttons = st.container(horizontal=True)
    buttons.button(
        "Update" if submitted_before else "Submit", type="primary", icon=":material/send:", key="lk_submit",
        shortcut=labeling.SUBMIT_SHORTCUT, on_click=_on_submit, args=(project, task_id, prefix, previous, started, config),
    )
    if not submitted_before:
        buttons.button("Skip", icon=":material/skip_next:", key="lk_skip", on_click=_on_skip,
                       args=(user, project, task_id, prefix))
    if _opened().get(project.id):
        buttons.button("Back to the queue", icon=":material/arrow_back:", key="lk_back",
                       on_click=_finish, args=(project, prefix, ("ok", "Back to the queue.")))


# What the buttons do (callbacks: they run before the next run draws)

def _finish(project: Project, prefix: str, message: tuple[str, str]) -> None:
    """Done with this task: its widgets forgotten, back to the queue, a message said."""
    controls.forget(prefix)
    _opened().pop(project.id, None)
    st.session_state[FLASH] = message
    st.session_state[f"lk_worked_{project.id}"] = True


def _on_submit(project: Project, task_id: int, prefix: str, previous: list | None, started: float,
               config: LabelConfig) -> None:
    """Keep the answer in the page; the work area saves it (saving.with_retry)."""
    result = build_result(config, controls.current_values(config, prefix), previous=previous)
    st.session_state[pending_key(project)] = {
        "task_id": task_id, "prefix": prefix, "result": result, "lead_time": time.time() - started,
    }


def _save_pending(user: User, project: Project) -> None:
    """Save the kept answer; NotSavedYet (the database stayed away) leaves it kept."""
    pending = st.session_state[pending_key(project)]
    try:
        outcome = saving.with_retry(
            lambda session: submissions.submit(session, user, pending["task_id"], pending["result"], lead_time=pending["lead_time"])
        )
    except saving.NotSavedYet:
        raise
    except LabelkitError as e:
        del st.session_state[pending_key(project)]
        st.session_state[FLASH] = ("error", str(e))
        return
    del st.session_state[pending_key(project)]
    _finish(project, pending["prefix"], ("ok" if outcome.counted else "warn", f"Task {pending['task_id']}: {outcome.message}"))


def _on_skip(user: User, project: Project, task_id: int, prefix: str) -> None:
    try:
        if not saving.try_once(lambda session: submissions.skip(session, user, task_id)):
            st.session_state[FLASH] = ("error", saving.NOT_SKIPPED)
            return
    except LabelkitError as e:
        st.session_state[FLASH] = ("error", str(e))
        return
    _finish(project, prefix, ("ok", f"Task {task_id} skipped."))


# The person's recent work

def recent_work(user: User, project: Project) -> None:
    """The tasks the person answered or skipped here; picking one opens it again."""
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
                _opened()[project.id] = task_id
                st.rerun(scope="fragment")

"""A task's side panel: its comments (with a box to add one, @mentions notify) and its history.

Used on the label and review pages. Comment text, names and history details are shown as
plain text (st.text, table cells), never as Markdown or HTML."""

from __future__ import annotations

import streamlit as st

from labelkit.db import session_scope
from labelkit.errors import LabelkitError, NotFound, PermissionDenied
from labelkit.models import User
from labelkit.projects import comments, history


def panel(user: User, task_id: int, key: str, expanded: bool = False) -> None:
    """Comments and history of the task, for someone who can see it (nothing otherwise)."""
    try:
        with session_scope(write=False) as session:
            notes = comments.list_comments(session, user, task_id)
            events = history.task_history(session, user, task_id)
    except (PermissionDenied, NotFound):
        return
    prefix = f"lk_talk_{key}_{task_id}"
    flash = st.session_state.pop(f"{prefix}_flash", None)
    open_count = sum(not c.resolved for c in notes)
    title = f"Comments ({open_count} open)" if open_count else "Comments"
    with st.expander(f"{title} and history", icon=":material/forum:", expanded=expanded or bool(flash) or open_count > 0):
        if flash:
            {"ok": st.success, "warn": st.warning, "error": st.error}[flash[0]](flash[1])
        _comments(user, notes, prefix)
        st.markdown(f"**History** ({len(events)} event{'s' * (len(events) != 1)})")
        _history(events)


def _comments(user: User, notes: list[comments.CommentView], prefix: str) -> None:
    if not notes:
        st.caption("No comments yet.")
    for note in notes:
        with st.container(border=True):
            head = st.container(horizontal=True, vertical_alignment="center")
            head.text(f"{note.author} · {note.created_at:%b %d, %H:%M}" + (" · resolved" if note.resolved else ""), width="stretch")
            if not note.resolved:
                head.button("Resolve", key=f"{prefix}_resolve_{note.id}", icon=":material/check:", type="tertiary",
                            on_click=_resolve, args=(user, note.id, prefix))
            st.text(note.text)
    with st.form(f"{prefix}_form", clear_on_submit=True, border=False):
        st.text_area("Add a comment", key=f"{prefix}_text", height=80,
                     placeholder="Write @name or @email to notify a member of the project")
        st.form_submit_button("Post comment", icon=":material/send:", on_click=_post, args=(user, prefix))


def _post(user: User, prefix: str) -> None:
    text = st.session_state.get(f"{prefix}_text", "")
    task_id = int(prefix.rsplit("_", 1)[1])
    try:
        with session_scope() as session:
            posted = comments.add_comment(session, user, task_id, text)
    except LabelkitError as e:
        st.session_state[f"{prefix}_flash"] = ("error", str(e))
        return
    parts = ["Comment posted."]
    if posted.mentioned:
        parts.append(f"Notified {', '.join(posted.mentioned)}.")
    if posted.not_told:
        parts.append(f"Not notified (they cannot see this task): {', '.join(posted.not_told)}.")
    if posted.unknown:
        parts.append(f"No project member is called {', '.join('@' + n for n in posted.unknown)}.")
    level = "warn" if posted.not_told or posted.unknown else "ok"
    st.session_state[f"{prefix}_flash"] = (level, " ".join(parts))


def _resolve(user: User, comment_id: int, prefix: str) -> None:
    try:
        with session_scope() as session:
            comments.resolve(session, user, comment_id)
    except LabelkitError as e:
        st.session_state[f"{prefix}_flash"] = ("error", str(e))


def _history(events: list[history.Event]) -> None:
    if not events:
        st.caption("Nothing has happened to this task yet.")
        return
    with st.container(gap=None):
        for e in events:
            who = f"{e.who} " if e.who else ""
            st.text(f"{e.at:%b %d, %H:%M:%S} · {who}{e.what}" + (f": {e.detail}" if e.detail else ""))

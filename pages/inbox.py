"""Inbox: what was sent to this person inside the app (work sent back or fixed, new
assignments, mentions, comments on their tasks), newest first, with a link to each task."""

import streamlit as st

from labelkit.db import session_scope
from labelkit.projects import notify
from labelkit.ui.context import page_user

user = page_user("inbox")
st.title("Inbox", anchor=False)

KIND = {
    "rejected": ":red-badge[:material/undo: sent back]",
    "fixed": ":orange-badge[:material/build: fixed]",
    "assigned": ":blue-badge[:material/assignment_ind: assigned]",
    "mention": ":violet-badge[:material/alternate_email: mention]",
    "comment": ":gray-badge[:material/forum: comment]",
    "paused": ":red-badge[:material/pause: paused]",
    "resumed": ":green-badge[:material/play_arrow: resumed]",
}


def mark_all() -> None:
    with session_scope() as session:
        count = notify.mark_read(session, user)
    st.session_state["lk_inbox_flash"] = f"Marked {count} notification{'s' * (count != 1)} read."


with session_scope(write=False) as session:
    notes = notify.recent(session, user, limit=100)
    unread = notify.count_unread(session, user)

flash = st.session_state.pop("lk_inbox_flash", None)
if flash:
    st.success(flash)
if not notes:
    st.info("Nothing here yet. When a reviewer sends work back to you, fixes it, mentions you or a manager "
            "assigns you tasks, you will see it here.", icon=":material/inbox:")
    st.stop()

top = st.container(horizontal=True, vertical_alignment="center")
top.markdown(f"**{unread}** unread" if unread else "All read", width="stretch")
top.button("Mark all read", icon=":material/done_all:", disabled=not unread, on_click=mark_all, key="lk_inbox_read")

for note in notes:
    with st.container(border=True):
        head = st.container(horizontal=True, vertical_alignment="center")
        new = "" if note.read_at else ":blue-badge[new] "
        head.markdown(f"{new}{KIND.get(note.kind, note.kind)} · {note.created_at:%b %d, %H:%M}", width="stretch")
        if note.project_id and note.task_id:
            head.page_link("pages/label.py", label=f"Open task {note.task_id}", icon=":material/open_in_new:",
                           query_params={"project": str(note.project_id), "task": str(note.task_id)})
        elif note.project_id:
            head.page_link("pages/label.py", label="Open the project", icon=":material/open_in_new:",
                           query_params={"project": str(note.project_id)})
        st.text(note.text)

"""Dashboard: a project's progress, throughput, lead times, skips, labels, review outcomes and agreement."""

import streamlit as st

from labelkit.auth.permissions import Capability
from labelkit.db import session_scope
from labelkit.errors import LabelkitError
from labelkit.reports import stats
from labelkit.ui import dashboard as draw
from labelkit.ui.context import page_project, show_error
from labelkit.ui.text import plain

user, project = page_project("dashboard", Capability.PROGRESS_VIEW, "Dashboard", "You follow no project's progress yet.")
st.caption(plain(project.title))

try:
    chosen = draw.filters(user, project)
    with session_scope(write=False) as session:
        board = stats.dashboard(session, user, project.id, chosen)
except LabelkitError as e:
    show_error(e)
    st.stop()

draw.tiles(board)
draw.progress(board, project)
draw.throughput(board, project)
draw.people(board, project)
left, right = st.columns(2, gap="large")
with left:
    draw.labels(board, project)
with right:
    draw.agreement(user, project, chosen)

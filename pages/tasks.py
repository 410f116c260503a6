"""Tasks: the data manager. Every task of a project, filtered and paged; bulk actions on a selection."""

import streamlit as st

from labelkit.auth.permissions import Capability
from labelkit.ui import task_actions, task_table
from labelkit.ui.context import page_project
from labelkit.ui.text import plain

user, project = page_project("tasks", Capability.TASK_BROWSE, "Tasks", "You browse no project's tasks yet.")
st.caption(plain(project.title))
task_actions.last_outcome(project)
chosen = task_table.filters(user, project)
listing = task_table.table(user, project, chosen)
task_actions.bulk_actions(user, project, listing)

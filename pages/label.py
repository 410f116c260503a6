"""Label: the queue. The next task with its controls; submit, skip, and go back to earlier work.

The work area is a fragment and Submit/Skip act in callbacks, so a click reruns only the
task (once), not the whole page."""

import streamlit as st

from labelkit.auth.permissions import Capability
from labelkit.ui import label_task
from labelkit.ui.context import page_project
from labelkit.ui.timings import timed

user, project = page_project("label", Capability.TASK_ANNOTATE, None,
                             "You are not in any project yet. Ask a project manager to invite you to one.")
label_task.open_linked_task(user, project)
label_task.instructions(project)


@st.fragment
def workspace() -> None:
    with timed("label-task"):
        label_task.work_area(user, project)


workspace()

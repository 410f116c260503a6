"""Home: each project's progress, and who did how much."""

import pandas as pd
import streamlit as st

from labelkit.auth.permissions import Capability, can
from labelkit.db import session_scope
from labelkit.projects.crud import annotations_per_person, list_projects
from labelkit.ui.context import page_user
from labelkit.ui.text import plain

user = page_user("home")
st.title(f"Hello, {plain(user.name or user.email.split('@')[0])}")

with session_scope(write=False) as session:
    projects = list_projects(session, user)
    rights = {
        p["id"]: {c: can(session, user, c, p["id"]) for c in (Capability.TASK_ANNOTATE, Capability.ANNOTATION_REVIEW, Capability.PROJECT_EDIT, Capability.PROGRESS_VIEW)}
        for p in projects
    }
    may_create = can(session, user, Capability.PROJECT_CREATE)

if not projects:
    if may_create:
        st.info("There are no projects yet.")
        st.page_link("pages/projects.py", label="Create your first project", icon=":material/add:")
    else:
        st.info("You are not a member of any project yet. Ask a project manager to invite you to one.")
    st.stop()

st.caption(f"{len(projects)} project{'s' * (len(projects) != 1)}")
for p in projects:
    with st.container(border=True):
        left, right = st.columns([3, 2])
        with left:
            st.subheader(plain(p["title"]), anchor=False)
            if p["description"]:
                st.caption(plain(p["description"]))
            share = p["done"] / p["tasks"] if p["tasks"] else 0.0
            st.progress(share, text=f"{p['done']} of {p['tasks']} tasks done ({share:.0%})")
        with right:
            links = st.container(horizontal=True)
            query = {"project": str(p["id"])}
            if rights[p["id"]][Capability.TASK_ANNOTATE]:
                links.page_link("pages/label.py", label="Label", icon=":material/edit_note:", query_params=query)
            if rights[p["id"]][Capability.ANNOTATION_REVIEW]:
                links.page_link("pages/review.py", label="Review", icon=":material/fact_check:", query_params=query)
            if rights[p["id"]][Capability.PROJECT_EDIT]:
                links.page_link("pages/projects.py", label="Settings", icon=":material/settings:", query_params=query)
        if rights[p["id"]][Capability.PROGRESS_VIEW]:
            with session_scope(write=False) as session:
                people = annotations_per_person(session, user, p["id"])
            if people:
                with st.expander("Annotations per person"):
                    st.dataframe(
                        pd.DataFrame(people)[["person", "email", "submitted", "skipped", "drafts"]],
                        hide_index=True,
                        width="stretch",
                    )

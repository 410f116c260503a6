"""What a page needs first: the signed-in person (checked against the page's needs) and
the project it works on (from the sidebar picker, kept in the URL as ?project=ID)."""

from __future__ import annotations

import threading

import streamlit as st

from labelkit.auth.permissions import Capability, can, visible_projects
from labelkit.db import session_scope
from labelkit.models import Project, User
from labelkit.ui.navigation import SPECS, allowed, refusal
from labelkit.ui.text import plain

USER_KEY = "lk_user_id"
# The sidebar spot the shell keeps for the project picker, above the account box. Each
# script run has its own thread, and the shell sets this at the start of every run.
_run = threading.local()


def keep_sidebar_slot() -> None:
    _run.picker = st.sidebar.container()


def _picker_area():
    return getattr(_run, "picker", None) or st.sidebar
PICKER_KEY = "lk_project_picker"


def current_user() -> User | None:
    user_id = st.session_state.get(USER_KEY)
    if user_id is None:
        return None
    with session_scope(write=False) as session:
        user = session.get(User, user_id)
    return user if user is not None and user.is_active else None


def page_user(key: str) -> User:
    """The person using this page; stops the page with a refusal if they may not."""
    user = current_user()
    if user is None:
        st.error("Please sign in.")
        st.stop()
    spec = SPECS[key]
    if not allowed(user, spec):
        st.title(spec.title)
        st.error(refusal(spec), icon=":material/block:")
        st.stop()
    return user


def choose_project(user: User, capability: Capability, label: str = "Project") -> Project | None:
    """The sidebar's project picker, limited to projects where the person has `capability`.
    The choice lives in the URL (?project=ID), so links and refreshes keep it."""
    with session_scope(write=False) as session:
        projects = [p for p in visible_projects(session, user) if can(session, user, capability, p.id)]
    if not projects:
        return None
    by_id = {p.id: p for p in projects}
    wanted = st.query_params.get("project", "")
    wanted_id = int(wanted) if wanted.isdigit() else None
    if wanted_id in by_id:
        st.session_state[PICKER_KEY] = wanted_id
    elif st.session_state.get(PICKER_KEY) not in by_id:
        remembered = st.session_state.get("lk_project")
        st.session_state[PICKER_KEY] = remembered if remembered in by_id else projects[0].id

    def remember() -> None:
        st.query_params["project"] = str(st.session_state[PICKER_KEY])

    chosen = _picker_area().selectbox(
        label, list(by_id), format_func=lambda i: by_id[i].title, key=PICKER_KEY, on_change=remember
    )
    st.session_state["lk_project"] = chosen
    if st.query_params.get("project") != str(chosen):
        st.query_params["project"] = str(chosen)
    return by_id[chosen]


def page_project(key: str, capability: Capability, title: str | None, nothing_yet: str) -> tuple[User, Project]:
    """The person on this page and the project they work on here, under the page's title
    (None: the project's own); with no such project the page says `nothing_yet` and stops."""
    user = page_user(key)
    project = choose_project(user, capability)
    if project is None:
        st.title(title or SPECS[key].title, anchor=False)
        st.info(nothing_yet)
        st.stop()
    st.title(title or plain(project.title), anchor=False)
    return user, project


def show_error(error: Exception) -> None:
    """A refusal with its list of problems, one per line."""
    issues = getattr(error, "issues", None)
    if not issues:
        st.error(plain(str(error)), icon=":material/error:")
        return
    lines = "\n".join(f"- {plain(issue)}" for issue in issues)
    st.error(f"{plain(error.args[0])}:\n\n{lines}", icon=":material/error:")

"""The pages, what each needs, and the navigation each person sees.

One list: the shell builds the menu from it, and each page checks it again when opened
(a page can be opened by URL)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from labelkit.auth.permissions import (
    DESCRIPTIONS,
    Capability,
    capabilities_anywhere,
    lowest_role_with,
)
from labelkit.db import ROOT, session_scope
from labelkit.models import User
from labelkit.projects import notify

C = Capability
SIGNED_IN: tuple[Capability, ...] = ()  # open to everyone signed in (and active)


@dataclass(frozen=True)
class PageSpec:
    key: str
    title: str
    icon: str
    section: str
    # Any one of these, in some project (or portal-wide); SIGNED_IN for every signed-in person.
    # Required: a page without a declaration does not load (tests/app/test_access_matrix.py).
    needs: tuple[Capability, ...]

    @property
    def path(self) -> Path:
        return ROOT / "pages" / f"{self.key}.py"


PAGES: list[PageSpec] = [
    PageSpec("home", "Home", ":material/home:", "Work", SIGNED_IN),
    PageSpec("label", "Label", ":material/edit_note:", "Work", (C.TASK_ANNOTATE,)),
    PageSpec("review", "Review", ":material/fact_check:", "Work", (C.ANNOTATION_REVIEW,)),
    PageSpec("inbox", "Inbox", ":material/inbox:", "Work", SIGNED_IN),
    PageSpec("dashboard", "Dashboard", ":material/monitoring:", "Manage", (C.PROGRESS_VIEW,)),
    PageSpec("tasks", "Tasks", ":material/table_view:", "Manage", (C.TASK_BROWSE,)),
    PageSpec("projects", "Projects", ":material/folder_open:", "Manage", (C.PROJECT_EDIT, C.PROJECT_CREATE)),
    PageSpec("import", "Import", ":material/upload_file:", "Manage", (C.TASK_IMPORT,)),
    PageSpec("export", "Export", ":material/download:", "Manage", (C.PROJECT_EXPORT,)),
    PageSpec("storage", "Cloud storage", ":material/cloud:", "Manage", (C.STORAGE_MANAGE,)),
    PageSpec("admin", "Admin", ":material/admin_panel_settings:", "Portal", (C.USER_MANAGE,)),
    PageSpec("account", "Account", ":material/person:", "Portal", SIGNED_IN),
]
SPECS = {p.key: p for p in PAGES}


def allowed(user: User, spec: PageSpec, held: set[Capability] | None = None) -> bool:
    if not spec.needs:
        return True
    if held is None:
        with session_scope(write=False) as session:
            held = capabilities_anywhere(session, user)
    return any(capability in held for capability in spec.needs)


def navigation(user: User) -> st.navigation:
    """Every page is routable; the ones a person may not use are hidden from their menu."""
    with session_scope(write=False) as session:
        held = capabilities_anywhere(session, user)
        unread = notify.count_unread(session, user)
    sections: dict[str, list] = {}
    for spec in PAGES:
        page = st.Page(
            spec.path,
            title=f"{spec.title} ({unread})" if spec.key == "inbox" and unread else spec.title,
            icon=spec.icon,
            url_path="" if spec.key == "home" else spec.key,
            default=spec.key == "home",
            visibility="visible" if allowed(user, spec, held) else "hidden",
        )
        sections.setdefault(spec.section, []).append(page)
    return st.navigation(sections)


def refusal(spec: PageSpec) -> str:
    role = lowest_role_with(spec.needs[0])
    where = "" if role.value == "admin" else " in a project"
    return (
        f"You don't have access to the {spec.title} page: it is for people who may "
        f"{DESCRIPTIONS[spec.needs[0]].replace('this project', 'a project')} (the {role} role{where}). "
        "Ask an admin if you need it."
    )

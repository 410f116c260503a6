"""The Tasks page's bulk actions, on the rows picked in the table or on every task matching
its filter: assign, send to review, mark ground truth, export, and delete (named and
confirmed first, to the trash). Each tab is there for those who may do its action; what an
action did is said at the top of the page on the next run."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st
from sqlmodel import Session

from labelkit import exporters
from labelkit.auth.permissions import Capability, can
from labelkit.db import session_scope
from labelkit.errors import LabelkitError
from labelkit.models import Project, User
from labelkit.projects import crud
from labelkit.reports import task_table as tt
from labelkit.ui.context import show_error
from labelkit.ui.task_table import Listing, first_page, state_key


def last_outcome(project: Project) -> None:
    """What the last action did, said once."""
    flash = st.session_state.pop(state_key(project, "flash"), None)
    if flash:
        st.success(flash)


def bulk_actions(user: User, project: Project, listing: Listing) -> None:
    """Act on: the rows picked, or (ticked as sure) every task matching; then a tab per action."""
    with session_scope(write=False) as session:
        may = {c: can(session, user, c, project.id) for c in tt.ACTION_CAPABILITY.values()}
    st.subheader("With the selection", anchor=False)
    # The choice's labels stay the same whatever is picked: a widget whose labels change loses its value.
    scope = st.radio("Act on", ["selected", "matching"], horizontal=True, key=state_key(project, "scope"),
                     format_func={"selected": "The rows picked above", "matching": "Every task matching the filter"}.get)
    everything = scope == "matching"
    total, more, picked = listing.total, listing.more, listing.picked
    if everything:
        st.caption(f"{'More than ' if more else ''}{total:,} task{'s' * (total != 1)} match; an action takes at most {tt.MATCH_CAP:,}.")
        ready = st.checkbox(f"Yes, act on all {total:,}{'+' if more else ''} matching tasks", key=state_key(project, "all_sure"))
    else:
        st.caption(f"{len(picked)} row{'s' * (len(picked) != 1)} picked (tick the boxes at the left of the table).")
        ready = bool(picked)
    selection = _Selection(user, project, listing, everything, empty=not ready)
    tabs = st.tabs([title for title, *_ in _TABS])
    for tab, (_title, capability, who_may, draw) in zip(tabs, _TABS, strict=True):
        with tab:
            if may[capability]:
                draw(selection)
            else:
                st.caption(who_may)


@dataclass(frozen=True)
class _Selection:
    """The tasks an action is on (the rows picked, or every task matching the filter), and who acts."""

    user: User
    project: Project
    listing: Listing
    everything: bool  # every task matching, not the rows picked
    empty: bool  # nothing to act on yet (no row picked, or "Yes, act on all" not ticked)

    def key(self, name: str) -> str:
        return state_key(self.project, name)

    def target_ids(self) -> list[int]:
        if not self.everything:
            return self.listing.picked
        with session_scope(write=False) as s:
            return tt.matching_ids(s, self.user, self.project.id, self.listing.query)

    def run(self, action: Callable[[Session, list[int]], int], done: str) -> None:
        """The action on the target tasks in one transaction; `done` is said on the next run."""
        try:
            ids = self.target_ids()
            with session_scope() as s:
                n = action(s, ids)
        except LabelkitError as e:
            show_error(e)
        else:
            st.session_state[self.key("flash")] = done.format(n=n, s="" if n == 1 else "s", tasks=len(ids))
            st.rerun()


def _assign(selection: _Selection) -> None:
    with session_scope(write=False) as session:
        members = crud.list_members(session, selection.user, selection.project.id)
    emails = {m["user_id"]: m["email"] for m in members if m["role"] in ("annotator", "reviewer", "manager")}
    who = st.multiselect("To", list(emails), format_func=emails.get, key=selection.key("assign_to"))
    if st.button("Assign", icon=":material/assignment_ind:", disabled=selection.empty or not who, key=selection.key("assign")):
        selection.run(lambda s, ids: tt.assign_selected(s, selection.user, selection.project.id, ids, who),
                      "Made {n} new assignment{s} on {tasks} tasks.")


def _send_to_review(selection: _Selection) -> None:
    st.caption("Their submitted answers wait for a reviewer again (a reviewer's earlier fix is kept).")
    if st.button("Send to review", icon=":material/fact_check:", disabled=selection.empty, key=selection.key("review_go")):
        selection.run(lambda s, ids: tt.review_selected(s, selection.user, selection.project.id, ids),
                      "Sent {n} answer{s} back to the review queue.")


def _ground_truth(selection: _Selection) -> None:
    st.caption("Each task's accepted answer (else its latest) becomes its ground truth; tasks with no answer are left.")
    if st.button("Mark ground truth", icon=":material/verified:", disabled=selection.empty, key=selection.key("gold")):
        selection.run(lambda s, ids: tt.gold_selected(s, selection.user, selection.project.id, ids),
                      "Marked {n} new gold task{s}.")


def _export(selection: _Selection) -> None:
    """A file of the target tasks in a format the project fits, prepared, then downloaded."""
    unfit = exporters.unfit_formats(selection.project)
    names = [n for n in exporters.FORMATS if n not in unfit]
    fmt = st.selectbox("Format", names, format_func=lambda n: exporters.FORMATS[n].title, key=selection.key("fmt"))
    if st.button("Prepare the export", icon=":material/package_2:", disabled=selection.empty, key=selection.key("export")):
        try:
            ids = selection.target_ids()
            out = io.BytesIO()
            with session_scope(write=False) as s:
                report = tt.export_selected(s, selection.user, selection.project.id, ids, fmt, out)
        except LabelkitError as e:
            show_error(e)
        else:
            name = report.file_name.replace("-all.", "-selection.")
            st.session_state[selection.key("file")] = (out.getvalue(), name, report.mime, report.tasks)
    prepared = st.session_state.get(selection.key("file"))
    if prepared:
        data, name, mime, n = prepared
        st.download_button(f"Download {name} ({n} tasks)", data, file_name=name, mime=mime or "application/octet-stream",
                           icon=":material/download:", key=selection.key("download"))


def _delete(selection: _Selection) -> None:
    """Delete…: what would go is named first; Yes moves it to the trash."""
    st.caption("Deleted tasks go to the trash with their answers; an admin can restore them for 30 days.")
    if st.button("Delete…", icon=":material/delete:", disabled=selection.empty, key=selection.key("delete")):
        try:
            ids = selection.target_ids()
            with session_scope(write=False) as s:
                summary = tt.deletion_preview(s, selection.user, selection.project.id, ids)
        except LabelkitError as e:
            show_error(e)
        else:
            st.session_state[selection.key("confirm")] = (ids, summary.what, summary.annotations)
    pending = st.session_state.get(selection.key("confirm"))
    if pending:
        _confirm_delete(selection, *pending)


def _confirm_delete(selection: _Selection, ids: list[int], what: str, answers: int) -> None:
    st.warning(f"Delete {what} and their {answers} annotation{'s' * (answers != 1)}? "
               f"Tasks {', '.join(map(str, ids[:10]))}{' …' if len(ids) > 10 else ''}.", icon=":material/warning:")
    sure = st.container(horizontal=True)
    if sure.button("Yes, move them to the trash", type="primary", key=selection.key("delete_yes")):
        st.session_state.pop(selection.key("confirm"), None)
        try:
            with session_scope() as s:
                tt.delete_selected(s, selection.user, selection.project.id, ids)
        except LabelkitError as e:
            show_error(e)
        else:
            st.session_state[selection.key("flash")] = f"Moved {what} to the trash."
            first_page(selection.project)
            st.rerun()
    if sure.button("Cancel", key=selection.key("delete_no")):
        st.session_state.pop(selection.key("confirm"), None)
        st.rerun()


# The tabs: title, who may act, what the others read, and the tab.
_TABS: list[tuple[str, Capability, str, Callable[[_Selection], None]]] = [
    ("Assign", Capability.TASK_ASSIGN, "Managers assign tasks.", _assign),
    ("Send to review", Capability.TASK_ASSIGN, "Managers send tasks back to review.", _send_to_review),
    ("Ground truth", Capability.GROUND_TRUTH, "Managers mark ground truth.", _ground_truth),
    ("Export", Capability.PROJECT_EXPORT, "Managers export.", _export),
    ("Delete", Capability.TASK_DELETE, "Managers delete tasks.", _delete),
]

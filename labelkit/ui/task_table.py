"""The Tasks page's table (the data manager of labelkit.reports.task_table): the filters,
one page of a project's tasks with a link to each on the Review page, and the pager.

The pager keeps the cursors of the pages before the one shown, and starts again at the
first page when the filter changes; the table's key changes with it, so no stale
selection survives."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from labelkit.db import session_scope
from labelkit.errors import LabelkitError
from labelkit.models import Project, User
from labelkit.reports import task_table as tt
from labelkit.ui.context import show_error


def state_key(project: Project, name: str) -> str:
    """The session-state key of one of the page's widgets or states, per project."""
    return f"lk_tasks_{project.id}_{name}"


@dataclass(frozen=True)
class Filter:
    query: tt.TaskQuery
    size: int  # rows on a page
    columns: list[str]


@dataclass(frozen=True)
class Listing:
    """What the table shows: the filter it ran, how many tasks match, and the rows picked."""

    query: tt.TaskQuery
    total: int
    more: bool  # more than `total` match (counting stops at a cap)
    picked: list[int]  # task ids


def filters(user: User, project: Project) -> Filter:
    """The filters, in two rows, and the columns to show."""
    with session_scope(write=False) as session:
        people = tt.annotators(session, user, project.id)
    controls = tt.control_names(project)
    row = st.columns([1.2, 2, 1.6, 1.4, 1.2])
    labeled = row[0].selectbox("Labeled", [None, True, False], key=state_key(project, "labeled"),
                               format_func=lambda v: {None: "Any", True: "Labeled", False: "Not labeled"}[v])
    annotator = row[1].selectbox("Annotator", [None, *people.values()], key=state_key(project, "annotator"),
                                 format_func=lambda e: e or "Anyone")
    label = row[2].text_input("Label value", key=state_key(project, "label"), placeholder="e.g. Positive",
                              help="A value in a submitted answer: a choice, a region's label, a text; the whole value.")
    control = row[3].selectbox("In control", [None, *controls], key=state_key(project, "control"),
                               format_func=lambda c: c or "Any")
    review_state = row[4].selectbox("Review", [None, *tt.REVIEW_STATES], key=state_key(project, "review"),
                                    format_func=lambda r: r or "Any")
    row = st.columns([2.6, 1.4, 1.3, 1, 0.9])
    search = row[0].text_input("Search in data", key=state_key(project, "search"), placeholder="Text in the task's data")
    below = row[1].number_input("Agreement below", min_value=0.0, max_value=1.0, value=None, step=0.1,
                                key=state_key(project, "below"), placeholder="Any",
                                help="Tasks whose annotators agree less than this (0 to 1).")
    sort = row[2].selectbox("Sort by", tt.SORTS, key=state_key(project, "sort"))
    descending = row[3].toggle("Newest first" if sort in ("id", "created") else "Descending", key=state_key(project, "desc"))
    size = row[4].selectbox("Rows", tt.PAGE_SIZES, index=1, key=state_key(project, "size"))
    columns = st.multiselect("Columns", tt.COLUMNS, default=list(tt.DEFAULT_COLUMNS), key=state_key(project, "columns"))
    query = tt.TaskQuery(labeled=labeled, annotator=annotator, label=label or None, control=control if label else None,
                         agreement_below=below, review=review_state, search=search or None, sort=sort, descending=descending)
    return Filter(query, size, columns)


def table(user: User, project: Project, chosen: Filter) -> Listing:
    """One page of the tasks the filter matches, how many match, and the pager; a filter
    that cannot run says why and stops the page."""
    cursors = _cursors(project, chosen)
    try:
        with session_scope(write=False) as session:
            page = tt.page(session, user, project.id, chosen.query, cursor=cursors[-1], size=chosen.size,
                           columns=["id", *chosen.columns])
            total, more = tt.count(session, user, project.id, chosen.query)
    except LabelkitError as e:
        show_error(e)
        st.stop()
    number = len(cursors)
    _caption(chosen, cursors, page, total, more)
    frame = _frame(project, page)
    picked = st.dataframe(frame, hide_index=True, width="stretch", on_select="rerun", selection_mode="multi-row",
                          key=state_key(project, f"table_{st.session_state[state_key(project, 'gen')]}_{number}"),
                          column_config=_column_config())
    selected = [int(frame.iloc[i]["id"]) for i in (picked.selection.rows if picked and picked.selection else [])]
    _pager(project, cursors, page)
    return Listing(chosen.query, total, more, selected)


def first_page(project: Project) -> None:
    """Show the first page again (after tasks went, the later cursors may point nowhere)."""
    st.session_state[state_key(project, "cursors")] = [None]


def _cursors(project: Project, chosen: Filter) -> list:
    """The cursors of the pages before this one, reset when the filter changes."""
    signature = (chosen.query, chosen.size)
    if st.session_state.get(state_key(project, "sig")) != signature:
        st.session_state[state_key(project, "sig")] = signature
        first_page(project)
        gen = state_key(project, "gen")
        st.session_state[gen] = st.session_state.get(gen, -1) + 1  # a new table: no stale selection
    return st.session_state[state_key(project, "cursors")]


def _caption(chosen: Filter, cursors: list, page: tt.Page, total: int, more: bool) -> None:
    number = len(cursors)
    first = (number - 1) * chosen.size + 1 if chosen.query.sort in ("id", "created") else (cursors[-1] or 0) + 1
    shown = f"{first:,}–{first + len(page.rows) - 1:,}" if page.rows else "none"
    st.caption(f"{'More than ' if more else ''}{total:,} task{'s' * (total != 1)} match · showing {shown} (page {number})")


def _frame(project: Project, page: tt.Page) -> pd.DataFrame:
    frame = pd.DataFrame(page.rows)
    if not frame.empty:
        frame.insert(1, "open", [f"/review?project={project.id}&task={i}" for i in frame["id"]])
    return frame


def _column_config() -> dict:
    return {
        "id": st.column_config.NumberColumn("task", width="small"),
        "open": st.column_config.LinkColumn("", display_text="review ↗", width="small", help="Open this task on the Review page"),
        "agreement": st.column_config.ProgressColumn("agreement", min_value=0.0, max_value=1.0, format="%.2f"),
        "created": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
        "updated": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
    }


def _pager(project: Project, cursors: list, page: tt.Page) -> None:
    number = len(cursors)
    pager = st.container(horizontal=True)
    if pager.button("Previous", icon=":material/chevron_left:", disabled=number == 1, key=state_key(project, "prev")):
        cursors.pop()
        st.rerun()
    if pager.button("Next", icon=":material/chevron_right:", disabled=page.next_cursor is None, key=state_key(project, "next")):
        cursors.append(page.next_cursor)
        st.rerun()
    if pager.button("First page", disabled=number == 1, key=state_key(project, "first")):
        first_page(project)
        st.rerun()

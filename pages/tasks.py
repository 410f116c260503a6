"""Tasks: the data manager. Every task of a project, filtered and paged; bulk actions on a selection."""

import io

import pandas as pd
import streamlit as st

from labelkit import exporters
from labelkit.auth.permissions import Capability, can
from labelkit.db import session_scope
from labelkit.errors import LabelkitError
from labelkit.projects import crud
from labelkit.reports import task_table as tt
from labelkit.ui.context import page_project, show_error
from labelkit.ui.text import plain

user, project = page_project("tasks", Capability.TASK_BROWSE, "Tasks", "You browse no project's tasks yet.")
st.caption(plain(project.title))
P = f"lk_tasks_{project.id}"

flash = st.session_state.pop(f"{P}_flash", None)
if flash:
    st.success(flash)

with session_scope(write=False) as session:
    people = tt.annotators(session, user, project.id)
    members = crud.list_members(session, user, project.id)
    may = {c: can(session, user, c, project.id) for c in tt.ACTION_CAPABILITY.values()}
controls = tt.control_names(project)

# Filters, in two rows.
row = st.columns([1.2, 2, 1.6, 1.4, 1.2])
labeled = row[0].selectbox("Labeled", [None, True, False], key=f"{P}_labeled",
                           format_func=lambda v: {None: "Any", True: "Labeled", False: "Not labeled"}[v])
annotator = row[1].selectbox("Annotator", [None, *people.values()], key=f"{P}_annotator", format_func=lambda e: e or "Anyone")
label = row[2].text_input("Label value", key=f"{P}_label", placeholder="e.g. Positive",
                          help="A value in a submitted answer: a choice, a region's label, a text; the whole value.")
control = row[3].selectbox("In control", [None, *controls], key=f"{P}_control", format_func=lambda c: c or "Any")
review_state = row[4].selectbox("Review", [None, *tt.REVIEW_STATES], key=f"{P}_review", format_func=lambda r: r or "Any")
row = st.columns([2.6, 1.4, 1.3, 1, 0.9])
search = row[0].text_input("Search in data", key=f"{P}_search", placeholder="Text in the task's data")
below = row[1].number_input("Agreement below", min_value=0.0, max_value=1.0, value=None, step=0.1, key=f"{P}_below",
                            placeholder="Any", help="Tasks whose annotators agree less than this (0 to 1).")
sort = row[2].selectbox("Sort by", tt.SORTS, key=f"{P}_sort")
descending = row[3].toggle("Newest first" if sort in ("id", "created") else "Descending", key=f"{P}_desc")
size = row[4].selectbox("Rows", tt.PAGE_SIZES, index=1, key=f"{P}_size")
columns = st.multiselect("Columns", tt.COLUMNS, default=list(tt.DEFAULT_COLUMNS), key=f"{P}_columns")

query = tt.TaskQuery(labeled=labeled, annotator=annotator, label=label or None, control=control if label else None,
                     agreement_below=below, review=review_state, search=search or None, sort=sort, descending=descending)

# The pager: the cursors of the pages before this one, reset when the filter changes.
signature = (query, size)
if st.session_state.get(f"{P}_sig") != signature:
    st.session_state[f"{P}_sig"] = signature
    st.session_state[f"{P}_cursors"] = [None]
    st.session_state[f"{P}_gen"] = st.session_state.get(f"{P}_gen", -1) + 1  # a new table: no stale selection
cursors: list = st.session_state[f"{P}_cursors"]

try:
    with session_scope(write=False) as session:
        page = tt.page(session, user, project.id, query, cursor=cursors[-1], size=size, columns=["id", *columns])
        total, more = tt.count(session, user, project.id, query)
except LabelkitError as e:
    show_error(e)
    st.stop()

number = len(cursors)
first = (number - 1) * size + 1 if sort in ("id", "created") else (cursors[-1] or 0) + 1
shown = f"{first:,}–{first + len(page.rows) - 1:,}" if page.rows else "none"
st.caption(f"{'More than ' if more else ''}{total:,} task{'s' * (total != 1)} match · showing {shown} (page {number})")

frame = pd.DataFrame(page.rows)
if not frame.empty:
    frame.insert(1, "open", [f"/review?project={project.id}&task={i}" for i in frame["id"]])
column_config = {
    "id": st.column_config.NumberColumn("task", width="small"),
    "open": st.column_config.LinkColumn("", display_text="review ↗", width="small", help="Open this task on the Review page"),
    "agreement": st.column_config.ProgressColumn("agreement", min_value=0.0, max_value=1.0, format="%.2f"),
    "created": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
    "updated": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
}
picked = st.dataframe(frame, hide_index=True, width="stretch", on_select="rerun", selection_mode="multi-row",
                      key=f"{P}_table_{st.session_state[f'{P}_gen']}_{number}", column_config=column_config)
selected = [int(frame.iloc[i]["id"]) for i in (picked.selection.rows if picked and picked.selection else [])]

pager = st.container(horizontal=True)
if pager.button("Previous", icon=":material/chevron_left:", disabled=number == 1, key=f"{P}_prev"):
    cursors.pop()
    st.rerun()
if pager.button("Next", icon=":material/chevron_right:", disabled=page.next_cursor is None, key=f"{P}_next"):
    cursors.append(page.next_cursor)
    st.rerun()
if pager.button("First page", disabled=number == 1, key=f"{P}_first"):
    st.session_state[f"{P}_cursors"] = [None]
    st.rerun()

# Bulk actions.
st.subheader("With the selection", anchor=False)
# The choice's labels stay the same whatever is picked: a widget whose labels change loses its value.
scope = st.radio("Act on", ["selected", "matching"], horizontal=True, key=f"{P}_scope",
                 format_func={"selected": "The rows picked above", "matching": "Every task matching the filter"}.get)
everything = scope == "matching"
if everything:
    st.caption(f"{'More than ' if more else ''}{total:,} task{'s' * (total != 1)} match; an action takes at most {tt.MATCH_CAP:,}.")
    sure_all = st.checkbox(f"Yes, act on all {total:,}{'+' if more else ''} matching tasks", key=f"{P}_all_sure")
else:
    st.caption(f"{len(selected)} row{'s' * (len(selected) != 1)} picked (tick the boxes at the left of the table).")
    sure_all = False


def target_ids() -> list[int]:
    if not everything:
        return selected
    with session_scope(write=False) as s:
        return tt.matching_ids(s, user, project.id, query)


def run(action, done: str) -> None:
    try:
        ids = target_ids()
        with session_scope() as s:
            n = action(s, ids)
    except LabelkitError as e:
        show_error(e)
    else:
        st.session_state[f"{P}_flash"] = done.format(n=n, s="" if n == 1 else "s", tasks=len(ids))
        st.rerun()


nothing = (not selected) if not everything else not sure_all
tabs = st.tabs(["Assign", "Send to review", "Ground truth", "Export", "Delete"])
with tabs[0]:
    if not may[Capability.TASK_ASSIGN]:
        st.caption("Managers assign tasks.")
    else:
        emails = {m["user_id"]: m["email"] for m in members if m["role"] in ("annotator", "reviewer", "manager")}
        who = st.multiselect("To", list(emails), format_func=emails.get, key=f"{P}_assign_to")
        if st.button("Assign", icon=":material/assignment_ind:", disabled=nothing or not who, key=f"{P}_assign"):
            run(lambda s, ids: tt.assign_selected(s, user, project.id, ids, who), "Made {n} new assignment{s} on {tasks} tasks.")
with tabs[1]:
    if not may[Capability.TASK_ASSIGN]:
        st.caption("Managers send tasks back to review.")
    else:
        st.caption("Their submitted answers wait for a reviewer again (a reviewer's earlier fix is kept).")
        if st.button("Send to review", icon=":material/fact_check:", disabled=nothing, key=f"{P}_review_go"):
            run(lambda s, ids: tt.review_selected(s, user, project.id, ids), "Sent {n} answer{s} back to the review queue.")
with tabs[2]:
    if not may[Capability.GROUND_TRUTH]:
        st.caption("Managers mark ground truth.")
    else:
        st.caption("Each task's accepted answer (else its latest) becomes its ground truth; tasks with no answer are left.")
        if st.button("Mark ground truth", icon=":material/verified:", disabled=nothing, key=f"{P}_gold"):
            run(lambda s, ids: tt.gold_selected(s, user, project.id, ids), "Marked {n} new gold task{s}.")
with tabs[3]:
    if not may[Capability.PROJECT_EXPORT]:
        st.caption("Managers export.")
    else:
        unfit = exporters.unfit_formats(project)
        names = [n for n in exporters.FORMATS if n not in unfit]
        fmt = st.selectbox("Format", names, format_func=lambda n: exporters.FORMATS[n].title, key=f"{P}_fmt")
        if st.button("Prepare the export", icon=":material/package_2:", disabled=nothing, key=f"{P}_export"):
            try:
                ids = target_ids()
                out = io.BytesIO()
                with session_scope(write=False) as s:
                    report = tt.export_selected(s, user, project.id, ids, fmt, out)
            except LabelkitError as e:
                show_error(e)
            else:
                st.session_state[f"{P}_file"] = (out.getvalue(), report.file_name.replace("-all.", "-selection."), report.mime, report.tasks)
        prepared = st.session_state.get(f"{P}_file")
        if prepared:
            data, name, mime, n = prepared
            st.download_button(f"Download {name} ({n} tasks)", data, file_name=name, mime=mime or "application/octet-stream",
                               icon=":material/download:", key=f"{P}_download")
with tabs[4]:
    if not may[Capability.TASK_DELETE]:
        st.caption("Managers delete tasks.")
    else:
        st.caption("Deleted tasks go to the trash with their answers; an admin can restore them for 30 days.")
        if st.button("Delete…", icon=":material/delete:", disabled=nothing, key=f"{P}_delete"):
            try:
                ids = target_ids()
                with session_scope(write=False) as s:
                    summary = tt.deletion_preview(s, user, project.id, ids)
            except LabelkitError as e:
                show_error(e)
            else:
                st.session_state[f"{P}_confirm"] = (ids, summary.what, summary.annotations)
        pending = st.session_state.get(f"{P}_confirm")
        if pending:
            ids, what, answers = pending
            st.warning(f"Delete {what} and their {answers} annotation{'s' * (answers != 1)}? "
                       f"Tasks {', '.join(map(str, ids[:10]))}{' …' if len(ids) > 10 else ''}.", icon=":material/warning:")
            sure = st.container(horizontal=True)
            if sure.button("Yes, move them to the trash", type="primary", key=f"{P}_delete_yes"):
                st.session_state.pop(f"{P}_confirm", None)
                try:
                    with session_scope() as s:
                        tt.delete_selected(s, user, project.id, ids)
                except LabelkitError as e:
                    show_error(e)
                else:
                    st.session_state[f"{P}_flash"] = f"Moved {what} to the trash."
                    st.session_state[f"{P}_cursors"] = [None]
                    st.rerun()
            if sure.button("Cancel", key=f"{P}_delete_no"):
                st.session_state.pop(f"{P}_confirm", None)
                st.rerun()

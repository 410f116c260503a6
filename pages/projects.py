"""Projects: create one from a template, edit its settings, its team, its tasks; delete it."""

import json

import pandas as pd
import streamlit as st

from labelkit.auth.permissions import Capability, can
from labelkit.config.templates import template
from labelkit.db import session_scope
from labelkit.errors import LabelkitError
from labelkit.projects import trash
from labelkit.projects.crud import ProjectFields, create_project, update_project
from labelkit.reports.task_detail import list_tasks
from labelkit.ui.context import choose_project, page_user
from labelkit.ui.model_panel import model_panel
from labelkit.ui.project_form import project_form, template_gallery
from labelkit.ui.team import invite_panel, members_panel
from labelkit.ui.text import plain
from labelkit.ui.workload import workload_panel

user = page_user("projects")
with session_scope(write=False) as session:
    may_create = can(session, user, Capability.PROJECT_CREATE)
project = choose_project(user, Capability.PROJECT_EDIT)

modes = (["Project settings"] if project else []) + (["New project"] if may_create else [])
# A mode asked for by the last run (a widget's state may only be set before it is drawn).
if "lk_projects_mode_next" in st.session_state:
    st.session_state["lk_projects_mode"] = st.session_state.pop("lk_projects_mode_next")
if st.session_state.get("lk_projects_mode") not in modes:
    st.session_state["lk_projects_mode"] = modes[0]
mode = st.segmented_control("Mode", modes, key="lk_projects_mode", label_visibility="collapsed") if len(modes) > 1 else modes[0]

if mode == "New project" or project is None:
    st.title("New project", anchor=False)
    template_gallery("lk_new")
    start = template("text-classification")
    fields = project_form("lk_new", ProjectFields(title="", label_config=start.config), None, "Create project")
    if fields:
        try:
            with session_scope() as session:
                created = create_project(session, user, fields)
        except LabelkitError as e:
            st.error(str(e))
        else:
            for k in [k for k in st.session_state if str(k).startswith("lk_new_")]:
                del st.session_state[k]
            st.session_state["lk_projects_mode_next"] = "Project settings"
            st.query_params["project"] = str(created.id)
            st.session_state["lk_project_flash"] = f"Created {plain(created.title)}. Next: import tasks, then invite your team."
            st.rerun()
    st.stop()

st.title(plain(project.title), anchor=False)
flash = st.session_state.pop("lk_project_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")
    st.page_link("pages/import.py", label="Import tasks", icon=":material/upload_file:", query_params={"project": str(project.id)})

settings_tab, team_tab, workload_tab, tasks_tab, model_tab, danger_tab = st.tabs(
    ["Settings", "Team", "Workload", "Tasks", "Model", "Delete"]
)

with settings_tab:
    key = f"lk_edit_{project.id}"
    with session_scope(write=False) as session:
        first, _ = list_tasks(session, user, project.id, limit=1)
    current = ProjectFields.of(project)
    fields = project_form(key, current, first[0]["data"] if first else None, "Save changes")
    if fields:
        try:
            with session_scope() as session:
                update_project(session, user, project.id, fields)
        except LabelkitError as e:
            st.error(str(e))
        else:
            st.session_state["lk_project_flash"] = "Saved."
            st.rerun()

with team_tab:
    st.subheader("Members", anchor=False)
    members_panel(user, project.id)
    st.subheader("Invite people", anchor=False)
    invite_panel(user, project.id)

with workload_tab:
    workload_panel(user, project)

with tasks_tab:
    page_size = 50
    with session_scope(write=False) as session:
        _, total = list_tasks(session, user, project.id, limit=0)
    pages = max(1, -(-total // page_size))
    page = st.number_input(f"Page (of {pages})", min_value=1, max_value=pages, value=1, key=f"lk_tasks_page_{project.id}")
    with session_scope(write=False) as session:
        rows, total = list_tasks(session, user, project.id, offset=(page - 1) * page_size, limit=page_size)
    st.caption(f"{total} task{'s' * (total != 1)}")
    if rows:
        table = pd.DataFrame(
            [{"id": r["id"], "data": json.dumps(r["data"], ensure_ascii=False)[:200], "annotations": r["annotations"], "created": r["created"]} for r in rows]
        )
        picked = st.dataframe(table, hide_index=True, width="stretch", on_select="rerun",
                              selection_mode="multi-row", key=f"lk_tasks_{project.id}_{page}")
        chosen = [int(table.iloc[i]["id"]) for i in (picked.selection.rows if picked and picked.selection else [])]
        if chosen:
            with session_scope(write=False) as session:
                try:
                    summary = trash.tasks_deletion(session, user, project.id, chosen)
                except LabelkitError as e:
                    summary = None
                    st.error(str(e))
            if summary:
                st.warning(summary.sentence(), icon=":material/delete:")
                if st.button(f"Move {len(chosen)} task{'s' * (len(chosen) != 1)} to the trash", key=f"lk_del_tasks_{project.id}"):
                    try:
                        with session_scope() as session:
                            trash.delete_tasks(session, user, project.id, chosen)
                    except LabelkitError as e:
                        st.error(str(e))
                    else:
                        st.rerun()
        else:
            st.caption("Select rows to delete tasks.")

with model_tab:
    model_panel(user, project)

with danger_tab:
    try:
        with session_scope(write=False) as session:
            summary = trash.project_deletion(session, user, project.id)
    except LabelkitError as e:
        st.info(plain(str(e)))
    else:
        st.warning(plain(summary.sentence()), icon=":material/warning:")
        typed = st.text_input(f"Type the project's title, {plain(repr(project.title))}, to confirm", key=f"lk_del_confirm_{project.id}")
        if st.button("Delete this project", type="primary", disabled=typed.strip() != project.title, key=f"lk_del_{project.id}"):
            try:
                with session_scope() as session:
                    trash.delete_project(session, user, project.id)
            except LabelkitError as e:
                st.error(str(e))
            else:
                st.query_params.clear()
                st.session_state.pop("lk_project", None)
                st.session_state.pop("lk_project_picker", None)
                st.rerun()

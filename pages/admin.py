"""Admin: users, invites, the audit log and the trash."""

import pandas as pd
import streamlit as st

from labelkit import audit
from labelkit.auth import accounts
from labelkit.auth.permissions import PERSON_ROLES, visible_projects
from labelkit.db import session_scope
from labelkit.errors import LabelkitError
from labelkit.models import Role
from labelkit.projects import trash
from labelkit.ui.context import page_user
from labelkit.ui.mailed_links import reset_panel
from labelkit.ui.team import ROLE_HELP, invite_panel

user = page_user("admin")
st.title("Admin", anchor=False)
users_tab, invites_tab, audit_tab, trash_tab = st.tabs(["Users", "Invites", "Audit log", "Trash"])

with users_tab:
    with session_scope(write=False) as session:
        people = accounts.list_users(session, user)
    st.dataframe(
        pd.DataFrame(people), hide_index=True, width="stretch",
        column_config={
            "password": st.column_config.CheckboxColumn("password sign-in"),
            "last_seen": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            "created": st.column_config.DatetimeColumn(format="YYYY-MM-DD"),
        },
    )
    by_id = {p["id"]: p for p in people}
    with st.container(border=True):
        st.markdown("**Change a user**")
        picked = st.selectbox("User", list(by_id), format_func=lambda i: f"{by_id[i]['email']} ({by_id[i]['role']})", key="lk_admin_user")
        person = by_id[picked]
        roles = [r.value for r in PERSON_ROLES]
        left, right = st.columns(2)
        role = left.selectbox("Portal role", roles, index=roles.index(person["role"]), key=f"lk_admin_role_{picked}",
                              format_func=lambda r: f"{r} — {ROLE_HELP[Role(r)]}")
        active = right.toggle("Active (can sign in)", value=person["active"], key=f"lk_admin_active_{picked}")
        if st.button("Save", type="primary", key="lk_admin_save"):
            try:
                with session_scope() as session:
                    if role != person["role"]:
                        accounts.set_role(session, user, picked, Role(role))
                    if active != person["active"]:
                        accounts.set_active(session, user, picked, active)
            except LabelkitError as e:
                st.error(str(e))
            else:
                st.rerun()
        st.caption("Project roles (manager, reviewer, annotator in a project) are set on each project's Team tab.")
        if st.button("End all sessions", icon=":material/logout:", key="lk_admin_end_sessions",
                     help="Ends every browser session of this user (password and identity provider); "
                          "their API tokens keep working. Deactivating a user also revokes the tokens."):
            try:
                with session_scope() as session:
                    ended = accounts.end_sessions(session, user, picked)
            except LabelkitError as e:
                st.error(str(e))
            else:
                count = f" ({ended} password session{'s were' if ended != 1 else ' was'} open)" if ended else ""
                st.success(f"Ended all sessions of {person['email']}: they must sign in again{count}.")
        reset_panel(user, picked, person["email"])

with invites_tab:
    with session_scope(write=False) as session:
        projects = {p.id: p.title for p in visible_projects(session, user)}
    invite_panel(user, None, projects)

with audit_tab:
    action = st.text_input("Only this action (e.g. invite.create, user.role, project.delete)", key="lk_audit_filter")
    with session_scope(write=False) as session:
        events = audit.recent_events(session, user, action=action.strip() or None)
    if events:
        st.dataframe(pd.DataFrame(events), hide_index=True, width="stretch",
                     column_config={"when": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss")})
    else:
        st.caption("No events.")

with trash_tab:
    with session_scope(write=False) as session:
        items = trash.list_trash(session, user)
    if not items:
        st.caption("The trash is empty.")
    else:
        st.caption("Deleted items can be restored until they are purged.")
        table = pd.DataFrame(items)[["kind", "what", "deleted_at", "deleted_by", "purged_on"]]
        picked = st.dataframe(table, hide_index=True, width="stretch", on_select="rerun",
                              selection_mode="single-row", key="lk_trash_table")
        rows = picked.selection.rows if picked and picked.selection else []
        if rows:
            item = items[rows[0]]
            if st.button(f"Restore {item['what']}", type="primary", icon=":material/restore_from_trash:"):
                try:
                    with session_scope() as session:
                        trash.restore(session, user, item["kind"], item["id"])
                except LabelkitError as e:
                    st.error(str(e))
                else:
                    st.rerun()
        else:
            st.caption("Select a row to restore it.")

"""Invites and members: the panels the project page and the admin page share."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from labelkit.auth import invites
from labelkit.auth.mail import send_invite
from labelkit.auth.permissions import PROJECT_ROLES, ROLE_RANK, project_role
from labelkit.db import session_scope
from labelkit.errors import LabelkitError
from labelkit.models import Role, User
from labelkit.projects.crud import list_members, remove_member, set_member
from labelkit.settings import get_settings
from labelkit.ui.links import invite_url
from labelkit.ui.mailed_links import Handed, mail_link, show_handed

ROLE_HELP = {
    Role.ADMIN: "runs the whole portal",
    Role.MANAGER: "sets up projects, imports, exports, manages the team",
    Role.REVIEWER: "labels and reviews others' work",
    Role.ANNOTATOR: "labels tasks",
}


def invite_panel(user: User, project_id: int | None, projects: dict[int, str] | None = None) -> None:
    """Create an invite link (shown once, to copy) and list the invites with revoke."""
    key = f"lk_invite_{project_id or 'portal'}"
    with st.form(key, border=True):
        st.markdown("**New invite link**")
        target = project_id
        if projects is not None:
            choices = [None, *projects]
            target = st.selectbox(
                "Project", choices, format_func=lambda i: "No project (portal-wide role)" if i is None else projects[i],
            )
        roles = _roles_for(user, project_id)
        role = st.selectbox("Role", roles, index=len(roles) - 1, format_func=lambda r: f"{r} — {ROLE_HELP[Role(r)]}")
        email = st.text_input("Only for (optional)", placeholder="someone@example.com or @example.com",
                              help="With mail set up, an invite for one address is also mailed there, and that "
                                   "address is confirmed by mail before a password account is made.")
        left, right = st.columns(2)
        days = left.number_input("Expires after (days)", min_value=1, max_value=365, value=get_settings().invite_days)
        uses = right.number_input("Can be used (times)", min_value=1, max_value=1000, value=1)
        create = st.form_submit_button("Create invite link", type="primary", icon=":material/add_link:")
    if create:
        try:
            with session_scope() as session:
                invite, token = invites.create_invite(
                    session, user, role, project_id=target, email=email or None, expires_days=days, max_uses=int(uses)
                )
                info = invites.describe_invite_row(session, invite)
        except LabelkitError as e:
            st.session_state.pop(f"{key}_link", None)
            st.error(str(e))
        else:
            st.session_state[f"{key}_link"] = _hand_over(invite_url(token), info)
    handed = st.session_state.get(f"{key}_link")
    if handed:
        show_handed(handed, "invite link")

    try:
        with session_scope(write=False) as session:
            rows = invites.list_invites(session, user, project_id)
    except LabelkitError as e:
        st.error(str(e))
        return
    if not rows:
        st.caption("No invites yet.")
        return
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={"expires": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")})
    active = {r["id"]: r for r in rows if r["status"] == "active"}
    if active:
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        chosen = left.selectbox(
            "Revoke an invite", list(active), key=f"{key}_revoke_pick",
            format_func=lambda i: f"#{i}: {active[i]['role']} in {active[i]['project']} for {active[i]['for']}",
        )
        if right.button("Revoke", icon=":material/link_off:", key=f"{key}_revoke"):
            try:
                with session_scope() as session:
                    invites.revoke_invite(session, user, chosen)
            except LabelkitError as e:
                st.error(str(e))
            else:
                st.rerun()


def _hand_over(link: str, info: invites.InviteInfo) -> Handed:
    """An invite for one exact address is mailed there when mail is set up."""
    to = info.email if info.email and not info.email.startswith("@") else None
    return mail_link(link, to, lambda: send_invite(to, link, str(info.role), info.project_title, info.expires_at))


def _roles_for(user: User, project_id: int | None) -> list[str]:
    if project_id is None:
        return [r.value for r in (Role.ADMIN, Role.MANAGER, Role.REVIEWER, Role.ANNOTATOR)]
    with session_scope(write=False) as session:
        own = project_role(session, user, project_id)
    return [r.value for r in PROJECT_ROLES if own and ROLE_RANK[r] <= ROLE_RANK[own]]


def members_panel(user: User, project_id: int) -> None:
    with session_scope(write=False) as session:
        members = list_members(session, user, project_id)
    st.dataframe(pd.DataFrame(members)[["email", "name", "role", "active"]] if members else pd.DataFrame(),
                 hide_index=True, width="stretch")
    with st.form(f"lk_member_{project_id}"):
        st.markdown("**Add someone who has an account, or change a member's role**")
        left, right = st.columns([2, 1])
        email = left.text_input("Email")
        role = right.selectbox("Role", [r.value for r in PROJECT_ROLES], index=2)
        save = st.form_submit_button("Save", icon=":material/person_add:")
    if save:
        try:
            with session_scope() as session:
                set_member(session, user, project_id, email, Role(role))
        except LabelkitError as e:
            st.error(str(e))
        else:
            st.rerun()
    removable = {m["user_id"]: m["email"] for m in members if m["user_id"] != user.id}
    if removable:
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        who = left.selectbox("Remove from the project", list(removable), format_func=removable.get, key=f"lk_rm_{project_id}")
        if right.button("Remove", icon=":material/person_remove:", key=f"lk_rm_btn_{project_id}"):
            try:
                with session_scope() as session:
                    remove_member(session, user, project_id, who)
            except LabelkitError as e:
                st.error(str(e))
            else:
                st.rerun()

"""Account: your name, password and API tokens."""

import pandas as pd
import streamlit as st

from labelkit.auth import accounts, sessions
from labelkit.db import session_scope
from labelkit.errors import LabelkitError
from labelkit.ui.context import page_user
from labelkit.ui.session import browser_address

user = page_user("account")
st.title("Your account", anchor=False)
st.markdown(f"**{user.email}** · portal role: **{user.role}**")

if user.password_hash:
    with st.form("lk_password"):
        st.markdown("**Change your password**")
        current = st.text_input("Current password", type="password")
        new = st.text_input("New password (8 characters or more)", type="password")
        again = st.text_input("New password again", type="password")
        change = st.form_submit_button("Change password")
    if change:
        if new != again:
            st.error("The two new passwords differ.")
        else:
            try:
                with session_scope() as session:
                    accounts.change_password(session, session.merge(user), current, new, browser_address())
            except LabelkitError as e:
                st.error(str(e))
            else:
                st.success("Your password is changed.")
else:
    st.caption("You sign in through your organization's identity provider.")

st.subheader("API tokens", anchor=False)
st.caption("For scripts and model servers: send `Authorization: Token <token>` to /api/... A token acts with your roles.")
with st.form("lk_token"):
    name = st.text_input("What is it for?", placeholder="e.g. nightly export script")
    create = st.form_submit_button("Create token", icon=":material/key:")
if create:
    with session_scope() as session:
        st.session_state["lk_new_token"] = sessions.create_api_token(session, user, name)
token = st.session_state.pop("lk_new_token", None)
if token:
    st.success("Copy your token now; it is not shown again.")
    st.code(token, language=None)
with session_scope(write=False) as session:
    tokens = sessions.list_api_tokens(session, user)
if tokens:
    st.dataframe(pd.DataFrame([{"id": t.id, "name": t.name, "created": t.created_at, "last used": t.last_used_at} for t in tokens]),
                 hide_index=True, width="stretch")
    pick = st.selectbox("Revoke a token", [t.id for t in tokens], format_func=lambda i: f"#{i} {next(t.name for t in tokens if t.id == i)}")
    if st.button("Revoke", icon=":material/key_off:"):
        try:
            with session_scope() as session:
                sessions.revoke_api_token(session, user, pick)
        except LabelkitError as e:
            st.error(str(e))
        else:
            st.rerun()

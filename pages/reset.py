"""Opened from a password-reset link: choose a new password (the link works once)."""

import streamlit as st

from labelkit.auth import reset
from labelkit.db import session_scope
from labelkit.errors import LabelkitError
from labelkit.ui.session import reset_token

token = reset_token()
_, middle, _ = st.columns([1, 2, 1])
with middle:
    st.title(":material/label: labelkit")
    if st.session_state.get("lk_reset_done") == token:
        st.success("Your new password is set, and you are signed out everywhere else. Sign in with it.",
                   icon=":material/check_circle:")
        st.markdown("[Go to the sign-in page](/)")
        st.stop()
    try:
        with session_scope(write=False) as session:
            email = reset.describe_reset_link(session, token)
    except LabelkitError as e:
        st.error(str(e), icon=":material/link_off:")
        st.markdown("[Go to the sign-in page](/)")
        st.stop()

    st.subheader("Set a new password")
    st.text(f"For {email}")
    with st.form("reset"):
        password = st.text_input("New password (8 characters or more)", type="password", autocomplete="new-password")
        again = st.text_input("The new password again", type="password", autocomplete="new-password")
        submitted = st.form_submit_button("Set the password", type="primary", width="stretch")
    if submitted:
        if password != again:
            st.error("The two passwords differ.")
        else:
            try:
                with session_scope() as session:
                    reset.reset_password(session, token, password)
            except LabelkitError as e:
                st.error(str(e))
            else:
                st.session_state["lk_reset_done"] = token
                st.rerun()

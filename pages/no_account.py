"""Signed in with an identity provider, but no account here and no invite."""

import streamlit as st

from labelkit.ui.session import SESSION_OVER

visitor = st.session_state.get("lk_visitor") or {}
_, middle, _ = st.columns([1, 2, 1])
with middle:
    st.title(":material/label: labelkit")
    if st.session_state.get(SESSION_OVER):
        st.subheader("Please sign in again")
        st.warning(visitor.get("problem") or "Your session has ended.", icon=":material/logout:")
    else:
        st.subheader("Ask your admin for an invite")
        st.error(visitor.get("problem") or "There is no labelkit account for you.", icon=":material/person_off:")
        st.markdown(
            "labelkit is invite-only. Ask an admin or a project manager to send you an invite link; "
            "open it, then sign in again with the same identity."
        )
    if st.button("Sign out", icon=":material/logout:"):
        st.session_state.clear()
        st.logout()

"""Opened from an invite link: create an account (or use an existing one) and get the role."""

import streamlit as st

from labelkit.auth import invites
from labelkit.auth.accounts import authenticate
from labelkit.db import session_scope
from labelkit.errors import LabelkitError
from labelkit.ui.mailed_links import confirmation_panel
from labelkit.ui.session import (
    browser_address,
    invite_token,
    provider_buttons,
    sign_in_with_password,
)

token = invite_token()
_, middle, _ = st.columns([1, 2, 1])
with middle:
    st.title(":material/label: labelkit")
    try:
        with session_scope(write=False) as session:
            info = invites.describe_invite(session, token)
    except LabelkitError as e:
        st.error(str(e), icon=":material/link_off:")
        st.markdown("[Go to the sign-in page](/session/invite-done)")
        st.stop()

    where = f" in the project **{info.project_title}**" if info.project_title else ""
    st.subheader("You're invited")
    st.markdown(f"This invite gives you the **{info.role}** role{where}. It expires on {info.expires_at:%Y-%m-%d} (UTC).")
    if info.email:
        st.caption(f"It is for {info.email} only.")

    new_account, existing = st.tabs(["Create an account", "I already have an account"])
    confirmation = st.query_params.get("confirm")
    with new_account:
        if invites.needs_confirmation(info) and not confirmation:
            confirmation_panel(token, info.email)
        else:
            with st.form("join"):
                preset = info.email if info.email and not info.email.startswith("@") else ""
                email = st.text_input("Email", value=preset, autocomplete="email", disabled=bool(confirmation))
                name = st.text_input("Your name", autocomplete="name")
                password = st.text_input("Choose a password (8 characters or more)", type="password", autocomplete="new-password")
                again = st.text_input("The password again", type="password", autocomplete="new-password")
                submitted = st.form_submit_button("Create account and join", type="primary", width="stretch")
            if submitted:
                if password != again:
                    st.error("The two passwords differ.")
                else:
                    try:
                        with session_scope() as session:
                            user = invites.sign_up(session, token, email, name, password, confirmation)
                    except LabelkitError as e:
                        st.error(str(e))
                    else:
                        sign_in_with_password(user)
    with existing:
        with st.form("join-existing"):
            email = st.text_input("Email", autocomplete="email", key="existing-email")
            password = st.text_input("Password", type="password", key="existing-password")
            submitted = st.form_submit_button("Sign in and join", type="primary", width="stretch")
        if submitted:
            try:
                with session_scope() as session:
                    user = authenticate(session, email, password, browser_address())
                    invites.accept_invite(session, token, user)
            except LabelkitError as e:
                st.error(str(e))
            else:
                sign_in_with_password(user)

    provider_buttons("join")

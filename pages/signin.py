"""Sign in: email and password, or an identity provider from secrets.toml."""

import streamlit as st

from labelkit.auth.accounts import authenticate, sign_up_open
from labelkit.db import session_scope
from labelkit.errors import LabelkitError
from labelkit.settings import get_settings
from labelkit.ui.session import browser_address, provider_buttons, sign_in_with_password

_, middle, _ = st.columns([1, 2, 1])
with middle:
    st.title(":material/label: labelkit")
    st.subheader("Sign in")
    if st.query_params.get("signin") == "expired":
        st.warning("That sign-in link has expired. Please sign in again.")
    elif st.query_params.get("signin") == "elsewhere":
        st.warning("That sign-in link belongs to the browser that signed in, not this one. Please sign in here.")

    with st.form("signin"):
        email = st.text_input("Email", autocomplete="email")
        password = st.text_input("Password", type="password", autocomplete="current-password")
        submitted = st.form_submit_button("Sign in", type="primary", width="stretch")
    if submitted:
        try:
            with session_scope() as session:
                user = authenticate(session, email, password, browser_address())
        except LabelkitError as e:
            st.error(str(e))
        else:
            sign_in_with_password(user)

    provider_buttons("login")

    domains = get_settings().open_signup_domains
    if domains:
        with st.expander(f"New here? People at {', '.join('@' + d for d in domains)} can create an account"):
            with st.form("signup"):
                new_email = st.text_input("Work email")
                new_name = st.text_input("Your name")
                new_password = st.text_input("Choose a password (8 characters or more)", type="password")
                created = st.form_submit_button("Create account")
            if created:
                try:
                    with session_scope() as session:
                        user = sign_up_open(session, new_email, new_name, new_password)
                except LabelkitError as e:
                    st.error(str(e))
                else:
                    sign_in_with_password(user)
    st.caption("labelkit is invite-only: if you have no account, ask your admin for an invite link.")

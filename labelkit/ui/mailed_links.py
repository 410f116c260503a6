"""Links handed over: shown once to copy and, with mail set up, also mailed (what was sent,
or why not, is said as it happened). The Admin page's password-reset panel, and the join
page's request for a mailed confirmation of an invite's address."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from labelkit.auth import invites, mail, reset
from labelkit.db import session_scope
from labelkit.errors import LabelkitError
from labelkit.models import User
from labelkit.ui.links import confirmation_url, reset_url


@dataclass
class Handed:
    """A link made for someone, and what happened to the mail carrying it."""

    link: str
    mailed_to: str | None = None  # sent there
    mail_error: str | None = None  # configured, but sending failed


def mail_link(link: str, to: str | None, send: Callable[[], None]) -> Handed:
    """Mail the link (after its transaction committed) when mail is set up and there is an address."""
    if not to or not mail.mail_configured():
        return Handed(link)
    try:
        send()
    except mail.MailNotSent as e:
        return Handed(link, mail_error=str(e))
    return Handed(link, mailed_to=to)


def show_handed(handed: Handed, what: str = "link") -> None:
    if handed.mailed_to:
        st.success(f"Mailed the {what} to {handed.mailed_to}. It is also here, shown only once:", icon=":material/mail:")
    elif handed.mail_error:
        st.error(f"{handed.mail_error} Copy the {what} below and send it yourself (it is shown only once).",
                 icon=":material/error:")
    else:
        st.success(f"Copy this {what} and send it (it is shown only once):", icon=":material/link:")
    st.code(handed.link, language=None)


def reset_panel(actor: User, user_id: int, email: str) -> None:
    """A one-time password-reset link for the account (admins)."""
    key = f"lk_reset_link_{user_id}"
    help_text = ("A one-time link to set a new password; it expires, and using it signs the person out everywhere. "
                 "Earlier reset links of this account stop working.")
    label = "Mail a password reset link" if mail.mail_configured() else "Make a password reset link"
    if st.button(label, icon=":material/lock_reset:", key="lk_admin_reset", help=help_text):
        try:
            with session_scope() as session:
                issued = reset.issue_reset_link(session, actor, user_id)
        except LabelkitError as e:
            st.session_state.pop(key, None)
            st.error(str(e))
        else:
            link = reset_url(issued.token)
            st.session_state[key] = mail_link(link, issued.email, lambda: mail.send_reset(issued.email, link, issued.expires_at))
            st.session_state[f"{key}_expires"] = issued.expires_at
    handed = st.session_state.get(key)
    if handed:
        show_handed(handed, f"password reset link for {email}")
        expires = st.session_state.get(f"{key}_expires")
        if expires:
            st.caption(f"It works once, until {expires:%Y-%m-%d %H:%M} UTC.")


def confirmation_panel(token: str, email: str) -> None:
    """Sign-up through an invite for one address, with mail set up: the address is confirmed
    by a link mailed to it before any account is made."""
    st.markdown(f"This invite is for **{email}** only. We mail a link to that address to confirm it is yours; "
                "open it to choose your password and create the account.")
    if st.button("Mail me the link", type="primary", icon=":material/mail:", width="stretch", key="lk_join_confirm"):
        try:
            with session_scope(write=False) as session:
                to, confirmation = invites.confirmation_for(session, token)
            mail.send_confirmation(to, confirmation_url(token, confirmation))
        except LabelkitError as e:
            st.error(str(e))
        else:
            st.success(f"Sent to {to}: open the link in it to create your account.", icon=":material/mark_email_read:")

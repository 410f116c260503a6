"""The frame around every page: start-up, who is signed in, the invite they brought,
the sidebar, and the navigation their role allows."""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from labelkit.auth import invites
from labelkit.db import ROOT, session_scope
from labelkit.errors import LabelkitError
from labelkit.models import User
from labelkit.ui.context import USER_KEY, keep_sidebar_slot
from labelkit.ui.navigation import PAGES, navigation
from labelkit.ui.session import Visitor, invite_token, reset_token, sign_out, startup, visitor
from labelkit.ui.text import plain
from labelkit.ui.timings import timed

SIGNED_OUT_PAGES = {"signin": "Sign in", "join": "Join labelkit", "no_account": "No account", "reset": "Set a new password"}


def run() -> None:
    with timed("run"):
        _run()


def _run() -> str:
    st.set_page_config(page_title="labelkit", page_icon=":material/label:", layout="wide")
    startup()
    if reset_token():
        # A password-reset link opens its page whoever is signed in here: it is about the link's account.
        page = st.Page(ROOT / "pages" / "reset.py", title=SIGNED_OUT_PAGES["reset"], url_path="reset", default=True)
        st.navigation([page], position="hidden").run()
        return "reset"
    v = visitor()
    if v.user is None:
        st.session_state.pop(USER_KEY, None)
        st.session_state["lk_visitor"] = {"problem": v.problem, "email": v.oidc_email, "method": v.method}
        key = "no_account" if v.problem else "join" if invite_token() else "signin"
        script = ROOT / "pages" / f"{key}.py"
        # Every page's address leads to the same sign-in page, which returns there after.
        pages = [st.Page(script, title=SIGNED_OUT_PAGES[key], url_path=key, default=True)]
        pages += [st.Page(script, title=SIGNED_OUT_PAGES[key], url_path=spec.key, visibility="hidden")
                  for spec in PAGES if spec.key != "home"]
        current = st.navigation(pages, position="hidden")
        st.session_state["lk_next"] = _here(current.url_path)
        current.run()
        return key
    st.session_state[USER_KEY] = v.user.id
    _accept_invite(v.user)
    _sidebar(v)
    current = navigation(v.user)
    current.run()
    return current.url_path or "home"


def _here(url_path: str) -> str:
    """The address being opened, to come back to after signing in."""
    path = "/" if url_path in SIGNED_OUT_PAGES else f"/{url_path}"
    query = {k: v for k, v in st.query_params.to_dict().items() if k not in ("invite", "signin", "confirm", "reset")}
    return path + ("?" + urlencode(query) if query else "")


def _accept_invite(user: User) -> None:
    """A signed-in person who opens an invite link gets its role (once; opening it again changes nothing)."""
    token = invite_token()
    if not token or st.session_state.get("lk_invite_handled") == token:
        return
    st.session_state["lk_invite_handled"] = token
    if "invite" in st.query_params:
        del st.query_params["invite"]
    try:
        with session_scope() as session:
            info = invites.accept_invite(session, token, user)
    except LabelkitError as e:
        st.warning(f"{e} [Dismiss](/session/invite-done)", icon=":material/mail:")
        return
    where = f" in **{info.project_title}**" if info.project_title else ""
    st.toast(f"You have the {info.role} role{where}.", icon=":material/celebration:")
    if info.project_id:
        st.query_params["project"] = str(info.project_id)


def _sidebar(v: Visitor) -> None:
    user = v.user
    keep_sidebar_slot()
    with st.sidebar:
        st.divider()
        st.caption(f"{plain(user.display)} · {plain(user.email)}" if user.name else plain(user.email))
        if st.button("Sign out", icon=":material/logout:", key="lk_sign_out"):
            sign_out(v)

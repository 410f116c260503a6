"""Who is using this browser tab: a password session (our cookie) or an OIDC identity
(st.user), mapped to a labelkit account; and the invite they brought, if any."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlencode

import streamlit as st

from labelkit.auth import invites, oidc, ratelimit, sessions
from labelkit.db import session_scope
from labelkit.errors import LabelkitError
from labelkit.models import User

SESSION_OVER = "lk_session_over"
PROVIDER_NAMES = {"google": "Google", "microsoft": "Microsoft", "okta": "Okta", "auth0": "Auth0", "github": "GitHub"}


@st.cache_resource(show_spinner=False)
def startup() -> bool:
    """Once per process: migrations, the first admin, sample media, trash purge."""
    from labelkit.ops.startup import prepare

    prepare()
    return True


@dataclass
class Visitor:
    user: User | None
    method: str | None  # "password" or "oidc"
    problem: str | None = None  # why an identity was refused (no account, deactivated...)
    oidc_email: str | None = None


def invite_token() -> str | None:
    """An invite from the link's query parameter, or from the cookie /invite/<token> set."""
    token = st.query_params.get("invite")
    if token:
        return token
    return _cookie(invites.INVITE_COOKIE)


def reset_token() -> str | None:
    """A password-reset link's token (labelkit.auth.reset.reset_path)."""
    return st.query_params.get("reset") or None


def _cookie(name: str) -> str | None:
    try:
        value = st.context.cookies.get(name)
    except Exception:  # noqa: BLE001 - no cookies outside a browser session (AppTest)
        return None
    return value if isinstance(value, str) and value else None


def _session_cookie() -> str | None:
    return _cookie(sessions.SESSION_COOKIE)


def _oidc_claims() -> dict | None:
    try:
        if not st.user.is_logged_in:
            return None
        return st.user.to_dict()
    except Exception:  # noqa: BLE001 - auth not configured
        return None


def visitor() -> Visitor:
    token = _session_cookie()
    if token:
        with session_scope(write=False) as session:
            user = sessions.user_for_session(session, token)
        if user is not None:
            return Visitor(user, "password")
    claims = _oidc_claims()
    if claims is None:
        return Visitor(None, None)
    cache_key = f"{claims.get('iss')}|{claims.get('sub')}"
    cached = st.session_state.get("lk_oidc")
    if cached and cached[0] == cache_key:
        with session_scope(write=False) as session:
            user = session.get(User, cached[1])
        if user is not None and user.is_active:
            try:
                oidc.check_identity_session(user, claims)
            except LabelkitError:
                st.session_state.pop("lk_oidc", None)  # resolve_identity below says why
            else:
                return Visitor(user, "oidc")
    try:
        with session_scope() as session:
            user = oidc.resolve_identity(session, claims, invite_token())
    except LabelkitError as e:
        # The no-account page then asks to sign in again rather than for an invite.
        st.session_state[SESSION_OVER] = isinstance(e, oidc.SessionOver)
        return Visitor(None, "oidc", problem=str(e), oidc_email=str(claims.get("email") or ""))
    st.session_state["lk_oidc"] = (cache_key, user.id)
    return Visitor(user, "oidc")


def browser_address() -> str | None:
    """The browser's address for the sign-in limits (X-Forwarded-For only from
    LABELKIT_TRUSTED_PROXIES). Streamlit reports a loopback peer as None."""
    try:
        peer = st.context.ip_address
        forwarded = st.context.headers.get("X-Forwarded-For")
    except Exception:  # noqa: BLE001 - no request outside a browser session
        return None
    peer = peer if isinstance(peer, str) and peer else "127.0.0.1"
    return ratelimit.client_address(peer, forwarded if isinstance(forwarded, str) else None)


def providers() -> list[tuple[str | None, str]]:
    """OIDC providers from secrets.toml: (name for st.login, button label)."""
    try:
        auth = st.secrets.get("auth")
    except Exception:  # noqa: BLE001 - no secrets file
        return []
    if not auth:
        return []
    found: list[tuple[str | None, str]] = []
    if "client_id" in auth:
        found.append((None, "Sign in with your identity provider"))
    for name, section in auth.items():
        if hasattr(section, "keys") and "client_id" in section:
            found.append((name, f"Sign in with {PROVIDER_NAMES.get(name.lower(), name.title())}"))
    return found


def sign_in_with_password(user: User, next_path: str | None = None) -> None:
    """Send this browser to /session/start with a one-time ticket, and give it the ticket's
    key in a cookie first: the link alone, opened elsewhere, signs nobody in."""
    next_path = next_path or st.session_state.get("lk_next") or "/"
    with session_scope() as session:
        ticket = sessions.issue_signin_ticket(session, user)
    st.session_state["lk_ticket_issued"] = user.id
    url = f"/session/start?{urlencode({'ticket': ticket.ticket, 'next': next_path})}"
    cookie = (f"{sessions.SIGNIN_COOKIE}={ticket.browser_key}; path=/session/start; "
              f"max-age={sessions.TICKET_SECONDS}; samesite=strict")
    st.info("Signing you in…")
    st.html(
        f"<script>document.cookie = {json.dumps(cookie)} + (location.protocol === 'https:' ? '; secure' : '');"
        f"window.location.assign({json.dumps(url)});</script>",
        unsafe_allow_javascript=True,
    )
    st.stop()


def sign_out(v: Visitor) -> None:
    """One navigation only: Streamlit's /auth/logout for an identity-provider session (it
    ends the identity cookie), a POST to our /session/logout for a password session."""
    st.session_state.clear()
    if v.method == "oidc":
        st.logout()
        return
    token = _session_cookie()
    st.info("Signing you out…")
    st.html(_post_script("/session/logout", {"proof": sessions.sign_out_proof(token) if token else ""}),
            unsafe_allow_javascript=True)
    st.stop()


def _post_script(url: str, fields: dict[str, str]) -> str:
    """A script that sends the browser to `url` by a form POST with these fields."""
    return (
        "<script>(() => {const form = document.createElement('form');"
        f"form.method = 'post'; form.action = {json.dumps(url)};"
        f"for (const [name, value] of Object.entries({json.dumps(fields)})) {{"
        "const input = document.createElement('input'); input.type = 'hidden';"
        "input.name = name; input.value = value; form.appendChild(input);}"
        "document.body.appendChild(form); form.submit();})();</script>"
    )


def provider_buttons(key: str) -> None:
    """A "Sign in with ..." button per OIDC provider in secrets.toml."""
    for name, label in providers():
        if st.button(label, icon=":material/key:", width="stretch", key=f"{key}-{name}"):
            st.login(name) if name else st.login()

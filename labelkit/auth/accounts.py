"""Accounts: create, authenticate, change role, deactivate; the first admin."""

from __future__ import annotations

import re

from sqlmodel import Session, col, func, select

from labelkit import audit
from labelkit.auth import crypto, ratelimit, sessions
from labelkit.auth.permissions import ROLE_RANK, Capability, is_machine, require
from labelkit.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from labelkit.models import Membership, Role, User
from labelkit.settings import Settings

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not _EMAIL.match(email):
        raise InvalidInput(f"'{email}' is not an email address.")
    return email


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or is_machine(user):  # a model server's account is not a person to manage
        raise NotFound(f"There is no user {user_id}.")
    return user


def find_user(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email.strip().lower())).first()


def create_user(
    session: Session,
    email: str,
    *,
    name: str = "",
    password: str | None = None,
    role: Role = Role.ANNOTATOR,
    actor: User | None = None,
) -> User:
    """Create an account. `actor` is None for the operator (CLI, first start)."""
    if actor is not None:
        require(session, actor, Capability.USER_MANAGE)
    email = normalize_email(email)
    if find_user(session, email):
        raise Conflict(f"An account for {email} already exists.")
    if password is not None and (problem := crypto.password_problem(password)):
        raise InvalidInput(problem)
    user = User(
        email=email,
        name=name.strip(),
        password_hash=crypto.hash_password(password) if password else None,
        role=Role(role),
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", f"user:{user.id}", email=email, role=str(role))
    return user


def authenticate(session: Session, email: str, password: str, address: str | None = None) -> User:
    """The account for this email and password, or a refusal that does not say which was wrong.

    Guarded by the sign-in limits (labelkit.auth.ratelimit) for the account and the
    browser's address: the check is counted (and committed) before the password is looked
    at, since the caller's scope rolls back on the refusal; call this before any other write
    in that scope."""
    ratelimit.take_attempt(session, email, address)
    user = find_user(session, email or "")
    # An unknown email is checked against a dummy hash, so it costs what a wrong password costs;
    # a model server's account never signs in.
    matches = crypto.verify_password(user.password_hash if user else None, password or "")
    if not matches or user is None or is_machine(user):
        raise InvalidInput("Wrong email or password.")
    if not user.is_active:
        raise PermissionDenied("This account is deactivated. Ask an admin to reactivate it.")
    ratelimit.clear(session, email)
    return user


def change_password(session: Session, user: User, current: str, new: str, address: str | None = None) -> None:
    """Needs the current password, under the same limits as a sign-in (so an open browser
    cannot be used to guess it); call it before any other write in the scope."""
    if user.password_hash:
        ratelimit.take_attempt(session, user.email, address)
        if not crypto.verify_password(user.password_hash, current):
            raise InvalidInput("The current password is wrong.")
        ratelimit.clear(session, user.email)
    if problem := crypto.password_problem(new):
        raise InvalidInput(problem)
    user.password_hash = crypto.hash_password(new)
    session.add(user)
    audit.record(session, user, "user.password", f"user:{user.id}")


def list_users(session: Session, actor: User) -> list[dict]:
    require(session, actor, Capability.USER_MANAGE)
    projects = dict(
        session.exec(
            select(Membership.user_id, func.count(Membership.id)).group_by(Membership.user_id)
        ).all()
    )
    users = session.exec(select(User).where(User.role != Role.MODEL_SERVER).order_by(col(User.id))).all()
    return [
        {
            "id": u.id,
            "email": u.email,
            "name": u.name,
            "role": u.role,
            "active": u.is_active,
            "projects": projects.get(u.id, 0),
            "password": bool(u.password_hash),
            "last_seen": u.last_seen_at,
            "created": u.created_at,
        }
        for u in users
    ]


def _active_admins(session: Session) -> int:
    return session.exec(
        select(func.count(User.id)).where(User.role == Role.ADMIN, User.is_active.is_(True))
    ).one()


def set_role(session: Session, actor: User, user_id: int, role: Role) -> User:
    require(session, actor, Capability.USER_MANAGE)
    user = get_user(session, user_id)
    role = Role(role)
    if user.role == Role.ADMIN and role != Role.ADMIN and _active_admins(session) <= 1:
        raise Conflict("This is the last admin; make someone else admin first.")
    old = user.role
    user.role = role
    session.add(user)
    audit.record(session, actor, "user.role", f"user:{user.id}", email=user.email, old=str(old), new=str(role))
    return user


def set_active(session: Session, actor: User, user_id: int, active: bool) -> User:
    require(session, actor, Capability.USER_MANAGE)
    user = get_user(session, user_id)
    if not active and user.id == actor.id:
        raise Conflict("You cannot deactivate your own account.")
    if not active and user.role == Role.ADMIN and _active_admins(session) <= 1:
        raise Conflict("This is the last active admin; make someone else admin first.")
    user.is_active = active
    session.add(user)
    if not active:
        # Every session and token of a deactivated user ends now.
        sessions.revoke_all(session, user, api_tokens=True)
    audit.record(session, actor, "user.activate" if active else "user.deactivate", f"user:{user.id}", email=user.email)
    return user


def end_sessions(session: Session, actor: User, user_id: int) -> int:
    """An admin signs a user out everywhere (password and identity-provider sessions);
    their API tokens stay. Returns how many password sessions were open."""
    require(session, actor, Capability.USER_MANAGE)
    user = get_user(session, user_id)
    ended = sessions.revoke_all(session, user, api_tokens=False)
    audit.record(session, actor, "user.sessions_end", f"user:{user.id}", email=user.email, sessions=ended)
    return ended


def ensure_first_admin(session: Session, settings: Settings) -> User | None:
    """Create LABELKIT_ADMIN_EMAIL as an admin on first start, when no admin exists yet."""
    if not settings.admin_email:
        return None
    if session.exec(select(User).where(User.role == Role.ADMIN)).first():
        return None
    existing = find_user(session, settings.admin_email)
    if existing:
        existing.role = Role.ADMIN
        session.add(existing)
        return existing
    return create_user(
        session, settings.admin_email, name="Admin", password=settings.admin_password or None, role=Role.ADMIN
    )


def higher_role(a: Role | str, b: Role | str) -> Role:
    return max(Role(a), Role(b), key=ROLE_RANK.get)


def sign_up_open(session: Session, email: str, name: str, password: str) -> User:
    """Sign-up without an invite, only for the domains in LABELKIT_OPEN_SIGNUP_DOMAINS."""
    from labelkit.settings import get_settings

    email = normalize_email(email)
    if email.split("@", 1)[1] not in get_settings().open_signup_domains:
        raise PermissionDenied("Sign-up is by invitation only here: ask your admin for an invite link.")
    return create_user(session, email, name=name, password=password)

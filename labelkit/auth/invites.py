"""Invite links: a random token (stored hashed) that grants a role, optionally in one
project, to whoever opens it while it is valid (expiry, use limit, email restriction)."""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from sqlmodel import Session, col, select

from labelkit import audit
from labelkit.auth import crypto
from labelkit.auth.accounts import create_user, find_user, higher_role, normalize_email
from labelkit.auth.mail import mail_configured
from labelkit.auth.permissions import ROLE_RANK, Capability, can, project_role, require
from labelkit.db import is_sqlite
from labelkit.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from labelkit.models import Invite, Membership, Project, Role, User, utcnow

INVITE_COOKIE = "labelkit_invite"
CONFIRM_HOURS = 24
NOT_CONFIRMED = "Confirm your address first: open the link we mailed to {email} (ask for a new one on the invite page)."


@dataclass
class InviteInfo:
    """What the person opening a link is told about it."""

    role: Role
    project_id: int | None
    project_title: str | None
    email: str | None
    expires_at: object


def invite_path(token: str) -> str:
    return f"/invite/{token}"


def create_invite(
    session: Session,
    actor: User,
    role: Role,
    *,
    project_id: int | None = None,
    email: str | None = None,
    expires_days: float | None = None,
    max_uses: int = 1,
) -> tuple[Invite, str]:
    """Returns the invite and its token; the token is shown once and never stored."""
    from labelkit.settings import get_settings

    role = Role(role)
    if project_id is None:
        require(session, actor, Capability.USER_MANAGE)
    else:
        require(session, actor, Capability.MEMBER_INVITE, project_id)
        if role == Role.ADMIN:
            raise InvalidInput("The admin role is portal-wide: create that invite without a project.")
        project = session.get(Project, project_id)
        if project is None or project.deleted_at:
            raise NotFound(f"There is no project {project_id}.")
        own = project_role(session, actor, project_id)
        if own is None or ROLE_RANK[role] > ROLE_RANK[own]:
            raise PermissionDenied(f"You cannot invite someone as {role}: it is above your own role.")
    if max_uses < 1:
        raise InvalidInput("An invite must allow at least one use.")
    days = get_settings().invite_days if expires_days is None else expires_days
    if days <= 0:
        raise InvalidInput("An invite must expire in the future.")
    restriction = _normalize_restriction(email)
    token = crypto.new_token()
    invite = Invite(
        token_hash=crypto.token_hash(token),
        role=role,
        project_id=project_id,
        email=restriction,
        expires_at=utcnow() + timedelta(days=days),
        max_uses=max_uses,
        created_by=actor.id,
    )
    session.add(invite)
    session.flush()
    audit.record(
        session, actor, "invite.create", f"invite:{invite.id}", project_id,
        role=str(role), email=restriction, max_uses=max_uses, days=days,
    )
    return invite, token


def _normalize_restriction(email: str | None) -> str | None:
    if not email or not email.strip():
        return None
    email = email.strip().lower()
    if email.startswith("@"):
        if "." not in email[1:]:
            raise InvalidInput(f"'{email}' is not a domain; write it like @example.com.")
        return email
    return normalize_email(email)


def _find(session: Session, token: str | None, for_update: bool = False) -> Invite:
    if not token:
        raise InvalidInput("This invite link is not valid. Ask whoever sent it for a new one.")
    query = select(Invite).where(Invite.token_hash == crypto.token_hash(token))
    if for_update and not is_sqlite(session):
        query = query.with_for_update()
    invite = session.exec(query).first()
    if invite is None or not crypto.same_hash(token, invite.token_hash):
        raise InvalidInput("This invite link is not valid. Ask whoever sent it for a new one.")
    return invite


def _check_usable(session: Session, invite: Invite, email: str | None) -> None:
    if invite.revoked_at:
        raise InvalidInput("This invite has been revoked. Ask whoever sent it for a new one.")
    if invite.expires_at <= utcnow():
        raise InvalidInput(
            f"This invite expired on {invite.expires_at:%Y-%m-%d %H:%M} UTC. Ask whoever sent it for a new one."
        )
    if invite.uses >= invite.max_uses:
        raise InvalidInput("This invite has already been used. Ask whoever sent it for a new one.")
    if invite.project_id is not None:
        project = session.get(Project, invite.project_id)
        if project is None or project.deleted_at:
            raise InvalidInput("The project of this invite no longer exists.")
    if not _creator_may_still_grant(session, invite):
        raise InvalidInput(
            "Whoever created this invite can no longer grant this role, so it is no longer valid. "
            "Ask an admin or a project manager for a new one."
        )
    if email is not None and invite.email:
        email = email.strip().lower()
        allowed = email.endswith(invite.email) if invite.email.startswith("@") else email == invite.email
        if not allowed:
            raise InvalidInput(f"This invite is for {invite.email} only; you are signed in as {email}.")


def _creator_may_still_grant(session: Session, invite: Invite) -> bool:
    """An invite grants no more than its creator holds now: one made by someone since
    deactivated or demoted below its role is void (the same rule as create_invite)."""
    creator = session.get(User, invite.created_by) if invite.created_by is not None else None
    role = Role(invite.role)
    if invite.project_id is None:
        return can(session, creator, Capability.USER_MANAGE) and ROLE_RANK[Role(creator.role)] >= ROLE_RANK[role]
    if not can(session, creator, Capability.MEMBER_INVITE, invite.project_id):
        return False
    own = project_role(session, creator, invite.project_id)
    return own is not None and ROLE_RANK[own] >= ROLE_RANK[role]


def describe_invite(session: Session, token: str | None) -> InviteInfo:
    """What the invite grants, or a refusal saying why it cannot be used."""
    invite = _find(session, token)
    _check_usable(session, invite, None)
    return describe_invite_row(session, invite)


def accept_invite(session: Session, token: str, user: User) -> InviteInfo:
    """Grant the invite's role to an existing account and count the use."""
    invite = _find(session, token, for_update=True)
    if _already_granted(session, invite, user):
        return describe_invite_row(session, invite)
    _check_usable(session, invite, user.email)
    _grant(session, invite, user)
    return describe_invite_row(session, invite)


def create_account(session: Session, token: str, email: str, name: str = "", password: str | None = None) -> User:
    """A new account through an invite (password or OIDC); nothing is created if it is refused."""
    invite = _find(session, token, for_update=True)
    email = normalize_email(email)
    _check_usable(session, invite, email)
    if find_user(session, email):
        raise Conflict(f"An account for {email} already exists: sign in, then open the invite link again.")
    user = create_user(session, email, name=name, password=password, role=Role.ANNOTATOR)
    if password is None:
        user.password_hash = None
    _grant(session, invite, user)
    return user


def sign_up(session: Session, token: str, email: str, name: str, password: str, confirmation: str | None = None) -> User:
    """A password account through an invite. With mail set up, an invite for one exact
    address needs the confirmation from the link mailed there (confirmation_for)."""
    if not password:
        raise InvalidInput("Choose a password.")
    invite = _find(session, token)
    if _needs_confirmation(invite):
        _check_confirmation(invite, confirmation)
    return create_account(session, token, email, name, password)


def needs_confirmation(info: InviteInfo) -> bool:
    """Whether a password sign-up through this invite waits for a mailed confirmation."""
    return bool(info.email) and not info.email.startswith("@") and mail_configured()


def _needs_confirmation(invite: Invite) -> bool:
    return bool(invite.email) and not invite.email.startswith("@") and mail_configured()


def confirmation_for(session: Session, token: str | None) -> tuple[str, str]:
    """(address, confirmation) to mail for an invite restricted to one address. The
    confirmation is an HMAC of the invite and the address under the portal's secret key,
    valid for CONFIRM_HOURS: nothing is stored, and the invite's use limit and the account
    that its use creates make it work once."""
    invite = _find(session, token)
    if not invite.email or invite.email.startswith("@"):
        raise InvalidInput("This invite is not for one address: there is nothing to confirm.")
    _check_usable(session, invite, invite.email)
    expires = int(time.time()) + CONFIRM_HOURS * 3600
    return invite.email, f"{expires}.{_confirmation_mac(invite, expires)}"


def confirmation_path(token: str, confirmation: str) -> str:
    return "/?" + urlencode({"invite": token, "confirm": confirmation})


def confirmed_email(session: Session, token: str | None, confirmation: str | None) -> str:
    """The invite's address when the confirmation is good, else InvalidInput saying why."""
    invite = _find(session, token)
    _check_usable(session, invite, invite.email)
    _check_confirmation(invite, confirmation)
    return invite.email


def _confirmation_mac(invite: Invite, expires: int) -> str:
    from labelkit.settings import get_settings

    message = f"labelkit invite confirmation\0{invite.id}\0{invite.token_hash}\0{invite.email}\0{expires}"
    return hmac.new(get_settings().signing_key(), message.encode(), hashlib.sha256).hexdigest()


def _check_confirmation(invite: Invite, confirmation: str | None) -> None:
    expires, _, mac = (confirmation or "").partition(".")
    good = expires.isascii() and expires.isdigit() and hmac.compare_digest(mac.encode(), _confirmation_mac(invite, int(expires)).encode())
    if not good:
        raise InvalidInput(NOT_CONFIRMED.format(email=invite.email))
    if int(expires) < time.time():
        raise InvalidInput(f"The confirmation link for {invite.email} has expired: ask for a new one on the invite page.")


def _grant(session: Session, invite: Invite, user: User) -> None:
    if invite.project_id is None:
        user.role = higher_role(user.role, invite.role)
        session.add(user)
    else:
        membership = session.exec(
            select(Membership).where(Membership.project_id == invite.project_id, Membership.user_id == user.id)
        ).first()
        if membership is None:
            session.add(Membership(project_id=invite.project_id, user_id=user.id, role=invite.role))
        else:
            membership.role = higher_role(membership.role, invite.role)
            session.add(membership)
    invite.uses += 1
    session.add(invite)
    session.flush()
    audit.record(
        session, user, "invite.accept", f"invite:{invite.id}", invite.project_id, role=str(invite.role), email=user.email
    )


def _already_granted(session: Session, invite: Invite, user: User) -> bool:
    """Opening a link again, or with a role one already has, changes nothing and uses nothing."""
    if invite.project_id is None:
        return ROLE_RANK[Role(user.role)] >= ROLE_RANK[Role(invite.role)]
    own = project_role(session, user, invite.project_id)
    return own is not None and ROLE_RANK[own] >= ROLE_RANK[Role(invite.role)]


def describe_invite_row(session: Session, invite: Invite) -> InviteInfo:
    project = session.get(Project, invite.project_id) if invite.project_id else None
    return InviteInfo(Role(invite.role), invite.project_id, project.title if project else None, invite.email, invite.expires_at)


def revoke_invite(session: Session, actor: User, invite_id: int) -> None:
    invite = session.get(Invite, invite_id)
    if invite is None:
        raise NotFound(f"There is no invite {invite_id}.")
    if invite.project_id is None:
        require(session, actor, Capability.USER_MANAGE)
    else:
        require(session, actor, Capability.MEMBER_INVITE, invite.project_id)
    if invite.revoked_at is None:
        invite.revoked_at = utcnow()
        session.add(invite)
        audit.record(session, actor, "invite.revoke", f"invite:{invite.id}", invite.project_id)


def list_invites(session: Session, actor: User, project_id: int | None = None) -> list[dict]:
    """Invites the actor may see: all of them for an admin, a project's for its managers."""
    query = select(Invite, Project.title).join(Project, Project.id == Invite.project_id, isouter=True)
    if project_id is None:
        require(session, actor, Capability.USER_MANAGE)
    else:
        require(session, actor, Capability.MEMBER_INVITE, project_id)
        query = query.where(Invite.project_id == project_id)
    now = utcnow()
    rows = []
    for invite, title in session.exec(query.order_by(col(Invite.id).desc())).all():
        if invite.revoked_at:
            status = "revoked"
        elif invite.expires_at <= now:
            status = "expired"
        elif invite.uses >= invite.max_uses:
            status = "used up"
        else:
            status = "active"
        rows.append(
            {
                "id": invite.id,
                "role": invite.role,
                "project": title or "(portal-wide)",
                "for": invite.email or "anyone",
                "uses": f"{invite.uses}/{invite.max_uses}",
                "expires": invite.expires_at,
                "status": status,
            }
        )
    return rows

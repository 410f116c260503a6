"""Invite links: random tokens stored hashed; refused when forged, expired, revoked or used up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import func, select

from labelkit.auth import invites
from labelkit.auth.permissions import project_role
from labelkit.db import session_scope
from labelkit.errors import Conflict, InvalidInput, PermissionDenied
from labelkit.models import Invite, Membership, Role, User, utcnow


def _counts() -> tuple[int, int]:
    with session_scope() as s:
        return s.exec(select(func.count(User.id))).one(), s.exec(select(func.count(Membership.id))).one()


@pytest.fixture
def team(factory):
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, title="Reviews")
    return admin, project


def _invite(actor, project=None, **kwargs) -> str:
    with session_scope() as s:
        _, token = invites.create_invite(s, actor, kwargs.pop("role", Role.ANNOTATOR), project_id=project.id if project else None, **kwargs)
    return token


def test_tokens_are_random_and_stored_only_hashed(team) -> None:
    admin, project = team
    tokens = {_invite(admin, project) for _ in range(3)}
    assert len(tokens) == 3 and all(len(t) >= 43 for t in tokens)  # 256 bits, URL-safe
    with session_scope() as s:
        stored = {i.token_hash for i in s.exec(select(Invite)).all()}
    assert not tokens & stored


def test_a_project_invite_creates_the_account_with_the_membership(team) -> None:
    admin, project = team
    token = _invite(admin, project, role=Role.REVIEWER)
    with session_scope() as s:
        info = invites.describe_invite(s, token)
        assert (info.role, info.project_title) == (Role.REVIEWER, "Reviews")
        user = invites.sign_up(s, token, "new@example.com", "New", "long password")
    with session_scope() as s:
        assert project_role(s, user, project.id) == Role.REVIEWER
        assert s.get(User, user.id).role == Role.ANNOTATOR


def test_a_portal_invite_grants_the_portal_role(team) -> None:
    admin, _ = team
    token = _invite(admin, None, role=Role.MANAGER)
    with session_scope() as s:
        user = invites.sign_up(s, token, "lead@example.com", "Lead", "long password")
    assert user.role == Role.MANAGER


@pytest.mark.parametrize("case", ["forged", "expired", "revoked", "used up"])
def test_unusable_invites_are_refused_and_grant_nothing(team, case: str) -> None:
    admin, project = team
    token = _invite(admin, project)
    if case == "forged":
        token = token[:-4] + "AAAA"
    elif case == "expired":
        with session_scope() as s:
            invite = s.exec(select(Invite)).one()
            invite.expires_at = utcnow() - timedelta(minutes=1)
            s.add(invite)
    elif case == "revoked":
        with session_scope() as s:
            invites.revoke_invite(s, admin, s.exec(select(Invite)).one().id)
    else:
        with session_scope() as s:
            invites.sign_up(s, token, "first@example.com", "First", "long password")
    before = _counts()
    with session_scope() as s, pytest.raises(InvalidInput) as refused:
        invites.sign_up(s, token, "late@example.com", "Late", "long password")
    expected = {"forged": "not valid", "expired": "expired on", "revoked": "revoked", "used up": "already been used"}[case]
    assert expected in str(refused.value)
    assert "Ask whoever sent it" in str(refused.value)
    assert _counts() == before


def test_email_and_domain_restrictions(team) -> None:
    admin, project = team
    exact = _invite(admin, project, email="Kim@Example.com")
    domain = _invite(admin, project, email="@acme.org", max_uses=5)
    before = _counts()
    with session_scope() as s, pytest.raises(InvalidInput, match=r"kim@example\.com only"):
        invites.sign_up(s, exact, "someone@example.com", "S", "long password")
    with session_scope() as s, pytest.raises(InvalidInput, match=r"@acme\.org only"):
        invites.sign_up(s, domain, "x@evil.org", "X", "long password")
    assert _counts() == before
    with session_scope() as s:
        invites.sign_up(s, exact, "kim@example.com", "Kim", "long password")
        invites.sign_up(s, domain, "a@acme.org", "A", "long password")
        invites.sign_up(s, domain, "b@acme.org", "B", "long password")
    with session_scope() as s:
        uses = sorted(i.uses for i in s.exec(select(Invite)).all())
    assert uses == [1, 2]


def test_use_limit_is_counted(team) -> None:
    admin, project = team
    token = _invite(admin, project, max_uses=2)
    with session_scope() as s:
        invites.sign_up(s, token, "one@example.com", "1", "long password")
        invites.sign_up(s, token, "two@example.com", "2", "long password")
    with session_scope() as s, pytest.raises(InvalidInput, match="already been used"):
        invites.sign_up(s, token, "three@example.com", "3", "long password")


def test_opening_an_invite_again_uses_nothing(team, factory) -> None:
    admin, project = team
    member = factory.user()
    token = _invite(admin, project, max_uses=1)
    with session_scope() as s:
        invites.accept_invite(s, token, member)
    with session_scope() as s:
        invites.accept_invite(s, token, member)  # a refresh with the invite cookie still set
        assert s.exec(select(Invite)).one().uses == 1


def test_an_existing_account_cannot_sign_up_again(team, factory) -> None:
    admin, project = team
    factory.user(email="known@example.com")
    token = _invite(admin, project)
    with session_scope() as s, pytest.raises(Conflict, match="sign in"):
        invites.sign_up(s, token, "known@example.com", "K", "long password")


def test_a_manager_invites_only_to_their_project_and_not_above_their_role(team, factory) -> None:
    admin, project = team
    other = factory.project(admin, title="Other")
    reviewer = factory.user()
    factory.member(project, reviewer, Role.REVIEWER)
    manager = factory.user()
    factory.member(project, manager, Role.MANAGER)
    assert _invite(manager, project, role=Role.MANAGER)
    with session_scope() as s, pytest.raises(PermissionDenied):
        invites.create_invite(s, manager, Role.ANNOTATOR, project_id=other.id)
    with session_scope() as s, pytest.raises(PermissionDenied):
        invites.create_invite(s, manager, Role.ADMIN)
    with session_scope() as s, pytest.raises(PermissionDenied):
        invites.create_invite(s, reviewer, Role.ANNOTATOR, project_id=project.id)


def test_invites_must_expire_and_allow_a_use(team) -> None:
    admin, project = team
    with session_scope() as s, pytest.raises(InvalidInput):
        invites.create_invite(s, admin, Role.ANNOTATOR, project_id=project.id, max_uses=0)
    with session_scope() as s, pytest.raises(InvalidInput):
        invites.create_invite(s, admin, Role.ANNOTATOR, project_id=project.id, expires_days=0)
    with session_scope() as s, pytest.raises(InvalidInput, match="domain"):
        invites.create_invite(s, admin, Role.ANNOTATOR, project_id=project.id, email="@nodot")

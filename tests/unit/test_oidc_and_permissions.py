"""Who an identity from the provider is here, and what each role may do."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from labelkit.auth import invites, oidc
from labelkit.auth.permissions import Capability, can, require
from labelkit.db import session_scope
from labelkit.errors import InvalidInput, NotFound, PermissionDenied
from labelkit.models import Identity, Role, User
from labelkit.projects.crud import get_project

ISS = "http://localhost:9400"


def claims(sub: str, email: str, verified: bool = True) -> dict:
    return {"iss": ISS, "sub": sub, "email": email, "email_verified": verified, "name": sub, "provider": "default"}


def _users() -> int:
    with session_scope() as s:
        return s.exec(select(func.count(User.id))).one()


def test_no_account_and_no_invite_is_told_to_ask_for_one(settings) -> None:
    with session_scope() as s, pytest.raises(oidc.NoAccount, match="Ask your admin for an invite"):
        oidc.resolve_identity(s, claims("stranger", "stranger@example.com"))
    assert _users() == 0


def test_an_invite_creates_the_account_and_links_the_identity(factory) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin)
    with session_scope() as s:
        _, token = invites.create_invite(s, admin, Role.ANNOTATOR, project_id=project.id)
    with session_scope() as s:
        user = oidc.resolve_identity(s, claims("kim", "kim@example.com"), token)
    with session_scope() as s:
        assert can(s, user, Capability.TASK_ANNOTATE, project.id)
        again = oidc.resolve_identity(s, claims("kim", "kim@example.com"))  # next sign-in: linked
    assert again.id == user.id


def test_a_verified_email_matches_an_existing_account(factory) -> None:
    existing = factory.user(email="pat@example.com")
    with session_scope() as s:
        assert oidc.resolve_identity(s, claims("pat-sub", "pat@example.com")).id == existing.id
        assert s.exec(select(Identity)).one().user_id == existing.id


def test_an_unverified_email_is_not_trusted(factory, settings, monkeypatch) -> None:
    admin = factory.user(Role.ADMIN)
    factory.user(email="victim@example.com")
    project = factory.project(admin)
    with session_scope() as s:
        _, token = invites.create_invite(s, admin, Role.ANNOTATOR, project_id=project.id)
    with session_scope() as s, pytest.raises(oidc.NoAccount):
        oidc.resolve_identity(s, claims("attacker", "victim@example.com", verified=False))
    with session_scope() as s, pytest.raises(InvalidInput, match="did not confirm your email"):
        oidc.resolve_identity(s, claims("attacker", "new@example.com", verified=False), token)
    monkeypatch.setattr(settings, "trust_unverified_oidc_email", True)
    with session_scope() as s:
        assert oidc.resolve_identity(s, claims("someone", "new@example.com", verified=False), token).email == "new@example.com"


def test_open_signup_domains_let_identities_in(settings, monkeypatch) -> None:
    monkeypatch.setattr(settings, "open_signup_domains", ["acme.com"])
    with session_scope() as s:
        user = oidc.resolve_identity(s, claims("a", "a@acme.com"))
    assert user.role == Role.ANNOTATOR
    with session_scope() as s, pytest.raises(oidc.NoAccount):
        oidc.resolve_identity(s, claims("b", "b@elsewhere.com"))


def test_a_deactivated_account_is_refused(factory) -> None:
    admin = factory.user(Role.ADMIN)
    user = factory.user(email="gone@example.com")
    from labelkit.auth.accounts import set_active

    with session_scope() as s:
        set_active(s, admin, user.id, False)
    with session_scope() as s, pytest.raises(PermissionDenied, match="deactivated"):
        oidc.resolve_identity(s, claims("gone", "gone@example.com"))


def test_roles_and_capabilities(factory) -> None:
    admin = factory.user(Role.ADMIN)
    a = factory.project(admin, title="A")
    b = factory.project(admin, title="B")
    people = {role: factory.user() for role in (Role.MANAGER, Role.REVIEWER, Role.ANNOTATOR)}
    for role, user in people.items():
        factory.member(a, user, role)
    expectations = {
        Capability.TASK_ANNOTATE: {Role.MANAGER, Role.REVIEWER, Role.ANNOTATOR},
        Capability.ANNOTATION_REVIEW: {Role.MANAGER, Role.REVIEWER},
        Capability.TASK_IMPORT: {Role.MANAGER},
        Capability.PROJECT_EXPORT: {Role.MANAGER},
        Capability.PROJECT_DELETE: {Role.MANAGER},
        Capability.MEMBER_INVITE: {Role.MANAGER},
        Capability.TASK_ASSIGN: {Role.MANAGER},
        Capability.GROUND_TRUTH: {Role.MANAGER},
        Capability.TASK_BROWSE: {Role.MANAGER, Role.REVIEWER},
        Capability.TASK_COMMENT: {Role.MANAGER, Role.REVIEWER, Role.ANNOTATOR},
    }
    with session_scope() as s:
        for capability, allowed in expectations.items():
            for role, user in people.items():
                assert can(s, user, capability, a.id) == (role in allowed), (capability, role)
                assert not can(s, user, capability, b.id), (capability, role, "other project")
            assert can(s, admin, capability, b.id)
        for user in people.values():
            assert not can(s, user, Capability.USER_MANAGE)


def test_refusals_name_the_role_needed(factory) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin)
    annotator = factory.user()
    factory.member(project, annotator, Role.ANNOTATOR)
    with session_scope() as s, pytest.raises(PermissionDenied, match="needs the manager role of this project"):
        require(s, annotator, Capability.TASK_IMPORT, project.id)
    with session_scope() as s, pytest.raises(PermissionDenied, match="needs the admin role"):
        require(s, annotator, Capability.USER_MANAGE)


def test_a_project_of_someone_else_is_not_found_or_refused(factory) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin)
    outsider = factory.user()
    with session_scope() as s, pytest.raises(PermissionDenied):
        get_project(s, outsider, project.id)
    with session_scope() as s, pytest.raises(NotFound):
        get_project(s, outsider, 9999)

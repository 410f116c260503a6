"""Signing in, invites, and which pages each role reaches."""

from __future__ import annotations

import re

import pytest
from sqlmodel import func, select

from labelkit.auth import invites
from labelkit.db import session_scope
from labelkit.models import AuthToken, Membership, Role, User
from labelkit.ui.navigation import PAGES, allowed

# Page tests: what a page draws and wires; the SQL under it is tested on both databases in tests/unit.
pytestmark = pytest.mark.one_database


def texts(at) -> str:
    """Everything the page says, with Markdown's backslash escapes removed."""
    parts = [e.value for kind in ("title", "subheader", "markdown", "error", "warning", "info", "success", "caption") for e in getattr(at, kind)]
    parts += [re.sub(r"<[^>]*>", "", e.value) for e in at.html]  # sanitized HTML (instructions): its text
    return re.sub(r"\\(.)", r"\1", "\n".join(str(p) for p in parts))


def count(model) -> int:
    with session_scope() as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_signed_out_visitors_get_the_sign_in_page(app_as, factory) -> None:
    factory.user(email="ann@example.com", password="correct horse battery")
    at = app_as(None)
    assert "Sign in" in texts(at)
    at.text_input[0].input("ann@example.com")
    at.text_input[1].input("wrong password!")
    at.button[0].click().run()
    assert "Wrong email or password." in texts(at)
    assert count(AuthToken) == 0
    at.text_input[1].input("correct horse battery")
    at.button[0].click().run()
    with session_scope() as s:
        assert s.exec(select(AuthToken.kind)).all() == ["ticket"]  # the browser trades it for a cookie


@pytest.fixture
def invite(factory):
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, title="Birds")

    def make(**kwargs) -> str:
        with session_scope() as s:
            return invites.create_invite(s, admin, kwargs.pop("role", Role.ANNOTATOR), project_id=project.id, **kwargs)[1]

    make.project = project
    return make


def test_an_invite_link_signs_someone_up_with_the_role(app_as, invite) -> None:
    token = invite(role=Role.REVIEWER)
    at = app_as(None, invite=token)
    assert "This invite gives you the **reviewer** role in the project **Birds**" in texts(at)
    form = at.text_input
    form[0].input("new@example.com")
    form[1].input("New Person")
    form[2].input("a good password")
    form[3].input("a good password")
    at.button[0].click().run()
    with session_scope() as s:
        user = s.exec(select(User).where(User.email == "new@example.com")).one()
        membership = s.exec(select(Membership).where(Membership.user_id == user.id)).one()
        tickets = s.exec(select(AuthToken).where(AuthToken.user_id == user.id)).all()
    assert (membership.project_id, membership.role) == (invite.project.id, "reviewer")
    assert [t.kind for t in tickets] == ["ticket"]


@pytest.mark.parametrize("case", ["forged", "revoked", "used"])
def test_bad_invite_links_are_refused_and_create_nothing(app_as, invite, factory, case: str) -> None:
    token = invite()
    if case == "forged":
        token = "forged-" + token[7:]
    elif case == "revoked":
        with session_scope() as s:
            invites.revoke_invite(s, s.exec(select(User).where(User.role == Role.ADMIN)).one(), 1)
    else:
        with session_scope() as s:
            invites.sign_up(s, token, "first@example.com", "First", "a good password")
    users = count(User)
    at = app_as(None, invite=token)
    expected = {"forged": "not valid", "revoked": "revoked", "used": "already been used"}[case]
    assert expected in texts(at)
    assert not any(b.label == "Create account and join" for b in at.button)
    assert count(User) == users


def test_an_identity_without_account_or_invite_is_told_to_ask(app_as) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import APP

    at = AppTest.from_file(APP, default_timeout=30)
    at.user = {"is_logged_in": True, "iss": "http://idp", "sub": "x1", "email": "x@example.com", "email_verified": True}
    at.run()
    assert "Ask your admin for an invite" in texts(at)
    assert "no labelkit account for you" in texts(at)
    assert count(User) == 0


def test_an_identity_with_an_invite_gets_an_account(settings, invite) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import APP

    token = invite()
    at = AppTest.from_file(APP, default_timeout=30)
    at.user = {"is_logged_in": True, "iss": "http://idp", "sub": "x2", "email": "joiner@example.com", "email_verified": True, "name": "Jo"}
    at.query_params["invite"] = token
    at.run()
    assert not at.exception
    assert "Hello, Jo" in texts(at)
    with session_scope() as s:
        user = s.exec(select(User).where(User.email == "joiner@example.com")).one()
        assert s.exec(select(Membership).where(Membership.user_id == user.id)).one().project_id == invite.project.id


def test_each_role_sees_only_its_pages(factory) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin)
    people = {role: factory.user() for role in (Role.ANNOTATOR, Role.REVIEWER, Role.MANAGER)}
    for role, user in people.items():
        factory.member(project, user, role)
    visible = {role: {p.key for p in PAGES if allowed(user, p)} for role, user in people.items()}
    visible[Role.ADMIN] = {p.key for p in PAGES if allowed(admin, p)}
    assert visible[Role.ANNOTATOR] == {"home", "label", "inbox", "account"}
    assert visible[Role.REVIEWER] == {"home", "label", "review", "inbox", "dashboard", "tasks", "account"}
    assert visible[Role.MANAGER] == {"home", "label", "review", "inbox", "dashboard", "tasks", "projects", "import", "export",
                                     "storage", "account"}
    assert visible[Role.ADMIN] == {p.key for p in PAGES}


@pytest.mark.parametrize(
    ("role", "page", "hidden_text"),
    [
        (Role.ANNOTATOR, "admin", "Audit log"),
        (Role.ANNOTATOR, "import", "Task files"),
        (Role.ANNOTATOR, "export", "Prepare the export"),
        (Role.ANNOTATOR, "review", "waiting"),
        (Role.REVIEWER, "import", "Task files"),
        (Role.MANAGER, "admin", "Audit log"),
    ],
)
def test_opening_a_page_by_url_without_the_role_is_refused(app_as, factory, role, page, hidden_text) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin)
    factory.tasks(project, admin, 2)
    person = factory.user()
    factory.member(project, person, role)
    at = app_as(person, page)
    shown = texts(at)
    assert f"You don't have access to the {page.title()} page" in shown
    assert hidden_text not in shown
    assert not at.tabs and not at.file_uploader


def test_a_task_cannot_show_another_projects_upload(factory) -> None:
    from streamlit.testing.v1 import AppTest

    from labelkit.storage import local

    admin = factory.user(Role.ADMIN)
    mine, theirs = factory.project(admin, title="Mine"), factory.project(admin, title="Theirs")
    own, secret = (local.save_upload(p.id, "x.png", b"\x89PNG") for p in (mine, theirs))

    def page(project_id: int, values: list[str]) -> None:
        import streamlit as st

        from labelkit.ui import media

        st.session_state["lk_project"] = project_id
        for value in values:
            st.text(f"{value} -> {media.image_source(value) is not None} {media.browser_url(value, 'http://localhost:8501/label') is not None}")

    at = AppTest.from_function(page, args=(mine.id, [own, secret, "/data/upload/samples/shape-1.png",
                                                    f"/data/upload/{mine.id}/../{theirs.id}/{secret.rsplit('/', 1)[1]}"]))
    at.run()
    shown = [t.value for t in at.text]
    assert shown[0].endswith("True True") and shown[1].endswith("False False")
    assert shown[3].endswith("False False")  # no climbing out of the project's folder either

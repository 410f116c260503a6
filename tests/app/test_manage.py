"""Projects, Import, Export, Admin and Account pages."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlmodel import func, select

from labelkit import exporters
from labelkit.auth import sessions
from labelkit.db import session_scope
from labelkit.labeling import queue, submissions
from labelkit.models import AuditEvent, Invite, Membership, Project, Role, Task, User
from tests.app.test_access import texts

# Page tests: what a page draws and wires; the SQL under it is tested on both databases in tests/unit.
pytestmark = pytest.mark.one_database


def count(model, *where) -> int:
    with session_scope() as s:
        return s.exec(select(func.count()).select_from(model).where(*where)).one()


def test_a_manager_creates_a_project_from_a_template(app_as, factory) -> None:
    admin = factory.user(Role.ADMIN)
    at = app_as(admin, "projects")
    assert "Start from a template" in texts(at)
    at.button(key="lk_new_tpl_multi-label").click().run()
    assert 'choice="multiple"' in at.text_area(key="lk_new_config").value
    at.text_input(key="lk_new_title").input("Tickets").run()
    at.button(key="lk_new_save").click().run()
    assert "Created Tickets" in texts(at)
    with session_scope() as s:
        project = s.exec(select(Project)).one()
        membership = s.exec(select(Membership)).one()
    assert project.title == "Tickets" and 'choice="multiple"' in project.label_config
    assert (membership.user_id, membership.role) == (admin.id, "manager")


def test_an_invalid_config_names_the_problem_and_creates_nothing(app_as, factory) -> None:
    admin = factory.user(Role.ADMIN)
    at = app_as(admin, "projects")
    at.text_input(key="lk_new_title").input("Broken")
    at.text_area(key="lk_new_config").input('<View>\n<Text name="t" value="$t"/>\n<Choices name="c" toName="text"><Choice value="A"/></Choices>\n</View>').run()
    assert "line 3: <Choices name='c'>: toName 'text' points nowhere (objects: t)" in texts(at)
    assert at.button(key="lk_new_save").disabled
    assert count(Project) == 0


def test_a_deeply_nested_config_names_the_depth_limit_and_creates_nothing(app_as, factory) -> None:
    admin = factory.user(Role.ADMIN)
    at = app_as(admin, "projects")
    at.text_input(key="lk_new_title").input("Deep")
    controls = '<Text name="t" value="$t"/><Choices name="c" toName="t"><Choice value="A"/></Choices>'
    at.text_area(key="lk_new_config").input("<View>" * 1000 + controls + "</View>" * 1000).run()
    assert not at.exception
    assert any("nests tags more than 100 levels deep" in e.value for e in at.error)
    assert at.button(key="lk_new_save").disabled
    assert count(Project) == 0


def test_project_team_invites_tasks_and_deletion(app_as, factory) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, title="Birds")
    factory.tasks(project, admin, 3)
    colleague = factory.user(email="colleague@example.com")
    at = app_as(admin, "projects", project=project.id)

    at.text_input(key=f"lk_edit_{project.id}_title").input("Birds of prey")
    at.button(key=f"lk_edit_{project.id}_save").click().run()
    assert "Saved." in texts(at)

    member_form = next(t for t in at.text_input if t.label == "Email")
    member_form.input("colleague@example.com")
    next(b for b in at.button if b.label == "Save").click().run()
    with session_scope() as s:
        assert s.exec(select(Membership.role).where(Membership.user_id == colleague.id)).one() == "annotator"

    next(b for b in at.button if b.label == "Create invite link").click().run()
    link = next(c.value for c in at.code if "/invite/" in c.value)
    assert link.startswith("http://localhost:8501/invite/")
    assert count(Invite, Invite.project_id == project.id) == 1

    assert "3 tasks" in texts(at)
    delete = at.button(key=f"lk_del_{project.id}")
    assert delete.disabled
    assert "Project 'Birds of prey': 3 tasks and 0 annotations go to the trash" in texts(at)
    at.text_input(key=f"lk_del_confirm_{project.id}").input("Birds of prey").run()
    at.button(key=f"lk_del_{project.id}").click().run()
    with session_scope() as s:
        assert s.get(Project, project.id).deleted_at is not None


def test_importing_files_on_the_import_page(app_as, factory) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin)
    at = app_as(admin, "import", project=project.id)
    assert "Each task needs `text`" in texts(at)
    at.file_uploader[0].upload("bad.json", json.dumps([{"text": "ok"}, {"body": "no text"}]).encode(), "application/json").run()
    next(b for b in at.button if b.label.startswith("Import")).click().run()
    assert "bad.json, task 2: missing key 'text'" in texts(at)
    assert count(Task) == 0
    at.file_uploader[0].set_value(("reviews.csv", b"text\nfirst\nsecond\n", "text/csv")).run()
    next(b for b in at.button if b.label.startswith("Import")).click().run()
    assert "Imported 2 tasks from 1 file." in texts(at)
    assert count(Task) == 2


def test_the_export_page_offers_what_the_exporter_writes(app_as, factory, settings) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin)
    factory.tasks(project, admin, 2)
    annotator = factory.user()
    factory.member(project, annotator, Role.ANNOTATOR)
    with session_scope() as s:
        task = queue.claim_next(s, annotator, project.id).task
    with session_scope() as s:
        submissions.submit(s, annotator, task.id, [{"id": "a", "from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}])
    at = app_as(admin, "export", project=project.id)
    at.radio(key="lk_export_format").set_value("CSV").run()
    assert "2 tasks will be exported." in texts(at)
    next(b for b in at.button if b.label == "Prepare the export").click().run()
    (button,) = at.get("download_button")
    assert "csv" in button.proto.label
    (written,) = Path(settings.export_dir).glob("*.part")
    expected = io.BytesIO()
    with session_scope(write=False) as s:
        exporters.export_project(s, admin, project.id, "CSV", expected, "all")
    assert written.read_bytes() == expected.getvalue()
    assert count(AuditEvent, AuditEvent.action == "project.export") == 2


def test_admins_change_roles_deactivate_and_restore(app_as, factory) -> None:
    admin = factory.user(Role.ADMIN)
    person = factory.user(email="person@example.com")
    project = factory.project(admin, title="Old")
    from labelkit.projects import trash

    with session_scope() as s:
        trash.delete_project(s, admin, project.id)
    at = app_as(admin, "admin")
    assert any("person@example.com" in str(df.value["email"].tolist()) for df in at.dataframe)
    at.selectbox(key="lk_admin_user").set_value(person.id).run()
    at.selectbox(key=f"lk_admin_role_{person.id}").set_value("manager")
    at.toggle(key=f"lk_admin_active_{person.id}").set_value(False)
    at.button(key="lk_admin_save").click().run()
    with session_scope() as s:
        changed = s.get(User, person.id)
    assert (changed.role, changed.is_active) == ("manager", False)
    refused = app_as(person)
    assert "deactivated" in texts(refused)

    at.session_state["lk_trash_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    next(b for b in at.button if b.label.startswith("Restore")).click().run()
    with session_scope() as s:
        assert s.get(Project, project.id).deleted_at is None
        logged = set(s.exec(select(AuditEvent.action)).all())
    assert {"user.role", "user.deactivate", "project.delete", "project.restore"} <= logged


def test_account_password_and_api_tokens(app_as, factory) -> None:
    user = factory.user(password="old password!")
    at = app_as(user, "account")
    fields = at.text_input
    fields[0].input("old password!")
    fields[1].input("new password!")
    fields[2].input("new password!")
    next(b for b in at.button if b.label == "Change password").click().run()
    assert "Your password is changed." in texts(at)
    from labelkit.auth.accounts import authenticate

    with session_scope() as s:
        assert authenticate(s, user.email, "new password!").id == user.id
    next(t for t in at.text_input if t.label == "What is it for?").input("script")
    next(b for b in at.button if b.label == "Create token").click().run()
    token = at.code[0].value
    with session_scope() as s:
        assert sessions.user_for_api_token(s, token).id == user.id
    next(b for b in at.button if b.label == "Revoke").click().run()
    with session_scope() as s:
        assert sessions.user_for_api_token(s, token) is None

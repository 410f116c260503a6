"""The Dashboard and Tasks pages as people use them (AppTest)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from labelkit.db import session_scope
from labelkit.labeling import submissions
from labelkit.models import Annotation, Role, Task

# Page tests: what a page draws and wires; the SQL under it is tested on both databases in tests/unit.
pytestmark = pytest.mark.one_database


def choice(label: str) -> list[dict]:
    return [{"id": "c", "from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]


def texts(at) -> str:
    parts = [e.value for kind in ("markdown", "caption", "success", "error", "info", "warning") for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def setup(factory):
    manager = factory.user(Role.MANAGER)
    alice, bob, reviewer = factory.user(), factory.user(), factory.user()
    project = factory.project(manager, overlap=2, title="Reviews")
    for person in (alice, bob):
        factory.member(project, person, Role.ANNOTATOR)
    factory.member(project, reviewer, Role.REVIEWER)
    factory.tasks(project, manager, [{"text": t} for t in ("good film", "bad film", "so-so film", "unlabeled")])
    with session_scope() as s:
        ids = list(s.exec(select(Task.id).where(Task.project_id == project.id).order_by(Task.id)).all())
        submissions.submit(s, alice, ids[0], choice("Positive"), lead_time=12)
        submissions.submit(s, bob, ids[0], choice("Negative"), lead_time=30)
        submissions.submit(s, alice, ids[1], choice("Negative"), lead_time=20)
        submissions.skip(s, bob, ids[2])
    return manager, alice, bob, reviewer, project, ids


def test_the_dashboard_shows_the_team_and_offers_csv(app_as, factory) -> None:
    manager, alice, bob, reviewer, project, _ = setup(factory)
    at = app_as(manager, "dashboard", project=project.id)
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Answers submitted"] == "3"
    assert metrics["Skip rate"] == "25%"  # bob's one skip over 3 answers and 1 skip
    assert metrics["Median lead time"] == "20 s"
    people = next(df.value for df in at.dataframe)
    assert sorted(people["annotator"]) == sorted([alice.email, bob.email])
    assert len(at.get("download_button")) >= 4  # progress, throughput, people, labels

    at.selectbox(key=f"lk_dash_person_{project.id}").set_value(bob.id).run()
    assert {m.label: m.value for m in at.metric}["Answers submitted"] == "1"

    assert not app_as(reviewer, "dashboard", project=project.id).exception
    refused = app_as(alice, "dashboard", project=project.id)
    assert "don't have access to the Dashboard" in texts(refused)


def test_the_task_table_filters_pages_and_acts_on_a_selection(app_as, factory) -> None:
    manager, alice, bob, reviewer, project, ids = setup(factory)
    key = f"lk_tasks_{project.id}"
    at = app_as(manager, "tasks", project=project.id)
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table["id"]) == ids and "data.text" in table.columns
    assert "4 tasks match" in texts(at)

    at.selectbox(key=f"{key}_labeled").set_value(False).run()
    assert list(at.dataframe[0].value["id"]) == ids[2:]
    at.selectbox(key=f"{key}_labeled").set_value(None)
    at.text_input(key=f"{key}_label").input("Negative").run()
    assert list(at.dataframe[0].value["id"]) == ids[:2]
    at.text_input(key=f"{key}_label").input("")
    at.selectbox(key=f"{key}_annotator").set_value(bob.email).run()
    assert list(at.dataframe[0].value["id"]) == ids[:1]
    at.selectbox(key=f"{key}_annotator").set_value(None)
    at.text_input(key=f"{key}_search").input("SO-SO").run()
    assert list(at.dataframe[0].value["id"]) == [ids[2]]
    at.text_input(key=f"{key}_search").input("").run()

    # Pages of 25 hold all four; the pager has nowhere to go.
    assert next(b for b in at.button if b.label == "Next").disabled

    # Delete the last task: the page names what goes and asks first.
    at.session_state[f"{key}_table_{at.session_state[f'{key}_gen']}_1"] = {"selection": {"rows": [3], "columns": [], "cells": []}}
    at.run()
    at.button(key=f"{key}_delete").click().run()
    assert "Delete 1 task and their 0 annotations?" in texts(at)
    with session_scope() as s:
        assert s.get(Task, ids[3]).deleted_at is None  # not yet
    at.button(key=f"{key}_delete_yes").click().run()
    with session_scope() as s:
        assert s.get(Task, ids[3]).deleted_at is not None
    assert "Moved 1 task to the trash." in texts(at)
    assert list(at.dataframe[0].value["id"]) == ids[:3]

    # A reviewer browses, but the manager's actions are not theirs.
    seen = app_as(reviewer, "tasks", project=project.id)
    assert list(seen.dataframe[0].value["id"]) == ids[:3]
    assert not [b for b in seen.button if b.label.startswith("Delete")]
    assert "Managers delete tasks." in texts(seen)
    refused = app_as(alice, "tasks", project=project.id)
    assert "don't have access to the Tasks page" in texts(refused)


def test_a_bulk_action_takes_the_picked_rows_and_all_matching_only_when_confirmed(app_as, factory) -> None:
    manager, *_, project, ids = setup(factory)
    key = f"lk_tasks_{project.id}"
    at = app_as(manager, "tasks", project=project.id)
    at.session_state[f"{key}_table_{at.session_state[f'{key}_gen']}_1"] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    at.run()
    assert "1 row picked" in texts(at)
    at.button(key=f"{key}_gold").click().run()
    assert not at.exception, at.exception
    with session_scope() as s:
        gold = set(s.exec(select(Annotation.task_id).where(Annotation.project_id == project.id, Annotation.ground_truth)).all())
    assert gold == {ids[1]}  # only the picked row, not every labeled task
    assert "Marked 1 new gold task." in texts(at)

    at.radio(key=f"{key}_scope").set_value("matching").run()
    assert at.button(key=f"{key}_gold").disabled  # not before the person confirms "all"
    at.checkbox(key=f"{key}_all_sure").check().run()
    at.button(key=f"{key}_gold").click().run()
    with session_scope() as s:
        gold = set(s.exec(select(Annotation.task_id).where(Annotation.project_id == project.id, Annotation.ground_truth)).all())
    assert gold == {ids[0], ids[1]}  # every task with an answer (the other two have none)

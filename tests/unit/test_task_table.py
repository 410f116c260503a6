"""The data manager: filters, sorting, paging without duplicates, bulk actions and who may use them
(SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import json

import pytest
from sqlmodel import select

from labelkit.db import is_sqlite, session_scope
from labelkit.errors import InvalidInput, PermissionDenied
from labelkit.labeling import submissions
from labelkit.labeling.review import accept, reject
from labelkit.models import Annotation, Project, Role, Task, TaskAssignment
from labelkit.reports import task_table as tt
from labelkit.reports.task_table import TaskQuery
from tests.unit.test_query_plans import plan

TEXTS = ["apple pie", "Banana split", "cherry 100%", "Crème brûlée", "plain", "plain too"]


def choice(label: str) -> list[dict]:
    return [{"id": "c", "from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]


@pytest.fixture
def table(factory):
    """Six tasks, overlap 2. alice: t1 Positive (accepted), t2 Negative (rejected), t3 Positive
    (pending); bob: t1 Negative (pending). t4-t6 have no answer."""
    manager = factory.user(Role.MANAGER)
    alice, bob, reviewer = factory.user(), factory.user(), factory.user()
    project = factory.project(manager, overlap=2)
    for person in (alice, bob):
        factory.member(project, person, Role.ANNOTATOR)
    factory.member(project, reviewer, Role.REVIEWER)
    factory.tasks(project, manager, [{"text": t} for t in TEXTS])
    with session_scope() as s:
        ids = list(s.exec(select(Task.id).where(Task.project_id == project.id).order_by(Task.id)).all())
        a1 = submissions.submit(s, alice, ids[0], choice("Positive")).annotation.id
        a2 = submissions.submit(s, alice, ids[1], choice("Negative")).annotation.id
        submissions.submit(s, alice, ids[2], choice("Positive"))
        submissions.submit(s, bob, ids[0], choice("Negative"))
        accept(s, reviewer, a1)
        reject(s, reviewer, a2, "Read it again")
    return {"project": project, "ids": ids, "manager": manager, "reviewer": reviewer, "alice": alice, "bob": bob}


def ids_of(table, query: TaskQuery, actor=None, **kw) -> list[int]:
    with session_scope(write=False) as s:
        return [r["id"] for r in tt.page(s, actor or table["manager"], table["project"].id, query, size=200, **kw).rows]


def test_filters(table) -> None:
    t1, t2, t3, t4, t5, t6 = table["ids"]
    assert ids_of(table, TaskQuery()) == table["ids"]
    assert ids_of(table, TaskQuery(labeled=True)) == [t1, t2, t3]
    assert ids_of(table, TaskQuery(labeled=False)) == [t4, t5, t6]
    assert ids_of(table, TaskQuery(annotator=table["bob"].email)) == [t1]
    assert ids_of(table, TaskQuery(annotator=table["alice"].email.upper())) == [t1, t2, t3]
    assert ids_of(table, TaskQuery(label="Negative")) == [t1, t2]
    assert ids_of(table, TaskQuery(label="Positive", annotator=table["bob"].email)) == []
    assert ids_of(table, TaskQuery(label="Positive", control="sentiment")) == [t1, t3]
    assert ids_of(table, TaskQuery(label="Positive", control="comment")) == []
    assert ids_of(table, TaskQuery(label="Posit")) == []  # a whole value, not a part of one
    assert ids_of(table, TaskQuery(review="accepted")) == [t1]
    assert ids_of(table, TaskQuery(review="rejected")) == [t2]
    assert ids_of(table, TaskQuery(review="pending")) == [t1, t3]
    assert ids_of(table, TaskQuery(review="not reviewed")) == []
    assert ids_of(table, TaskQuery(search="BANANA")) == [t2]
    assert ids_of(table, TaskQuery(search="%")) == [t3]  # LIKE wildcards are the characters themselves
    assert ids_of(table, TaskQuery(search="_")) == []
    assert ids_of(table, TaskQuery(search="brûlée")) == [t4]
    assert ids_of(table, TaskQuery(search="plain", labeled=False)) == [t5, t6]


def test_agreement_filter(table) -> None:
    t1 = table["ids"][0]
    assert ids_of(table, TaskQuery(agreement_below=0.5)) == [t1]  # Positive against Negative


def test_rows_carry_the_chosen_columns(table) -> None:
    t1 = table["ids"][0]
    with session_scope(write=False) as s:
        page = tt.page(s, table["manager"], table["project"].id, TaskQuery(), size=2,
                       columns=("id", "data", "annotations", "annotators", "review"))
    first = page.rows[0]
    assert first == {"id": t1, "data.text": "apple pie", "annotations": 2,
                     "annotators": f"{table['alice'].email}, {table['bob'].email}", "review": "1 accepted, 1 pending"}
    assert page.columns == ["id", "data", "annotations", "annotators", "review"] and page.data_keys == ["text"]
    with session_scope(write=False) as s:
        with pytest.raises(InvalidInput, match="no column"):
            tt.page(s, table["manager"], table["project"].id, TaskQuery(), columns=("id", "secret"))
        with pytest.raises(InvalidInput, match="Sort by"):
            tt.page(s, table["manager"], table["project"].id, TaskQuery(sort="random"))
        with pytest.raises(InvalidInput, match="between 0 and 1"):
            tt.page(s, table["manager"], table["project"].id, TaskQuery(agreement_below=2))


def walk(table, query: TaskQuery, size: int) -> list[int]:
    seen, cursor = [], None
    with session_scope(write=False) as s:
        while True:
            page = tt.page(s, table["manager"], table["project"].id, query, cursor=cursor, size=size, columns=("id", "annotations"))
            seen += [r["id"] for r in page.rows]
            if page.next_cursor is None:
                return seen
            cursor = page.next_cursor


@pytest.mark.parametrize("size", [1, 4, 6])
def test_pages_keep_their_order_with_no_duplicates(table, factory, size) -> None:
    factory.tasks(table["project"], table["manager"], 9)
    with session_scope(write=False) as s:
        every = list(s.exec(select(Task.id).where(Task.project_id == table["project"].id).order_by(Task.id)).all())
    assert walk(table, TaskQuery(), size) == every
    assert walk(table, TaskQuery(descending=True), size) == every[::-1]
    assert walk(table, TaskQuery(sort="created"), size) == every
    by_count = walk(table, TaskQuery(sort="annotations", descending=True), size)
    t1, t2, t3 = table["ids"][:3]
    assert by_count[:3] == [t1, t3, t2] and sorted(by_count) == every  # 2 answers, then 1 (newest id first)
    by_update = walk(table, TaskQuery(sort="updated", descending=True), size)
    assert len(by_update) == len(set(by_update)) == len(every)


def test_counts_are_capped(table) -> None:
    with session_scope(write=False) as s:
        assert tt.count(s, table["manager"], table["project"].id) == (6, False)
        assert tt.count(s, table["manager"], table["project"].id, TaskQuery(labeled=False)) == (3, False)
        assert tt.count(s, table["manager"], table["project"].id, TaskQuery(labeled=False), cap=2) == (2, True)
        assert tt.matching_ids(s, table["manager"], table["project"].id, TaskQuery(labeled=True)) == table["ids"][:3]
        with pytest.raises(InvalidInput, match="narrow the filter"):
            tt.matching_ids(s, table["manager"], table["project"].id, TaskQuery(), cap=5)


def test_who_may_browse(table, factory) -> None:
    assert ids_of(table, TaskQuery(), actor=table["reviewer"]) == table["ids"]
    with pytest.raises(PermissionDenied):
        ids_of(table, TaskQuery(), actor=table["alice"])
    with session_scope(write=False) as s, pytest.raises(PermissionDenied):
        tt.count(s, table["alice"], table["project"].id)


def test_bulk_actions_and_their_permissions(table) -> None:
    project_id, (t1, t2, t3, t4, t5, t6) = table["project"].id, table["ids"]
    reviewer, manager = table["reviewer"], table["manager"]
    with session_scope() as s:
        for action in (
            lambda: tt.delete_selected(s, reviewer, project_id, [t5]),
            lambda: tt.assign_selected(s, reviewer, project_id, [t5], [table["alice"].id]),
            lambda: tt.review_selected(s, reviewer, project_id, [t1]),
            lambda: tt.gold_selected(s, reviewer, project_id, [t1]),
            lambda: tt.export_selected(s, reviewer, project_id, [t1], "JSON", io.BytesIO()),
        ):
            with pytest.raises(PermissionDenied):
                action()
        with pytest.raises(InvalidInput, match="Pick"):
            tt.delete_selected(s, manager, project_id, [])
        with pytest.raises(InvalidInput, match="people"):
            tt.assign_selected(s, manager, project_id, [t5], [])
    assert ids_of(table, TaskQuery()) == table["ids"]  # nothing changed

    with session_scope() as s:
        assert tt.assign_selected(s, manager, project_id, [t4, t5], [table["bob"].id]) == 2
        assert tt.review_selected(s, manager, project_id, [t1, t2]) == 2  # the accepted and the rejected one
        assert tt.gold_selected(s, manager, project_id, [t1, t3]) == 2
        assert tt.deletion_preview(s, manager, project_id, [t6]).tasks == 1
        tt.delete_selected(s, manager, project_id, [t6])
    out = io.BytesIO()
    with session_scope(write=False) as s:  # an export reads in one read transaction, as the page does
        report = tt.export_selected(s, manager, project_id, [t3, t1], "JSON", out)
    assert report.tasks == 2 and sorted(t["id"] for t in json.loads(out.getvalue())) == [t1, t3]
    with session_scope(write=False) as s:
        assigned = s.exec(select(TaskAssignment.task_id).where(TaskAssignment.project_id == project_id)).all()
        gold = s.exec(select(Annotation.task_id).where(Annotation.project_id == project_id, Annotation.ground_truth)).all()
        assert sorted(assigned) == [t4, t5] and sorted(gold) == [t1, t3]
        assert s.get(Project, project_id).task_count == 5
    assert ids_of(table, TaskQuery(review="pending")) == [t1, t2, t3]
    assert ids_of(table, TaskQuery()) == [t1, t2, t3, t4, t5]


def test_the_page_query_walks_the_primary_key(table, factory) -> None:
    factory.tasks(table["project"], table["manager"], 200)
    with session_scope() as s:
        project = s.get(Project, table["project"].id)
        for query in (TaskQuery(), TaskQuery(descending=True), TaskQuery(labeled=False, search="text")):
            shown = plan(s, tt._page_query(s, table["manager"], project, query, cursor=table["ids"][2], size=50))
            if is_sqlite(s):
                assert "USING INTEGER PRIMARY KEY" in shown and "TEMP B-TREE" not in shown, shown
            else:
                # (with a selective filter on a small table PostgreSQL may sort the few rows it finds)
                assert "pk_tasks" in shown and "Seq Scan on tasks" not in shown, shown


def test_predictions_show_with_their_score_and_version_and_sort_by_uncertainty(table) -> None:
    from labelkit.labeling import predictions

    manager, ids, project = table["manager"], table["ids"], table["project"]
    with session_scope() as s:
        live = s.get(Project, project.id)
        predictions._store(s, live, [predictions.NewPrediction(ids[4], choice("Negative"), 0.55, "v2"),
                                    predictions.NewPrediction(ids[5], choice("Positive"), 0.9, "v2")])
    with session_scope() as s:
        page = tt.page(s, manager, project.id, TaskQuery(sort="uncertainty", descending=True),
                       columns=("id", "prediction", "uncertainty"))
    rows = page.rows
    assert [r["id"] for r in rows[:2]] == [ids[4], ids[5]]  # the least certain first, unpredicted after
    assert rows[0]["prediction"] == "sentiment: Negative · 0.55 · v2" and rows[0]["uncertainty"] == 0.45
    assert all(r["prediction"] is None and r["uncertainty"] is None for r in rows[2:])
    with session_scope() as s:
        ascending = tt.page(s, manager, project.id, TaskQuery(sort="uncertainty"), columns=("id",)).rows
    assert [r["id"] for r in ascending[:2]] == [ids[5], ids[4]] and len(ascending) == len(ids)

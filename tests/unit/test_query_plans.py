"""Structural speed: the claim query is served by its partial index on both databases."""

from __future__ import annotations

from sqlalchemy import text

from labelkit.db import is_sqlite, session_scope
from labelkit.labeling import queue
from labelkit.models import Project, Role, utcnow

# A plan test asks whether an index CAN serve a query (its WHERE implies the index's, its
# ORDER BY is the index's order), not what the planner picks for a table of a few hundred
# rows, where a sequential scan or a sort is as cheap as anything: that choice turns on
# statistics and changes from run to run. So the tests load enough rows (ROWS), give the
# planners statistics (ANALYZE), and forbid the plans only tiny tables make attractive.
ROWS = 2000


def plan(session, query, ordered: bool = False) -> str:
    """The plan of `query`; with `ordered`, a sort is forbidden where the database lets us
    (PostgreSQL), so an index that can serve the ORDER BY is the one used."""
    conn = session.connection()
    compiled = query.compile(dialect=conn.dialect)
    if is_sqlite(session):
        conn.exec_driver_sql("ANALYZE")
        params = tuple(compiled.params[name] for name in compiled.positiontup)
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), params).all()
        return "\n".join(str(row[-1]) for row in rows)
    conn.exec_driver_sql("ANALYZE tasks")
    conn.exec_driver_sql("ANALYZE annotations")
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    if ordered:
        conn.exec_driver_sql("SET LOCAL enable_sort = off")
    rows = conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params).all()
    return "\n".join(row[0] for row in rows)


def test_the_claim_walks_only_open_tasks_through_their_index(factory) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, overlap=2)
    factory.tasks(project, admin, ROWS)
    with session_scope() as s:
        # Most of the project is finished, as in any project under way: the claim must not walk those.
        s.connection().execute(text("UPDATE tasks SET done = :done WHERE project_id = :project AND id % 4 <> 0"),
                               {"done": True, "project": project.id})
        shown = plan(s, queue.claim_query(s.get(Project, project.id), admin, utcnow()))
    assert "ix_tasks_open" in shown, shown
    assert "SCAN tasks\n" not in shown + "\n", shown  # SQLite: never the whole table
    assert "Seq Scan on tasks" not in shown, shown  # PostgreSQL


def test_a_gold_claim_finds_the_ground_truth_through_its_partial_index(factory) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin)
    factory.tasks(project, admin, ROWS)
    with session_scope() as s:
        shown = plan(s, queue.gold_query(s.get(Project, project.id), admin))
    assert "ix_annotations_ground_truth" in shown, shown


def test_the_least_certain_first_claim_walks_its_own_partial_index_without_a_sort(factory) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, sampling="uncertainty")
    factory.tasks(project, admin, ROWS)
    with session_scope() as s:
        s.connection().execute(text("UPDATE tasks SET uncertainty = (id % 97) / 97.0, done = :done WHERE project_id = :p"),
                               {"done": False, "p": project.id})
        live = s.get(Project, project.id)
        shown = plan(s, queue.uncertain_first(queue.claim_query(live, admin, utcnow(), start_id=None)).limit(1), ordered=True)
    assert "ix_tasks_open_uncertain" in shown, shown
    assert "TEMP B-TREE" not in shown and "Sort" not in shown, shown  # served in index order, never sorted

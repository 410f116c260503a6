"""Distribution: overlap on a share of tasks, manual assignment, locks a manager can see
and release, and pausing an annotator."""

from __future__ import annotations

import pytest
from sqlmodel import select

from labelkit.db import session_scope
from labelkit.errors import InvalidInput, NotFound, PermissionDenied
from labelkit.labeling import assign, queue, submissions
from labelkit.models import Project, Role, Task, TaskAssignment


def choice(label: str = "Positive") -> list[dict]:
    return [{"id": "c", "from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]


def claim(user, project_id: int) -> int | None:
    with session_scope() as s:
        got = queue.claim_next(s, user, project_id)
        return got.task.id if got else None


def submit(user, task_id: int) -> None:
    with session_scope() as s:
        assert submissions.submit(s, user, task_id, choice()).counted


def settings_of(project_id: int, **values) -> None:
    with session_scope() as s:
        project = s.get(Project, project_id)
        for key, value in values.items():
            setattr(project, key, value)
        s.add(project)


def task_ids(project_id: int) -> list[int]:
    with session_scope() as s:
        return list(s.exec(select(Task.id).where(Task.project_id == project_id).order_by(Task.id)).all())


@pytest.fixture
def team(factory):
    manager = factory.user(Role.MANAGER)
    project = factory.project(manager, overlap=1)
    factory.tasks(project, manager, 10)
    people = {}
    for role in (Role.REVIEWER, Role.ANNOTATOR, Role.ANNOTATOR, Role.ANNOTATOR):
        user = factory.user(role)
        factory.member(project, user, role)
        people.setdefault(role, []).append(user)
    return manager, project, people[Role.REVIEWER][0], people[Role.ANNOTATOR]


def test_assigned_tasks_go_only_to_their_assignees_and_first(team) -> None:
    manager, project, _, (a, b, _) = team
    ids = task_ids(project.id)
    with session_scope() as s:
        assert assign.assign_tasks(s, manager, project.id, [ids[5], ids[7]], [a.id]) == 2
    with session_scope() as s:  # again: nothing new
        assert assign.assign_tasks(s, manager, project.id, [ids[5]], [a.id]) == 0
        assert len(s.exec(select(TaskAssignment)).all()) == 2
    assert claim(a, project.id) == ids[5]  # before the first task of the queue
    assert claim(b, project.id) == ids[0]
    submit(a, ids[5])
    assert claim(a, project.id) == ids[7]
    submit(a, ids[7])
    assert claim(a, project.id) == ids[1]  # then the shared queue
    submit(b, ids[0])
    seen = []
    while (got := claim(b, project.id)) is not None:
        seen.append(got)
        submit(b, got)
    assert ids[5] not in seen and ids[7] not in seen


def test_overlap_on_a_share_of_tasks(factory) -> None:
    from labelkit.labeling import overlap

    manager = factory.user(Role.MANAGER)
    project = factory.project(manager, overlap=3)
    factory.tasks(project, manager, 200)
    settings_of(project.id, overlap_percent=10)
    ids = task_ids(project.id)
    with session_scope() as s:
        project = s.get(Project, project.id)
        wanted = {t: overlap.needed(project, t) for t in ids}
        # exactly the share, spread over the ids, and the SQL rule agrees with Python's
        assert sorted(wanted.values()).count(3) == 20 and set(wanted.values()) == {1, 3}
        in_sql = dict(s.exec(select(Task.id, overlap.needed_sql(project))).all())
        assert in_sql == wanted
        first_half = [t for t in list(wanted)[:100] if wanted[t] == 3]
        assert len(first_half) == 10
    people = [factory.user() for _ in range(3)]
    for person in people:
        factory.member(project, person, Role.ANNOTATOR)
    # Everyone labels until the queue is empty: each task gets exactly what it wants.
    for person in people:
        while (got := claim(person, project.id)) is not None:
            submit(person, got)
    with session_scope() as s:
        rows = s.exec(select(Task.id, Task.total_annotations, Task.done).where(Task.project_id == project.id)).all()
        assert {t: n for t, n, _ in rows} == wanted
        assert all(done for _, _, done in rows)
        assert s.get(Project, project.id).done_count == 200


def test_changing_the_share_recomputes_done(factory) -> None:
    from labelkit.labeling import overlap
    from labelkit.projects.crud import ProjectFields, update_project

    manager = factory.user(Role.MANAGER)
    project = factory.project(manager, overlap=2)
    factory.tasks(project, manager, 100)
    person = factory.user()
    factory.member(project, person, Role.ANNOTATOR)
    for _ in range(100):  # one annotation on every task: none done (all want 2)
        submit(person, claim(person, project.id))
    with session_scope() as s:
        assert s.get(Project, project.id).done_count == 0
    with session_scope() as s:
        fields = ProjectFields.of(s.get(Project, project.id))
        fields.overlap_percent = 25
        update_project(s, manager, project.id, fields)
    with session_scope() as s:
        stored = s.get(Project, project.id)
        assert stored.done_count == 75
        undone = set(s.exec(select(Task.id).where(Task.project_id == project.id, ~Task.done)).all())
    assert undone == {t for t in task_ids(project.id) if overlap.needed(stored, t) == 2}
    other = factory.user()
    factory.member(project, other, Role.ANNOTATOR)
    got = []
    while (t := claim(other, project.id)) is not None:
        got.append(t)
        submit(other, t)
    assert set(got) == undone  # the second annotator gets only the overlap tasks
    with session_scope() as s:
        assert s.get(Project, project.id).done_count == 100


def test_manual_distribution_gives_only_assigned_tasks(team) -> None:
    manager, project, _, (a, b, _) = team
    settings_of(project.id, distribution="manual")
    ids = task_ids(project.id)
    assert claim(a, project.id) is None
    with session_scope() as s:
        assert assign.assign_next(s, manager, project.id, 3, [a.id, b.id]) == 3
    with session_scope() as s:
        assert {r["email"]: r["assigned"] for r in assign.assignment_summary(s, manager, project.id)} == {a.email: 3, b.email: 3}
    settings_of(project.id, overlap=2)
    for person in (a, b):
        got = []
        while (t := claim(person, project.id)) is not None:
            got.append(t)
            submit(person, t)
        assert got == ids[:3]
    with session_scope() as s:  # the next three go to the next request
        assert assign.assign_next(s, manager, project.id, 3, [a.id]) == 3
        assert assign._unassigned_open_tasks(s, project.id, 100) == ids[6:]
    assert claim(a, project.id) == ids[3]
    assert claim(b, project.id) is None


def test_unassign_gives_tasks_back_to_the_queue(team) -> None:
    manager, project, _, (a, b, _) = team
    ids = task_ids(project.id)
    with session_scope() as s:
        assign.assign_tasks(s, manager, project.id, ids[:9], [a.id])
    assert claim(b, project.id) == ids[9]
    with session_scope() as s:
        assert assign.unassign_tasks(s, manager, project.id, ids[:2], [b.id]) == 0
        assert assign.unassign_tasks(s, manager, project.id, ids[:2]) == 2
    submit(b, ids[9])
    assert claim(b, project.id) == ids[0]


def test_bad_assignments_change_nothing(team, factory) -> None:
    manager, project, _, (a, _, _) = team
    stranger = factory.user()
    other = factory.project(manager)
    factory.tasks(other, manager, 1)
    foreign = task_ids(other.id)[0]
    ids = task_ids(project.id)
    for tasks, people, error in (
        ([ids[0]], [stranger.id], NotFound),
        ([ids[0], foreign], [a.id], NotFound),
        ([ids[0]], [], InvalidInput),
        ([], [a.id], InvalidInput),
        ([ids[0]], [a.id, stranger.id], NotFound),
    ):
        with session_scope() as s, pytest.raises(error):
            assign.assign_tasks(s, manager, project.id, tasks, people)
    with session_scope() as s, pytest.raises(InvalidInput):
        assign.assign_next(s, manager, project.id, 0, [a.id])
    with session_scope() as s:
        assert s.exec(select(TaskAssignment)).all() == []


def test_holders_and_release(team) -> None:
    manager, project, _, (a, b, _) = team
    first = claim(a, project.id)
    second = claim(b, project.id)
    with session_scope() as s:
        queue.claim_next(s, a, project.id)
        submissions.save_draft(s, a, first, choice("Negative"))
    with session_scope() as s:
        held = assign.holders(s, manager, project.id)
        assert {(h["task_id"], h["email"]) for h in held} == {(first, a.email), (second, b.email)}
        assert all(h["since"] < h["until"] for h in held)
    with session_scope() as s:
        assign.release(s, manager, project.id, first, a.id)
    with session_scope() as s:
        assert [h["task_id"] for h in assign.holders(s, manager, project.id)] == [second]
        with pytest.raises(NotFound):
            assign.release(s, manager, project.id, first, a.id)
    # The draft is kept; the released task can go to someone else now.
    with session_scope() as s:
        assert queue._my_annotation(s, first, a.id).result == choice("Negative")


def test_pause_blocks_new_tasks(team) -> None:
    manager, project, _, (a, b, _) = team
    held = claim(a, project.id)
    with session_scope() as s:
        assign.pause(s, manager, project.id, a.id, "Let's talk about the guidelines first.")
    assert claim(a, project.id) == held  # the task they hold stays theirs
    submit(a, held)
    assert claim(a, project.id) is None
    with session_scope() as s:
        assert assign.my_pause(s, a, project.id) == "Let's talk about the guidelines first."
        assert [p["email"] for p in assign.paused_people(s, manager, project.id)] == [a.email]
        assert assign.my_pause(s, b, project.id) is None
    assert claim(b, project.id) is not None
    with session_scope() as s:
        assign.resume(s, manager, project.id, a.id)
    assert claim(a, project.id) is not None
    with session_scope() as s, pytest.raises(InvalidInput):
        assign.pause(s, manager, project.id, manager.id)


def test_only_managers_manage_the_workload(team) -> None:
    manager, project, reviewer, (a, b, _) = team
    ids = task_ids(project.id)
    held = claim(b, project.id)
    for person in (reviewer, a):
        for call in (
            lambda s, p=person: assign.assign_tasks(s, p, project.id, ids[:1], [a.id]),
            lambda s, p=person: assign.unassign_tasks(s, p, project.id, ids[:1]),
            lambda s, p=person: assign.assign_next(s, p, project.id, 1, [a.id]),
            lambda s, p=person: assign.holders(s, p, project.id),
            lambda s, p=person: assign.release(s, p, project.id, held, b.id),
            lambda s, p=person: assign.pause(s, p, project.id, b.id),
            lambda s, p=person: assign.resume(s, p, project.id, b.id),
            lambda s, p=person: assign.paused_people(s, p, project.id),
        ):
            with session_scope() as s, pytest.raises(PermissionDenied):
                call(s)
    with session_scope() as s:
        assert [h["task_id"] for h in assign.holders(s, manager, project.id)] == [held]
        assert s.exec(select(TaskAssignment)).all() == []

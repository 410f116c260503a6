"""Project counters and task done flags stay equal to what the rows say."""

from __future__ import annotations

from sqlmodel import func, select

from labelkit.db import session_scope
from labelkit.labeling import counts, queue, submissions
from labelkit.models import Annotation, Project, Role, Task
from labelkit.projects import trash
from labelkit.projects.crud import ProjectFields, update_project

CHOICE = [{"id": "c", "from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Neutral"]}}]


def stored_and_recounted(project_id: int) -> tuple[tuple, tuple]:
    with session_scope() as s:
        project = s.get(Project, project_id)
        stored = (project.task_count, project.done_count)
        flags = {t.id: (t.total_annotations, t.done) for t in s.exec(select(Task).where(Task.project_id == project_id))}
        real = dict(
            s.exec(
                select(Annotation.task_id, func.count(Annotation.id))
                .where(Annotation.state == "submitted", Annotation.deleted_at.is_(None))
                .group_by(Annotation.task_id)
            ).all()
        )
        for task_id, (total, done) in flags.items():
            assert total == real.get(task_id, 0), task_id
            assert done == (total >= project.overlap), task_id
        counts._recount(s, project)
        recounted = (project.task_count, project.done_count)
        s.rollback()
    return stored, recounted


def label(user, project_id: int) -> int:
    with session_scope() as s:
        task = queue.claim_next(s, user, project_id).task
    with session_scope() as s:
        submissions.submit(s, user, task.id, CHOICE)
    return task.id


def test_counters_follow_every_change(factory) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, overlap=2)
    factory.tasks(project, admin, 6)
    people = [factory.user() for _ in range(3)]
    for person in people:
        factory.member(project, person, Role.ANNOTATOR)

    def check(expected: tuple[int, int]) -> None:
        stored, recounted = stored_and_recounted(project.id)
        assert stored == recounted == expected

    check((6, 0))
    for person in people[:2]:
        label(person, project.id)
    check((6, 1))  # task 1 has its two annotations
    with session_scope() as s:
        annotation = s.exec(select(Annotation)).first()
        trash.delete_annotation(s, admin, annotation.id)
    check((6, 0))
    with session_scope() as s:
        trash.restore(s, admin, "annotation", annotation.id)
    check((6, 1))
    with session_scope() as s:
        trash.delete_tasks(s, admin, project.id, [1, 2])
    check((4, 0))
    with session_scope() as s:
        trash.restore(s, admin, "task", 1)
    check((5, 1))
    label(people[2], project.id)
    with session_scope() as s:
        update_project(s, admin, project.id, ProjectFields(
            title=project.title, label_config=project.label_config, overlap=1, instructions=project.instructions,
        ))
    check((5, 2))  # with one annotation enough, the task people[2] labeled is done too
    factory.tasks(project, admin, 3)
    check((8, 2))

"""Which tasks get the project's overlap: the one rule, in Python and in SQL.

A project asks for `overlap` annotators on `overlap_percent`% of its tasks and one on the
others (e.g. 10% of tasks get 3 annotators, to measure agreement). Which tasks is a
fixed spread over task ids: a task is an overlap task when (id mod 100) * 37 mod 100 is
below the percent. 37 is coprime with 100, so every run of 100 consecutive ids holds
exactly `overlap_percent` overlap tasks, scattered through the run rather than bunched
at its start; the same task always gets the same answer, in every process."""

from __future__ import annotations

from sqlalchemy import ColumnElement, case, literal

from labelkit.models import Project, Task

SPREAD = 37


def is_overlap_task(project: Project, task_id: int) -> bool:
    return (task_id % 100) * SPREAD % 100 < project.overlap_percent


def needed(project: Project, task_id: int) -> int:
    """How many submitted annotations this task wants."""
    if project.overlap <= 1 or project.overlap_percent >= 100:
        return project.overlap
    return project.overlap if is_overlap_task(project, task_id) else 1


def needed_sql(project: Project, task_id=Task.id) -> ColumnElement[int]:
    """needed() as an SQL expression over a task id column (a plain number when every task is alike)."""
    if project.overlap <= 1 or project.overlap_percent >= 100:
        return literal(project.overlap)
    return case(((task_id % 100) * SPREAD % 100 < project.overlap_percent, project.overlap), else_=1)

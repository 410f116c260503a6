"""Projects and their members."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import fields as dataclass_fields

from sqlmodel import Session, col, func, select

from labelkit import audit
from labelkit.auth.accounts import find_user, normalize_email
from labelkit.auth.permissions import (
    PROJECT_ROLES,
    Capability,
    can,
    is_machine,
    require,
    require_in_project,
    visible_projects,
)
from labelkit.config import check_config
from labelkit.errors import Conflict, InvalidInput, NotFound
from labelkit.labeling import counts
from labelkit.models import Annotation, AnnotationState, Membership, Prediction, Project, Role, Task, User, utcnow

SAMPLING = {"sequential": "In order of import", "random": "Random order",
            "uncertainty": "Least certain first (by the model's predictions)"}
DISTRIBUTION = {"auto": "Automatic: the queue hands out the next task", "manual": "Manual: people get only the tasks assigned to them"}
REVIEW_ORDER = {"oldest": "Oldest submissions first", "newest": "Newest submissions first", "random": "Random order",
                "disagreement": "Tasks where annotators disagree most first"}
MAX_OVERLAP = 20


@dataclass
class ProjectFields:
    title: str
    label_config: str
    description: str = ""
    instructions: str = ""
    overlap: int = 1
    sampling: str = "sequential"
    overlap_percent: int = 100  # the share of tasks that get `overlap` annotators; the others get one
    distribution: str = "auto"
    review_required: bool = True
    review_order: str = "oldest"
    gold_percent: int = 0  # the share of an annotator's new tasks taken from gold tasks
    gold_min_accuracy: float | None = None  # pause an annotator below this accuracy on gold (0-1)
    gold_min_tasks: int = 5  # ... once they have done this many gold tasks

    @classmethod
    def of(cls, project: Project) -> ProjectFields:
        """A project's current settings, to edit."""
        return cls(**{f.name: getattr(project, f.name) for f in dataclass_fields(cls)})


def _validate(fields: ProjectFields) -> ProjectFields:
    title = fields.title.strip()
    if not title:
        raise InvalidInput("Give the project a title.")
    if len(title) > 200:
        raise InvalidInput("The title is longer than 200 characters.")
    if not 1 <= int(fields.overlap) <= MAX_OVERLAP:
        raise InvalidInput(f"Annotations per task must be between 1 and {MAX_OVERLAP}.")
    if fields.sampling not in SAMPLING:
        raise InvalidInput(f"Sampling must be one of: {', '.join(SAMPLING)}.")
    if not 1 <= int(fields.overlap_percent) <= 100:
        raise InvalidInput("The share of tasks with that many annotators is a percentage between 1 and 100.")
    if fields.distribution not in DISTRIBUTION:
        raise InvalidInput(f"Distribution must be one of: {', '.join(DISTRIBUTION)}.")
    if fields.review_order not in REVIEW_ORDER:
        raise InvalidInput(f"Review order must be one of: {', '.join(REVIEW_ORDER)}.")
    if not 0 <= int(fields.gold_percent) <= 100:
        raise InvalidInput("The share of gold tasks is a percentage between 0 and 100.")
    if fields.gold_min_accuracy is not None and not 0 <= float(fields.gold_min_accuracy) <= 1:
        raise InvalidInput("The lowest accuracy on gold tasks is between 0 and 1 (e.g. 0.8 for 80%).")
    if not 1 <= int(fields.gold_min_tasks) <= 1000:
        raise InvalidInput("Judge accuracy on gold after between 1 and 1000 gold tasks.")
    check_config(fields.label_config)
    fields.title = title
    return fields


def create_project(session: Session, actor: User, fields: ProjectFields) -> Project:
    require(session, actor, Capability.PROJECT_CREATE)
    fields = _validate(fields)
    project = Project(**vars(fields), created_by=actor.id)
    session.add(project)
    session.flush()
    session.add(Membership(project_id=project.id, user_id=actor.id, role=Role.MANAGER))
    audit.record(session, actor, "project.create", f"project:{project.id}", project.id, title=project.title)
    session.flush()
    return project


def get_project(session: Session, actor: User, project_id: int, capability: Capability = Capability.PROJECT_VIEW) -> Project:
    """The project, if the actor holds `capability` in it (one query for both)."""
    row = session.exec(
        select(Project, Membership.role)
        .join(Membership, (Membership.project_id == Project.id) & (Membership.user_id == actor.id), isouter=True)
        .where(Project.id == project_id)
    ).first()
    if row is None or row[0].deleted_at is not None:
        raise NotFound(f"There is no project {project_id}.")
    require_in_project(actor, row[1], capability)
    return row[0]


def find_project(session: Session, actor: User, ref: str | int, capability: Capability = Capability.PROJECT_VIEW) -> Project:
    """A project by id or exact title (the CLI's PROJECT argument), if the actor holds
    `capability` in it; projects the actor cannot open are not found."""
    query = select(Project).where(Project.deleted_at.is_(None))
    if str(ref).isdigit():
        project = session.exec(query.where(Project.id == int(ref))).first()
        if project:
            return get_project(session, actor, project.id, capability)
    matches = [p for p in session.exec(query.where(Project.title == str(ref))).all()
               if can(session, actor, Capability.PROJECT_VIEW, p.id)]
    if not matches:
        raise NotFound(f"There is no project with id or title {ref!r}.")
    if len(matches) > 1:
        ids = ", ".join(str(p.id) for p in matches)
        raise Conflict(f"Several projects are titled {ref!r} (ids {ids}); use the id.")
    return get_project(session, actor, matches[0].id, capability)


def update_project(session: Session, actor: User, project_id: int, fields: ProjectFields) -> Project:
    project = get_project(session, actor, project_id, Capability.PROJECT_EDIT)
    fields = _validate(fields)
    if fields.label_config != project.label_config:
        _check_tasks_fit(session, project.id, fields.label_config)
    changed = sorted(k for k, v in vars(fields).items() if getattr(project, k) != v)
    for key, value in vars(fields).items():
        setattr(project, key, value)
    project.updated_at = utcnow()
    session.add(project)
    if "overlap" in changed or "overlap_percent" in changed:
        session.flush()
        counts._overlap_changed(session, project)
    if changed:
        audit.record(session, actor, "project.update", f"project:{project.id}", project.id, changed=changed)
    return project


def _check_tasks_fit(session: Session, project_id: int, label_config: str) -> None:
    """A new config must still find its data keys in the project's tasks."""
    keys = check_config(label_config).data_keys
    rows = session.exec(
        select(Task.id, Task.data).where(Task.project_id == project_id, Task.deleted_at.is_(None)).order_by(Task.id)
    )
    for task_id, data in rows:
        missing = [k for k in keys if k not in (data or {})]
        if missing:
            raise InvalidInput(
                f"The new config needs the data key {missing[0]!r}, which task {task_id} does not have; "
                "existing tasks must fit the config."
            )


def list_projects(session: Session, actor: User) -> list[dict]:
    """The projects the actor can open, with their progress."""
    return [
        {
            "id": p.id,
            "title": p.title,
            "description": p.description,
            "tasks": p.task_count,
            "done": p.done_count,
            "overlap": p.overlap,
        }
        for p in visible_projects(session, actor)
    ]


def totals(session: Session, actor: User, project_ids: list[int]) -> dict[int, dict[str, int]]:
    """Counts Label Studio shows per project, for projects the actor may open: tasks with a
    submitted annotation, submitted and skipped annotations, predictions (one grouped query
    each, by the projects' indexes)."""
    found = {pid: {"annotated_tasks": 0, "annotations": 0, "skipped": 0, "predictions": 0} for pid in project_ids}
    if not project_ids:
        return found
    if actor.role != Role.ADMIN:
        members = set(session.exec(select(Membership.project_id).where(Membership.user_id == actor.id,
                                                                        col(Membership.project_id).in_(project_ids))))
        if missing := set(project_ids) - members:
            raise NotFound(f"There is no project {min(missing)}.")
    ids = col(Task.project_id).in_(project_ids)
    for pid, n in session.exec(select(Task.project_id, func.count()).where(ids, Task.deleted_at.is_(None), Task.total_annotations > 0)
                               .group_by(Task.project_id)):
        found[pid]["annotated_tasks"] = n
    for pid, state, n in session.exec(
        select(Annotation.project_id, Annotation.state, func.count())
        .where(col(Annotation.project_id).in_(project_ids), Annotation.deleted_at.is_(None),
               col(Annotation.state).in_([AnnotationState.SUBMITTED, AnnotationState.SKIPPED]))
        .group_by(Annotation.project_id, Annotation.state)
    ):
        found[pid]["annotations" if state == AnnotationState.SUBMITTED else "skipped"] = n
    for pid, n in session.exec(select(Prediction.project_id, func.count()).where(col(Prediction.project_id).in_(project_ids))
                               .group_by(Prediction.project_id)):
        found[pid]["predictions"] = n
    return found


def annotations_per_person(session: Session, actor: User, project_id: int) -> list[dict]:
    """Submitted and skipped work per person in a project."""
    require(session, actor, Capability.PROGRESS_VIEW, project_id)
    rows = session.exec(
        select(User.email, User.name, Annotation.state, func.count(Annotation.id))
        .join(User, User.id == Annotation.user_id)
        .join(Task, Task.id == Annotation.task_id)
        .where(Annotation.project_id == project_id, Annotation.deleted_at.is_(None), Task.deleted_at.is_(None))
        .group_by(User.email, User.name, Annotation.state)
    ).all()
    people: dict[str, dict] = {}
    for email, name, state, count in rows:
        person = people.setdefault(email, {"person": name or email, "email": email, "submitted": 0, "skipped": 0, "drafts": 0})
        key = {AnnotationState.SUBMITTED: "submitted", AnnotationState.SKIPPED: "skipped"}.get(state, "drafts")
        person[key] += count
    return sorted(people.values(), key=lambda p: -p["submitted"])


# Members


def list_members(session: Session, actor: User, project_id: int) -> list[dict]:
    require(session, actor, Capability.PROJECT_VIEW, project_id)
    rows = session.exec(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.project_id == project_id, Membership.role != Role.MODEL_SERVER)  # people only
        .order_by(User.email)
    ).all()
    return [
        {"user_id": u.id, "email": u.email, "name": u.name, "role": m.role, "active": u.is_active}
        for m, u in rows
    ]


def set_member(session: Session, actor: User, project_id: int, email: str, role: Role) -> Membership:
    """Add an existing account to a project, or change their role in it."""
    get_project(session, actor, project_id, Capability.MEMBER_MANAGE)
    role = Role(role)
    if role not in PROJECT_ROLES:
        raise InvalidInput(f"A project role is one of: {', '.join(PROJECT_ROLES)}.")
    user = find_user(session, normalize_email(email))
    if user is None or is_machine(user):
        raise NotFound(f"There is no account for {email}; send them an invite instead.")
    membership = session.exec(
        select(Membership).where(Membership.project_id == project_id, Membership.user_id == user.id)
    ).first()
    if membership is not None and membership.role == Role.MANAGER and role != Role.MANAGER:
        _keep_a_manager(session, project_id, user.id)
    old = membership.role if membership else None
    if membership is None:
        membership = Membership(project_id=project_id, user_id=user.id, role=role)
    membership.role = role
    session.add(membership)
    audit.record(session, actor, "member.set", f"user:{user.id}", project_id, email=user.email, old=old, new=str(role))
    return membership


def remove_member(session: Session, actor: User, project_id: int, user_id: int) -> None:
    get_project(session, actor, project_id, Capability.MEMBER_MANAGE)
    membership = session.exec(
        select(Membership).where(Membership.project_id == project_id, Membership.user_id == user_id)
    ).first()
    if membership is None or membership.role == Role.MODEL_SERVER:  # removing the model server removes it
        raise NotFound("That person is not a member of this project.")
    if membership.role == Role.MANAGER:
        _keep_a_manager(session, project_id, user_id)
    session.delete(membership)
    audit.record(session, actor, "member.remove", f"user:{user_id}", project_id)


def _keep_a_manager(session: Session, project_id: int, leaving_user_id: int) -> None:
    others = session.exec(
        select(func.count(Membership.id)).where(
            Membership.project_id == project_id, Membership.role == Role.MANAGER, Membership.user_id != leaving_user_id
        )
    ).one()
    if not others:
        raise Conflict("A project needs at least one manager; make someone else manager first.")

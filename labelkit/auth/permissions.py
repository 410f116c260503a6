"""The one permission table: which role may do what. Pages declare the capability they
need and services check it again with `require`."""

from __future__ import annotations

from enum import StrEnum

from sqlmodel import Session, select

from labelkit.errors import NotSignedIn, PermissionDenied
from labelkit.models import Membership, Project, Role, User


class Capability(StrEnum):
    # Portal-wide
    USER_MANAGE = "user.manage"
    AUDIT_VIEW = "audit.view"
    TRASH_RESTORE = "trash.restore"
    PROJECT_CREATE = "project.create"
    SERVER_FILES = "server.files"
    # Within a project
    PROJECT_VIEW = "project.view"
    PROJECT_EDIT = "project.edit"
    PROJECT_DELETE = "project.delete"
    MEMBER_MANAGE = "member.manage"
    MEMBER_INVITE = "member.invite"
    TASK_IMPORT = "task.import"
    TASK_DELETE = "task.delete"
    TASK_ANNOTATE = "task.annotate"
    ANNOTATION_REVIEW = "annotation.review"
    ANNOTATION_DELETE = "annotation.delete"
    PROJECT_EXPORT = "project.export"
    PROGRESS_VIEW = "progress.view"
    STORAGE_MANAGE = "storage.manage"
    TASK_ASSIGN = "task.assign"  # assign tasks, release locks, pause and resume annotators
    GROUND_TRUTH = "annotation.ground_truth"  # mark annotations as ground truth (gold tasks)
    TASK_COMMENT = "task.comment"  # comment on tasks (and mention people)
    TASK_BROWSE = "task.browse"  # the data manager: every task with its annotations
    MODEL_MANAGE = "model.manage"  # attach model servers, pre-label, start training
    PREDICTION_CREATE = "prediction.create"  # add a model's predictions to tasks (managers; a model server)


C = Capability

PORTAL_CAPABILITIES: set[Capability] = {C.USER_MANAGE, C.AUDIT_VIEW, C.TRASH_RESTORE, C.PROJECT_CREATE, C.SERVER_FILES}

# Capabilities each role holds. An admin holds every capability everywhere; a portal
# manager may create projects (and manages the ones they create).
ROLE_CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.ADMIN: frozenset(Capability),
    Role.MANAGER: frozenset(set(Capability) - {C.USER_MANAGE, C.AUDIT_VIEW, C.TRASH_RESTORE, C.SERVER_FILES}),
    Role.REVIEWER: frozenset({C.PROJECT_VIEW, C.TASK_ANNOTATE, C.ANNOTATION_REVIEW, C.PROGRESS_VIEW, C.TASK_COMMENT, C.TASK_BROWSE}),
    Role.ANNOTATOR: frozenset({C.PROJECT_VIEW, C.TASK_ANNOTATE, C.TASK_COMMENT}),
    # What the Label Studio ML protocol needs in its one project: read the tasks and their
    # media, write predictions. No export, no import, no team, no other project.
    Role.MODEL_SERVER: frozenset({C.PROJECT_VIEW, C.TASK_BROWSE, C.PREDICTION_CREATE}),
}

# What a capability lets someone do, for refusals a person can act on.
DESCRIPTIONS: dict[Capability, str] = {
    C.USER_MANAGE: "manage users and invites",
    C.AUDIT_VIEW: "read the audit log",
    C.TRASH_RESTORE: "restore from the trash",
    C.PROJECT_CREATE: "create projects",
    C.SERVER_FILES: "import from folders on the server",
    C.PROJECT_VIEW: "open this project",
    C.PROJECT_EDIT: "edit this project's settings",
    C.PROJECT_DELETE: "delete this project",
    C.MEMBER_MANAGE: "change this project's members",
    C.MEMBER_INVITE: "invite people to this project",
    C.TASK_IMPORT: "import tasks into this project",
    C.TASK_DELETE: "delete tasks in this project",
    C.TASK_ANNOTATE: "label tasks in this project",
    C.ANNOTATION_REVIEW: "review annotations in this project",
    C.ANNOTATION_DELETE: "delete annotations in this project",
    C.PROJECT_EXPORT: "export this project",
    C.PROGRESS_VIEW: "see the team's progress in this project",
    C.STORAGE_MANAGE: "connect this project's cloud storage",
    C.TASK_ASSIGN: "assign tasks and manage who works on what in this project",
    C.GROUND_TRUTH: "mark ground truth in this project",
    C.TASK_COMMENT: "comment on tasks in this project",
    C.TASK_BROWSE: "browse every task of this project",
    C.MODEL_MANAGE: "connect model servers and pre-label tasks in this project",
    C.PREDICTION_CREATE: "add predictions to tasks in this project",
}

# The roles a person can hold (a model server's account holds Role.MODEL_SERVER, nothing else).
ROLE_RANK = {Role.ANNOTATOR: 1, Role.REVIEWER: 2, Role.MANAGER: 3, Role.ADMIN: 4}
PERSON_ROLES = (Role.ADMIN, Role.MANAGER, Role.REVIEWER, Role.ANNOTATOR)
PROJECT_ROLES = (Role.MANAGER, Role.REVIEWER, Role.ANNOTATOR)


def is_machine(user: User) -> bool:
    """A model server's account: it cannot sign in, and no list of people shows it."""
    return user.role == Role.MODEL_SERVER


def lowest_role_with(capability: Capability) -> Role:
    return min((r for r in PERSON_ROLES if capability in ROLE_CAPABILITIES[r]), key=ROLE_RANK.get)


def project_role(session: Session, user: User, project_id: int) -> Role | None:
    """The user's role in a project: admin everywhere, else their membership's role."""
    if user.role == Role.ADMIN:
        return Role.ADMIN
    role = session.exec(
        select(Membership.role).where(Membership.project_id == project_id, Membership.user_id == user.id)
    ).first()
    return Role(role) if role else None


def can(session: Session, user: User | None, capability: Capability, project_id: int | None = None) -> bool:
    if user is None or not user.is_active:
        return False
    if user.role == Role.ADMIN:
        return True
    if capability in PORTAL_CAPABILITIES:
        return capability in ROLE_CAPABILITIES[Role(user.role)]
    if project_id is None:
        # "Somewhere": used to decide whether a page belongs in someone's navigation.
        roles = session.exec(select(Membership.role).where(Membership.user_id == user.id).distinct()).all()
        return any(capability in ROLE_CAPABILITIES[Role(r)] for r in roles)
    role = project_role(session, user, project_id)
    return role is not None and capability in ROLE_CAPABILITIES[role]


def capabilities_anywhere(session: Session, user: User | None) -> set[Capability]:
    """Everything the user may do in at least one project or portal-wide (for menus)."""
    if user is None or not user.is_active:
        return set()
    if user.role == Role.ADMIN:
        return set(Capability)
    held = ROLE_CAPABILITIES[Role(user.role)] & PORTAL_CAPABILITIES
    roles = session.exec(select(Membership.role).where(Membership.user_id == user.id).distinct()).all()
    for role in roles:
        held |= ROLE_CAPABILITIES[Role(role)] - PORTAL_CAPABILITIES
    return set(held)


def require(session: Session, user: User | None, capability: Capability, project_id: int | None = None) -> None:
    _check_account(user)
    if can(session, user, capability, project_id):
        return
    _refuse(capability)


def require_in_project(user: User | None, membership_role: str | None, capability: Capability) -> None:
    """`require` for a project when the caller has already read the user's membership role
    (one query for the project and the role together, on the hot paths)."""
    _check_account(user)
    role = Role.ADMIN if user.role == Role.ADMIN else (Role(membership_role) if membership_role else None)
    if role is None or capability not in ROLE_CAPABILITIES[role]:
        _refuse(capability)


def _check_account(user: User | None) -> None:
    if user is None:
        raise NotSignedIn("Please sign in first.")
    if not user.is_active:
        raise PermissionDenied("This account is deactivated. Ask an admin to reactivate it.")


def _refuse(capability: Capability) -> None:
    needed = lowest_role_with(capability)
    where = "" if capability in PORTAL_CAPABILITIES else " of this project"
    raise PermissionDenied(
        f"You don't have permission to {DESCRIPTIONS[capability]}: it needs the {needed} role{where}."
    )


def visible_projects(session: Session, user: User) -> list[Project]:
    """Projects the user may open, newest first."""
    query = select(Project).where(Project.deleted_at.is_(None)).order_by(Project.id.desc())
    if user.role != Role.ADMIN:
        query = query.join(Membership, Membership.project_id == Project.id).where(Membership.user_id == user.id)
    return list(session.exec(query).all())

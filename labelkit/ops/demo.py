"""`labelkit demo`: an admin and two sample projects with data, for a first look."""

from __future__ import annotations

import io
import json

from sqlmodel import Session, select

from labelkit import importers
from labelkit.auth.accounts import create_user, find_user
from labelkit.config.templates import template
from labelkit.models import Project, Role
from labelkit.projects.crud import ProjectFields, create_project
from labelkit.storage import local

REVIEWS = [
    "Arrived a day early and works exactly as described.",
    "The battery died after two weeks. Very disappointed.",
    "It's okay. Does the job, nothing special.",
    "Best purchase I've made this year, my whole family loves it!",
    "Customer support never answered my emails.",
    "The colour is slightly different from the photo, but fine.",
    "Broke the first time I dropped it. Flimsy plastic.",
    "Setup took five minutes and the app is intuitive.",
    "Too loud for an office, great for a workshop.",
    "I returned it: the size chart is wrong.",
    "Solid build, fair price, would buy again.",
    "Packaging was damaged but the product was intact.",
    "Stopped charging after a month; replacement was quick though.",
    "Exactly what I needed for my daily commute.",
    "The manual is useless, had to watch videos to figure it out.",
    "Neither good nor bad, just average.",
    "Absolutely stunning design, gets compliments all the time.",
    "Overpriced for what you get.",
    "Works with my old devices, which I did not expect.",
    "The smell of the material is still strong after a week.",
]

SENTIMENT_INSTRUCTIONS = """Read the review and pick the sentiment the customer expresses.

* **Positive**: they are satisfied overall, even with small complaints.
* **Negative**: they are dissatisfied, want a refund, or warn others.
* **Neutral**: mixed or factual, no clear feeling.

Use the comment box when you hesitate. Hotkeys: 1, 2, 3 pick a choice."""

SHAPES_INSTRUCTIONS = "Pick the shape you see in the picture. If there are none or several, pick **Other**."


def create_demo(session: Session, email: str, password: str) -> list[str]:
    """Idempotent: what exists already is left alone. Returns lines describing what was made."""
    lines = []
    admin = find_user(session, email)
    if admin is None:
        admin = create_user(session, email, name="Demo Admin", password=password, role=Role.ADMIN)
        lines.append(f"Created the admin {email}.")
    elif admin.role != Role.ADMIN:
        admin.role = Role.ADMIN
        session.add(admin)
    local.install_samples()

    def ensure(title: str, key: str, instructions: str, tasks: list[dict]) -> None:
        if session.exec(select(Project).where(Project.title == title, Project.deleted_at.is_(None))).first():
            lines.append(f"Project {title!r} exists already.")
            return
        t = template(key)
        created = create_project(
            session, admin,
            ProjectFields(title=title, label_config=t.config, description=t.description, instructions=instructions),
        )
        payload = json.dumps([{"data": d} for d in tasks]).encode()
        report = importers.import_sources(session, admin, created.id, [("demo.json", io.BytesIO(payload), len(payload))])
        lines.append(f"Created project {title!r} (id {created.id}) with {report.created} tasks.")

    ensure("Demo: product review sentiment", "sentiment", SENTIMENT_INSTRUCTIONS, [{"text": r} for r in REVIEWS])
    shapes = [{"image": f"{local.UPLOAD_PREFIX}samples/shape-{i}.png"} for i in range(1, 13)]
    ensure("Demo: shapes", "image-classification", SHAPES_INSTRUCTIONS, shapes)
    return lines

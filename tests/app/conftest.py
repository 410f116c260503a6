"""AppTest helpers: run the real app.py as a signed-in person.

AppTest has no cookies, so a person signs in the OIDC way: `at.user` carries the
identity claims, and the app maps them to the account through a linked Identity."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from labelkit.db import session_scope
from labelkit.models import Identity

APP = str(Path(__file__).resolve().parents[2] / "app.py")
ISSUER = "http://localhost:9400"


def link_identity(user) -> dict:
    """Link an OIDC identity to the account; returns the claims st.user will carry."""
    with session_scope() as session:
        linked = session.exec(select(Identity).where(Identity.issuer == ISSUER, Identity.subject == f"sub-{user.id}")).first()
        if linked is None:
            session.add(Identity(user_id=user.id, provider="test", issuer=ISSUER, subject=f"sub-{user.id}", email=user.email))
    return {"is_logged_in": True, "iss": ISSUER, "sub": f"sub-{user.id}", "email": user.email, "email_verified": True, "name": user.name}


@pytest.fixture
def app_as(settings):
    """app_as(user, page="label", project=3) -> an AppTest that has run once as that person."""

    def make(user=None, page: str | None = None, project: int | None = None, **query) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=30)
        at.user = link_identity(user) if user is not None else {"is_logged_in": False}
        if project is not None:
            at.query_params["project"] = str(project)
        for k, v in query.items():
            at.query_params[k] = v
        at.run()
        if page:
            at.switch_page(f"pages/{page}.py")
            at.run()
        return at

    return make

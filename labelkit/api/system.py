"""Health, version and the current user (Label Studio's paths; open to anyone but whoami)."""

from __future__ import annotations

from fastapi import Depends

from labelkit import __version__
from labelkit.api import schemas
from labelkit.api.auth import NO_NUL, current_user
from labelkit.api.routing import Router, errors
from labelkit.models import User

router = Router(tags=["system"], dependencies=[NO_NUL])


@router.get("/health", response_model=schemas.Health)
def health() -> dict:
    return {"status": "UP"}


@router.get("/version", response_model=schemas.Version)
def version() -> dict:
    return {"release": __version__, "labelkit": __version__, "edition": "Community"}


def user_json(user: User) -> dict:
    return {"id": user.id, "email": user.email, "username": user.email, "first_name": user.name, "last_name": ""}


@router.get("/current-user/whoami", response_model=schemas.UserSimple, responses=errors(401))
def whoami(user: User = Depends(current_user)) -> dict:
    return user_json(user)

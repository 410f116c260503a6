"""What every `labelkit` command shares: clean failures, the acting account, migrations first."""

from __future__ import annotations

from functools import wraps

import click
from sqlmodel import Session, select

from labelkit.errors import LabelkitError


def fail_cleanly(fn):
    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except LabelkitError as e:
            raise click.ClickException(str(e)) from None

    return wrapper


def operator(session: Session, email: str | None):
    from labelkit.auth.accounts import find_user
    from labelkit.models import Role, User

    if email:
        user = find_user(session, email)
        if user is None:
            raise click.ClickException(f"There is no account for {email}.")
        return user
    admin = session.exec(select(User).where(User.role == Role.ADMIN, User.is_active.is_(True)).order_by(User.id)).first()
    if admin is None:
        raise click.ClickException("There is no admin yet: run `labelkit user create EMAIL --admin` first.")
    return admin


def ready() -> None:
    from labelkit.db import migrate

    migrate()


as_option = click.option("--as", "as_email", metavar="EMAIL", help="Act as this account (default: the first admin).")

"""The schema only changes through Alembic, and the migrations match the models."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import labelkit.models  # noqa: F401
from labelkit.db import alembic_config, make_engine, migrate


def _differences(engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)


def test_models_and_migrations_agree(database_url: str) -> None:
    engine = make_engine(database_url)
    assert _differences(engine) == []
    engine.dispose()


def test_migrations_go_down_and_up_again(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(engine)
    assert "tasks" in inspect(engine).get_table_names()
    assert _differences(engine) == []
    engine.dispose()

"""Alembic environment: runs migrations on the configured URL (batch mode for SQLite)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from coop.core.db import make_engine
from coop.migrations.models import metadata

config = context.config
target_metadata = metadata()


def run_migrations_offline() -> None:
    """Emit SQL instead of running it."""
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run against a live database; an existing connection (tests) is reused."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "", pool_size=1)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: Connection) -> None:
    """Configure the context on `connection` and upgrade in one transaction."""
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

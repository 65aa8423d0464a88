"""Engine and sessions: the request commits, services only flush."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends
from sqlalchemy import event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlmodel import Session, create_engine

from coop.core.errors import InvalidInput
from coop.core.settings import get_settings

T = TypeVar("T")


def normalise_url(url: str | URL) -> URL:
    """Use the psycopg 3 driver for plain `postgresql://` URLs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def is_sqlite(engine: Engine) -> bool:
    """SQLite needs its own locking and pragmas."""
    return engine.dialect.name == "sqlite"


WRITER_PRAGMAS = ("journal_mode=WAL", "foreign_keys=ON")
READER_PRAGMAS = ("query_only=ON",)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int, *, pragmas: tuple[str, ...] = WRITER_PRAGMAS,
                      begin: str = "BEGIN IMMEDIATE") -> None:
    """WAL, foreign keys, and BEGIN IMMEDIATE so writers queue instead of overdrawing (readers: query_only, BEGIN).

    pysqlite's own transaction handling is switched off so that every transaction
    starts with BEGIN IMMEDIATE: it takes the write lock up front, which makes
    read-check-write sequences (no-overdraft checks, gap-free counters) safe.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (*pragmas, f"busy_timeout={int(busy_timeout_ms)}"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)


def make_engine(url: str | URL, *, pool_size: int = 5, busy_timeout_ms: int = 30_000) -> Engine:
    """Build an engine for SQLite (embedded default) or PostgreSQL."""
    parsed = normalise_url(url)
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
        )
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    return create_engine(parsed, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True)


def make_reader_engine(url: str | URL, *, busy_timeout_ms: int = 30_000) -> Engine:
    """An engine for reports (dashboards, exports) that cannot write and never holds the write lock.

    Each transaction reads one consistent snapshot: a deferred BEGIN under SQLite's WAL (writers go on)
    with `query_only` set, and REPEATABLE READ READ ONLY on PostgreSQL (where a read-only role adds a
    second wall). Dashboards use it so a slow chart never blocks a pledge being paid.
    """
    parsed = normalise_url(url)
    if parsed.drivername.startswith("sqlite"):
        engine = create_engine(parsed, connect_args={"check_same_thread": False,
                                                     "timeout": busy_timeout_ms / 1000})
        _configure_sqlite(engine, busy_timeout_ms, pragmas=READER_PRAGMAS, begin="BEGIN")
        return engine
    return create_engine(parsed, pool_size=2, max_overflow=2, pool_pre_ping=True,
                         isolation_level="REPEATABLE READ",
                         connect_args={"options": "-c default_transaction_read_only=on"})


_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}\Z")


def grant_read_only(session: Session, *, role: str) -> None:
    """Create (if missing) a PostgreSQL login role that reads every table, now and after later migrations,
    and can change nothing; idempotent. Needs a connection that may create roles and grant on the schema."""
    if session.get_bind().dialect.name != "postgresql":
        raise InvalidInput("read-only roles exist on PostgreSQL only; the embedded SQLite database is read "
                           "through a read-only engine", field="role")
    if not _ROLE_NAME.match(role):
        raise InvalidInput("a role name is lower-case letters, digits and _ (at most 63)", field="role")
    quoted = f'"{role}"'  # validated above: no quote can occur
    database = session.execute(text("SELECT current_database()")).scalar_one()
    exists = session.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}).first()
    statements = [] if exists else [f"CREATE ROLE {quoted} LOGIN"]
    statements += [f'GRANT CONNECT ON DATABASE "{database}" TO {quoted}',
                   f"GRANT USAGE ON SCHEMA public TO {quoted}",
                   f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public FROM {quoted}",
                   f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {quoted}",
                   f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {quoted}",
                   f"ALTER ROLE {quoted} SET default_transaction_read_only = on"]
    for statement in statements:
        session.execute(text(statement))


@lru_cache
def get_engine() -> Engine:
    """The process-wide engine for KRACHT_DATABASE_URL."""
    settings = get_settings()
    return make_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
    )


def open_session(engine: Engine | None = None) -> Session:
    """A session whose objects stay readable after commit (responses are built after it)."""
    return Session(engine or get_engine(), expire_on_commit=False)


def get_row(session: Session, model: type[T], ident: Any, *, for_update: bool = False,
            for_share: bool = False) -> T | None:
    """A row by primary key, read afresh; row-locked on PostgreSQL when it is about to change (or must not).

    `for_update` takes FOR NO KEY UPDATE: it queues other writers of the row, but not the inserts
    that merely refer to it (a pledge's foreign key takes FOR KEY SHARE), so changing a project
    does not hold up new pledges to it. Keys never change here. `for_share` takes FOR SHARE:
    many may hold it at once, and a writer waits for them all (payments booked to a project
    go on side by side, while the campaign's close waits for them, or they for it).
    SQLite needs no row lock: every transaction holds the write lock from its start (BEGIN IMMEDIATE).
    """
    return session.get(model, ident, populate_existing=True,
                       with_for_update=row_lock(session, for_update=for_update, for_share=for_share))


def row_lock(session: Session, *, for_update: bool = False, for_share: bool = False) -> dict[str, bool] | None:
    """`with_for_update`'s arguments for get_row's locks (None: no lock; SQLite needs none)."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    return {"key_share": True} if for_update else {"read": True} if for_share else None


def get_session() -> Iterator[Session]:
    """FastAPI dependency: one transaction per request, committed only if the endpoint succeeded.

    An exception rolls everything back, except a domain error that says its
    changes must be kept (a failed login attempt is still recorded).
    """
    with open_session() as session:
        try:
            yield session
        except Exception as exc:
            if getattr(exc, "keeps_changes", False):
                session.commit()
            else:
                session.rollback()
            raise
        else:
            session.commit()


@contextmanager
def unit_of_work(engine: Engine | None = None) -> Iterator[Session]:
    """One transaction for CLI commands and jobs: commit on success, roll back on error."""
    with open_session(engine) as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        else:
            session.commit()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
"""The request's session; `scope="function"` commits before the response is sent."""

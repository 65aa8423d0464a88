"""Engines and units of work: the psycopg driver, SQLite pragmas, commit or roll back as a whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.engine import Engine

from coop.core.db import is_sqlite, make_engine, normalise_url, open_session, unit_of_work


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://root@127.0.0.1:5432/kracht", "postgresql+psycopg"),
        ("postgres://root@127.0.0.1/kracht", "postgresql+psycopg"),
        ("postgresql+psycopg://root@127.0.0.1/kracht", "postgresql+psycopg"),
        ("postgresql+psycopg2://root@127.0.0.1/kracht", "postgresql+psycopg2"),
        ("sqlite:///var/kracht.db", "sqlite"),
    ],
)
def test_normalise_url_uses_psycopg_3(url: str, driver: str) -> None:
    normalised = normalise_url(url)
    assert normalised.drivername == driver


def test_normalise_url_keeps_the_rest() -> None:
    normalised = normalise_url("postgresql://kracht:s3cret@db.example.org:6543/coop?sslmode=require")
    assert normalised.username == "kracht"
    assert normalised.password == "s3cret"
    assert normalised.host == "db.example.org"
    assert normalised.port == 6543
    assert normalised.database == "coop"
    assert normalised.query == {"sslmode": "require"}


@pytest.fixture
def sqlite_engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'nested' / 'dir' / 'kracht.db'}", busy_timeout_ms=200)
    yield engine
    engine.dispose()


def test_make_engine_creates_the_directory(sqlite_engine: Engine, tmp_path: Path) -> None:
    with sqlite_engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    assert (tmp_path / "nested" / "dir" / "kracht.db").exists()
    assert is_sqlite(sqlite_engine)


def test_sqlite_pragmas(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        assert connection.execute(text("PRAGMA journal_mode")).scalar_one().lower() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar_one() == 200


def test_sqlite_enforces_foreign_keys(sqlite_engine: Engine) -> None:
    with sqlite_engine.begin() as connection:
        connection.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        connection.execute(text("CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id))"))
    with pytest.raises(sa_exc.IntegrityError), sqlite_engine.begin() as connection:
        connection.execute(text("INSERT INTO child (id, parent_id) VALUES (1, 42)"))


def test_sqlite_transactions_take_the_write_lock_up_front(sqlite_engine: Engine) -> None:
    """BEGIN IMMEDIATE: a second writer waits (here: times out) at BEGIN, before it can read stale data."""
    with sqlite_engine.begin() as connection:
        connection.execute(text("CREATE TABLE counter (value INTEGER)"))
    first = sqlite_engine.connect()
    try:
        first.begin()
        first.execute(text("SELECT count(*) FROM counter"))  # only a read, yet the lock is held
        second = sqlite_engine.connect()
        try:
            with pytest.raises(sa_exc.OperationalError, match="locked"):
                second.begin()
                second.execute(text("SELECT count(*) FROM counter"))
        finally:
            second.close()
    finally:
        first.close()


def test_unit_of_work_commits_on_success(sqlite_engine: Engine) -> None:
    with sqlite_engine.begin() as connection:
        connection.execute(text("CREATE TABLE note (body TEXT)"))
    with unit_of_work(sqlite_engine) as session:
        session.execute(text("INSERT INTO note (body) VALUES ('kept')"))
    with sqlite_engine.connect() as connection:
        assert connection.execute(text("SELECT body FROM note")).scalars().all() == ["kept"]


def test_unit_of_work_rolls_back_on_error(sqlite_engine: Engine) -> None:
    with sqlite_engine.begin() as connection:
        connection.execute(text("CREATE TABLE note (body TEXT)"))
    with pytest.raises(RuntimeError), unit_of_work(sqlite_engine) as session:
        session.execute(text("INSERT INTO note (body) VALUES ('lost')"))
        raise RuntimeError("halfway")
    with sqlite_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM note")).scalar_one() == 0


def test_open_session_keeps_objects_readable_after_commit(sqlite_engine: Engine) -> None:
    with open_session(sqlite_engine) as session:
        assert session.expire_on_commit is False
        assert session.get_bind() is sqlite_engine


def test_make_engine_for_postgresql_uses_psycopg() -> None:
    engine = make_engine("postgresql://root@127.0.0.1:5432/postgres", pool_size=3)
    try:
        assert engine.dialect.name == "postgresql"
        assert engine.dialect.driver == "psycopg"
        assert engine.pool.size() == 3  # type: ignore[attr-defined]
        assert not is_sqlite(engine)
    finally:
        engine.dispose()

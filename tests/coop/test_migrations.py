"""The migrations build exactly the schema the models describe, on both databases, and can be undone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from coop.core.db import make_engine
from coop.migrations import alembic_config
from coop.migrations.models import metadata
from tests.conftest import empty_postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a brand-new, empty database of each kind (removed afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    with empty_postgres_database("kracht_migrations") as url:
        yield url


@pytest.fixture
def engine(empty_database: str) -> Iterator[Engine]:
    engine = make_engine(empty_database)
    yield engine
    engine.dispose()


def differences(engine: Engine) -> list:
    """What autogenerate would write: empty when models and migrations agree."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, metadata())


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head(url: str) -> str:
    heads = ScriptDirectory.from_config(alembic_config(url)).get_heads()
    assert len(heads) == 1, f"migrations have several heads: {heads}"
    return heads[0]


def test_the_empty_database_is_empty(engine: Engine) -> None:
    """Guards the other tests: they start from nothing."""
    assert tables(engine) == set()
    assert current_revision(engine) is None


def test_upgrade_to_head_matches_the_models(empty_database: str, engine: Engine) -> None:
    command.upgrade(alembic_config(empty_database), "head")

    assert current_revision(engine) == head(empty_database)
    assert tables(engine) == set(metadata().tables) | {"alembic_version"}
    assert differences(engine) == []


def test_downgrade_to_base_and_upgrade_again(empty_database: str, engine: Engine) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "head")

    command.downgrade(config, "base")

    assert tables(engine) <= {"alembic_version"}
    assert current_revision(engine) is None

    command.upgrade(config, "head")

    assert current_revision(engine) == head(empty_database)
    assert differences(engine) == []


def test_upgrade_is_idempotent_at_head(empty_database: str, engine: Engine) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "head")

    command.upgrade(config, "head")

    assert current_revision(engine) == head(empty_database)
    assert differences(engine) == []


def test_every_step_downgrades_and_upgrades(empty_database: str, engine: Engine) -> None:
    """Walk the history one revision at a time, down and up again."""
    config = alembic_config(empty_database)
    revisions = [r.revision for r in reversed(list(ScriptDirectory.from_config(config).walk_revisions()))]
    assert revisions, "no migrations"
    for revision in revisions:
        command.upgrade(config, revision)
        assert current_revision(engine) == revision
        command.downgrade(config, "-1")
        command.upgrade(config, revision)
        assert current_revision(engine) == revision

    assert differences(engine) == []


def test_the_detector_sees_a_difference(empty_database: str, engine: Engine) -> None:
    """Proof that `differences` can fail: one table missing is reported."""
    command.upgrade(alembic_config(empty_database), "head")
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE auth_login_attempt")

    found = differences(engine)

    assert any(diff[0] == "add_table" and diff[1].name == "auth_login_attempt" for diff in found), found

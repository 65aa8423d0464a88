"""`kracht backup` and `kracht restore` on SQLite and PostgreSQL: the demo backed up, restored into a fresh database,
and its books and registers are the same; restoring never writes into a database that has tables."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session

from coop.core.clock import today_amsterdam
from coop.core.db import make_engine
from coop.ledger.queries import trial_balance
from coop.members.queries import members_with_status
from coop.shares.queries import holdings_at
from tests.conftest import empty_postgres_database
from tests.coop.test_cli import kracht, ok, refused
from tests.demo_db import Demo


def state(url: str) -> tuple[object, ...]:
    """The trial balance since 2000, the members' register and the share register today."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            today = today_amsterdam()
            books = trial_balance(session, start=date(2000, 1, 1), end=today).model_dump()
            members = sorted((str(member.id), member.member_number, status.value)
                             for member, status, _ in members_with_status(session, at=today))
            shares = sorted((str(h.member_id), h.class_code, tuple(h.certificates)) for h in holdings_at(session,
                                                                                                         at=today))
            return books, members, shares
    finally:
        engine.dispose()


@contextmanager
def fresh_database(demo: Demo, tmp_path: Path) -> Iterator[str]:
    """A new, empty database of the demo's kind."""
    if demo.url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    with empty_postgres_database("kracht_restore") as url:
        yield url


def test_a_backup_restores_into_a_fresh_database_with_the_same_books(demo: Demo, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "kracht.backup"
    monkeypatch.setenv("KRACHT_DATABASE_URL", demo.url)
    ok(kracht("backup", "--out", str(file)))
    assert file.stat().st_size > 10_000
    refused(kracht("backup", "--out", str(file)), "exists")

    with fresh_database(demo, tmp_path) as target:
        monkeypatch.setenv("KRACHT_DATABASE_URL", target)
        ok(kracht("restore", str(file)))

        assert state(target) == state(demo.url)
        assert state(target)[1], "the demo has members"
        refused(kracht("restore", str(file)), "not empty")  # a second restore would merge: refused
        ok(kracht("db", "upgrade"))  # a restored database is at the head already


def test_restore_needs_a_backup_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRACHT_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    refused(kracht("restore", str(tmp_path / "missing.backup")), "no backup file")

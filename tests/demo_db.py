"""A small demo cooperative (members, three years of subscriptions, projects, funds), seeded once per database.

Readers (the dashboards, the year-end export) share one seeded database of each kind and read it through
the read-only engine they use themselves; a test that must change it works on a copy (`sqlite_copy`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from coop.core.clock import today_amsterdam
from coop.core.db import make_engine, make_reader_engine
from coop.core.settings import get_settings
from coop.demo import DEMO_SEED, seed_demo
from funding.demo import seed_demo_projects
from tests.conftest import empty_postgres_database, migrate

DEMO_MEMBERS = 40
DEMO_PROJECTS = 12


@dataclass(frozen=True)
class Demo:
    """A seeded database: its URL, an engine that writes, and the dashboards' read-only engine."""

    url: str
    engine: Engine
    reader: Engine


def _seeded(url: str) -> Demo:
    """Migrate an empty database at `url` and fill it with the demo."""
    engine = migrate(url)
    settings = get_settings()
    with Session(engine) as session:
        seed_demo(session, settings=settings, members=DEMO_MEMBERS)
        seed_demo_projects(session, today=today_amsterdam(), seed=DEMO_SEED, public_url=settings.public_url,
                           count=DEMO_PROJECTS)
        session.commit()
    return Demo(url=url, engine=engine, reader=make_reader_engine(url))


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo cooperative on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        seeded = _seeded(f"sqlite:///{tmp_path_factory.mktemp('dashboards') / 'demo.db'}")
        yield seeded
        seeded.engine.dispose()
        seeded.reader.dispose()
        return
    with empty_postgres_database("kracht_dashboards") as url:
        seeded = _seeded(url)
        try:
            yield seeded
        finally:
            seeded.engine.dispose()
            seeded.reader.dispose()


@pytest.fixture(scope="session")
def sqlite_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo on a SQLite file of its own, for the browser tests (Voilà reads it from another process)."""
    path: Path = tmp_path_factory.mktemp("browser") / "demo.db"
    seeded = _seeded(f"sqlite:///{path}")
    yield seeded
    seeded.engine.dispose()
    seeded.reader.dispose()


@pytest.fixture
def sqlite_copy(sqlite_demo: Demo, tmp_path: Path) -> Iterator[Demo]:
    """A private copy of the SQLite demo that a test may damage."""
    source = Path(make_url(sqlite_demo.url).database or "")
    target = tmp_path / "copy.db"
    with sqlite3.connect(source) as original, sqlite3.connect(target) as copy:
        original.backup(copy)
    url = f"sqlite:///{target}"
    copied = Demo(url=url, engine=make_engine(url), reader=make_reader_engine(url))
    yield copied
    copied.engine.dispose()
    copied.reader.dispose()


@pytest.fixture
def reader(demo: Demo) -> Iterator[Session]:
    """A read-only session on the demo, as the dashboards open one."""
    with Session(demo.reader) as session:
        yield session

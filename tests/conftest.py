"""Test harness: every database test runs on SQLite and on a fresh PostgreSQL database.

Each test runs inside a transaction that is rolled back at the end; the request
sessions of the app join it through savepoints, so HTTP tests see real commits
and rollbacks without leaving anything behind. Before the rollback the ledger
must sum to zero, for every test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import psycopg
import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

os.environ["KRACHT_ENV"] = "test"
os.environ.setdefault("KRACHT_COOP_KVK", "90000001")  # the supplier on test invoices
os.environ.setdefault("KRACHT_COOP_VAT_ID", "NL004495445B01")

from coop.app import create_app
from coop.auth.models import Role, User
from coop.auth.service import create_token, create_user
from coop.core.db import get_session, make_engine
from coop.core.settings import get_settings
from coop.ledger.queries import global_sums
from coop.migrations import alembic_config
from coop.reference_data import seed_reference_data
from funding.social_value.service import seed_catalogue

get_settings.cache_clear()

DEFAULT_POSTGRES_URL = "postgresql://root@127.0.0.1:5432/postgres"
# the fake Stripe and Mollie APIs, the seeded demo, headless Chromium
pytest_plugins = ["tests.provider_apis", "tests.demo_db", "tests.browser"]

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TEST_PASSWORD = "correct horse battery staple"


def postgres_admin_url() -> str:
    """Where to create the per-run test database."""
    return os.environ.get("KRACHT_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def _postgres_or_skip() -> str:
    """The admin URL if PostgreSQL answers; otherwise skip (or fail in CI, where it must run)."""
    url = postgres_admin_url()
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL not reachable at {make_url(url).render_as_string(hide_password=True)}: {exc}"
        if IN_CI:
            pytest.fail(f"{message} (CI=true: PostgreSQL tests must run)")
        pytest.skip(message)
    return url


def migrate(url: str) -> Engine:
    """Upgrade an empty database to head, sync the chart, and return an engine on it."""
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    with Session(engine) as session:
        seed_reference_data(session)
        seed_catalogue(session)
        session.commit()
    return engine


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A migrated database of each kind, created for this run and removed after it."""
    if request.param == "sqlite":
        engine = migrate(f"sqlite:///{tmp_path_factory.mktemp('db') / 'kracht_test.db'}")
        yield engine
        engine.dispose()
        return
    with empty_postgres_database("kracht_test") as url:
        engine = migrate(url)
        try:
            yield engine
        finally:
            engine.dispose()


@contextmanager
def empty_postgres_database(prefix: str) -> Iterator[str]:
    """The URL of a brand-new, empty PostgreSQL database, dropped afterwards (skipped, or failed in CI, without one)."""
    admin_url = _postgres_or_skip()
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def assert_ledger_sound(session: Session) -> None:
    """The invariant of double entry: all postings, and each entry's postings, sum to zero."""
    total, unbalanced = global_sums(session)
    assert total == 0, f"ledger does not sum to zero: {total} cents"
    assert unbalanced == 0, f"{unbalanced} journal entries do not balance"


@pytest.fixture
def session(database: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test (ledger checked first)."""
    connection = database.connect()
    outer = connection.begin()
    db_session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield db_session
        assert_ledger_sound(db_session)
    finally:
        db_session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def client(session: Session) -> Iterator[TestClient]:
    """The app over HTTP, its request sessions joined to the test transaction."""

    def test_session() -> Iterator[Session]:
        # Keep what the test itself set up: a failing request must roll back only its own work.
        session.commit()
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

    app = create_app()
    app.dependency_overrides[get_session] = test_session
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


UserFactory = Callable[..., User]
HeadersFactory = Callable[..., dict[str, str]]


@pytest.fixture
def make_user(session: Session) -> UserFactory:
    """`make_user(Role.BOARD, email=...)`: a user with a known password."""

    def factory(*roles: Role, email: str | None = None, password: str = TEST_PASSWORD) -> User:
        address = email or f"{'-'.join(r.value for r in roles) or 'nobody'}-{uuid.uuid4().hex[:8]}@example.org"
        return create_user(session, email=address, roles=roles, password=password)

    return factory


@pytest.fixture
def auth_headers(session: Session, make_user: UserFactory) -> HeadersFactory:
    """`auth_headers(Role.TREASURER)`: bearer headers of a fresh user holding those roles.

    The token lasts ten years, so it is valid on every day a test freezes the clock at.
    """

    def factory(*roles: Role) -> dict[str, str]:
        user = make_user(*roles)
        plain, _ = create_token(session, user_id=user.id, ttl=timedelta(days=3650))
        return {"Authorization": f"Bearer {plain}"}

    return factory


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked postgres_only (row locks, real concurrency, roles) are not collected for SQLite at all.

    They are deselected rather than skipped, so a CI run that skips nothing stays meaningful.
    """
    keep, drop = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if item.get_closest_marker("postgres_only") and "sqlite" in (params.get("database"), params.get("demo")):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember skipped tests: in CI they are failures."""
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With CI=true nothing may be skipped: PostgreSQL and browser tests must really run."""
    if IN_CI and _skipped and exitstatus == 0:
        print(f"\nCI=true but {len(_skipped)} test(s) were skipped: {', '.join(_skipped[:10])}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

"""The `kracht` command against a throw-away SQLite database file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlmodel import Session, col, func, select
from typer.testing import CliRunner, Result

from coop.auth.models import AccessToken, Role, User
from coop.auth.service import authenticate, issue_token, roles_of, user_by_email
from coop.cli import app
from coop.core.db import get_engine, make_engine
from coop.core.errors import Unauthorized
from coop.core.settings import get_settings
from coop.demo import DEMO_DOMAIN, demo_password
from coop.ledger.chart import CHART
from coop.ledger.models import Account

PASSWORD = "a-long-password"


def clear_caches() -> None:
    """Settings and engine are read once per process; the CLI must see this test's environment."""
    get_settings.cache_clear()
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A development environment on an empty SQLite file."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("KRACHT_DATABASE_URL", url)
    monkeypatch.setenv("KRACHT_ENV", "development")
    monkeypatch.delenv("KRACHT_PUBLIC_URL", raising=False)
    clear_caches()
    yield url
    clear_caches()
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def production(upgraded: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The same (upgraded) database, but the environment says production."""
    monkeypatch.setenv("KRACHT_ENV", "production")
    monkeypatch.setenv("KRACHT_PUBLIC_URL", "https://coop.example")
    clear_caches()
    return upgraded


def kracht(*args: str, stdin: str | None = None) -> Result:
    """Run `kracht ARGS` as a fresh process would (settings and engine read anew)."""
    clear_caches()
    try:
        return CliRunner().invoke(app, list(args), input=stdin)
    finally:
        clear_caches()


def ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}\n{result.exception!r}"
    return result


def refused(result: Result, *fragments: str) -> Result:
    """A deliberate refusal: non-zero exit, the reason printed, no traceback."""
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    for fragment in fragments:
        assert fragment in result.output, result.output
    return result


@pytest.fixture
def engine(db_url: str) -> Iterator:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def upgraded(db_url: str, engine) -> str:
    ok(kracht("db", "upgrade"))
    return db_url


def sign_in(session: Session, email: str, password: str) -> tuple[str, AccessToken]:
    """What POST /auth/token does, straight through the service."""
    return issue_token(session, email=email, password=password, ttl=timedelta(hours=1),
                       max_failures=5, window=timedelta(minutes=15))


def count(engine, model, *where) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()


# --- db ------------------------------------------------------------------------------------------


def test_db_upgrade_creates_schema_and_chart(db_url: str, engine) -> None:
    result = ok(kracht("db", "upgrade"))

    tables = set(inspect(engine).get_table_names())
    assert {"alembic_version", "auth_user", "auth_token", "audit_event", "ledger_account", "ledger_entry",
            "ledger_posting", "job"} <= tables
    assert count(engine, Account) == len(CHART) == 16
    with Session(engine) as session:
        codes = set(session.exec(select(Account.code)).all())
    assert codes == {spec.code.value for spec in CHART}
    assert ("16 ledger accounts, 2 share classes, 2 subscription tiers and 11 example outcome types added"
            in result.output)


def test_db_upgrade_twice_is_harmless(db_url: str, engine) -> None:
    ok(kracht("db", "upgrade"))

    again = ok(kracht("db", "upgrade"))

    assert "0 ledger accounts, 0 share classes, 0 subscription tiers and 0 example outcome types added" in again.output
    assert count(engine, Account) == 16


# --- users ---------------------------------------------------------------------------------------


def test_users_create_with_password_from_stdin(upgraded: str, engine) -> None:
    result = ok(kracht("users", "create", "--email", "Penning@Example.org", "--role", "treasurer",
                       "--role", "board", "--password-stdin", stdin=PASSWORD + "\n"))

    assert "penning@example.org" in result.output
    assert PASSWORD not in result.output
    with Session(engine) as session:
        user = user_by_email(session, email="penning@example.org")
        assert user is not None
        assert user.password_hash is not None and user.password_hash.startswith("$argon2")
        assert roles_of(session, user_id=user.id) == [Role.BOARD, Role.TREASURER]
        # The password read from stdin (without its newline) signs in.
        plain, _ = sign_in(session, "penning@example.org", PASSWORD)
        assert authenticate(session, token=plain).roles == {Role.BOARD, Role.TREASURER}
        with pytest.raises(Unauthorized):
            sign_in(session, "penning@example.org", PASSWORD + "\n")
        session.rollback()


def test_users_create_duplicate_email_fails(upgraded: str, engine) -> None:
    ok(kracht("users", "create", "--email", "dup@example.org", "--role", "member",
              "--password-stdin", stdin=PASSWORD + "\n"))

    result = refused(kracht("users", "create", "--email", "DUP@example.org", "--role", "board",
                            "--password-stdin", stdin=PASSWORD + "\n"), "email")

    assert "exists" in result.output
    assert count(engine, User, col(User.email).like("dup@%")) == 1


def test_users_create_short_password_fails(upgraded: str, engine) -> None:
    refused(kracht("users", "create", "--email", "short@example.org", "--role", "member",
                   "--password-stdin", stdin="short\n"), "password")

    assert count(engine, User) == 0


def test_users_create_unknown_role_fails(upgraded: str, engine) -> None:
    result = kracht("users", "create", "--email", "x@example.org", "--role", "emperor",
                    "--password-stdin", stdin=PASSWORD + "\n")

    assert result.exit_code != 0
    assert count(engine, User) == 0


# --- demo ----------------------------------------------------------------------------------------


def test_demo_seed_creates_one_user_per_role_once(upgraded: str, engine) -> None:
    ok(kracht("demo", "seed"))

    demo_users = col(User.email).like(f"%@{DEMO_DOMAIN}")
    assert count(engine, User, demo_users) == len(Role)
    with Session(engine) as session:
        held = sorted(role for user in session.exec(select(User).where(demo_users)).all()
                      for role in roles_of(session, user_id=user.id))
    assert held == sorted(Role)

    second = ok(kracht("demo", "seed"))

    assert count(engine, User, demo_users) == len(Role)
    assert count(engine, User) == len(Role)
    assert "already present" in second.output


def test_demo_users_can_sign_in_with_the_printed_password(upgraded: str, engine) -> None:
    result = ok(kracht("demo", "seed"))

    password = demo_password(Role.BOARD, get_settings())
    assert password in result.output  # shown in development
    with Session(engine) as session:
        plain, _ = sign_in(session, f"board@{DEMO_DOMAIN}", password)
        assert authenticate(session, token=plain).roles == {Role.BOARD}
        session.rollback()


def test_demo_seed_is_refused_in_production(production: str, engine) -> None:
    refused(kracht("demo", "seed"), "production")

    assert count(engine, User) == 0


# --- jobs ----------------------------------------------------------------------------------------


def test_jobs_run_with_now_in_development(upgraded: str) -> None:
    result = ok(kracht("jobs", "run", "--now", "2027-01-01T00:00:00+00:00"))

    assert "job(s) ran" in result.output


def test_jobs_run_with_now_is_refused_in_production(production: str) -> None:
    refused(kracht("jobs", "run", "--now", "2027-01-01T00:00:00+00:00"), "production")


def test_jobs_run_with_a_bad_now_fails(upgraded: str) -> None:
    refused(kracht("jobs", "run", "--now", "next tuesday"), "ISO-8601")


def test_sepa_payouts_needs_the_cooperatives_account_and_reports_nothing_due(
        upgraded: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "payouts.xml"
    refused(kracht("sepa", "payouts", "--out", str(out)), "KRACHT_COOP_IBAN")
    refused(kracht("sepa", "payouts", "--out", str(out), "--on", "31-12-2027"), "not a date")
    monkeypatch.setenv("KRACHT_COOP_IBAN", "NL91ABNA0417164300")
    result = ok(kracht("sepa", "payouts", "--out", str(out), "--on", "2027-12-31"))
    assert "0 payout(s)" in result.output and "no file written" in result.output
    assert not out.exists()


def test_payments_reconcile_reports_what_changed(upgraded: str, engine) -> None:
    from datetime import UTC, datetime

    from coop.core.clock import frozen_clock
    from coop.core.db import unit_of_work
    from coop.members.schemas import JoinIn
    from coop.members.service import join
    from coop.payments.models import Payment, PaymentStatus, ProviderName
    from coop.payments.service import provider_for

    with frozen_clock(datetime(2026, 1, 1, 9, 0, tzinfo=UTC)), unit_of_work(engine) as session:
        _, payment = join(session, data=JoinIn(kind="person", name="Verloren Webhook", email="w@example.org"))
        provider_for(session, ProviderName.SANDBOX).choose(payment.provider_reference, PaymentStatus.PAID)
    result = ok(kracht("payments", "reconcile"))
    assert "1 payment(s) changed" in result.output and "open" in result.output and "paid" in result.output
    with unit_of_work(engine) as session:
        assert session.get(Payment, payment.id).status is PaymentStatus.PAID
    assert "0 payment(s) changed" in ok(kracht("payments", "reconcile")).output

"""Faults: the process dies after a webhook reached the inbox but before it was processed, and the database
connection drops before a commit.

The inbox row and the processing share one transaction, so a crash leaves neither; the provider's retry or the
reconciliation sweep then books the payment, once, however often the webhook comes back afterwards. A dropped
connection loses the whole transaction: nothing is half-written."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, func, select

from coop.core.db import unit_of_work
from coop.core.settings import get_settings
from coop.ledger.models import JournalEntry
from coop.ledger.queries import global_sums
from coop.members.models import Member, MemberKind
from coop.members.schemas import JoinIn
from coop.members.service import join
from coop.payments.models import Payment, PaymentStatus, ProviderEvent, ProviderName, SandboxCheckout
from coop.payments.providers.sandbox import SandboxProvider
from coop.payments.service import get_payment, receive_notification, reconcile, record_event
from tests.conftest import empty_postgres_database, migrate, postgres_admin_url


class Killed(BaseException):
    """The process going away (not an Exception: nothing in the app catches it)."""


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database of its own (the test commits)."""
    if request.param == "sqlite":
        engine = migrate(f"sqlite:///{tmp_path / 'faults.db'}")
        yield engine
        engine.dispose()
        return
    with empty_postgres_database("kracht_faults") as url:
        engine = migrate(url)
        yield engine
        engine.dispose()


def test_a_crash_between_inbox_and_processing_leaves_nothing_and_the_sweep_books_once(fresh: Engine) -> None:
    with unit_of_work(fresh) as session:
        _, payment = join(session, data=JoinIn(kind=MemberKind.PERSON, name="Noor", email="noor@example.org"))
        session.get(SandboxCheckout, payment.provider_reference).status = PaymentStatus.PAID
        payment_id, reference = payment.id, payment.provider_reference

    with pytest.raises(Killed), unit_of_work(fresh) as session:
        record_event(session, provider=ProviderName.SANDBOX, external_id=f"{reference}:paid", kind="paid",
                     raw="id=" + reference, payment_id=payment_id)
        raise Killed  # before the payment was processed

    with unit_of_work(fresh) as session:
        assert session.exec(select(func.count()).select_from(ProviderEvent)).one() == 0
        assert get_payment(session, payment_id=payment_id).status is PaymentStatus.OPEN
        reconcile(session, open_after=timedelta(0))  # the sweep (a job every 15 minutes)
    for _ in range(3):  # and the provider's retries after that
        with unit_of_work(fresh) as session:
            receive_notification(session, provider=SandboxProvider(session, get_settings().public_url),
                                 provider_reference=reference, raw="id=" + reference)

    with unit_of_work(fresh) as session:
        assert get_payment(session, payment_id=payment_id).status is PaymentStatus.PAID
        booked = session.exec(select(func.count()).select_from(JournalEntry)
                              .where(JournalEntry.idempotency_key == f"payment:{payment_id}:paid")).one()
        assert booked == 1
        assert global_sums(session) == (0, 0)


@pytest.mark.postgres_only
def test_a_connection_dropped_before_the_commit_leaves_nothing_half_written(database) -> None:
    with empty_postgres_database("kracht_dropped") as url:
        engine = migrate(url)
        try:
            session = Session(engine)
            join(session, data=JoinIn(kind=MemberKind.PERSON, name="Sem", email="sem@example.org"))
            backend = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
            with psycopg.connect(postgres_admin_url(), autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
            with pytest.raises(DBAPIError):
                session.commit()
            session.close()

            with unit_of_work(engine) as after:
                assert after.exec(select(func.count()).select_from(Member)).one() == 0
                assert after.exec(select(func.count()).select_from(Payment)).one() == 0
                assert after.exec(select(func.count()).select_from(JournalEntry)).one() == 0
        finally:
            engine.dispose()

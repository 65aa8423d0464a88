"""Twenty subscriptions paid at the same moment on PostgreSQL: invoice numbers stay gap-free and unique."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import select

from coop.core.clock import today_amsterdam
from coop.core.db import unit_of_work
from coop.core.settings import get_settings
from coop.ledger.queries import global_sums
from coop.members.models import MemberKind
from coop.members.schemas import JoinIn
from coop.members.service import join
from coop.payments.models import PaymentStatus, ProviderName, SandboxCheckout
from coop.payments.providers.sandbox import SandboxProvider
from coop.payments.service import receive_notification
from coop.subscriptions.models import Invoice
from coop.subscriptions.service import start_subscription
from tests.conftest import empty_postgres_database, migrate

PAYERS = 20


@pytest.mark.postgres_only
def test_twenty_subscriptions_paid_at_once_get_invoices_1_to_20(database) -> None:
    with empty_postgres_database("kracht_invoices") as url:
        engine = migrate(url)
        try:
            with unit_of_work(engine) as setup:
                references = []
                for n in range(PAYERS):
                    member, _ = join(setup, data=JoinIn(kind=MemberKind.PERSON, name=f"Lid {n}",
                                                        email=f"lid{n}@example.org"))
                    _, payment = start_subscription(setup, member_id=member.id, provider=ProviderName.SANDBOX,
                                                    actor_id=None)
                    setup.get(SandboxCheckout, payment.provider_reference).status = PaymentStatus.PAID
                    references.append(payment.provider_reference)
            barrier = threading.Barrier(PAYERS)
            outcomes: list[str | Exception | None] = [None] * PAYERS

            def webhook(index: int) -> None:
                try:
                    barrier.wait(timeout=30)
                    with unit_of_work(engine) as session:
                        provider = SandboxProvider(session, get_settings().public_url)
                        outcomes[index] = receive_notification(session, provider=provider,
                                                               provider_reference=references[index], raw="paid")
                except Exception as error:
                    outcomes[index] = error

            threads = [threading.Thread(target=webhook, args=(i,)) for i in range(PAYERS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
            assert not any(thread.is_alive() for thread in threads), "a payment hung (deadlock?)"
            assert outcomes == ["open -> paid"] * PAYERS, outcomes

            year = today_amsterdam().year
            with unit_of_work(engine) as session:
                numbers = sorted(session.exec(select(Invoice.number)).all())
                assert numbers == [f"{year}-{n:05d}" for n in range(1, PAYERS + 1)]
                assert global_sums(session) == (0, 0)
        finally:
            engine.dispose()

"""Twenty subscriptions paid at the same moment on PostgreSQL: invoice numbers stay gap-free and unique."""

from __future__ import annotations

import pytest
from sqlmodel import select

from coop.core.clock import today_amsterdam
from coop.core.db import unit_of_work
from coop.ledger.queries import global_sums
from coop.members.models import MemberKind
from coop.members.schemas import JoinIn
from coop.members.service import join
from coop.payments.models import PaymentStatus, ProviderName, SandboxCheckout
from coop.subscriptions.models import Invoice
from coop.subscriptions.service import start_subscription
from tests.conftest import empty_postgres_database, migrate
from tests.support import notify_paid_at_once

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
            outcomes = notify_paid_at_once(engine, references)
            assert outcomes == ["open -> paid"] * PAYERS, outcomes

            year = today_amsterdam().year
            with unit_of_work(engine) as session:
                numbers = sorted(session.exec(select(Invoice.number)).all())
                assert numbers == [f"{year}-{n:05d}" for n in range(1, PAYERS + 1)]
                assert global_sums(session) == (0, 0)
        finally:
            engine.dispose()

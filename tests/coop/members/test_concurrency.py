"""Twenty share orders paid at the same moment on PostgreSQL: member numbers, share-register entries and
certificate numbers stay gap-free and unique."""

from __future__ import annotations

import pytest
from sqlmodel import select

from coop.core.db import unit_of_work
from coop.ledger.queries import global_sums
from coop.members.models import Member, MemberKind
from coop.members.schemas import JoinIn
from coop.members.service import join
from coop.payments.models import PaymentStatus, SandboxCheckout
from coop.shares.models import ShareOperation
from tests.conftest import empty_postgres_database, migrate
from tests.support import notify_paid_at_once

JOINERS = 20


@pytest.mark.postgres_only
def test_twenty_members_paid_at_once_get_numbers_and_certificates_1_to_20(database) -> None:
    with empty_postgres_database("kracht_numbers") as url:
        engine = migrate(url)
        try:
            with unit_of_work(engine) as setup:
                references = []
                for n in range(JOINERS):
                    _, payment = join(setup, data=JoinIn(kind=MemberKind.PERSON, name=f"Lid {n}",
                                                         email=f"lid{n}@example.org"))
                    setup.get(SandboxCheckout, payment.provider_reference).status = PaymentStatus.PAID
                    references.append(payment.provider_reference)

            outcomes = notify_paid_at_once(engine, references)

            assert outcomes == ["open -> paid"] * JOINERS, outcomes
            with unit_of_work(engine) as session:
                numbers = sorted(session.exec(select(Member.member_number)).all())
                assert numbers == list(range(1, JOINERS + 1))
                operations = session.exec(select(ShareOperation)).all()
                assert sorted(operation.number for operation in operations) == list(range(1, JOINERS + 1))
                certificates = sorted(c for operation in operations for c in operation.certificates)
                assert certificates == list(range(1, JOINERS + 1))
                assert global_sums(session) == (0, 0)
        finally:
            engine.dispose()

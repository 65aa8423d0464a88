"""Fifty pledges to one project paid at the same moment on PostgreSQL: the totals are exact."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from coop.core.clock import today_amsterdam
from coop.core.db import unit_of_work
from coop.ledger.chart import AccountCode
from coop.ledger.queries import balance, global_sums
from coop.payments.models import PaymentStatus, SandboxCheckout
from funding.pledges.models import PledgeKind
from funding.pledges.queries import progress
from funding.pledges.schemas import PledgeIn
from funding.pledges.service import make_pledge
from funding.projects.models import FundingModel, Project, ProjectStatus, Theme
from tests.conftest import empty_postgres_database, migrate
from tests.support import notify_paid_at_once

PLEDGERS = 50


@pytest.mark.postgres_only
def test_fifty_pledges_paid_at_once_give_exact_totals(database) -> None:
    with empty_postgres_database("kracht_pledges") as url:
        engine = migrate(url)
        try:
            today = today_amsterdam()
            with unit_of_work(engine) as setup:
                project = Project(initiator_id=uuid.uuid4(), title="Speeltuin", summary="Een speeltuin",
                                  municipality_code="GM0363", neighbourhood="Jordaan", theme=Theme.SPORT_EN_RECREATIE,
                                  goal_cents=1_000_000, starts_on=today, deadline=today + timedelta(days=20),
                                  funding_model=FundingModel.ALL_OR_NOTHING, status=ProjectStatus.LIVE)
                setup.add(project)
                setup.flush()
                project_id, references = project.id, []
                for n in range(PLEDGERS):
                    _, payment = make_pledge(setup, project_id=project_id, data=PledgeIn(
                        kind=PledgeKind.MONEY, amount_cents=1_000 + n, name=f"Buur {n}", email=f"b{n}@example.org"))
                    assert payment is not None
                    setup.get(SandboxCheckout, payment.provider_reference).status = PaymentStatus.PAID
                    references.append(payment.provider_reference)
            outcomes = notify_paid_at_once(engine, references)
            assert outcomes == ["open -> paid"] * PLEDGERS, outcomes

            expected = sum(1_000 + n for n in range(PLEDGERS))
            with unit_of_work(engine) as session:
                reached = progress(session, project_ids=[project_id])[project_id]
                assert (reached.paid_cents, reached.pending_cents, reached.backers) == (expected, 0, PLEDGERS)
                assert -balance(session, account=AccountCode.PLEDGES_HELD, project_id=project_id) == expected
                assert global_sums(session) == (0, 0)
        finally:
            engine.dispose()

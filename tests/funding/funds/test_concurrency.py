"""Fifty EUR 100 pledges paid at the same moment against a 1:1 rule with a EUR 1,000 budget: exactly EUR 1,000."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlmodel import select

import funding.funds.matching  # noqa: F401  (matches follow paid pledges)
from coop.core.clock import today_amsterdam
from coop.core.db import unit_of_work
from coop.ledger.chart import AccountCode
from coop.ledger.queries import global_sums
from coop.ledger.schemas import Line
from coop.ledger.service import post
from coop.payments.models import PaymentStatus, SandboxCheckout
from funding.funds.models import Fund, FundKind, Match, MatchRule
from funding.funds.queries import available_cents, reserved_cents
from funding.pledges.models import PledgeKind
from funding.pledges.schemas import PledgeIn
from funding.pledges.service import make_pledge
from funding.projects.models import FundingModel, Project, ProjectStatus, Theme
from tests.conftest import empty_postgres_database, migrate
from tests.support import notify_paid_at_once

PLEDGERS = 50


@pytest.mark.postgres_only
def test_fifty_simultaneous_pledges_never_overspend_the_budget(database) -> None:
    with empty_postgres_database("kracht_matching") as url:
        engine = migrate(url)
        try:
            today = today_amsterdam()
            with unit_of_work(engine) as setup:
                fund = Fund(name="Wijkfonds", kind=FundKind.COMMUNITY_FUND)
                project = Project(initiator_id=uuid.uuid4(), title="Speeltuin", summary="Een speeltuin",
                                  municipality_code="GM0363", neighbourhood="Jordaan", theme=Theme.SPORT_EN_RECREATIE,
                                  goal_cents=10_000_000, starts_on=today, deadline=today + timedelta(days=20),
                                  funding_model=FundingModel.ALL_OR_NOTHING, status=ProjectStatus.LIVE)
                setup.add_all([fund, project])
                setup.flush()
                setup.add(MatchRule(fund_id=fund.id, ratio_bp=10_000, cap_per_pledge_cents=10_000,
                                    cap_per_project_cents=1_000_000, budget_cents=100_000))
                post(setup, key=f"test-deposit:{fund.id}", description="Storting",
                     lines=[Line(account=AccountCode.BANK, amount_cents=500_000, fund_id=fund.id),
                            Line(account=AccountCode.FUNDS_AVAILABLE, amount_cents=-500_000, fund_id=fund.id)])
                fund_id, project_id, references = fund.id, project.id, []
                for n in range(PLEDGERS):
                    _, payment = make_pledge(setup, project_id=project_id, data=PledgeIn(
                        kind=PledgeKind.MONEY, amount_cents=10_000, name=f"Buur {n}", email=f"b{n}@example.org"))
                    assert payment is not None
                    setup.get(SandboxCheckout, payment.provider_reference).status = PaymentStatus.PAID
                    references.append(payment.provider_reference)

            outcomes = notify_paid_at_once(engine, references)

            assert outcomes == ["open -> paid"] * PLEDGERS, outcomes
            with unit_of_work(engine) as session:
                matches = session.exec(select(Match).where(Match.fund_id == fund_id)).all()
                assert sum(m.amount_cents for m in matches) == 100_000 and len(matches) == 10
                assert (available_cents(session, fund_id=fund_id), reserved_cents(session, fund_id=fund_id)) == (
                    400_000, 100_000)
                assert global_sums(session) == (0, 0)
        finally:
            engine.dispose()

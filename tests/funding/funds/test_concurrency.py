"""Fifty EUR 100 pledges paid at the same moment against a 1:1 rule with a EUR 1,000 budget: exactly EUR 1,000."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from psycopg.errors import LockNotAvailable
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

import funding.funds.matching  # noqa: F401  (matches follow paid pledges)
from coop.core.clock import today_amsterdam
from coop.core.db import unit_of_work
from coop.core.settings import get_settings
from coop.ledger.chart import AccountCode
from coop.ledger.queries import global_sums
from coop.ledger.schemas import Line
from coop.ledger.service import post
from coop.payments.models import PaymentStatus, SandboxCheckout
from coop.payments.providers.sandbox import SandboxProvider
from coop.payments.service import receive_notification
from funding.funds.models import Fund, FundKind, Match, MatchRule
from funding.funds.queries import available_cents, reserved_cents
from funding.pledges.models import PledgeKind
from funding.pledges.schemas import PledgeIn
from funding.pledges.service import make_pledge
from funding.projects.models import FundingModel, Project, ProjectStatus, Theme
from tests.conftest import empty_postgres_database, migrate
from tests.support import notify_paid_at_once

PLEDGERS = 50


@pytest.fixture
def engine(database: str) -> Iterator[Engine]:
    """An engine on a migrated, empty PostgreSQL database of its own (row locks are PostgreSQL's)."""
    with empty_postgres_database("kracht_matching") as url:
        migrated = migrate(url)
        try:
            yield migrated
        finally:
            migrated.dispose()


@pytest.mark.postgres_only
def test_fifty_simultaneous_pledges_never_overspend_the_budget(engine: Engine) -> None:
    with unit_of_work(engine) as setup:
        fund_id, project_id = _fund_with_rule(setup, ratio_bp=10_000)
    references = [_checkout_paid(engine, project_id, f"b{n}@example.org") for n in range(PLEDGERS)]

    outcomes = notify_paid_at_once(engine, references)

    assert outcomes == ["open -> paid"] * PLEDGERS, outcomes
    with unit_of_work(engine) as session:
        matches = session.exec(select(Match).where(Match.fund_id == fund_id)).all()
        assert sum(m.amount_cents for m in matches) == 100_000 and len(matches) == 10
        assert (available_cents(session, fund_id=fund_id), reserved_cents(session, fund_id=fund_id)) == (
            400_000, 100_000)
        assert global_sums(session) == (0, 0)


def _fund_with_rule(session: Session, goal_cents: int = 10_000_000, **rule: int) -> tuple[uuid.UUID, uuid.UUID]:
    """A community fund holding EUR 5,000 with one match rule (EUR 100 a pledge, a EUR 1,000 budget), and a live
    project it covers: (fund id, project id)."""
    today = today_amsterdam()
    fund = Fund(name="Wijkfonds", kind=FundKind.COMMUNITY_FUND)
    project = Project(initiator_id=uuid.uuid4(), title="Speeltuin", summary="Een speeltuin",
                      municipality_code="GM0363", neighbourhood="Jordaan", theme=Theme.SPORT_EN_RECREATIE,
                      goal_cents=goal_cents, starts_on=today, deadline=today + timedelta(days=20),
                      funding_model=FundingModel.ALL_OR_NOTHING, status=ProjectStatus.LIVE)
    session.add_all([fund, project])
    session.flush()
    session.add(MatchRule(fund_id=fund.id, cap_per_pledge_cents=10_000, cap_per_project_cents=1_000_000,
                          budget_cents=100_000, **rule))
    post(session, key=f"test-deposit:{fund.id}", description="Storting",
         lines=[Line(account=AccountCode.BANK, amount_cents=500_000, fund_id=fund.id),
                Line(account=AccountCode.FUNDS_AVAILABLE, amount_cents=-500_000, fund_id=fund.id)])
    return fund.id, project.id


def _checkout_paid(engine: Engine, project_id: uuid.UUID, email: str) -> str:
    """Pledge EUR 100 as `email` and pay the sandbox checkout; its reference, for the provider's report."""
    with unit_of_work(engine) as session:
        _, payment = make_pledge(session, project_id=project_id, data=PledgeIn(
            kind=PledgeKind.MONEY, amount_cents=10_000, name="Buur", email=email))
        assert payment is not None
        session.get(SandboxCheckout, payment.provider_reference).status = PaymentStatus.PAID
        return payment.provider_reference


def _pay_while_the_fund_is_locked(engine: Engine, fund_id: uuid.UUID, project_id: uuid.UUID, email: str) -> str:
    """Pledge EUR 100 as `email` and report it paid while another transaction holds the fund's row; the outcome,
    or "waited for the fund" when the payment could not go on within a second."""
    reference = _checkout_paid(engine, project_id, email)
    with engine.connect() as holder, holder.begin():
        holder.execute(text("SELECT id FROM fund WHERE id = :id FOR UPDATE"), {"id": fund_id})
        try:
            with unit_of_work(engine) as session:
                session.execute(text("SET LOCAL lock_timeout = '1s'"))
                return str(receive_notification(session, provider=SandboxProvider(session, get_settings().public_url),
                                                provider_reference=reference, raw="paid"))
        except OperationalError as error:
            assert isinstance(error.orig, LockNotAvailable), error
            return "waited for the fund"


def _pay(engine: Engine, project_id: uuid.UUID, email: str) -> None:
    """Pledge EUR 100 as `email` and report it paid."""
    assert notify_paid_at_once(engine, [_checkout_paid(engine, project_id, email)]) == ["open -> paid"]


def _matched(engine: Engine, fund_id: uuid.UUID) -> list[tuple[str, int]]:
    """(pledger, cents) of the fund's matches."""
    with unit_of_work(engine) as session:
        return [(m.pledger_email, m.amount_cents) for m in session.exec(select(Match).where(Match.fund_id == fund_id))]


@pytest.mark.postgres_only
def test_a_pledge_its_rule_gives_nothing_does_not_wait_for_the_funds_lock(engine: Engine) -> None:
    with unit_of_work(engine) as setup:
        fund_id, project_id = _fund_with_rule(setup, ratio_bp=10_000, pledges_per_pledger=1)
    assert _pay_while_the_fund_is_locked(engine, fund_id, project_id, "a@example.org") == "waited for the fund"
    _pay(engine, project_id, "b@example.org")

    # b had the one match a pledger may have: the next pledge needs nothing of the fund, and waits for no one
    assert _pay_while_the_fund_is_locked(engine, fund_id, project_id, "b@example.org") == "open -> paid"
    assert _matched(engine, fund_id) == [("b@example.org", 10_000)]


@pytest.mark.postgres_only
def test_a_threshold_rule_takes_the_funds_lock_until_its_lump_sum_is_paid(engine: Engine) -> None:
    """Another pledge paid meanwhile may reach the threshold, so "not yet" is only known under the lock."""
    with unit_of_work(engine) as setup:
        fund_id, project_id = _fund_with_rule(setup, goal_cents=30_000, ratio_bp=10_000, lump_sum_cents=25_000,
                                              threshold_bp=5_000, min_backers=3)
    assert _pay_while_the_fund_is_locked(engine, fund_id, project_id, "a@example.org") == "waited for the fund"
    for pledger in ("a@example.org", "b@example.org", "c@example.org"):  # c is the third backer
        _pay(engine, project_id, pledger)
    assert _matched(engine, fund_id) == [("c@example.org", 25_000)]

    assert _pay_while_the_fund_is_locked(engine, fund_id, project_id, "d@example.org") == "open -> paid"
    assert _matched(engine, fund_id) == [("c@example.org", 25_000)]


"""Property: whatever neighbours pledge, pay, fail, get refunded or charged back, and whenever the campaign
closes, the ledger, the project's totals and the pledge statuses agree."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from coop.core.clock import frozen_clock
from coop.core.errors import KrachtError
from coop.core.jobs import Job, JobStatus
from coop.ledger.chart import AccountCode
from coop.ledger.queries import balance
from coop.payments.models import PaymentStatus, ProviderName
from coop.payments.service import get_payment, provider_for, receive_notification, refund_payment
from funding.pledges.closing import close_project, refund_pledge
from funding.pledges.models import Pledge, PledgeKind, PledgeStatus
from funding.pledges.queries import progress
from funding.pledges.schemas import PledgeIn
from funding.pledges.service import REFUND_JOB, make_pledge
from funding.projects.models import FundingModel, Project, ProjectStatus, Theme

START = date(2027, 5, 1)
DAYS = 20

steps = st.lists(st.one_of(
    st.tuples(st.just("pledge"), st.integers(100, 60_000)),
    st.tuples(st.just("pay"), st.integers(0, 30)),
    st.tuples(st.just("fail"), st.integers(0, 30)),
    st.tuples(st.just("refund"), st.integers(0, 30)),
    st.tuples(st.just("chargeback"), st.integers(0, 30)),
    st.tuples(st.just("close"), st.integers(0, 0)),
), min_size=1, max_size=14)


def at_noon(day: date):
    return frozen_clock(datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC))


class Campaign:
    """Carries out random steps on one project, day by day; steps the rules refuse change nothing."""

    def __init__(self, session: Session, model: FundingModel, goal_cents: int):
        self.session = session
        self.project = Project(initiator_id=uuid.uuid4(), title="Buurtbankjes", summary="Bankjes in de buurt",
                               municipality_code="GM0599", neighbourhood="Delfshaven",
                               theme=Theme.GEMEENSCHAP_EN_VEILIGHEID,
                               goal_cents=goal_cents, starts_on=START, deadline=START + timedelta(days=DAYS),
                               funding_model=model, status=ProjectStatus.LIVE)
        session.add(self.project)
        session.flush()
        self.payments: list[uuid.UUID] = []
        self.sandbox = provider_for(session, ProviderName.SANDBOX)

    def pledge(self, cents: int) -> None:
        _, payment = make_pledge(self.session, project_id=self.project.id, data=PledgeIn(
            kind=PledgeKind.MONEY, amount_cents=cents, name="Buur", email=f"b{len(self.payments)}@example.org"))
        assert payment is not None
        self.payments.append(payment.id)

    def _settle(self, which: int, outcome: PaymentStatus) -> None:
        if self.payments:
            payment = get_payment(self.session, payment_id=self.payments[which % len(self.payments)])
            self.sandbox.choose(payment.provider_reference, outcome)
            receive_notification(self.session, provider=self.sandbox, provider_reference=payment.provider_reference,
                                 raw="")

    def pay(self, which: int) -> None:
        self._settle(which, PaymentStatus.PAID)

    def fail(self, which: int) -> None:
        self._settle(which, PaymentStatus.FAILED)

    def refund(self, which: int) -> None:
        if self.payments:
            refund_payment(self.session, payment_id=self.payments[which % len(self.payments)], amount_cents=None,
                           reason="property test", requested_by=None)

    def chargeback(self, which: int) -> None:
        if self.payments:
            payment = get_payment(self.session, payment_id=self.payments[which % len(self.payments)])
            self.sandbox.charge_back(payment.provider_reference)
            receive_notification(self.session, provider=self.sandbox, provider_reference=payment.provider_reference,
                                 raw="")

    def close(self, _: int) -> None:
        close_project(self.session, project_id=self.project.id, today=START + timedelta(days=DAYS + 1))
        self.run_refunds()

    def run_refunds(self) -> None:
        """What the refund jobs do."""
        for job in self.session.exec(select(Job).where(Job.name == REFUND_JOB, Job.status == JobStatus.QUEUED)):
            refund_pledge(self.session, pledge_id=uuid.UUID(job.args["pledge_id"]))
            job.status = JobStatus.DONE
            self.session.add(job)
        self.session.flush()


def assert_books_agree(session: Session, project: Project) -> None:
    """Ledger 2200 + 2400 equals the paid pledges; statuses follow the project's outcome."""
    pledges = session.exec(select(Pledge).where(Pledge.project_id == project.id)).all()
    paid = sum(p.amount_cents or 0 for p in pledges if p.status in (PledgeStatus.PAID, PledgeStatus.REFUND_PENDING))
    held = -balance(session, account=AccountCode.PLEDGES_HELD, project_id=project.id)
    owed = -balance(session, account=AccountCode.PAYABLE_TO_PROJECTS, project_id=project.id)
    assert held + owed == paid
    assert progress(session, project_ids=[project.id])[project.id].paid_cents == sum(
        p.amount_cents or 0 for p in pledges if p.status is PledgeStatus.PAID)
    for p in pledges:
        payment = get_payment(session, payment_id=p.payment_id)
        if payment.status in (PaymentStatus.REFUNDED, PaymentStatus.CHARGED_BACK):
            assert p.status is PledgeStatus.REFUNDED
        if payment.status in (PaymentStatus.FAILED,):
            assert p.status is PledgeStatus.FAILED
        if payment.status is PaymentStatus.PAID:
            assert p.status in (PledgeStatus.PAID, PledgeStatus.REFUND_PENDING)
    if project.status is ProjectStatus.SUCCEEDED:
        assert held == 0
    if project.status is ProjectStatus.FAILED:
        assert held == 0 and owed == 0 and all(p.status is not PledgeStatus.PAID for p in pledges)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(plan=steps, model=st.sampled_from(list(FundingModel)), goal=st.integers(0, 100_000))
def test_ledger_totals_and_statuses_agree_after_any_campaign(session: Session, plan, model, goal) -> None:
    savepoint = session.begin_nested()
    try:
        with at_noon(START):
            campaign = Campaign(session, model, goal)
        for index, (name, arg) in enumerate(plan):
            day = START + timedelta(days=min(index, DAYS)) if name != "close" else START + timedelta(days=DAYS + 1)
            with at_noon(day):
                try:
                    with session.begin_nested():
                        getattr(campaign, name)(arg)
                    event(f"{name} carried out")
                except KrachtError:
                    event(f"{name} refused")
                campaign.run_refunds()  # the worker's refund jobs, right after
            assert_books_agree(session, campaign.project)
        with at_noon(START + timedelta(days=DAYS + 2)):
            campaign.close(0)
        assert campaign.project.status in (ProjectStatus.SUCCEEDED, ProjectStatus.FAILED)
        assert_books_agree(session, campaign.project)
    finally:
        savepoint.rollback()

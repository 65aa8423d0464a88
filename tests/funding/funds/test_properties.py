"""Property (a hypothesis state machine): whatever mix of donations, pledges, payments, refunds, chargebacks,
grants and closings happens, no fund is ever overdrawn, reserved money equals the open reservations, and every
match is traceable to its rule and pledge."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlmodel import Session, select

import funding.funds.matching  # noqa: F401  (matches follow paid pledges)
from coop.auth.models import Role
from coop.auth.schemas import CurrentUser
from coop.core.clock import frozen_clock
from coop.core.errors import KrachtError
from coop.core.jobs import Job, JobStatus
from coop.ledger.chart import AccountCode
from coop.ledger.queries import balance, global_sums
from coop.payments.models import PaymentStatus, ProviderName
from coop.payments.service import get_payment, provider_for, receive_notification, refund_payment
from funding.funds.grants import approve_grant, propose_grant
from funding.funds.models import Fund, FundKind, FundManager, Grant, GrantStatus, Match, MatchRule, MatchStatus
from funding.funds.queries import available_cents, reserved_cents
from funding.funds.schemas import DepositIn, GrantIn
from funding.funds.service import record_deposit
from funding.pledges.closing import close_project, refund_pledge
from funding.pledges.models import Pledge, PledgeKind
from funding.pledges.schemas import PledgeIn
from funding.pledges.service import REFUND_JOB, make_pledge
from funding.projects.models import FundingModel, Project, ProjectStatus, Theme

START = date(2028, 2, 1)
DAYS = 20


def at_noon(day: date):
    return frozen_clock(datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC))


class Funding(RuleBasedStateMachine):
    """Two funds with rules, three projects, and random money moving between them."""

    session: Session

    def __init__(self) -> None:
        super().__init__()
        self.savepoint = self.session.begin_nested()
        self.day = START
        self.manager = CurrentUser(id=uuid.uuid4(), email="a@fonds.example.org", roles=frozenset({Role.FUND_MANAGER}))
        self.board = CurrentUser(id=uuid.uuid4(), email="b@bestuur.example.org", roles=frozenset({Role.BOARD}))
        with at_noon(START):
            self.funds = [Fund(name=f"Fonds {n}", kind=FundKind.COMMUNITY_FUND) for n in range(2)]
            self.session.add_all(self.funds)
            self.session.flush()
            self.session.add(FundManager(fund_id=self.funds[0].id, user_id=self.manager.id))
            self.session.add_all([
                MatchRule(fund_id=self.funds[0].id, ratio_bp=10_000, cap_per_pledge_cents=5_000,
                          cap_per_project_cents=6_000, budget_cents=8_000),
                MatchRule(fund_id=self.funds[1].id, ratio_bp=5_000, cap_per_pledge_cents=3_000,
                          cap_per_project_cents=30_000, budget_cents=30_000, pledges_per_pledger=3)])
            self.projects = [Project(initiator_id=uuid.uuid4(), title=f"Project {n}", summary="Samen",
                                     municipality_code="GM0344", neighbourhood="Lombok", theme=Theme.VOEDSEL,
                                     goal_cents=goal, starts_on=START, deadline=START + timedelta(days=DAYS),
                                     funding_model=model, status=ProjectStatus.LIVE)
                             for n, (goal, model) in enumerate([(40_000, FundingModel.ALL_OR_NOTHING),
                                                                (5_000, FundingModel.ALL_OR_NOTHING),
                                                                (90_000, FundingModel.KEEP_IT_ALL)])]
            self.session.add_all(self.projects)
            self.session.flush()
        self.payments: list[uuid.UUID] = []
        self.sandbox = provider_for(self.session, ProviderName.SANDBOX)
        for fund in self.funds:  # some money to start with, so matches happen early
            self._act(lambda fund=fund: record_deposit(self.session, fund_id=fund.id, by=self.board.id,
                                                       data=DepositIn(amount_cents=6_000, reference="start")))

    def _act(self, action) -> None:
        with at_noon(self.day):
            try:
                with self.session.begin_nested():
                    action()
            except KrachtError:
                pass  # refused by the rules: nothing changed
            self._run_refunds()

    def _run_refunds(self) -> None:
        for job in self.session.exec(select(Job).where(Job.name == REFUND_JOB, Job.status == JobStatus.QUEUED)):
            with self.session.begin_nested():
                refund_pledge(self.session, pledge_id=uuid.UUID(job.args["pledge_id"]))
            job.status = JobStatus.DONE
            self.session.add(job)
        self.session.flush()

    @rule(fund=st.integers(0, 1), cents=st.integers(1, 40_000))
    def deposit(self, fund: int, cents: int) -> None:
        self._act(lambda: record_deposit(self.session, fund_id=self.funds[fund].id, by=self.board.id,
                                         data=DepositIn(amount_cents=cents, reference=uuid.uuid4().hex)))

    @rule(project=st.integers(0, 2), cents=st.integers(100, 20_000), pledger=st.integers(0, 3))
    def pledge(self, project: int, cents: int, pledger: int) -> None:
        def act() -> None:
            _, payment = make_pledge(self.session, project_id=self.projects[project].id, data=PledgeIn(
                kind=PledgeKind.MONEY, amount_cents=cents, name="Buur", email=f"buur{pledger}@example.org"))
            assert payment is not None
            self.payments.append(payment.id)
        self._act(act)

    def _settle(self, which: int, outcome: PaymentStatus | None) -> None:
        payment = get_payment(self.session, payment_id=self.payments[which % len(self.payments)])
        if outcome is None:
            self.sandbox.charge_back(payment.provider_reference)
        else:
            self.sandbox.choose(payment.provider_reference, outcome)
        receive_notification(self.session, provider=self.sandbox, provider_reference=payment.provider_reference,
                             raw="")

    @precondition(lambda self: self.payments)
    @rule(which=st.integers(0, 50), outcome=st.sampled_from([PaymentStatus.PAID, PaymentStatus.PAID,
                                                              PaymentStatus.FAILED, None]))
    def settle(self, which: int, outcome: PaymentStatus | None) -> None:
        self._act(lambda: self._settle(which, outcome))

    @precondition(lambda self: self.payments)
    @rule(which=st.integers(0, 50))
    def refund(self, which: int) -> None:
        self._act(lambda: refund_payment(self.session, payment_id=self.payments[which % len(self.payments)],
                                         amount_cents=None, reason="test", requested_by=None))

    @rule(project=st.integers(0, 2), cents=st.integers(100, 30_000))
    def grant(self, project: int, cents: int) -> None:
        def act() -> None:
            made = propose_grant(self.session, fund_id=self.funds[0].id, user=self.manager, data=GrantIn(
                project_id=self.projects[project].id, amount_cents=cents, note="Toekenning"))
            approve_grant(self.session, grant_id=made.id, user=self.board)
        self._act(act)

    @precondition(lambda self: len(self.payments) >= 6)  # let money and matches build up first
    @rule(project=st.integers(0, 2))
    def close(self, project: int) -> None:
        self.day = START + timedelta(days=DAYS + 1)
        self._act(lambda: close_project(self.session, project_id=self.projects[project].id, today=self.day))

    @invariant()
    def no_fund_is_overdrawn_and_reservations_add_up(self) -> None:
        for fund in self.funds:
            assert available_cents(self.session, fund_id=fund.id) >= 0
            open_matches = self.session.exec(select(Match).where(Match.fund_id == fund.id,
                                                                 Match.status == MatchStatus.RESERVED)).all()
            open_grants = self.session.exec(select(Grant).where(Grant.fund_id == fund.id,
                                                                Grant.status == GrantStatus.APPROVED)).all()
            assert reserved_cents(self.session, fund_id=fund.id) == sum(m.amount_cents for m in open_matches) + sum(
                g.amount_cents for g in open_grants)
        assert global_sums(self.session) == (0, 0)

    @invariant()
    def every_match_is_traceable_and_within_its_rule(self) -> None:
        for rule_row in self.session.exec(select(MatchRule)).all():
            standing = self.session.exec(select(Match).where(
                Match.rule_id == rule_row.id, Match.status != MatchStatus.RELEASED)).all()
            assert sum(m.amount_cents for m in standing) <= rule_row.budget_cents
            for project in self.projects:
                assert sum(m.amount_cents for m in standing if m.project_id == project.id) <= \
                    rule_row.cap_per_project_cents
            for match in standing:
                pledge = self.session.get(Pledge, match.pledge_id)
                assert pledge is not None and pledge.project_id == match.project_id and match.explanation
                assert match.amount_cents <= min(rule_row.cap_per_pledge_cents, pledge.amount_cents or 0)
        for project in self.projects:
            if project.status in (ProjectStatus.FAILED, ProjectStatus.CANCELED):
                assert balance(self.session, account=AccountCode.FUNDS_RESERVED, project_id=project.id) == 0

    def teardown(self) -> None:
        self.savepoint.rollback()


@pytest.mark.parametrize("runs", [40])
def test_funds_never_overspend_and_every_match_is_traceable(session: Session, runs: int) -> None:
    Funding.session = session
    state_machine = Funding.TestCase
    state_machine.settings = settings(max_examples=runs, stateful_step_count=40, deadline=None,
                                      suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                             HealthCheck.too_slow])
    state_machine().runTest()

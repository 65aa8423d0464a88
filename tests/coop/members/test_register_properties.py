"""Property: on every date, the share register equals the ledger's share capital (0500), per member and in total."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from coop.core.clock import frozen_clock
from coop.core.errors import KrachtError
from coop.ledger.chart import AccountCode
from coop.ledger.queries import balance
from coop.members import service as members
from coop.members.schemas import JoinIn
from coop.payments.models import PaymentStatus, ProviderName
from coop.payments.service import get_payment, provider_for, receive_notification, refund_payment
from coop.shares import service as shares
from coop.shares.queries import holdings_at

BOARD_A, BOARD_B = uuid.uuid4(), uuid.uuid4()
KINDS = ["person", "company", "government"]

actions = st.lists(st.one_of(
    st.tuples(st.just("join"), st.sampled_from(KINDS), st.integers(0, 6)),
    st.tuples(st.just("transfer"), st.integers(0, 50), st.integers(0, 50), st.integers(1, 4)),
    st.tuples(st.just("redeem"), st.integers(0, 50), st.integers(1, 4)),
    st.tuples(st.just("refund"), st.integers(0, 50), st.just(0)),
    st.tuples(st.just("chargeback"), st.integers(0, 50), st.just(0)),
), min_size=1, max_size=10)
gaps = st.lists(st.integers(0, 120), min_size=10, max_size=10)


def at_noon(day: date):
    return frozen_clock(datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC))


class History:
    """Carries out random actions on given dates, ignoring the ones the rules refuse."""

    def __init__(self, session: Session):
        self.session = session
        self.members: list[tuple[uuid.UUID, str]] = []
        self.payments: list[uuid.UUID] = []

    def join(self, kind: str, social: int) -> None:
        data = JoinIn(kind=kind, name=f"Lid {len(self.members)}", email=f"lid{len(self.members)}@example.org",
                      kvk_number="69599084" if kind == "company" else None,
                      share_class="maatschappelijk" if social and kind != "person" else None,
                      quantity=social if social and kind != "person" else None)
        member, payment = members.join(self.session, data=data)
        provider = provider_for(self.session, ProviderName.SANDBOX)
        provider.choose(payment.provider_reference, PaymentStatus.PAID)
        receive_notification(self.session, provider=provider, provider_reference=payment.provider_reference, raw="")
        self.members.append((member.id, kind))
        self.payments.append(payment.id)

    def transfer(self, giver: int, taker: int, quantity: int) -> None:
        if len(self.members) < 2:
            return
        source, target = self.members[giver % len(self.members)][0], self.members[taker % len(self.members)][0]
        mutation = members.request_transfer(self.session, from_member_id=source, to_member_id=target,
                                            class_code=shares.SOCIAL, quantity=quantity, requested_by=BOARD_A)
        shares.approve_mutation(self.session, mutation_id=mutation.id, approver_id=BOARD_B)

    def redeem(self, holder: int, quantity: int) -> None:
        if not self.members:
            return
        member_id = self.members[holder % len(self.members)][0]
        mutation = shares.request_redemption(self.session, member_id=member_id, class_code=shares.SOCIAL,
                                             quantity=quantity, requested_by=BOARD_A)
        shares.approve_mutation(self.session, mutation_id=mutation.id, approver_id=BOARD_B)

    def chargeback(self, which: int, _: int) -> None:
        """The payer's bank takes the money back: the provider decides, nothing can refuse it."""
        if self.payments:
            payment = get_payment(self.session, payment_id=self.payments[which % len(self.payments)])
            provider = provider_for(self.session, ProviderName.SANDBOX)
            provider.charge_back(payment.provider_reference)
            receive_notification(self.session, provider=provider, provider_reference=payment.provider_reference,
                                 raw="")

    def refund(self, which: int, _: int) -> None:
        if self.payments:
            refund_payment(self.session, payment_id=self.payments[which % len(self.payments)], amount_cents=None,
                           reason="property test", requested_by=BOARD_A)


def assert_register_matches_ledger(session: Session, day: date, member_ids: list[uuid.UUID]) -> None:
    held = holdings_at(session, at=day)
    assert sum(h.quantity * h.nominal_cents for h in held) == -balance(
        session, account=AccountCode.SHARE_CAPITAL, at=day), f"total differs on {day}"
    for member_id in member_ids:
        nominal = sum(h.quantity * h.nominal_cents for h in held if h.member_id == member_id)
        assert nominal == -balance(session, account=AccountCode.SHARE_CAPITAL, member_id=member_id, at=day)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(plan=actions, day_gaps=gaps)
def test_share_register_equals_share_capital_on_every_date(session: Session, plan, day_gaps) -> None:
    savepoint = session.begin_nested()
    try:
        history = History(session)
        day, dates = date(2025, 1, 1), []
        for (name, *args), gap in zip(plan, day_gaps, strict=False):
            day += timedelta(days=gap)
            with at_noon(day):
                try:
                    with session.begin_nested():
                        getattr(history, name)(*args)
                    event(f"{name} carried out")
                except KrachtError:
                    event(f"{name} refused")  # by the rules (not held, not transferable...): nothing changed
            dates.append(day)
        member_ids = [member_id for member_id, _ in history.members]
        for checked in sorted({d + timedelta(days=delta) for d in dates for delta in (-1, 0)}):
            assert_register_matches_ledger(session, checked, member_ids)
    finally:
        savepoint.rollback()

"""Three years of subscription history for the demo members, made through the real services on a simulated clock.

Most members renew on time, some pay late within the grace period, some never
pay a renewal and lapse, a few cancel; bank-transfer payers are invoiced ahead.
Deterministic for a given seed and day.
"""

from __future__ import annotations

import random
import uuid
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session

from coop.core.clock import frozen_clock
from coop.members.models import MemberStatus
from coop.members.queries import members_with_status
from coop.payments.models import Payment, PaymentStatus, ProviderName
from coop.payments.providers.sandbox import SandboxProvider
from coop.payments.service import confirm_transfer, receive_notification
from coop.subscriptions.invoicing import release_deferrals
from coop.subscriptions.queries import latest_subscription, periods_of
from coop.subscriptions.renewals import advance
from coop.subscriptions.service import cancel_subscription, get_subscription, start_subscription

ON_TIME, LATE, NEVER, CANCEL = "on_time", "late", "never", "cancel"
RENEWAL_BEHAVIOUR = ((ON_TIME, 82), (LATE, 8), (NEVER, 7), (CANCEL, 3))


def seed_demo_subscriptions(session: Session, *, today: date, seed: int, public_url: str) -> int:
    """Give every active demo member without a subscription one from the day they joined; returns how many."""
    pick = random.Random(seed)  # noqa: S311  (demo data, not secrets)
    started = 0
    for member, status, joined in members_with_status(session, at=today):
        if status is not MemberStatus.ACTIVE or latest_subscription(session, member_id=member.id) is not None:
            continue
        provider = ProviderName.BANK_TRANSFER if pick.random() < 0.25 else ProviderName.SANDBOX
        with _at(joined):
            subscription, payment = start_subscription(session, member_id=member.id, provider=provider,
                                                       actor_id=None)
        if provider is ProviderName.SANDBOX and pick.random() < 0.05:  # failed first, tried again a day later
            _settle(session, payment, joined, PaymentStatus.FAILED, public_url)
            with _at(joined + timedelta(days=1)):
                subscription, payment = start_subscription(session, member_id=member.id, provider=provider,
                                                           actor_id=None)
        _settle(session, payment, joined + timedelta(days=pick.choice((0, 0, 1, 3))), PaymentStatus.PAID, public_url)
        _renew_until(session, subscription.id, today, pick, public_url)
        started += 1
    release_deferrals(session, today=today)
    return started


def _renew_until(session: Session, subscription_id: uuid.UUID, today: date, pick: random.Random,
                 public_url: str) -> None:
    """Walk the subscription's renewals up to `today`, taking the daily job's steps on the days they fall."""
    while True:
        subscription = get_subscription(session, subscription_id=subscription_id)
        due = max(p.period_end for p in periods_of(session, subscription_id=subscription.id) if p.paid_on)
        notice = due - timedelta(days=30)
        if notice > today:
            return
        behaviour = pick.choices([b for b, _ in RENEWAL_BEHAVIOUR], weights=[w for _, w in RENEWAL_BEHAVIOUR])[0]
        if behaviour == CANCEL:
            with _at(notice - timedelta(days=pick.randint(1, 60))):
                cancel_subscription(session, member_id=subscription.member_id, actor_id=None)
            _advance(session, subscription.id, notice, today)
            return
        _advance(session, subscription.id, notice, today)
        renewal = next((p for p in periods_of(session, subscription_id=subscription.id) if p.period_start == due),
                       None)
        payment = session.get(Payment, renewal.payment_id) if renewal and renewal.payment_id else None
        if behaviour == NEVER or payment is None:
            for days in (7, 21, 30):
                _advance(session, subscription.id, due + timedelta(days=days), today)
            return
        paid_on = due - timedelta(days=pick.randint(0, 25)) if behaviour == ON_TIME else due + timedelta(
            days=pick.randint(8, 28))
        if behaviour == LATE:
            _advance(session, subscription.id, due + timedelta(days=7), today)
        if paid_on > today:
            return
        _settle(session, payment, paid_on, PaymentStatus.PAID, public_url)


def _advance(session: Session, subscription_id: uuid.UUID, day: date, today: date) -> None:
    """The daily job on `day` (not beyond today)."""
    if day <= today:
        with _at(day):
            advance(session, subscription_id=subscription_id, today=day)


def _settle(session: Session, payment: Payment, day: date, outcome: PaymentStatus, public_url: str) -> None:
    """The payer pays (or fails) on `day`: a sandbox checkout button, or a treasurer confirming a transfer."""
    with _at(day):
        if payment.provider is ProviderName.BANK_TRANSFER:
            if outcome is PaymentStatus.PAID:
                confirm_transfer(session, payment_id=payment.id)
            return
        sandbox = SandboxProvider(session, public_url)
        sandbox.choose(payment.provider_reference or "", outcome)
        receive_notification(session, provider=sandbox, provider_reference=payment.provider_reference or "",
                             raw="demo")


def _at(day: date) -> AbstractContextManager[datetime]:
    """Act at 10:00 UTC on `day`."""
    return frozen_clock(datetime.combine(day, time(10, 0), tzinfo=UTC))

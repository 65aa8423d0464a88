"""Reading subscriptions: the status on any day follows from the dated periods, never from a stored flag."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, col, select

from coop.subscriptions.models import (
    EndReason,
    Invoice,
    Subscription,
    SubscriptionPeriod,
    SubscriptionStatus,
    SubscriptionStep,
    Tier,
)

Status = SubscriptionStatus


def is_paid(period: SubscriptionPeriod, at: date) -> bool:
    """Paid on or before `at`, and not voided (refunded or charged back in full) by then."""
    return (period.paid_on is not None and period.paid_on <= at
            and (period.voided_on is None or period.voided_on > at))


@dataclass(frozen=True)
class StatusOn:
    """A subscription's status on a day, with the dates that explain it."""

    status: SubscriptionStatus
    paid_through: date | None  # first day no longer paid for
    due_on: date | None  # when the unpaid renewal fell due (past_due, lapsed)
    lapses_on: date | None  # the end of grace for an unpaid renewal
    ends_on: date | None  # a cancellation's (or the provider's) last day + 1


def derive_status(subscription: Subscription, periods: Sequence[SubscriptionPeriod], *, at: date,
                  grace: timedelta) -> StatusOn:
    """pending -> active -> past_due (for `grace`) -> lapsed; canceled from the end a cancellation set."""
    paid = [p for p in periods if is_paid(p, at)]
    paid_through = max((p.period_end for p in paid), default=None)
    ended = subscription.ends_on is not None and subscription.ends_on <= at
    if ended and subscription.end_reason is EndReason.CANCELED:
        return StatusOn(Status.CANCELED, paid_through, None, None, subscription.ends_on)
    if any(p.period_start <= at < p.period_end for p in paid):
        return StatusOn(Status.ACTIVE, paid_through, None, None, subscription.ends_on)
    due = max((p.period_end for p in paid if p.period_end <= at), default=None)
    if due is None:
        return StatusOn(Status.PENDING, paid_through, None, None, subscription.ends_on)
    lapses_on = due + grace
    status = Status.PAST_DUE if at < lapses_on else Status.LAPSED
    return StatusOn(status, paid_through, due, lapses_on, subscription.ends_on)


def periods_of(session: Session, *, subscription_id: uuid.UUID) -> list[SubscriptionPeriod]:
    """A subscription's periods, oldest first."""
    return list(session.exec(select(SubscriptionPeriod).where(SubscriptionPeriod.subscription_id == subscription_id)
                             .order_by(col(SubscriptionPeriod.period_start))).all())


def latest_subscription(session: Session, *, member_id: uuid.UUID) -> Subscription | None:
    """The member's most recent subscription (the one the API shows)."""
    return session.exec(select(Subscription).where(Subscription.member_id == member_id)
                        .order_by(col(Subscription.created_at).desc(), col(Subscription.started_on).desc())).first()


def steps_of(session: Session, *, subscription_id: uuid.UUID) -> list[SubscriptionStep]:
    """What the renewal and dunning jobs did, in order."""
    return list(session.exec(select(SubscriptionStep).where(SubscriptionStep.subscription_id == subscription_id)
                             .order_by(col(SubscriptionStep.on), col(SubscriptionStep.created_at))).all())


def invoices_of(session: Session, *, member_id: uuid.UUID) -> list[Invoice]:
    """A member's invoices and credit notes, oldest first."""
    return list(session.exec(select(Invoice).where(Invoice.member_id == member_id)
                             .order_by(col(Invoice.issued_on), col(Invoice.number))).all())


def list_tiers(session: Session) -> list[Tier]:
    """Every tier, cheapest first."""
    return list(session.exec(select(Tier).order_by(col(Tier.price_cents), col(Tier.code))).all())


def open_subscriptions(session: Session, *, since: date) -> list[uuid.UUID]:
    """Subscriptions that may still need a renewal, reminder or lapse: not ended before `since`."""
    query = select(Subscription.id).where((col(Subscription.ends_on).is_(None)) | (col(Subscription.ends_on) >= since))
    return list(session.exec(query.order_by(col(Subscription.created_at))).all())

"""What the daily renewal job does for one subscription: notice, billing, reminders, lapse.

Each step is recorded once per period (`SubscriptionStep`), so running the job
twice, or late, never sends or bills twice. Card and SEPA renewals are left to
Stripe and Mollie, who retry by themselves: for those we only remind, never
charge again.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import exc
from sqlmodel import Session, select

from coop.audit.service import record
from coop.core.money import format_eur
from coop.core.settings import get_settings
from coop.members.service import get_member
from coop.subscriptions import service
from coop.subscriptions.models import (
    EndReason,
    StepKind,
    Subscription,
    SubscriptionPeriod,
    SubscriptionStep,
)
from coop.subscriptions.queries import is_paid, open_subscriptions, periods_of

DUNNING = (StepKind.REMINDER_1, StepKind.REMINDER_2, StepKind.LAPSED)


def advance(session: Session, *, subscription_id: uuid.UUID, today: date) -> list[StepKind]:
    """Take the steps that are due on `today` for one subscription; returns the steps taken."""
    subscription = service.get_subscription(session, subscription_id=subscription_id, for_update=True)
    periods = periods_of(session, subscription_id=subscription.id)
    paid = [p for p in periods if is_paid(p, today)]
    if not paid:
        return []
    current = max(paid, key=lambda p: p.period_end)
    next_period = next((p for p in periods if p.period_start == current.period_end), None)
    settings = get_settings()
    renewing = subscription.ends_on is None
    taken: list[StepKind] = []
    due = current.period_end
    if renewing and due - timedelta(days=settings.subscription_notice_days) <= today:
        if _step(session, subscription, current, StepKind.RENEWAL_NOTICE, today):
            taken.append(StepKind.RENEWAL_NOTICE)
            _notice(session, subscription, current)
        if subscription.provider not in service.PROVIDER_COLLECTED and next_period is None:
            member = get_member(session, member_id=subscription.member_id)
            service.bill_period(session, subscription=subscription, member=member, start=due)
            _step(session, subscription, current, StepKind.BILLED, today)
            taken.append(StepKind.BILLED)
            next_period = next(p for p in periods_of(session, subscription_id=subscription.id)
                               if p.period_start == due)
    if today < due or subscription.end_reason is EndReason.CANCELED:
        return taken
    dunning = _dunning_step_due(today - due, settings.subscription_reminder_days, settings.subscription_grace_days)
    if dunning is None or _recorded_from(session, current, dunning):
        return taken
    _step(session, subscription, current, dunning, today)
    taken.append(dunning)
    if dunning is StepKind.LAPSED:
        _lapse(session, subscription, due, today)
    else:
        _remind(session, subscription, current, next_period, dunning, due)
    return taken


def _dunning_step_due(overdue: timedelta, reminder_days: tuple[int, int], grace_days: int) -> StepKind | None:
    """The latest dunning step that is due after `overdue` (earlier ones missed by a late job are skipped)."""
    thresholds = (*reminder_days, grace_days)
    due = [kind for kind, days in zip(DUNNING, thresholds, strict=True) if overdue.days >= days]
    return due[-1] if due else None


def _recorded_from(session: Session, period: SubscriptionPeriod, kind: StepKind) -> bool:
    """True when this dunning step, or a later one, was taken for the period's renewal."""
    later = DUNNING[DUNNING.index(kind):]
    return session.exec(select(SubscriptionStep.id).where(
        SubscriptionStep.period_id == period.id, SubscriptionStep.kind.in_(later))).first() is not None  # type: ignore[attr-defined]


def _step(session: Session, subscription: Subscription, period: SubscriptionPeriod, kind: StepKind,
          today: date) -> bool:
    """Record a step once per period; False when it was recorded before."""
    if session.exec(select(SubscriptionStep.id).where(SubscriptionStep.period_id == period.id,
                                                      SubscriptionStep.kind == kind)).first() is not None:
        return False
    try:
        with session.begin_nested():
            session.add(SubscriptionStep(subscription_id=subscription.id, period_id=period.id, kind=kind, on=today))
            session.flush()
    except exc.IntegrityError:
        return False
    record(session, action=f"subscription.{kind.value}", object_type="subscription", object_id=subscription.id,
           after={"on": today.isoformat(), "renewal_due": period.period_end.isoformat()})
    return True


def _notice(session: Session, subscription: Subscription, period: SubscriptionPeriod) -> None:
    """Tell the member the renewal is coming, and how it will be paid."""
    member = get_member(session, member_id=subscription.member_id)
    tier = service.get_tier(session, code=subscription.tier_code)
    service.notify_member(session, member, "renewal_upcoming", dedupe_key=f"renewal_upcoming:{period.id}",
                          renewal_date=f"{period.period_end:%d-%m-%Y}",
                          amount=format_eur(service.charge_of(tier).gross_cents), tier_name=tier.name,
                          collected_by_provider=subscription.provider in service.PROVIDER_COLLECTED)


def _remind(session: Session, subscription: Subscription, period: SubscriptionPeriod,
            next_period: SubscriptionPeriod | None, kind: StepKind, due: date) -> None:
    """A reminder with a working payment link (ours) or a request to check the payment method (a provider's)."""
    member = get_member(session, member_id=subscription.member_id)
    pay_url = None
    amount = next_period.amount_cents if next_period else service.charge_of(
        service.get_tier(session, code=subscription.tier_code)).gross_cents
    provider_retries = subscription.provider in service.PROVIDER_COLLECTED and subscription.ends_on is None
    if subscription.provider not in service.PROVIDER_COLLECTED and next_period is not None:
        pay_url = service.retry_period_payment(session, subscription=subscription, period=next_period).checkout_url
    elif not provider_retries:  # the provider gave up: the member subscribes again
        pay_url = _resubscribe_url(member.id)
    service.notify_member(session, member, "reminder", dedupe_key=f"{kind.value}:{period.id}",
                          reminder_number="1" if kind is StepKind.REMINDER_1 else "2",
                          due_date=f"{due:%d-%m-%Y}", amount=format_eur(amount),
                          lapse_date=f"{due + service.grace():%d-%m-%Y}", pay_url=pay_url,
                          collected_by_provider=provider_retries)


def _lapse(session: Session, subscription: Subscription, due: date, today: date) -> None:
    """The grace period is over: unpaid invoices are credited and the provider stops collecting."""
    service.credit_unpaid_invoices(session, subscription=subscription, reason="vervallen wegens niet-betaling")
    service.end_after_lapse(session, subscription=subscription, due=due)
    member = get_member(session, member_id=subscription.member_id)
    service.notify_member(session, member, "lapsed", dedupe_key=f"lapsed:{subscription.id}:{due.isoformat()}",
                          lapsed_on=f"{today:%d-%m-%Y}",
                          amount=format_eur(service.charge_of(service.get_tier(
                              session, code=subscription.tier_code)).gross_cents),
                          resubscribe_url=_resubscribe_url(member.id))


def _resubscribe_url(member_id: uuid.UUID) -> str:
    """Where a member starts a subscription again."""
    return f"{get_settings().public_url.rstrip('/')}/members/{member_id}/subscription"


def subscriptions_to_advance(session: Session, *, today: date) -> list[uuid.UUID]:
    """Subscriptions the daily job looks at: all but those that ended well before today."""
    return open_subscriptions(session, since=today - timedelta(days=get_settings().subscription_grace_days + 1))


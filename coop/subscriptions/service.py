"""Subscriptions: start, cancel, resume, change tier, and the `subscription` payment purpose.

A subscription is billed per period of exactly one year. Card and SEPA payers
are collected by Stripe or Mollie, who renew by themselves; sandbox and
bank-transfer payers are billed by our renewal job. Bank-transfer payers get
their invoice when billed (it carries the payment reference); everybody else
when the money arrives. Either way the invoice books the receivable (1300)
and the payment settles it.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, col, select

from coop.audit.service import record
from coop.core.clock import AMSTERDAM, today_amsterdam
from coop.core.db import get_row
from coop.core.errors import Conflict, InvalidInput, NotFound
from coop.core.jobs import enqueue
from coop.core.money import format_eur
from coop.core.settings import get_settings
from coop.ledger.chart import AccountCode
from coop.ledger.schemas import Line
from coop.members.models import Member, MemberKind, MemberStatus
from coop.members.privacy import register_export_section
from coop.members.queries import status_at as member_status_at
from coop.members.service import get_member
from coop.notifications.service import notify
from coop.payments import service as payments
from coop.payments.models import Payment, PaymentStatus, ProviderName
from coop.payments.purposes import PurposeHandler, register_purpose
from coop.subscriptions.billing import VatSplit, add_years, split_gross, split_vat
from coop.subscriptions.invoicing import issue_credit_note, issue_invoice, live_invoice, open_cents
from coop.subscriptions.models import (
    EndReason,
    Invoice,
    Subscription,
    SubscriptionPeriod,
    SubscriptionStatus,
    Tier,
)
from coop.subscriptions.queries import (
    StatusOn,
    derive_status,
    invoices_of,
    latest_subscription,
    periods_of,
    steps_of,
)

SUBSCRIPTION = "subscription"
PROVIDER_COLLECTED = frozenset({ProviderName.STRIPE, ProviderName.MOLLIE})
INVOICED_WHEN_BILLED = frozenset({ProviderName.BANK_TRANSFER})
MAY_SUBSCRIBE = frozenset({MemberStatus.APPLICANT, MemberStatus.ACTIVE, MemberStatus.RESIGNING})
PERSON_KINDS = (MemberKind.PERSON, MemberKind.INITIATIVE, MemberKind.SOCIAL_ENTERPRISE)
ORGANISATION_KINDS = (MemberKind.COMPANY, MemberKind.GOVERNMENT, MemberKind.ORGANISATION)
STANDARD_TIERS = (
    Tier(code="person", name="Persoon of initiatief", price_cents=9_900, vat_rate_bp=2_100, prices_include_vat=True,
         member_kinds=[kind.value for kind in PERSON_KINDS]),
    Tier(code="organisation", name="Organisatie", price_cents=100_000, vat_rate_bp=2_100, prices_include_vat=True,
         member_kinds=[kind.value for kind in ORGANISATION_KINDS]),
)


def seed_tiers(session: Session) -> int:
    """Add the standard tiers that are missing (the board's later price changes are kept)."""
    added = 0
    for tier in STANDARD_TIERS:
        if session.get(Tier, tier.code) is None:
            session.add(Tier.model_validate(tier.model_dump()))
            added += 1
    session.flush()
    return added


def tier_for(session: Session, *, kind: MemberKind) -> Tier:
    """The tier that applies to a kind of member."""
    for tier in session.exec(select(Tier).order_by(col(Tier.code))).all():
        if kind.value in tier.member_kinds:
            return tier
    raise Conflict(f"no subscription tier applies to a {kind.value}", field="kind")


def get_tier(session: Session, *, code: str) -> Tier:
    """One tier, or NotFound."""
    tier = session.get(Tier, code)
    if tier is None:
        raise NotFound(f"no tier {code!r}", field="tier")
    return tier


def charge_of(tier: Tier) -> VatSplit:
    """What one period of a tier costs: net, VAT and what the member pays."""
    return split_vat(tier.price_cents, vat_rate_bp=tier.vat_rate_bp, prices_include_vat=tier.prices_include_vat)


def grace() -> timedelta:
    """How long an unpaid renewal is past due before the subscription lapses."""
    return timedelta(days=get_settings().subscription_grace_days)


def status_of(session: Session, *, subscription: Subscription, at: date) -> StatusOn:
    """The subscription's status on `at`, with its dates."""
    return derive_status(subscription, periods_of(session, subscription_id=subscription.id), at=at, grace=grace())


def current_subscription(session: Session, *, member_id: uuid.UUID) -> Subscription:
    """The member's latest subscription, or NotFound."""
    found = latest_subscription(session, member_id=member_id)
    if found is None:
        raise NotFound("this member has no subscription", field="member_id")
    return found


def get_subscription(session: Session, *, subscription_id: uuid.UUID, for_update: bool = False) -> Subscription:
    """One subscription, row-locked on PostgreSQL when it is about to change."""
    found = get_row(session, Subscription, subscription_id, for_update=for_update)
    if found is None:
        raise NotFound("no such subscription", field="subscription_id")
    return found


def period_description(tier: Tier, start: date, end: date) -> str:
    """How a period reads on a payment and an invoice."""
    last = end - timedelta(days=1)
    return f"Contributie {tier.name} {start:%d-%m-%Y} t/m {last:%d-%m-%Y}"


# -- starting and billing --------------------------------------------------------------------------------


def start_subscription(
    session: Session, *, member_id: uuid.UUID, provider: ProviderName, actor_id: uuid.UUID | None,
    method: str | None = None, return_url: str | None = None,
) -> tuple[Subscription, Payment]:
    """Subscribe a member at their kind's tier from today; the first period's payment is opened.

    A pending subscription whose payment did not go through is tried again
    (with the provider now chosen); a running one is a Conflict.
    """
    member = get_member(session, member_id=member_id)
    today = today_amsterdam()
    if member_status_at(session, member_id=member.id, at=today) not in MAY_SUBSCRIBE:
        raise Conflict("only applicants and members can subscribe", field="member_id")
    existing = latest_subscription(session, member_id=member.id)
    if existing is not None:
        subscription = get_subscription(session, subscription_id=existing.id, for_update=True)
        state = status_of(session, subscription=subscription, at=today)
        if state.status is SubscriptionStatus.PENDING and subscription.ends_on is None:
            return subscription, _retry_first_payment(session, subscription, member, provider, method, return_url)
        provider_gave_up = subscription.end_reason is EndReason.PROVIDER_ENDED and state.status is not \
            SubscriptionStatus.ACTIVE
        if state.status not in (SubscriptionStatus.LAPSED, SubscriptionStatus.CANCELED) and not provider_gave_up:
            raise Conflict(f"this member already has a subscription ({state.status.value})", field="member_id")
    tier = tier_for(session, kind=member.kind)
    subscription = Subscription(member_id=member.id, tier_code=tier.code, provider=provider, started_on=today,
                                created_by=actor_id)
    session.add(subscription)
    session.flush()
    payment = bill_period(session, subscription=subscription, member=member, start=today, method=method,
                          return_url=return_url)
    record(session, action="subscription.started", object_type="subscription", object_id=subscription.id,
           actor_id=actor_id, after={"member_id": str(member.id), "tier": tier.code, "provider": provider.value})
    return subscription, payment


def bill_period(
    session: Session, *, subscription: Subscription, member: Member, start: date, method: str | None = None,
    return_url: str | None = None,
) -> Payment:
    """Open the period starting `start` at the subscription's tier, with its payment (and invoice, for transfers)."""
    tier = get_tier(session, code=subscription.tier_code)
    charge = charge_of(tier)
    period = SubscriptionPeriod(subscription_id=subscription.id, tier_code=tier.code, period_start=start,
                                period_end=add_years(start, 1), amount_cents=charge.gross_cents)
    session.add(period)
    session.flush()
    payment = _open_payment(session, subscription, member, period, tier, method=method, return_url=return_url)
    if subscription.provider in INVOICED_WHEN_BILLED:
        invoice = issue_invoice(session, member=member, period=period, amounts=charge, vat_rate_bp=tier.vat_rate_bp,
                                description=payment.description, issued_on=today_amsterdam(), payment_id=payment.id,
                                payment_reference=payment.reference)
        _notify_invoice(session, member, invoice, payment)
    return payment


def _open_payment(
    session: Session, subscription: Subscription, member: Member, period: SubscriptionPeriod, tier: Tier, *,
    method: str | None = None, return_url: str | None = None,
) -> Payment:
    """A payment for the period (recurring at Stripe and Mollie only for the first period)."""
    first = subscription.provider_subscription_id is None
    payment = payments.create_payment(
        session, purpose=SUBSCRIPTION, purpose_id=subscription.id, amount_cents=period.amount_cents,
        description=period_description(tier, period.period_start, period.period_end),
        provider=subscription.provider, payer_email=member.email, payer_name=member.name, method=method,
        return_url=return_url, recurring=first and subscription.provider in PROVIDER_COLLECTED,
        details={"period_id": str(period.id)})
    period.payment_id = payment.id
    session.add(period)
    session.flush()
    return payment


def _retry_first_payment(
    session: Session, subscription: Subscription, member: Member, provider: ProviderName, method: str | None,
    return_url: str | None,
) -> Payment:
    """A new payment for a pending subscription's first period, unless the last one may still be paid."""
    period = periods_of(session, subscription_id=subscription.id)[0]
    last = payments.get_payment(session, payment_id=period.payment_id) if period.payment_id else None
    if last is not None and last.status in (PaymentStatus.OPEN, PaymentStatus.PENDING):
        raise Conflict(f"the first payment ({last.reference}) is still open: pay it or wait until it expires",
                       field="provider")
    subscription.provider = provider
    session.add(subscription)
    tier = get_tier(session, code=period.tier_code)
    return _open_payment(session, subscription, member, period, tier, method=method, return_url=return_url)


def retry_period_payment(session: Session, *, subscription: Subscription, period: SubscriptionPeriod) -> Payment:
    """The period's payment link, made anew when the last payment failed, expired or was canceled."""
    last = payments.get_payment(session, payment_id=period.payment_id) if period.payment_id else None
    if last is not None and last.status in (PaymentStatus.OPEN, PaymentStatus.PENDING, PaymentStatus.PAID):
        return last
    member = get_member(session, member_id=subscription.member_id)
    return _open_payment(session, subscription, member, period, get_tier(session, code=period.tier_code))


# -- cancel, resume, change of tier -----------------------------------------------------------------------


def cancel_subscription(session: Session, *, member_id: uuid.UUID, actor_id: uuid.UUID | None) -> Subscription:
    """Stop renewing: the subscription stays active until the paid period ends (at once when nothing is paid)."""
    subscription = get_subscription(session, subscription_id=current_subscription(
        session, member_id=member_id).id, for_update=True)
    today = today_amsterdam()
    state = status_of(session, subscription=subscription, at=today)
    if state.status in (SubscriptionStatus.CANCELED, SubscriptionStatus.LAPSED) or (
            subscription.end_reason is EndReason.CANCELED):
        raise Conflict(f"the subscription is already {state.status.value}"
                       + (f" (ends on {subscription.ends_on:%d-%m-%Y})" if subscription.ends_on else ""),
                       field="member_id")
    ends_on = state.paid_through if state.paid_through and state.paid_through > today else today
    if subscription.provider_subscription_id:
        payments.stop_collection(session, provider=subscription.provider,
                                 subscription_id=subscription.provider_subscription_id,
                                 customer_id=subscription.provider_customer_id, at_period_end=ends_on > today)
    subscription.ends_on = ends_on
    subscription.end_reason = EndReason.CANCELED
    session.add(subscription)
    if ends_on <= today:
        credit_unpaid_invoices(session, subscription=subscription, reason="opgezegd")
    record(session, action="subscription.canceled", object_type="subscription", object_id=subscription.id,
           actor_id=actor_id, after={"ends_on": ends_on.isoformat()})
    return subscription


def resume_subscription(session: Session, *, member_id: uuid.UUID, actor_id: uuid.UUID | None) -> Subscription:
    """Undo a cancellation that has not taken effect yet: renewals go on as before."""
    subscription = get_subscription(session, subscription_id=current_subscription(
        session, member_id=member_id).id, for_update=True)
    today = today_amsterdam()
    if subscription.end_reason is not EndReason.CANCELED or subscription.ends_on is None \
            or subscription.ends_on <= today:
        raise Conflict("only a cancellation that has not taken effect can be undone; subscribe again instead",
                       field="member_id")
    if subscription.provider_subscription_id:
        tier = get_tier(session, code=subscription.tier_code)
        restarted = payments.resume_collection(
            session, provider=subscription.provider, subscription_id=subscription.provider_subscription_id,
            customer_id=subscription.provider_customer_id, amount_cents=charge_of(tier).gross_cents,
            description=_collection_description(subscription, tier), start_date=subscription.ends_on,
            metadata=_collection_metadata(subscription))
        subscription.provider_subscription_id = restarted
    record(session, action="subscription.resumed", object_type="subscription", object_id=subscription.id,
           actor_id=actor_id, before={"ends_on": subscription.ends_on.isoformat()})
    subscription.ends_on = None
    subscription.end_reason = None
    session.add(subscription)
    session.flush()
    if subscription.provider is ProviderName.MOLLIE and not subscription.provider_subscription_id:
        # Cancelled before the collection was made (the job then gave up on it): make it now.
        start_provider_collection(session, subscription_id=subscription.id)
    return subscription


def change_tier(session: Session, *, member_id: uuid.UUID, tier_code: str,
                actor_id: uuid.UUID | None) -> Subscription:
    """Move to the tier of the member's (changed) kind from the next renewal; the paid period is left as it is."""
    member = get_member(session, member_id=member_id)
    tier = get_tier(session, code=tier_code)
    if member.kind.value not in tier.member_kinds:
        raise InvalidInput(f"tier {tier.code} is not for a {member.kind.value}", field="tier")
    subscription = get_subscription(session, subscription_id=current_subscription(
        session, member_id=member_id).id, for_update=True)
    if subscription.tier_code == tier.code:
        return subscription
    if subscription.provider_subscription_id:
        payments.change_collection_amount(
            session, provider=subscription.provider, subscription_id=subscription.provider_subscription_id,
            customer_id=subscription.provider_customer_id, amount_cents=charge_of(tier).gross_cents,
            description=_collection_description(subscription, tier))
    record(session, action="subscription.tier_changed", object_type="subscription", object_id=subscription.id,
           actor_id=actor_id, before={"tier": subscription.tier_code}, after={"tier": tier.code})
    subscription.tier_code = tier.code
    session.add(subscription)
    session.flush()
    return subscription


def end_after_lapse(session: Session, *, subscription: Subscription, due: date) -> None:
    """A lapse ends the subscription at its unpaid renewal: the provider stops collecting, we stop billing."""
    if subscription.ends_on is not None:
        return
    if subscription.provider_subscription_id:
        payments.stop_collection(session, provider=subscription.provider,
                                 subscription_id=subscription.provider_subscription_id,
                                 customer_id=subscription.provider_customer_id, at_period_end=False)
    subscription.ends_on = due
    subscription.end_reason = EndReason.LAPSED
    session.add(subscription)
    session.flush()


def _collection_description(subscription: Subscription, tier: Tier) -> str:
    """What the provider shows on each renewal (unique per customer, as Mollie requires)."""
    return f"Contributie {tier.name} ({str(subscription.id)[:8]})"


def _collection_metadata(subscription: Subscription) -> dict[str, str]:
    """What lets a provider's renewal find its way back to this subscription."""
    return {"purpose": SUBSCRIPTION, "purpose_id": str(subscription.id)}


def start_provider_collection(session: Session, *, subscription_id: uuid.UUID) -> None:
    """After Mollie's first payment: collect the next periods on its mandate (idempotent; a job)."""
    subscription = get_subscription(session, subscription_id=subscription_id, for_update=True)
    if subscription.provider_subscription_id or subscription.ends_on is not None:
        return
    state = status_of(session, subscription=subscription, at=today_amsterdam())
    first = periods_of(session, subscription_id=subscription.id)[0]
    if state.paid_through is None or first.payment_id is None:
        return
    tier = get_tier(session, code=subscription.tier_code)
    customer_id, collection_id = payments.start_collection(
        session, first_payment_id=first.payment_id, amount_cents=charge_of(tier).gross_cents,
        description=_collection_description(subscription, tier), start_date=state.paid_through,
        metadata=_collection_metadata(subscription), idempotency_key=f"subscription:{subscription.id}:collection")
    subscription.provider_customer_id = customer_id
    subscription.provider_subscription_id = collection_id
    session.add(subscription)
    session.flush()


# -- invoices and credit notes -------------------------------------------------------------------------------


def credit_unpaid_invoices(session: Session, *, subscription: Subscription, reason: str) -> list[Invoice]:
    """Credit the invoices of periods that were billed but never paid (a lapse, or a cancellation taking effect)."""
    notes = []
    for period in periods_of(session, subscription_id=subscription.id):
        invoice = live_invoice(session, period_id=period.id) if period.paid_on is None else None
        if invoice is not None:
            notes.append(issue_credit_note(session, invoice=invoice, issued_on=today_amsterdam(), reason=reason,
                                           amounts=split_gross(open_cents(session, invoice=invoice),
                                                               vat_rate_bp=invoice.vat_rate_bp)))
    return notes


# -- the payment purpose ------------------------------------------------------------------------------------


class SubscriptionPurpose(PurposeHandler):
    """Subscription payments settle the member's receivable; the period becomes paid and invoiced."""

    def credit_lines(self, session: Session, payment: Payment, amount_cents: int) -> list[Line]:
        """The receivable from the member (the invoice books revenue and VAT)."""
        subscription = get_subscription(session, subscription_id=payment.purpose_id)
        return [Line(account=AccountCode.MEMBER_RECEIVABLES, amount_cents=-amount_cents,
                     member_id=subscription.member_id)]

    def on_paid(self, session: Session, payment: Payment) -> None:
        """Mark the period paid (a provider's renewal opens the next one), invoice it, tell the member."""
        subscription = get_subscription(session, subscription_id=payment.purpose_id, for_update=True)
        paid_on = payment.paid_at.astimezone(AMSTERDAM).date() if payment.paid_at else today_amsterdam()
        period = _period_paid_by(session, subscription, payment)
        if period.paid_on is not None and period.voided_on is None:
            # Paid twice (an old link and a new one): the money stays as the member's credit on 1300.
            record(session, action="subscription.paid_twice", object_type="subscription", object_id=subscription.id,
                   after={"payment_id": str(payment.id), "period_start": period.period_start.isoformat()})
            return
        period.paid_on, period.voided_on, period.payment_id = paid_on, None, payment.id
        session.add(period)
        if payment.provider_subscription_id and not subscription.provider_subscription_id:
            subscription.provider_subscription_id = payment.provider_subscription_id
            session.add(subscription)
        member = get_member(session, member_id=subscription.member_id)
        invoice = live_invoice(session, period_id=period.id)
        if invoice is None:
            tier = get_tier(session, code=period.tier_code)
            invoice = issue_invoice(session, member=member, period=period,
                                    amounts=split_gross(payment.amount_cents, vat_rate_bp=tier.vat_rate_bp),
                                    vat_rate_bp=tier.vat_rate_bp, description=payment.description,
                                    issued_on=paid_on, payment_id=payment.id)
            _notify_invoice(session, member, invoice, None)
        notify_member(session, member, "payment_received", dedupe_key=f"payment_received:{payment.id}",
                amount=format_eur(payment.amount_cents), description=payment.description,
                reference=payment.reference)
        if payment.provider is ProviderName.MOLLIE and payment.recurring and not subscription.provider_subscription_id:
            enqueue(session, name="subscriptions.start_collection", args={"subscription_id": str(subscription.id)},
                    dedupe_key=f"subscriptions.start_collection:{subscription.id}")
        record(session, action="subscription.period_paid", object_type="subscription", object_id=subscription.id,
               after={"period_start": period.period_start.isoformat(), "period_end": period.period_end.isoformat(),
                      "payment_id": str(payment.id), "invoice": invoice.number})

    def on_refunded(self, session: Session, payment: Payment, amount_cents: int, *, chargeback: bool) -> None:
        """Credit what went back; money back in full leaves the period unpaid from today."""
        period = session.exec(select(SubscriptionPeriod).where(SubscriptionPeriod.payment_id == payment.id)).first()
        if period is None:
            return
        invoice = live_invoice(session, period_id=period.id)
        if invoice is not None:
            issue_credit_note(session, invoice=invoice, issued_on=today_amsterdam(),
                              reason="terugbetaald" if not chargeback else "storno",
                              amounts=split_gross(min(amount_cents, open_cents(session, invoice=invoice)),
                                                  vat_rate_bp=invoice.vat_rate_bp))
        if payment.refunded_cents + payment.charged_back_cents >= payment.amount_cents:
            period.voided_on = today_amsterdam()
            session.add(period)
            session.flush()

    def on_failed(self, session: Session, payment: Payment) -> None:
        """Nothing is booked; the renewal jobs remind the member (and never charge while a provider retries)."""
        record(session, action="subscription.payment_failed", object_type="subscription",
               object_id=payment.purpose_id, after={"payment_id": str(payment.id), "status": payment.status.value})

    def on_recurring_ended(self, session: Session, *, provider_subscription_id: str) -> None:
        """Stripe or Mollie stopped collecting: no more renewals are expected after what is paid."""
        subscription = session.exec(select(Subscription).where(
            Subscription.provider_subscription_id == provider_subscription_id)).first()
        if subscription is None or subscription.ends_on is not None:
            return
        state = status_of(session, subscription=subscription, at=today_amsterdam())
        subscription.ends_on = state.paid_through or today_amsterdam()
        subscription.end_reason = EndReason.PROVIDER_ENDED
        session.add(subscription)
        record(session, action="subscription.provider_ended", object_type="subscription", object_id=subscription.id,
               after={"ends_on": subscription.ends_on.isoformat()})


def _period_paid_by(session: Session, subscription: Subscription, payment: Payment) -> SubscriptionPeriod:
    """The period a payment pays: the one it was opened for, else (a provider's renewal) the next one."""
    named = payment.details.get("period_id") if isinstance(payment.details, dict) else None
    if named:
        period = session.get(SubscriptionPeriod, uuid.UUID(str(named)))
        if period is not None:
            return period
    periods = periods_of(session, subscription_id=subscription.id)
    # The provider renews its own cycle: after the last period ever paid, even if that one was refunded since.
    paid = [p for p in periods if p.paid_on is not None]
    start = max((p.period_end for p in paid), default=periods[0].period_start if periods else today_amsterdam())
    existing = next((p for p in periods if p.period_start == start), None)
    if existing is not None:
        return existing
    period = SubscriptionPeriod(subscription_id=subscription.id, tier_code=subscription.tier_code,
                                period_start=start, period_end=add_years(start, 1),
                                amount_cents=payment.amount_cents, payment_id=payment.id)
    session.add(period)
    session.flush()
    return period


# -- notifications ------------------------------------------------------------------------------------------


def invoice_pdf_url(invoice: Invoice) -> str:
    """Where the member (or the board) downloads an invoice."""
    return f"{get_settings().public_url.rstrip('/')}/api/v1/members/{invoice.member_id}/invoices/{invoice.number}/pdf"


def _notify_invoice(session: Session, member: Member, invoice: Invoice, payment: Payment | None) -> None:
    """Send the invoice (with payment details when it still has to be paid by transfer)."""
    notify_member(session, member, "invoice", dedupe_key=f"invoice:{invoice.id}", invoice_number=invoice.number,
            gross=format_eur(invoice.gross_cents), period_from=f"{invoice.supply_from:%d-%m-%Y}",
            period_until=f"{invoice.supply_until:%d-%m-%Y}", pdf_url=invoice_pdf_url(invoice),
            payment_reference=invoice.payment_reference, iban=invoice.supplier.get("iban") if payment else None,
            pay_url=payment.checkout_url if payment else None, attachment_url=invoice_pdf_url(invoice))


def notify_member(session: Session, member: Member, template: str, *, dedupe_key: str,
            attachment_url: str | None = None, **context: Any) -> None:
    """One message to the member, once per `dedupe_key`."""
    notify(session, template=template, recipient=member.email, member_id=member.id, dedupe_key=dedupe_key,
           attachment_url=attachment_url, context={"member_name": member.name, **context})


def export_subscriptions(session: Session, member_id: uuid.UUID) -> list[dict[str, Any]]:
    """The member's subscriptions with their periods and steps (GDPR export)."""
    subscriptions = session.exec(select(Subscription).where(Subscription.member_id == member_id)
                                 .order_by(col(Subscription.created_at))).all()
    return [{**sub.model_dump(mode="json"),
             "periods": [p.model_dump(mode="json") for p in periods_of(session, subscription_id=sub.id)],
             "steps": [s.model_dump(mode="json") for s in steps_of(session, subscription_id=sub.id)]}
            for sub in subscriptions]


def export_invoices(session: Session, member_id: uuid.UUID) -> list[dict[str, Any]]:
    """The member's invoices and credit notes as issued (GDPR export; kept seven years, also after erasure)."""
    return [invoice.model_dump(mode="json") for invoice in invoices_of(session, member_id=member_id)]


register_purpose(SUBSCRIPTION, SubscriptionPurpose())
register_export_section("subscriptions", export_subscriptions)
register_export_section("invoices", export_invoices)

"""What the API shows of subscriptions and invoices, built from the rows and the derived status."""

from __future__ import annotations

import uuid
from datetime import date

from sqlmodel import Session

from coop.core.errors import NotFound
from coop.payments.models import PaymentStatus
from coop.payments.schemas import PaymentPublic
from coop.payments.service import get_payment
from coop.subscriptions import service
from coop.subscriptions.documents import invoice_pdf
from coop.subscriptions.models import EndReason, Invoice, Subscription
from coop.subscriptions.queries import invoices_of, periods_of, steps_of
from coop.subscriptions.schemas import InvoicePublic, PeriodPublic, StepPublic, SubscriptionPublic

WAITING = (PaymentStatus.OPEN, PaymentStatus.PENDING)


def describe(session: Session, *, subscription: Subscription, at: date) -> SubscriptionPublic:
    """The subscription as of `at`: status with its dates, the periods, the steps taken, a payment to complete."""
    periods = periods_of(session, subscription_id=subscription.id)
    state = service.status_of(session, subscription=subscription, at=at)
    shown = next((p for p in periods if p.period_start <= at < p.period_end), None) or next(
        (p for p in reversed(periods) if p.period_start <= at), periods[0] if periods else None)
    waiting = None
    for period in reversed(periods):
        payment = get_payment(session, payment_id=period.payment_id) if period.payment_id else None
        if payment is not None and payment.status in WAITING:
            waiting = PaymentPublic.of(payment)
            break
    return SubscriptionPublic(
        id=subscription.id, member_id=subscription.member_id, tier=subscription.tier_code,
        provider=subscription.provider, status=state.status, at=at,
        period_start=shown.period_start if shown else None, period_end=shown.period_end if shown else None,
        paid_through=state.paid_through, due_on=state.due_on, lapses_on=state.lapses_on, ends_on=state.ends_on,
        end_reason=subscription.end_reason,
        cancel_at_period_end=subscription.end_reason is EndReason.CANCELED and bool(
            subscription.ends_on and subscription.ends_on > at),
        periods=[PeriodPublic.model_validate(p, from_attributes=True) for p in periods],
        steps=[StepPublic(kind=s.kind, on=s.on) for s in steps_of(session, subscription_id=subscription.id)],
        open_payment=waiting)


def member_subscription(session: Session, *, member_id: uuid.UUID, at: date) -> SubscriptionPublic:
    """The member's latest subscription as of `at`."""
    return describe(session, subscription=service.current_subscription(session, member_id=member_id), at=at)


def invoice_public(invoice: Invoice) -> InvoicePublic:
    """One invoice as the API lists it."""
    return InvoicePublic(
        id=invoice.id, number=invoice.number, kind=invoice.kind, date=invoice.issued_on,
        supply_from=invoice.supply_from, supply_until=invoice.supply_until, description=invoice.description,
        net_cents=invoice.net_cents, vat_rate_bp=invoice.vat_rate_bp, vat_cents=invoice.vat_cents,
        gross_cents=invoice.gross_cents, payment_reference=invoice.payment_reference,
        credits_invoice_id=invoice.credits_invoice_id, pdf_url=service.invoice_pdf_url(invoice))


def member_invoices(session: Session, *, member_id: uuid.UUID) -> list[InvoicePublic]:
    """A member's invoices and credit notes, oldest first."""
    return [invoice_public(invoice) for invoice in invoices_of(session, member_id=member_id)]


def invoice_document(session: Session, *, member_id: uuid.UUID, number: str) -> bytes:
    """The PDF of one of the member's invoices or credit notes."""
    found = next((i for i in invoices_of(session, member_id=member_id) if i.number == number), None)
    if found is None:
        raise NotFound("no such invoice for this member", field="number")
    credited = session.get(Invoice, found.credits_invoice_id) if found.credits_invoice_id else None
    return invoice_pdf(found, credited_number=credited.number if credited else None)

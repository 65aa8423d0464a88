"""Invoices and credit notes: gap-free yearly numbers, legal contents frozen at issue, booked in the ledger.

An invoice books the member's receivable (1300) against revenue (8000), VAT
(2500) and, for the part of the period after the booking year, deferred
revenue (2600); a payment then settles the receivable. A credit note is the
same with negative amounts. Deferred revenue is released on 1 January by a job.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlmodel import Session, col, func, select

from coop.core.clock import utc_now
from coop.core.immutable import append_only
from coop.core.sequences import next_number
from coop.core.settings import Settings, get_settings
from coop.ledger.chart import AccountCode
from coop.ledger.schemas import Line
from coop.ledger.service import post
from coop.members.models import Member
from coop.subscriptions.billing import VatSplit, split_revenue
from coop.subscriptions.models import Invoice, InvoiceKind, RevenueDeferral, SubscriptionPeriod


class InvoicesAreImmutable(RuntimeError):
    """Raised when code tries to change or delete an issued invoice or credit note."""


append_only(Invoice, InvoicesAreImmutable)

NUMBER_FORMAT = {InvoiceKind.INVOICE: "{year}-{n:05d}", InvoiceKind.CREDIT_NOTE: "C{year}-{n:05d}"}


def supplier_details(settings: Settings) -> dict[str, str]:
    """The cooperative as the supplier named on every invoice."""
    details = {"name": settings.coop_name, "address": settings.coop_address, "kvk": settings.coop_kvk or "",
               "vat_id": settings.coop_vat_id or "", "iban": settings.coop_iban or "", "bic": settings.coop_bic or "",
               "email": settings.coop_email}
    return {key: value for key, value in details.items() if value}


def customer_details(member: Member) -> dict[str, str]:
    """The member as the customer, as they are on the day of issue."""
    place = " ".join(part for part in (member.postcode, member.city) if part)
    address = "\n".join(part for part in (member.street, place) if part)
    details = {"name": member.name, "address": address, "kvk": member.kvk_number or "", "email": member.email,
               "member_number": str(member.member_number) if member.member_number else ""}
    return {key: value for key, value in details.items() if value}


def _number(session: Session, kind: InvoiceKind, issued_on: date) -> str:
    """The next number of the kind's series for the year of issue (2026-00001, C2026-00001)."""
    n = next_number(session, series=f"{kind.value}:{issued_on.year}")
    return NUMBER_FORMAT[kind].format(year=issued_on.year, n=n)


def issue_invoice(
    session: Session, *, member: Member, period: SubscriptionPeriod, amounts: VatSplit, vat_rate_bp: int,
    description: str, issued_on: date, payment_id: uuid.UUID | None, payment_reference: str | None = None,
) -> Invoice:
    """Number, freeze and book an invoice for one subscription period."""
    invoice = Invoice(
        number=_number(session, InvoiceKind.INVOICE, issued_on), kind=InvoiceKind.INVOICE, issued_on=issued_on,
        member_id=member.id, subscription_id=period.subscription_id, period_id=period.id, payment_id=payment_id,
        supplier=supplier_details(get_settings()), customer=customer_details(member), description=description,
        supply_from=period.period_start, supply_until=date.fromordinal(period.period_end.toordinal() - 1),
        net_cents=amounts.net_cents, vat_rate_bp=vat_rate_bp, vat_cents=amounts.vat_cents,
        gross_cents=amounts.gross_cents, payment_reference=payment_reference)
    return _book(session, invoice, period)


def issue_credit_note(
    session: Session, *, invoice: Invoice, amounts: VatSplit, issued_on: date, reason: str,
) -> Invoice:
    """Credit (part of) an invoice: a new document in its own series with negative amounts, booked in reverse."""
    if invoice.kind is not InvoiceKind.INVOICE:
        raise ValueError("only an invoice can be credited")
    period = session.get(SubscriptionPeriod, invoice.period_id)
    if period is None:
        raise LookupError("the invoice's period is gone")
    member = session.get(Member, invoice.member_id)
    note = Invoice(
        number=_number(session, InvoiceKind.CREDIT_NOTE, issued_on), kind=InvoiceKind.CREDIT_NOTE,
        issued_on=issued_on, member_id=invoice.member_id, subscription_id=invoice.subscription_id,
        period_id=invoice.period_id, payment_id=invoice.payment_id, credits_invoice_id=invoice.id,
        supplier=supplier_details(get_settings()), customer=customer_details(member) if member else invoice.customer,
        description=invoice.description, supply_from=invoice.supply_from, supply_until=invoice.supply_until,
        net_cents=-amounts.net_cents, vat_rate_bp=invoice.vat_rate_bp, vat_cents=-amounts.vat_cents,
        gross_cents=-amounts.gross_cents, note=reason[:500])
    return _book(session, note, period)


def _book(session: Session, invoice: Invoice, period: SubscriptionPeriod) -> Invoice:
    """Store the document, book receivable against revenue, deferred revenue and VAT, note any deferral."""
    session.add(invoice)
    session.flush()
    revenue = split_revenue(invoice.net_cents, period_start=period.period_start, period_end=period.period_end,
                            booked_on=invoice.issued_on)
    lines = [
        Line(account=AccountCode.MEMBER_RECEIVABLES, amount_cents=invoice.gross_cents, member_id=invoice.member_id),
        Line(account=AccountCode.SUBSCRIPTION_REVENUE, amount_cents=-revenue.now_cents),
        Line(account=AccountCode.DEFERRED_SUBSCRIPTIONS, amount_cents=-sum(cents for _, cents in revenue.deferred)),
        Line(account=AccountCode.VAT_PAYABLE, amount_cents=-invoice.vat_cents),
    ]
    what = "Factuur" if invoice.kind is InvoiceKind.INVOICE else "Creditnota"
    post(session, key=f"invoice:{invoice.id}", lines=[line for line in lines if line.amount_cents != 0],
         description=f"{what} {invoice.number}: {invoice.description}"[:255], booked_on=invoice.issued_on,
         source_type="invoice", source_id=str(invoice.id))
    session.add_all(RevenueDeferral(invoice_id=invoice.id, amount_cents=cents, release_on=release_on)
                    for release_on, cents in revenue.deferred)
    session.flush()
    return invoice


def open_cents(session: Session, *, invoice: Invoice) -> int:
    """What of an invoice is not credited yet (gross cents)."""
    credited = session.exec(select(func.coalesce(func.sum(Invoice.gross_cents), 0))
                            .where(Invoice.credits_invoice_id == invoice.id)).one()
    return invoice.gross_cents + int(credited)


def live_invoice(session: Session, *, period_id: uuid.UUID) -> Invoice | None:
    """The period's latest invoice that is not fully credited, if any."""
    invoices = session.exec(select(Invoice).where(Invoice.period_id == period_id,
                                                  Invoice.kind == InvoiceKind.INVOICE)
                            .order_by(col(Invoice.created_at).desc())).all()
    return next((inv for inv in invoices if open_cents(session, invoice=inv) > 0), None)


def release_deferrals(session: Session, *, today: date) -> int:
    """Move deferred revenue whose year has come from 2600 to 8000 (once each, booked on 1 January)."""
    due = session.exec(select(RevenueDeferral).where(col(RevenueDeferral.released_at).is_(None),
                                                     col(RevenueDeferral.release_on) <= today)).all()
    for deferral in due:
        post(session, key=f"deferral:{deferral.id}", booked_on=deferral.release_on,
             lines=[Line(account=AccountCode.DEFERRED_SUBSCRIPTIONS, amount_cents=deferral.amount_cents),
                    Line(account=AccountCode.SUBSCRIPTION_REVENUE, amount_cents=-deferral.amount_cents)],
             description=f"Vrijval vooruitgefactureerde contributie {deferral.release_on.year}",
             source_type="revenue_deferral", source_id=str(deferral.id))
        deferral.released_at = utc_now()
        session.add(deferral)
    session.flush()
    return len(due)

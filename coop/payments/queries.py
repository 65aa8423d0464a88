"""Reading payments."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import Session, col, select

from coop.payments.models import Payment, PaymentStatus, ProviderName, Refund


def list_payments(
    session: Session, *, status: PaymentStatus | None = None, purpose: str | None = None,
    provider: ProviderName | None = None, limit: int = 50, offset: int = 0,
) -> tuple[Sequence[Payment], int]:
    """Payments matching the filters, newest first, with the total count."""
    query = select(Payment)
    if status is not None:
        query = query.where(Payment.status == status)
    if purpose is not None:
        query = query.where(Payment.purpose == purpose)
    if provider is not None:
        query = query.where(Payment.provider == provider)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    page = session.exec(query.order_by(col(Payment.created_at).desc(), col(Payment.id)).offset(offset).limit(limit))
    return page.all(), int(total)


def refunds_of(session: Session, *, payment: Payment) -> Sequence[Refund]:
    """The refunds asked for a payment, oldest first."""
    return session.exec(select(Refund).where(Refund.payment_id == payment.id).order_by(col(Refund.created_at))).all()

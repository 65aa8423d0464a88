"""The purpose registry: how payments reach the domains without importing them.

A domain registers a handler for its purpose (`pledge`, `share_order`,
`subscription`, `fund_donation`). The payments engine asks it which accounts a
payment credits and tells it, inside the same transaction, when money arrived,
went back or never came.
"""

from __future__ import annotations

from sqlmodel import Session

from coop.core.errors import InvalidInput
from coop.ledger.schemas import Line
from coop.payments.models import Payment


class PurposeHandler:
    """Base handler: override `credit_lines`, and the hooks a domain cares about."""

    partial_refunds: bool = True

    def credit_lines(self, session: Session, payment: Payment, amount_cents: int) -> list[Line]:
        """The credit side for `amount_cents` of this payment: lines summing to -amount_cents."""
        raise NotImplementedError

    def money_back_lines(self, session: Session, payment: Payment, amount_cents: int) -> list[Line]:
        """The credit side that money going back (refund, chargeback) reverses; by default the same accounts."""
        return self.credit_lines(session, payment, amount_cents)

    def check_refund(self, session: Session, payment: Payment, amount_cents: int) -> None:
        """Refuse (raise a KrachtError) a refund we would ask the provider for, before it is asked."""

    def on_paid(self, session: Session, payment: Payment) -> None:
        """The money arrived (called once, in the transaction that marks the payment paid)."""

    def on_refunded(self, session: Session, payment: Payment, amount_cents: int, *, chargeback: bool) -> None:
        """`amount_cents` went back to the payer (refund, or chargeback when `chargeback`)."""

    def on_failed(self, session: Session, payment: Payment) -> None:
        """The payment failed, was canceled or expired: release whatever waited for it."""

    def on_recurring_ended(self, session: Session, *, provider_subscription_id: str) -> None:
        """The provider ended a recurring collection (subscription canceled or unpaid)."""


_HANDLERS: dict[str, PurposeHandler] = {}


def register_purpose(name: str, handler: PurposeHandler) -> None:
    """Register the handler of a purpose (once per process)."""
    existing = _HANDLERS.get(name)
    if existing is not None and type(existing) is not type(handler):
        raise ValueError(f"payment purpose {name!r} already has a handler")
    _HANDLERS[name] = handler


def handler_for(purpose: str) -> PurposeHandler:
    """The handler of a registered purpose."""
    try:
        return _HANDLERS[purpose]
    except KeyError:
        raise InvalidInput(f"unknown payment purpose {purpose!r}", field="purpose") from None

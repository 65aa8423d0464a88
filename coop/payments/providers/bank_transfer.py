"""Bank transfer: the payer quotes our payment reference; a treasurer confirms receipt."""

from __future__ import annotations

from sqlmodel import Session, select

from coop.core.errors import NotFound
from coop.ledger.chart import AccountCode
from coop.payments.models import Payment, ProviderName, RefundStatus
from coop.payments.providers import RefundResult
from coop.payments.schemas import Checkout, CheckoutRequest, ProviderSnapshot


class BankTransferProvider:
    """No checkout page: the truth is what the treasurer confirmed on our own payment row."""

    name = ProviderName.BANK_TRANSFER
    clearing_account = AccountCode.BANK

    def __init__(self, session: Session):
        self._session = session

    def create_checkout(self, request: CheckoutRequest) -> Checkout:
        """The payer transfers to the cooperative's IBAN quoting the reference."""
        return Checkout(provider_reference=request.reference, checkout_url=None)

    def fetch(self, provider_reference: str) -> ProviderSnapshot:
        """Our own record is the bank transfer's truth."""
        payment = self._session.exec(
            select(Payment).where(Payment.provider == ProviderName.BANK_TRANSFER,
                                  Payment.provider_reference == provider_reference)).first()
        if payment is None:
            raise NotFound("no such bank transfer")
        return ProviderSnapshot(provider_reference=provider_reference, status=payment.status,
                                refunded_cents=payment.refunded_cents,
                                charged_back_cents=payment.charged_back_cents, method="bank_transfer")

    def refund(self, provider_reference: str, amount_cents: int, idempotency_key: str) -> RefundResult:
        """The treasurer transfers the money back by hand; recording it is their confirmation."""
        return RefundResult(provider_reference=f"bank_re_{idempotency_key}", status=RefundStatus.REFUNDED)

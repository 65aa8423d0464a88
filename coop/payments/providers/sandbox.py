"""The sandbox provider: a local checkout page that drives the same webhook code as the real ones.

It keeps its own record of each checkout (as Mollie would on its side) and is
fetched like Mollie after a button press. Refused in production.
"""

from __future__ import annotations

from sqlmodel import Session

from coop.core.errors import NotFound
from coop.ledger.chart import AccountCode
from coop.payments.models import PaymentStatus, ProviderName, RefundStatus, SandboxCheckout
from coop.payments.providers import RefundResult
from coop.payments.schemas import Checkout, CheckoutRequest, ProviderSnapshot

OUTCOMES = (PaymentStatus.PAID, PaymentStatus.FAILED, PaymentStatus.CANCELED, PaymentStatus.EXPIRED)


class SandboxProvider:
    """A real provider for development and demos, labelled as such."""

    name = ProviderName.SANDBOX
    clearing_account = AccountCode.SANDBOX_CLEARING

    def __init__(self, session: Session, public_url: str):
        self._session = session
        self._public_url = public_url.rstrip("/")

    def create_checkout(self, request: CheckoutRequest) -> Checkout:
        """Record the checkout (once per idempotency key) and point at the local page."""
        reference = f"sbx_{request.payment_id.hex}"
        if self._session.get(SandboxCheckout, reference) is None:
            self._session.add(SandboxCheckout(
                provider_reference=reference, payment_id=request.payment_id, amount_cents=request.amount_cents,
                description=request.description, return_url=request.return_url))
            self._session.flush()
        return Checkout(provider_reference=reference,
                        checkout_url=f"{self._public_url}/sandbox/checkout/{request.payment_id}")

    def checkout(self, provider_reference: str) -> SandboxCheckout:
        """The sandbox's own record, or NotFound."""
        found = self._session.get(SandboxCheckout, provider_reference)
        if found is None:
            raise NotFound("no such sandbox checkout")
        return found

    def fetch(self, provider_reference: str) -> ProviderSnapshot:
        """What the sandbox knows about the payment."""
        found = self.checkout(provider_reference)
        return ProviderSnapshot(provider_reference=provider_reference, status=found.status,
                                refunded_cents=found.refunded_cents, charged_back_cents=found.charged_back_cents,
                                method="sandbox")

    def choose(self, provider_reference: str, outcome: PaymentStatus) -> None:
        """The payer pressed a button; only an open checkout can be decided."""
        found = self.checkout(provider_reference)
        if found.status is PaymentStatus.OPEN:
            found.status = outcome
            self._session.add(found)
            self._session.flush()

    def charge_back(self, provider_reference: str) -> None:
        """Simulate the payer's bank reversing the whole payment."""
        found = self.checkout(provider_reference)
        found.charged_back_cents = found.amount_cents - found.refunded_cents
        self._session.add(found)
        self._session.flush()

    def refund(self, provider_reference: str, amount_cents: int, idempotency_key: str) -> RefundResult:
        """Refunds complete at once in the sandbox."""
        found = self.checkout(provider_reference)
        found.refunded_cents += amount_cents
        self._session.add(found)
        self._session.flush()
        return RefundResult(provider_reference=f"sbx_re_{idempotency_key}", status=RefundStatus.REFUNDED)

"""Payment providers behind one protocol; the only place the Stripe and Mollie SDKs are imported."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from coop.ledger.chart import AccountCode
from coop.payments.models import ProviderName, RefundStatus
from coop.payments.schemas import Checkout, CheckoutRequest, ProviderSnapshot


@dataclass(frozen=True)
class RefundResult:
    """What the provider said about a refund request."""

    provider_reference: str
    status: RefundStatus


class ProviderError(Exception):
    """The provider could not be reached or refused; the message is safe to show a treasurer."""


class WebhookRejected(Exception):
    """A webhook that is not acted on: 400 bad payload, 401 bad signature, 404 not configured, 503 try later."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class PaymentProvider(Protocol):
    """Create a checkout, fetch the truth, refund: the same three verbs for every provider."""

    name: ProviderName
    clearing_account: AccountCode

    def create_checkout(self, request: CheckoutRequest) -> Checkout:
        """Start collecting; idempotent on `request.idempotency_key`."""
        ...

    def fetch(self, provider_reference: str) -> ProviderSnapshot:
        """The provider's current state of a payment (webhooks are only a hint to call this)."""
        ...

    def refund(self, provider_reference: str, amount_cents: int, idempotency_key: str) -> RefundResult:
        """Ask for money back; may complete later."""
        ...

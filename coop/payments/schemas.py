"""Payment shapes: what providers are asked and answer, and what the API shows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, StrictInt

from coop.payments.models import PaymentStatus, ProviderName


@dataclass(frozen=True)
class CheckoutRequest:
    """What a provider needs to start collecting one payment."""

    payment_id: uuid.UUID
    reference: str
    amount_cents: int
    description: str
    return_url: str
    webhook_url: str
    idempotency_key: str
    payer_email: str | None = None
    method: str | None = None
    recurring: bool = False
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Checkout:
    """The provider's answer: its id for the payment and where to send the payer."""

    provider_reference: str
    checkout_url: str | None


@dataclass(frozen=True)
class ProviderSnapshot:
    """The provider's current truth about one payment (cumulative refunded and charged-back cents)."""

    provider_reference: str
    status: PaymentStatus
    refunded_cents: int = 0
    charged_back_cents: int = 0
    method: str | None = None
    subscription_id: str | None = None


@dataclass(frozen=True)
class Renewal:
    """A recurring charge the provider made on its own (a subscription period): becomes a new paid Payment."""

    provider_reference: str
    provider_subscription_id: str
    amount_cents: int
    purpose: str
    purpose_id: uuid.UUID
    description: str


@dataclass(frozen=True)
class ProviderEventData:
    """A verified webhook event, translated: which payment it is about and what the provider now says."""

    external_id: str
    kind: str
    provider_reference: str | None = None
    snapshot: ProviderSnapshot | None = None
    renewal: Renewal | None = None
    ended_subscription_id: str | None = None


class PaymentPublic(BaseModel):
    """A payment as the API shows it."""

    id: uuid.UUID
    reference: str
    purpose: str
    purpose_id: uuid.UUID
    amount_cents: int
    currency: str
    description: str
    provider: ProviderName
    method: str | None
    status: PaymentStatus
    checkout_url: str | None
    refunded_cents: int
    charged_back_cents: int
    created_at: datetime
    paid_at: datetime | None

    @classmethod
    def of(cls, payment: Any) -> PaymentPublic:
        """The API shape of a Payment row."""
        return cls.model_validate(payment, from_attributes=True)


class RefundIn(BaseModel):
    """A refund request; without an amount the whole remaining amount is refunded."""

    amount_cents: StrictInt | None = Field(default=None, gt=0)
    reason: str | None = Field(default=None, max_length=500)


class RefundPublic(BaseModel):
    """A refund and where it stands."""

    id: uuid.UUID
    payment_id: uuid.UUID
    amount_cents: int
    status: str
    failure: str | None


class PaymentPage(BaseModel):
    """A page of payments, newest first."""

    items: list[PaymentPublic]
    total: int
    limit: int
    offset: int


JsonDict = dict[str, Any]

"""Subscription shapes the API takes and shows."""

from __future__ import annotations

import datetime as dt
import uuid
from datetime import date

from pydantic import BaseModel, Field

from coop.payments.models import ProviderName
from coop.payments.schemas import PaymentPublic
from coop.subscriptions.models import EndReason, InvoiceKind, StepKind, SubscriptionStatus


class TierPublic(BaseModel):
    """A tier of the price list."""

    code: str
    name: str
    price_cents: int
    interval: str
    vat_rate_bp: int
    prices_include_vat: bool
    member_kinds: list[str]


class SubscriptionIn(BaseModel):
    """Start (or retry) a subscription, paid through `provider`."""

    provider: ProviderName = ProviderName.SANDBOX
    method: str | None = Field(default=None, max_length=32)
    return_url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://")


class TierChangeIn(BaseModel):
    """Move the subscription to another tier from the next renewal."""

    tier: str = Field(min_length=1, max_length=32)


class PeriodPublic(BaseModel):
    """One billed year: [period_start, period_end)."""

    period_start: date
    period_end: date
    amount_cents: int
    paid_on: date | None
    voided_on: date | None
    payment_id: uuid.UUID | None


class StepPublic(BaseModel):
    """A renewal or dunning step and the day it was taken."""

    kind: StepKind
    on: date


class SubscriptionPublic(BaseModel):
    """A subscription with its status on `at`; period_end is the renewal date (the first day not covered)."""

    id: uuid.UUID
    member_id: uuid.UUID
    tier: str
    provider: ProviderName
    status: SubscriptionStatus
    at: date
    period_start: date | None
    period_end: date | None
    paid_through: date | None
    due_on: date | None
    lapses_on: date | None
    ends_on: date | None
    end_reason: EndReason | None
    cancel_at_period_end: bool
    periods: list[PeriodPublic]
    steps: list[StepPublic]
    open_payment: PaymentPublic | None


class SubscriptionStarted(BaseModel):
    """What starting a subscription made: the subscription and the payment to complete."""

    subscription: SubscriptionPublic
    payment: PaymentPublic


class InvoicePublic(BaseModel):
    """An invoice or credit note (credit notes have negative amounts)."""

    id: uuid.UUID
    number: str
    kind: InvoiceKind
    date: dt.date
    supply_from: dt.date
    supply_until: dt.date
    description: str
    net_cents: int
    vat_rate_bp: int
    vat_cents: int
    gross_cents: int
    payment_reference: str | None
    credits_invoice_id: uuid.UUID | None
    pdf_url: str

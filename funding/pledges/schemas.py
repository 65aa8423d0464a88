"""Pledge shapes the API takes and shows."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, EmailStr, Field, StrictInt

from coop.payments.models import ProviderName
from coop.payments.schemas import PaymentPublic
from funding.pledges.models import OnFailure, PledgeKind, PledgeStatus


class PledgeIn(BaseModel):
    """A pledge of money (amount_cents, or amount as typed: "25,50"), time (hours) or materials (description)."""

    kind: PledgeKind
    name: str = Field(min_length=2, max_length=200)
    email: EmailStr
    anonymous: bool = False
    message: str | None = Field(default=None, max_length=500)
    amount_cents: StrictInt | None = None
    amount: str | None = Field(default=None, max_length=20)
    provider: ProviderName = ProviderName.SANDBOX
    on_failure: OnFailure = OnFailure.REFUND
    fund_id: uuid.UUID | None = None  # with donate_to_fund: the fund to give to (default: the project's)
    hours: Decimal | None = Field(default=None, gt=0, le=10_000, max_digits=7, decimal_places=2)
    skill: str | None = Field(default=None, max_length=120)
    availability: str | None = Field(default=None, max_length=500)
    description: str | None = Field(default=None, max_length=500)
    quantity: StrictInt | None = Field(default=None, ge=1, le=1_000_000)
    value_cents: StrictInt | None = Field(default=None, ge=0, le=100_000_000)


class DeliveredIn(BaseModel):
    """Hours an initiator logs as delivered (may differ from what was pledged)."""

    hours: Decimal = Field(ge=0, le=10_000, max_digits=7, decimal_places=2)


class ProjectPayoutIn(BaseModel):
    """The bank paid (part of) what a succeeded project is owed."""

    amount_cents: StrictInt = Field(gt=0)
    paid_on: date
    reference: str = Field(min_length=1, max_length=140)  # the bank's reference: one payout is recorded once


class ProjectPayoutOut(BaseModel):
    """What the project is still owed after the payout."""

    project_id: uuid.UUID
    owed_cents: int


class PledgePublic(BaseModel):
    """A pledge as its pledger, the initiator and the board see it."""

    id: uuid.UUID
    project_id: uuid.UUID
    kind: PledgeKind
    status: PledgeStatus
    name: str
    anonymous: bool
    message: str | None
    amount_cents: int | None
    on_failure: OnFailure | None
    fund_id: uuid.UUID | None
    payment_id: uuid.UUID | None
    minutes: int | None
    skill: str | None
    availability: str | None
    delivered_minutes: int | None
    acknowledged_at: datetime | None
    description: str | None
    quantity: int | None
    value_cents: int | None
    created_at: datetime


class PledgeCreated(BaseModel):
    """The pledge, and for money the payment to complete."""

    pledge: PledgePublic
    payment: PaymentPublic | None

"""Payments, refunds and the provider event inbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from coop.core.clock import utc_now
from coop.core.types import UTCDateTime, str_enum


class PaymentStatus(StrEnum):
    """open -> pending -> paid | failed | canceled | expired; paid -> partially_refunded | refunded | charged_back."""

    OPEN = "open"
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    CANCELED = "canceled"
    EXPIRED = "expired"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    CHARGED_BACK = "charged_back"


class ProviderName(StrEnum):
    """Who collects the money."""

    SANDBOX = "sandbox"
    STRIPE = "stripe"
    MOLLIE = "mollie"
    BANK_TRANSFER = "bank_transfer"


class RefundStatus(StrEnum):
    """A refund we asked for; the ledger moves only when the provider confirms."""

    PENDING = "pending"
    REFUNDED = "refunded"
    FAILED = "failed"


class Payment(SQLModel, table=True):
    """One attempt to collect an amount for a purpose; written before the provider is called."""

    __tablename__ = "payment"
    __table_args__ = (
        UniqueConstraint("provider", "provider_reference", name="uq_payment_provider_reference"),
        CheckConstraint("amount_cents > 0", name="ck_payment_positive"),
        Index("ix_payment_purpose", "purpose", "purpose_id"),
        Index("ix_payment_status_created", "status", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    reference: str = Field(max_length=20, unique=True)
    purpose: str = Field(max_length=32)
    purpose_id: uuid.UUID
    amount_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(default="EUR", max_length=3)
    description: str = Field(max_length=255)
    provider: ProviderName = Field(sa_type=str_enum(ProviderName))
    provider_reference: str | None = Field(default=None, max_length=255)
    method: str | None = Field(default=None, max_length=32)
    status: PaymentStatus = Field(default=PaymentStatus.OPEN, sa_type=str_enum(PaymentStatus))
    checkout_url: str | None = Field(default=None, max_length=2000)
    return_url: str | None = Field(default=None, max_length=2000)
    refunded_cents: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    charged_back_cents: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    payer_name: str | None = Field(default=None, max_length=200)
    payer_email: str | None = Field(default=None, max_length=254)
    recurring: bool = False
    provider_subscription_id: str | None = Field(default=None, max_length=255, index=True)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    paid_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Refund(SQLModel, table=True):
    """A refund a treasurer asked the provider for."""

    __tablename__ = "payment_refund"
    __table_args__ = (CheckConstraint("amount_cents > 0", name="ck_refund_positive"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    payment_id: uuid.UUID = Field(foreign_key="payment.id", index=True)
    amount_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    status: RefundStatus = Field(default=RefundStatus.PENDING, sa_type=str_enum(RefundStatus))
    provider_reference: str | None = Field(default=None, max_length=255)
    reason: str | None = Field(default=None, max_length=500)
    requested_by: uuid.UUID | None = None
    failure: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class ProviderEvent(SQLModel, table=True):
    """Inbox of webhook deliveries: unique per provider and event id, so a repeat is a no-op."""

    __tablename__ = "payment_provider_event"
    __table_args__ = (UniqueConstraint("provider", "external_id", name="uq_provider_event"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    provider: ProviderName = Field(sa_type=str_enum(ProviderName))
    external_id: str = Field(max_length=255)
    kind: str = Field(max_length=100)
    payment_id: uuid.UUID | None = Field(default=None, index=True)
    raw: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    handled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str | None = Field(default=None, max_length=500)


class SandboxCheckout(SQLModel, table=True):
    """The sandbox provider's own record of a checkout: what a real provider would keep on its side."""

    __tablename__ = "payment_sandbox_checkout"

    provider_reference: str = Field(primary_key=True, max_length=64)
    payment_id: uuid.UUID = Field(index=True)
    amount_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    description: str = Field(max_length=255)
    return_url: str = Field(max_length=2000)
    status: PaymentStatus = Field(default=PaymentStatus.OPEN, sa_type=str_enum(PaymentStatus))
    refunded_cents: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    charged_back_cents: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))

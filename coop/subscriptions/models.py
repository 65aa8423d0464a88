"""Tiers, subscriptions with their dated periods, dunning steps, invoices and revenue deferrals."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, CheckConstraint, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from coop.core.clock import utc_now
from coop.core.types import UTCDateTime, str_enum
from coop.payments.models import ProviderName


class Tier(SQLModel, table=True):
    """A price list entry: what a yearly subscription costs and for which member kinds."""

    __tablename__ = "subscription_tier"
    __table_args__ = (CheckConstraint("price_cents > 0", name="ck_tier_price"),
                      CheckConstraint("vat_rate_bp >= 0 AND vat_rate_bp <= 10000", name="ck_tier_vat"))

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=120)
    price_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    interval: str = Field(default="year", max_length=16)
    vat_rate_bp: int
    prices_include_vat: bool = True
    member_kinds: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class SubscriptionStatus(StrEnum):
    """Derived from the dated periods on a given day; never stored."""

    PENDING = "pending"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    LAPSED = "lapsed"
    CANCELED = "canceled"


class EndReason(StrEnum):
    """Why a subscription stops renewing."""

    CANCELED = "canceled"  # by the member or the board: stays active until the paid period ends
    PROVIDER_ENDED = "provider_ended"  # Stripe or Mollie stopped collecting (e.g. after failed retries)
    LAPSED = "lapsed"  # the renewal was not paid within the grace period


class Subscription(SQLModel, table=True):
    """A member's yearly subscription; its status on any day follows from its periods and its end."""

    __tablename__ = "subscription"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    member_id: uuid.UUID = Field(foreign_key="member.id", index=True)
    tier_code: str = Field(foreign_key="subscription_tier.code", max_length=32)
    provider: ProviderName = Field(sa_type=str_enum(ProviderName))
    provider_subscription_id: str | None = Field(default=None, max_length=255, index=True)
    provider_customer_id: str | None = Field(default=None, max_length=255)
    started_on: date
    ends_on: date | None = None
    end_reason: EndReason | None = Field(default=None, sa_type=str_enum(EndReason))
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    created_by: uuid.UUID | None = None


class SubscriptionPeriod(SQLModel, table=True):
    """One year billed: [period_start, period_end), covered once paid, uncovered again when voided."""

    __tablename__ = "subscription_period"
    __table_args__ = (UniqueConstraint("subscription_id", "period_start", name="uq_subscription_period_start"),
                      CheckConstraint("period_end > period_start", name="ck_subscription_period_order"))

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    subscription_id: uuid.UUID = Field(foreign_key="subscription.id", index=True)
    tier_code: str = Field(max_length=32)
    period_start: date
    period_end: date
    amount_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    payment_id: uuid.UUID | None = Field(default=None, index=True)
    paid_on: date | None = None
    voided_on: date | None = None
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class StepKind(StrEnum):
    """What the subscription jobs did about the renewal that falls at a period's end."""

    RENEWAL_NOTICE = "renewal_notice"  # 30 days ahead
    BILLED = "billed"  # we (not a provider) asked for the next period's payment
    REMINDER_1 = "reminder_1"  # 7 days after the due date
    REMINDER_2 = "reminder_2"  # 21 days after the due date
    LAPSED = "lapsed"  # after the grace period


class SubscriptionStep(SQLModel, table=True):
    """A dunning or renewal step, once per period and kind: what makes the jobs safe to run twice."""

    __tablename__ = "subscription_step"
    __table_args__ = (UniqueConstraint("period_id", "kind", name="uq_subscription_step"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    subscription_id: uuid.UUID = Field(foreign_key="subscription.id", index=True)
    period_id: uuid.UUID = Field(foreign_key="subscription_period.id")
    kind: StepKind = Field(sa_type=str_enum(StepKind))
    on: date
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class InvoiceKind(StrEnum):
    """Invoices and credit notes have their own number series."""

    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class Invoice(SQLModel, table=True):
    """A numbered invoice or credit note with everything the law asks; never edited, never deleted.

    Credit notes carry negative amounts. Supplier details are copied from the
    settings and customer details from the member at the moment of issue.
    """

    __tablename__ = "invoice"
    __table_args__ = (CheckConstraint("net_cents + vat_cents = gross_cents", name="ck_invoice_adds_up"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    number: str = Field(max_length=20, unique=True)
    kind: InvoiceKind = Field(sa_type=str_enum(InvoiceKind))
    issued_on: date = Field(index=True)
    member_id: uuid.UUID = Field(foreign_key="member.id", index=True)
    subscription_id: uuid.UUID = Field(foreign_key="subscription.id", index=True)
    period_id: uuid.UUID = Field(foreign_key="subscription_period.id", index=True)
    payment_id: uuid.UUID | None = None
    credits_invoice_id: uuid.UUID | None = Field(default=None, foreign_key="invoice.id")
    supplier: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    customer: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    description: str = Field(max_length=255)
    supply_from: date
    supply_until: date
    net_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    vat_rate_bp: int
    vat_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    gross_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    payment_reference: str | None = Field(default=None, max_length=20)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class RevenueDeferral(SQLModel, table=True):
    """Net revenue of an invoice (or credit note, negative) that belongs to a later calendar year (2600)."""

    __tablename__ = "revenue_deferral"
    __table_args__ = (UniqueConstraint("invoice_id", "release_on", name="uq_revenue_deferral"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    invoice_id: uuid.UUID = Field(foreign_key="invoice.id", index=True)
    amount_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    release_on: date = Field(index=True)
    released_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

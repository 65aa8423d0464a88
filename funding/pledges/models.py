"""Pledges of money (paid through the payments engine), hours (confirmed, then delivered) and materials."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Column, Index
from sqlmodel import Field, SQLModel

from coop.core.clock import utc_now
from coop.core.types import UTCDateTime, str_enum


class PledgeKind(StrEnum):
    """What a neighbour gives."""

    MONEY = "money"
    TIME = "time"
    MATERIALS = "materials"


class PledgeStatus(StrEnum):
    """Money: pending -> paid -> refund_pending -> refunded, or failed. Time: pledged -> confirmed -> delivered.
    Materials: pledged. Time and materials may be withdrawn."""

    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    REFUND_PENDING = "refund_pending"
    REFUNDED = "refunded"
    DONATED = "donated"  # the project failed and the pledger chose to give the money to a fund
    PLEDGED = "pledged"
    CONFIRMED = "confirmed"
    DELIVERED = "delivered"
    WITHDRAWN = "withdrawn"


class OnFailure(StrEnum):
    """What an all-or-nothing pledger wants if the project fails."""

    REFUND = "refund"
    DONATE_TO_FUND = "donate_to_fund"


class Pledge(SQLModel, table=True):
    """One neighbour's pledge to one project; the fields of the other kinds stay empty."""

    __tablename__ = "pledge"
    __table_args__ = (
        CheckConstraint("amount_cents IS NULL OR amount_cents > 0", name="ck_pledge_amount"),
        CheckConstraint("minutes IS NULL OR minutes > 0", name="ck_pledge_minutes"),
        CheckConstraint("delivered_minutes IS NULL OR delivered_minutes >= 0", name="ck_pledge_delivered"),
        CheckConstraint("value_cents IS NULL OR value_cents >= 0", name="ck_pledge_value"),
        Index("ix_pledge_project_kind_status", "project_id", "kind", "status"),
        Index("ix_pledge_created_at", "created_at"),  # pledges per week on the dashboards
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id")
    kind: PledgeKind = Field(sa_type=str_enum(PledgeKind))
    status: PledgeStatus = Field(sa_type=str_enum(PledgeStatus))
    name: str = Field(max_length=200)
    email: str = Field(max_length=254)
    anonymous: bool = False
    message: str | None = Field(default=None, max_length=500)
    user_id: uuid.UUID | None = None
    amount_cents: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    on_failure: OnFailure | None = Field(default=None, sa_type=str_enum(OnFailure))
    fund_id: uuid.UUID | None = None  # the fund a donate_to_fund pledger picked (else the project's default fund)
    payment_id: uuid.UUID | None = Field(default=None, index=True)
    minutes: int | None = None
    skill: str | None = Field(default=None, max_length=120)
    availability: str | None = Field(default=None, max_length=500)
    delivered_minutes: int | None = None
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    description: str | None = Field(default=None, max_length=500)
    quantity: int | None = None
    value_cents: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    paid_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # refunded, failed or withdrawn

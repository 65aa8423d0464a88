"""Share classes (versioned data), share orders and the numbered, immutable operation log."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, CheckConstraint, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from coop.core.clock import utc_now
from coop.core.types import UTCDateTime, str_enum


class ShareClass(SQLModel, table=True):
    """One version of a share class; a change of terms is a new version valid from a date."""

    __tablename__ = "share_class"
    __table_args__ = (UniqueConstraint("code", "valid_from", name="uq_share_class_version"),
                      CheckConstraint("nominal_cents > 0", name="ck_share_class_nominal"))

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    code: str = Field(max_length=32, index=True)
    name: str = Field(max_length=120)
    nominal_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    member_kinds: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    required: bool = False
    min_per_member: int = 0
    max_per_member: int | None = None
    transferable: bool = False
    notice_months: int = 0
    payout_years_after_end: int = 0
    cap_cents: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    investor_notice: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    valid_from: date


class OrderStatus(StrEnum):
    """Where a share order stands."""

    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    CANCELED = "canceled"


class ShareOrder(SQLModel, table=True):
    """A member's order of shares of one or more classes, paid in one payment."""

    __tablename__ = "share_order"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    member_id: uuid.UUID = Field(index=True)
    amount_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    status: OrderStatus = Field(default=OrderStatus.PENDING, sa_type=str_enum(OrderStatus))
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class ShareOrderLine(SQLModel, table=True):
    """So many shares of one class version at its nominal value."""

    __tablename__ = "share_order_line"
    __table_args__ = (CheckConstraint("quantity > 0", name="ck_share_order_line_quantity"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    order_id: uuid.UUID = Field(foreign_key="share_order.id", index=True)
    share_class_id: uuid.UUID = Field(foreign_key="share_class.id")
    class_code: str = Field(max_length=32)
    quantity: int
    nominal_cents: int = Field(sa_column=Column(BigInteger, nullable=False))


class OperationKind(StrEnum):
    """What happened to shares."""

    ISSUE = "issue"
    TRANSFER = "transfer"
    REDEMPTION = "redemption"
    CANCELLATION = "cancellation"


class ShareOperation(SQLModel, table=True):
    """One numbered entry of the share register's log; the register at any date is replayed from these."""

    __tablename__ = "share_operation"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    number: int = Field(sa_column=Column(BigInteger, unique=True, nullable=False))
    kind: OperationKind = Field(sa_type=str_enum(OperationKind))
    class_code: str = Field(max_length=32)
    nominal_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    quantity: int
    certificates: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    from_member_id: uuid.UUID | None = Field(default=None, index=True)
    to_member_id: uuid.UUID | None = Field(default=None, index=True)
    effective_on: date = Field(index=True)
    recorded_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    requested_by: uuid.UUID | None = None
    approved_by: uuid.UUID | None = None
    order_id: uuid.UUID | None = Field(default=None, index=True)


class MutationKind(StrEnum):
    """A change of holdings that needs the board's approval."""

    TRANSFER = "transfer"
    REDEMPTION = "redemption"


class MutationStatus(StrEnum):
    """requested -> approved | rejected; an approved redemption is later paid out."""

    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    PAID_OUT = "paid_out"


class ShareMutation(SQLModel, table=True):
    """A requested transfer or redemption, approved by a board member who did not request it (four eyes)."""

    __tablename__ = "share_mutation"
    __table_args__ = (CheckConstraint("quantity > 0", name="ck_share_mutation_quantity"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    kind: MutationKind = Field(sa_type=str_enum(MutationKind))
    status: MutationStatus = Field(default=MutationStatus.REQUESTED, sa_type=str_enum(MutationStatus))
    class_code: str = Field(max_length=32)
    quantity: int
    from_member_id: uuid.UUID = Field(index=True)
    to_member_id: uuid.UUID | None = Field(default=None, index=True)
    effective_on: date
    requested_by: uuid.UUID | None = None
    requested_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    decided_by: uuid.UUID | None = None
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reason: str | None = Field(default=None, max_length=500)
    operation_id: uuid.UUID | None = None
    amount_cents: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    payout_due_on: date | None = Field(default=None, index=True)
    paid_out_on: date | None = None

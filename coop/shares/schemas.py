"""Share shapes for the API and the registers."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, Field, StrictInt


class ShareClassPublic(BaseModel):
    """The terms of a share class as they apply today."""

    code: str
    name: str
    nominal_cents: int
    member_kinds: list[str]
    required: bool
    min_per_member: int
    max_per_member: int | None
    transferable: bool
    notice_months: int
    payout_years_after_end: int
    cap_cents: int | None
    issued_cents: int
    investor_notice: str | None
    valid_from: date


class Holding(BaseModel):
    """What one member held of one class on a date, with the certificate numbers."""

    member_id: uuid.UUID
    member_number: int | None = None
    class_code: str
    quantity: int
    nominal_cents: int
    certificates: list[int]


class ShareRegister(BaseModel):
    """The share register (aandeelhoudersregister) as it stood on `at`."""

    at: date
    holdings: list[Holding]
    total_nominal_cents: int


class TransferIn(BaseModel):
    """Move shares from one member to another (needs the board's approval)."""

    from_member_id: uuid.UUID
    to_member_id: uuid.UUID
    class_code: str = Field(min_length=1, max_length=32)
    quantity: StrictInt = Field(ge=1, le=100_000)


class RedemptionIn(BaseModel):
    """Give shares back to the cooperative (needs the board's approval; paid out by the class rule)."""

    member_id: uuid.UUID
    class_code: str = Field(min_length=1, max_length=32)
    quantity: StrictInt = Field(ge=1, le=100_000)


class RejectIn(BaseModel):
    """Why the board says no."""

    reason: str = Field(min_length=3, max_length=500)


class PayoutIn(BaseModel):
    """When the bank paid a redemption out (default today)."""

    paid_on: date | None = None


class MutationPublic(BaseModel):
    """A transfer or redemption and where it stands."""

    id: uuid.UUID
    kind: str
    status: str
    class_code: str
    quantity: int
    from_member_id: uuid.UUID
    to_member_id: uuid.UUID | None
    effective_on: date
    requested_by: uuid.UUID | None
    decided_by: uuid.UUID | None
    reason: str | None
    amount_cents: int
    payout_due_on: date | None
    paid_out_on: date | None

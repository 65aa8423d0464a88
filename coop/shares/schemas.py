"""Share shapes for the API and the registers."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel


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

"""Ledger request and response shapes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel, Field, StrictInt, field_validator


@dataclass(frozen=True)
class Line:
    """One posting to make: signed cents (debit positive) on an account code, with optional dimensions."""

    account: str
    amount_cents: int
    member_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None
    fund_id: uuid.UUID | None = None
    payment_id: uuid.UUID | None = None

    def sort_key(self) -> tuple[str, int, str, str, str, str]:
        """Order-independent identity of a line, for idempotency comparisons."""
        return (self.account, self.amount_cents, str(self.member_id), str(self.project_id),
                str(self.fund_id), str(self.payment_id))


class TrialBalanceRow(BaseModel):
    """One account in the trial balance: opening, period movements and closing (debit positive)."""

    code: str
    name: str
    type: str
    opening_cents: int
    debit_cents: int
    credit_cents: int
    balance_cents: int


class TrialBalance(BaseModel):
    """All accounts with activity up to `end`; `total_cents` is zero when the books balance."""

    start: date
    end: date
    accounts: list[TrialBalanceRow]
    total_cents: int


class AccountPublic(BaseModel):
    """An account of the chart with its current balance."""

    code: str
    name: str
    type: str
    normal_side: str
    no_overdraft: bool
    balance_cents: int


class LineIn(BaseModel):
    """A line of a manual booking."""

    account: str = Field(min_length=1, max_length=10)
    amount_cents: StrictInt
    member_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None
    fund_id: uuid.UUID | None = None

    @field_validator("amount_cents")
    @classmethod
    def _nonzero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("a posting of zero moves nothing")
        return value


class ManualEntryIn(BaseModel):
    """A treasurer's memorial booking (bank fees, corrections); the key makes a retry harmless."""

    idempotency_key: str = Field(min_length=1, max_length=150)
    booked_on: date
    description: str = Field(min_length=1, max_length=500)
    lines: list[LineIn] = Field(min_length=2, max_length=100)


class PostingPublic(BaseModel):
    """One posting as shown to the treasurer."""

    account: str
    amount_cents: int
    member_id: uuid.UUID | None
    project_id: uuid.UUID | None
    fund_id: uuid.UUID | None
    payment_id: uuid.UUID | None


class EntryPublic(BaseModel):
    """A journal entry with its postings."""

    id: uuid.UUID
    number: int
    booked_on: date
    description: str
    idempotency_key: str
    source_type: str | None
    source_id: str | None
    reversal_of: uuid.UUID | None
    postings: list[PostingPublic]


class ReverseIn(BaseModel):
    """Reverse an entry on a date, with a key of its own."""

    idempotency_key: str = Field(min_length=1, max_length=150)
    booked_on: date | None = None

"""Ledger tables: accounts, immutable journal entries and their signed postings."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, Uuid
from sqlmodel import Field, SQLModel

from coop.core.clock import utc_now
from coop.core.types import UTCDateTime, str_enum


class AccountType(StrEnum):
    """The five account classes of double-entry bookkeeping."""

    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    REVENUE = "revenue"
    EXPENSE = "expense"


class Side(StrEnum):
    """The side on which an account normally carries its balance."""

    DEBIT = "debit"
    CREDIT = "credit"


class Account(SQLModel, table=True):
    """One account of the chart; `no_overdraft` accounts never go below zero on their normal side."""

    __tablename__ = "ledger_account"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    code: str = Field(max_length=10, unique=True)
    name: str = Field(max_length=120)
    type: AccountType = Field(sa_type=str_enum(AccountType))
    normal_side: Side = Field(sa_type=str_enum(Side))
    no_overdraft: bool = False
    active: bool = True


class JournalEntry(SQLModel, table=True):
    """A balanced, immutable booking; corrections are reversing entries."""

    __tablename__ = "ledger_entry"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    number: int = Field(sa_column=Column(BigInteger, unique=True, nullable=False))
    booked_on: date = Field(index=True)
    description: str = Field(max_length=500)
    idempotency_key: str = Field(max_length=200, unique=True)
    source_type: str | None = Field(default=None, max_length=50)
    source_id: str | None = Field(default=None, max_length=100)
    reversal_of: uuid.UUID | None = Field(
        default=None, sa_column=Column(Uuid, ForeignKey("ledger_entry.id"), unique=True, nullable=True)
    )
    created_by: uuid.UUID | None = Field(default=None)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class Posting(SQLModel, table=True):
    """One signed line of an entry: debit positive, credit negative, never zero."""

    __tablename__ = "ledger_posting"
    __table_args__ = (
        CheckConstraint("amount_cents <> 0", name="ck_posting_nonzero"),
        Index("ix_posting_account_entry", "account_id", "entry_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    entry_id: uuid.UUID = Field(foreign_key="ledger_entry.id", index=True)
    account_id: uuid.UUID = Field(foreign_key="ledger_account.id")
    amount_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    member_id: uuid.UUID | None = Field(default=None, index=True)
    project_id: uuid.UUID | None = Field(default=None, index=True)
    fund_id: uuid.UUID | None = Field(default=None, index=True)
    payment_id: uuid.UUID | None = Field(default=None, index=True)

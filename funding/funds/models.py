"""Gift funds: who gives, who manages, money in (donations, deposits), matchfunding rules and the matches made."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, CheckConstraint, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from coop.core.clock import utc_now
from coop.core.types import UTCDateTime, str_enum


class FundKind(StrEnum):
    """Who puts the money in."""

    FOUNDATION = "foundation"
    COMMUNITY_FUND = "community_fund"
    MUNICIPALITY = "municipality"
    COMPANY = "company"


class Fund(SQLModel, table=True):
    """A fund; its money is on 2300 (available) and 2310 (reserved for projects) with the fund as dimension."""

    __tablename__ = "fund"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=120)
    kind: FundKind = Field(sa_type=str_enum(FundKind))
    description: str | None = Field(default=None, max_length=1000)
    municipality_codes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    themes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    created_by: uuid.UUID | None = None


class FundManager(SQLModel, table=True):
    """A user (role fund_manager) who manages a fund."""

    __tablename__ = "fund_manager"
    __table_args__ = (UniqueConstraint("fund_id", "user_id", name="uq_fund_manager"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    fund_id: uuid.UUID = Field(foreign_key="fund.id", index=True)
    user_id: uuid.UUID = Field(index=True)


class DonationStatus(StrEnum):
    """A donation counts once paid."""

    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    REFUNDED = "refunded"


class Donation(SQLModel, table=True):
    """Money given to a fund online, through the payments engine (purpose `fund_donation`)."""

    __tablename__ = "fund_donation"
    __table_args__ = (CheckConstraint("amount_cents > 0", name="ck_donation_amount"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    fund_id: uuid.UUID = Field(foreign_key="fund.id", index=True)
    amount_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    name: str = Field(max_length=200)
    email: str = Field(max_length=254)
    status: DonationStatus = Field(default=DonationStatus.PENDING, sa_type=str_enum(DonationStatus))
    payment_id: uuid.UUID | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class Deposit(SQLModel, table=True):
    """Money a fund transferred to the cooperative's bank, recorded by a treasurer."""

    __tablename__ = "fund_deposit"
    __table_args__ = (CheckConstraint("amount_cents > 0", name="ck_deposit_amount"),
                      UniqueConstraint("fund_id", "reference", name="uq_fund_deposit_reference"))

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    fund_id: uuid.UUID = Field(foreign_key="fund.id", index=True)
    amount_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    reference: str = Field(max_length=140)  # the bank statement's reference: the same one is recorded once
    booked_on: date
    recorded_by: uuid.UUID | None = None
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class MatchRule(SQLModel, table=True):
    """Matchfunding as data: ratio, caps, budget, eligibility and window; applied in `position` order."""

    __tablename__ = "match_rule"
    __table_args__ = (
        CheckConstraint("ratio_bp > 0", name="ck_match_rule_ratio"),
        CheckConstraint("cap_per_pledge_cents > 0", name="ck_match_rule_pledge_cap"),
        CheckConstraint("cap_per_project_cents > 0", name="ck_match_rule_project_cap"),
        CheckConstraint("budget_cents > 0", name="ck_match_rule_budget"),
        CheckConstraint("pledges_per_pledger > 0", name="ck_match_rule_per_pledger"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    fund_id: uuid.UUID = Field(foreign_key="fund.id", index=True)
    ratio_bp: int  # 10 000 = 1:1
    cap_per_pledge_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    cap_per_project_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    budget_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    pledges_per_pledger: int = 1  # matched pledges per pledger (e-mail) per project
    themes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    municipality_codes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    starts_on: date | None = None
    ends_on: date | None = None
    # A threshold rule pays `lump_sum_cents` once per project when the crowd has paid `threshold_bp` of the
    # goal with at least `min_backers` backers (instead of a ratio of each pledge).
    lump_sum_cents: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    threshold_bp: int | None = None
    min_backers: int | None = None
    active: bool = True
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    created_by: uuid.UUID | None = None


class MatchStatus(StrEnum):
    """reserved (2310) -> payable (2400, the project succeeded) | released (back to 2300)."""

    RESERVED = "reserved"
    PAYABLE = "payable"
    RELEASED = "released"


class Match(SQLModel, table=True):
    """One rule's match of one paid pledge, with why it is this amount."""

    __tablename__ = "fund_match"
    __table_args__ = (UniqueConstraint("rule_id", "pledge_id", name="uq_fund_match"),
                      CheckConstraint("amount_cents > 0", name="ck_fund_match_amount"))

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    rule_id: uuid.UUID = Field(foreign_key="match_rule.id", index=True)
    fund_id: uuid.UUID = Field(foreign_key="fund.id", index=True)
    pledge_id: uuid.UUID = Field(foreign_key="pledge.id", index=True)
    project_id: uuid.UUID = Field(foreign_key="project.id", index=True)
    pledger_email: str = Field(max_length=254)
    amount_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    status: MatchStatus = Field(default=MatchStatus.RESERVED, sa_type=str_enum(MatchStatus))
    explanation: str = Field(max_length=500)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    settled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class GrantStatus(StrEnum):
    """proposed -> approved (reserved, 2310) -> payable (2400) | released (2300); proposed -> rejected."""

    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    PAYABLE = "payable"
    RELEASED = "released"


class Grant(SQLModel, table=True):
    """A fund's grant to a project: proposed by one person, approved by another (four eyes)."""

    __tablename__ = "fund_grant"
    __table_args__ = (CheckConstraint("amount_cents > 0", name="ck_grant_amount"),
                      CheckConstraint("condition_cents >= 0 AND condition_minutes >= 0", name="ck_grant_condition"))

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    fund_id: uuid.UUID = Field(foreign_key="fund.id", index=True)
    project_id: uuid.UUID = Field(foreign_key="project.id", index=True)
    amount_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    note: str = Field(max_length=1000)
    condition_cents: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    condition_minutes: int = 0  # only if the crowd raises this much money and confirms these hours
    status: GrantStatus = Field(default=GrantStatus.PROPOSED, sa_type=str_enum(GrantStatus))
    proposed_by: uuid.UUID
    decided_by: uuid.UUID | None = None
    decision_reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    settled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

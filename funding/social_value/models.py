"""Social value: the outcome catalogue with dated valuations, the dated rates, and the outcomes projects report."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, CheckConstraint, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from coop.core.clock import utc_now
from coop.core.types import UTCDateTime, str_enum

BP_RANGE = "BETWEEN 0 AND 10000"


class OutcomeType(SQLModel, table=True):
    """A kind of outcome an initiative achieves (a lonely elder visited weekly, a household off the gas)."""

    __tablename__ = "outcome_type"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    code: str = Field(max_length=60, unique=True)
    name: str = Field(max_length=160)  # Dutch
    name_en: str = Field(default="", max_length=160)
    unit: str = Field(max_length=60)  # what one unit of quantity is ("huishouden per jaar")
    themes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    avoided_public_cost: bool = False  # the proxy is a cost the government no longer has
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    created_by: uuid.UUID | None = None


class OutcomeValuation(SQLModel, table=True):
    """One version of an outcome type's valuation, in force from `valid_from` until the next version."""

    __tablename__ = "outcome_valuation"
    __table_args__ = (
        UniqueConstraint("outcome_type_id", "valid_from", name="uq_outcome_valuation_from"),
        CheckConstraint("value_cents >= 0", name="ck_outcome_valuation_value"),
        CheckConstraint(f"deadweight_bp {BP_RANGE}", name="ck_outcome_valuation_deadweight"),
        CheckConstraint(f"attribution_bp {BP_RANGE}", name="ck_outcome_valuation_attribution"),
        CheckConstraint(f"displacement_bp {BP_RANGE}", name="ck_outcome_valuation_displacement"),
        CheckConstraint(f"drop_off_bp {BP_RANGE}", name="ck_outcome_valuation_drop_off"),
        CheckConstraint("duration_years BETWEEN 1 AND 10", name="ck_outcome_valuation_duration"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    outcome_type_id: uuid.UUID = Field(foreign_key="outcome_type.id", index=True)
    valid_from: date
    value_cents: int = Field(sa_column=Column(BigInteger, nullable=False))  # the financial proxy of one unit
    source: str = Field(max_length=500)  # a text or link; "aanname" when it is an assumption
    example: bool = False  # seeded for the board to replace
    deadweight_bp: int = 0
    attribution_bp: int = 0
    displacement_bp: int = 0
    duration_years: int = 1
    drop_off_bp: int = 0
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    created_by: uuid.UUID | None = None


class SocialValueRates(SQLModel, table=True):
    """The volunteer hour rate and the discount rate, in force from `valid_from` until the next version."""

    __tablename__ = "social_value_rates"
    __table_args__ = (
        CheckConstraint("hour_rate_cents >= 0", name="ck_social_value_rates_hour"),
        CheckConstraint(f"discount_rate_bp {BP_RANGE}", name="ck_social_value_rates_discount"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    valid_from: date = Field(unique=True)
    hour_rate_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    discount_rate_bp: int
    source: str = Field(default="aanname", max_length=500)
    example: bool = False
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    created_by: uuid.UUID | None = None


class OutcomeStatus(StrEnum):
    """reported -> verified | rejected; only verified outcomes count."""

    REPORTED = "reported"
    VERIFIED = "verified"
    REJECTED = "rejected"


class OutcomeReport(SQLModel, table=True):
    """What a project says it achieved in a period, with its evidence; a board member other than the reporter
    verifies or rejects it."""

    __tablename__ = "outcome_report"
    __table_args__ = (
        CheckConstraint("quantity_milli >= 0", name="ck_outcome_report_quantity"),
        CheckConstraint("period_end >= period_start", name="ck_outcome_report_period"),
        Index("ix_outcome_report_status_decided", "status", "decided_at"),  # the index, month by month
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id", index=True)
    outcome_type_id: uuid.UUID = Field(foreign_key="outcome_type.id")
    quantity_milli: int = Field(sa_column=Column(BigInteger, nullable=False))  # thousandths of a unit, exact
    period_start: date
    period_end: date
    evidence: str = Field(sa_column=Column(Text, nullable=False))
    status: OutcomeStatus = Field(default=OutcomeStatus.REPORTED, sa_type=str_enum(OutcomeStatus))
    reported_by: uuid.UUID
    reported_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    decided_by: uuid.UUID | None = None
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reason: str | None = Field(default=None, max_length=500)

"""Members, their consents, and the dated facts their status is derived from."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel, col

from coop.core.clock import utc_now
from coop.core.types import UTCDateTime, str_enum


class MemberKind(StrEnum):
    """Who can be a member of the cooperative."""

    PERSON = "person"
    INITIATIVE = "initiative"
    SOCIAL_ENTERPRISE = "social_enterprise"
    COMPANY = "company"
    GOVERNMENT = "government"
    ORGANISATION = "organisation"


KVK_REQUIRED = frozenset({MemberKind.COMPANY, MemberKind.SOCIAL_ENTERPRISE})


class MemberStatus(StrEnum):
    """Derived from the facts: never stored as a flag."""

    APPLICANT = "applicant"
    ACTIVE = "active"
    RESIGNING = "resigning"
    FORMER = "former"
    EXPELLED = "expelled"
    DECEASED = "deceased"


class FactKind(StrEnum):
    """A dated fact in a membership's life."""

    APPLIED = "applied"
    ACTIVATED = "activated"
    RESIGNATION_REQUESTED = "resignation_requested"
    RESIGNED = "resigned"
    EXPELLED = "expelled"
    DECEASED = "deceased"


STATUS_AFTER: dict[FactKind, MemberStatus] = {
    FactKind.APPLIED: MemberStatus.APPLICANT,
    FactKind.ACTIVATED: MemberStatus.ACTIVE,
    FactKind.RESIGNATION_REQUESTED: MemberStatus.RESIGNING,
    FactKind.RESIGNED: MemberStatus.FORMER,
    FactKind.EXPELLED: MemberStatus.EXPELLED,
    FactKind.DECEASED: MemberStatus.DECEASED,
}


class Member(SQLModel, table=True):
    """A person or organisation; the member number is given when the membership becomes active."""

    __tablename__ = "member"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    kind: MemberKind = Field(sa_type=str_enum(MemberKind))
    name: str = Field(max_length=200)
    email: str = Field(max_length=254, index=True)
    phone: str | None = Field(default=None, max_length=40)
    street: str | None = Field(default=None, max_length=200)
    postcode: str | None = Field(default=None, max_length=10)
    city: str | None = Field(default=None, max_length=100)
    municipality_code: str | None = Field(default=None, max_length=6)
    iban: str | None = Field(default=None, max_length=34)
    kvk_number: str | None = Field(default=None, max_length=8)
    member_number: int | None = Field(default=None, sa_column=Column(BigInteger, unique=True, nullable=True))
    user_id: uuid.UUID | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class MembershipFact(SQLModel, table=True):
    """Something that happened to a membership, effective on a date; the status on any date follows."""

    __tablename__ = "membership_fact"
    __table_args__ = (Index("ix_membership_fact_kind_effective", "kind", "effective_on"),)  # joins/leavers per month

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    member_id: uuid.UUID = Field(foreign_key="member.id")
    kind: FactKind = Field(sa_type=str_enum(FactKind))
    effective_on: date = Field(index=True)
    recorded_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    actor_id: uuid.UUID | None = None
    note: str | None = Field(default=None, max_length=500)


# Each member's latest fact on a date (the status charts): in order and, on PostgreSQL, from the index alone.
Index("ix_membership_fact_latest", col(MembershipFact.member_id), col(MembershipFact.effective_on).desc(),
      col(MembershipFact.recorded_at).desc(), postgresql_include=["kind"])


class ConsentKind(StrEnum):
    """What a member agreed to when joining."""

    DATA_POLICY = "data_policy"
    STATUTES = "statutes"
    FINANCIAL_RISK = "financial_risk"


class Consent(SQLModel, table=True):
    """A consent with the moment it was given."""

    __tablename__ = "member_consent"
    __table_args__ = (UniqueConstraint("member_id", "kind", name="uq_member_consent"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    member_id: uuid.UUID = Field(foreign_key="member.id", index=True)
    kind: ConsentKind = Field(sa_type=str_enum(ConsentKind))
    given_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class Representative(SQLModel, table=True):
    """A user who acts for an organisation member (besides the member's own account)."""

    __tablename__ = "member_representative"
    __table_args__ = (UniqueConstraint("member_id", "user_id", name="uq_member_representative"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    member_id: uuid.UUID = Field(foreign_key="member.id", index=True)
    user_id: uuid.UUID = Field(index=True)
    added_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    added_by: uuid.UUID | None = None

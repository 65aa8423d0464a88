"""Member request and response shapes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, EmailStr, Field, StrictInt

from coop.core.municipalities import MunicipalityCode
from coop.members.models import MemberKind, MemberStatus
from coop.payments.models import ProviderName
from coop.payments.schemas import PaymentPublic
from coop.shares.schemas import Holding


class JoinIn(BaseModel):
    """Becoming a member: who you are, which shares, how you pay, and your consents."""

    kind: MemberKind
    name: str = Field(min_length=2, max_length=200)
    email: EmailStr
    provider: ProviderName = ProviderName.SANDBOX
    share_class: str | None = Field(default=None, max_length=32)
    quantity: StrictInt | None = Field(default=None, ge=1, le=100_000)
    kvk_number: str | None = Field(default=None, max_length=20)
    iban: str | None = Field(default=None, max_length=42)
    phone: str | None = Field(default=None, max_length=40)
    street: str | None = Field(default=None, max_length=200)
    postcode: str | None = Field(default=None, max_length=10)
    city: str | None = Field(default=None, max_length=100)
    municipality_code: MunicipalityCode | None = Field(default=None, description="CBS code (GM0344) of the "
                                                       "municipality the member lives or works in.")
    consent: bool = Field(default=True, description="Agrees to the statutes, the privacy statement and the "
                                                    "financial risk notice.")


class MemberSummary(BaseModel):
    """A member as shown right after joining."""

    id: uuid.UUID
    status: MemberStatus | None
    member_number: int | None
    kind: MemberKind


class JoinOut(BaseModel):
    """The new applicant and the payment that makes them a member."""

    member: MemberSummary
    payment: PaymentPublic
    investor_notices: list[str] = Field(default_factory=list,
                                        description="Notices the law requires on this offer of shares.")


class MemberPublic(BaseModel):
    """A member with their status as of a date."""

    id: uuid.UUID
    status: MemberStatus | None
    at: date
    member_number: int | None
    kind: MemberKind
    name: str
    email: str
    city: str | None
    municipality_code: str | None
    kvk_number: str | None
    iban: str | None
    joined_on: date | None
    holdings: list[Holding]


class RegisterEntry(BaseModel):
    """One line of the members' register (ledenregister)."""

    id: uuid.UUID
    member_number: int
    name: str
    kind: MemberKind
    status: MemberStatus
    city: str | None
    joined_on: date


class MemberRegister(BaseModel):
    """The members' register as it stood on `at`."""

    at: date
    members: list[RegisterEntry]


class ResignIn(BaseModel):
    """When the membership should end (default: the end of the notice period)."""

    effective_on: date | None = None


class MemberListItem(BaseModel):
    """A member in the board's list."""

    id: uuid.UUID
    member_number: int | None
    name: str
    kind: MemberKind
    status: MemberStatus | None
    city: str | None
    joined_on: date | None


class MemberPage(BaseModel):
    """A page of members."""

    items: list[MemberListItem]
    total: int
    limit: int
    offset: int


class ErasedMember(BaseModel):
    """A member after GDPR erasure: id, number and kind kept, name and e-mail pseudonymised."""

    id: uuid.UUID
    member_number: int | None
    kind: MemberKind
    status: MemberStatus | None
    name: str
    email: str
    erased_at: datetime


class RepresentativeIn(BaseModel):
    """Who will act for the organisation."""

    email: EmailStr


class RepresentativePublic(BaseModel):
    """A user acting for an organisation member."""

    user_id: uuid.UUID
    email: str
    added_at: datetime


class EndMembershipIn(BaseModel):
    """The board records the end of a membership that was not a resignation."""

    reason: Literal["expelled", "deceased"]
    effective_on: date
    note: str | None = Field(default=None, max_length=500)

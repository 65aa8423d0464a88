"""Gift fund shapes the API takes and shows."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, EmailStr, Field, StrictInt

from coop.payments.models import ProviderName
from coop.payments.schemas import PaymentPublic
from funding.funds.models import DonationStatus, FundKind, GrantStatus
from funding.projects.models import Theme

Codes = list[str]


class FundIn(BaseModel):
    """A new fund; the manager e-mails get the fund_manager role (an account is made when unknown)."""

    name: str = Field(min_length=2, max_length=120)
    kind: FundKind
    description: str | None = Field(default=None, max_length=1000)
    municipality_codes: list[str] = Field(default_factory=list, max_length=400)
    themes: list[Theme] = Field(default_factory=list)
    manager_emails: list[EmailStr] = Field(default_factory=list, max_length=20)


class FundPatch(BaseModel):
    """What a fund's managers or the board may change; managers are added (never silently removed)."""

    name: str | None = Field(default=None, min_length=2, max_length=120)
    description: str | None = Field(default=None, max_length=1000)
    municipality_codes: list[str] | None = Field(default=None, max_length=400)
    themes: list[Theme] | None = None
    add_manager_emails: list[EmailStr] = Field(default_factory=list, max_length=20)


class MatchRuleIn(BaseModel):
    """Match `ratio_bp` of each pledge (10 000 = 1:1), within the caps and the budget, where eligible."""

    ratio_bp: StrictInt = Field(gt=0, le=100_000)
    cap_per_pledge_cents: StrictInt = Field(gt=0)
    cap_per_project_cents: StrictInt = Field(gt=0)
    budget_cents: StrictInt = Field(gt=0)
    pledges_per_pledger: StrictInt = Field(default=1, gt=0, le=100)
    themes: list[Theme] = Field(default_factory=list)
    municipality_codes: list[str] = Field(default_factory=list, max_length=400)
    starts_on: date | None = None
    ends_on: date | None = None
    lump_sum_cents: StrictInt | None = Field(default=None, gt=0)  # a threshold rule: this once per project ...
    threshold_percent: StrictInt | None = Field(default=None, gt=0, le=100)  # ... when the crowd paid this % ...
    min_backers: StrictInt | None = Field(default=None, ge=0)  # ... with at least this many backers


class MatchRulePublic(MatchRuleIn):
    """A rule with what it has matched so far."""

    id: uuid.UUID
    active: bool
    matched_cents: int


class FundPublic(BaseModel):
    """A fund with its balances (from the ledger) and rules."""

    id: uuid.UUID
    name: str
    kind: FundKind
    description: str | None
    municipality_codes: list[str]
    themes: list[str]
    available_cents: int
    reserved_cents: int
    rules: list[MatchRulePublic]


class GrantIn(BaseModel):
    """A proposed grant, optionally only if the crowd raises `condition_cents` and confirms `condition_hours`."""

    project_id: uuid.UUID
    amount_cents: StrictInt = Field(gt=0)
    note: str = Field(min_length=1, max_length=1000)
    condition_cents: StrictInt = Field(default=0, ge=0)
    condition_hours: StrictInt = Field(default=0, ge=0, le=100_000)


class GrantDecisionIn(BaseModel):
    """Why a grant is rejected."""

    reason: str = Field(min_length=1, max_length=500)


class GrantPublic(BaseModel):
    """A grant and where it stands."""

    id: uuid.UUID
    fund_id: uuid.UUID
    project_id: uuid.UUID
    amount_cents: int
    note: str
    condition_cents: int
    condition_minutes: int
    status: GrantStatus
    proposed_by: uuid.UUID
    decided_by: uuid.UUID | None
    decision_reason: str | None


class DepositIn(BaseModel):
    """Money the fund transferred, as on the bank statement."""

    amount_cents: StrictInt = Field(gt=0)
    reference: str = Field(min_length=1, max_length=140)
    booked_on: date | None = None


class DepositOut(BaseModel):
    """The recorded deposit and the fund's new available balance."""

    id: uuid.UUID
    fund_id: uuid.UUID
    amount_cents: int
    reference: str
    booked_on: date
    available_cents: int


class DonationIn(BaseModel):
    """A gift to the fund, paid online."""

    amount_cents: StrictInt = Field(ge=100, le=100_000_000)
    name: str = Field(min_length=2, max_length=200)
    email: EmailStr
    provider: ProviderName = ProviderName.SANDBOX


class DonationPublic(BaseModel):
    """A donation as its giver sees it."""

    id: uuid.UUID
    fund_id: uuid.UUID
    amount_cents: int
    status: DonationStatus


class DonationCreated(BaseModel):
    """The donation and the payment to complete."""

    donation: DonationPublic
    payment: PaymentPublic


class Balances(BaseModel):
    """A fund's money on a day: available (2300), reserved for projects (2310), and both."""

    available_cents: int
    reserved_cents: int
    total_cents: int


class StatementLine(BaseModel):
    """What one kind of booking did to the fund in the period (positive: more money)."""

    kind: str  # deposits, donations, matches, grants, corrections
    available_cents: int
    reserved_cents: int


class FundStatement(BaseModel):
    """Opening balance, what happened, closing balance; `reconciles` when they add up to the ledger."""

    fund_id: uuid.UUID
    start: date
    end: date
    opening: Balances
    lines: list[StatementLine]
    closing: Balances
    reconciles: bool

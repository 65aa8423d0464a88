"""Project shapes the API takes and shows: goals in cents and whole hours, progress beside them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from coop.core.municipalities import MunicipalityCode
from funding.pledges.models import PledgeKind, PledgeStatus
from funding.projects.models import FundingModel, ProjectStatus, Theme, Visibility

MAX_PER_PAGE = 100
MAX_WISHES = 30

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=120)]
Summary = Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=500)]
Story = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000)]
Neighbourhood = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=100)]
GoalCents = Annotated[StrictInt, Field(ge=0, le=1_000_000_000)]  # up to EUR 10 million
GoalHours = Annotated[StrictInt, Field(ge=0, le=100_000)]
Wish = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Wishlist = Annotated[list[Wish], Field(max_length=MAX_WISHES)]
PayeeName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=70)]  # SEPA limit
PayeeIban = Annotated[str, StringConstraints(strip_whitespace=True, max_length=42)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class ProjectIn(BaseModel):
    """A new project: goals in cents and whole hours (one may be 0), a campaign from `starts_on` to `deadline`."""

    title: Title
    summary: Summary
    municipality_code: MunicipalityCode
    neighbourhood: Neighbourhood
    theme: Theme
    goal_cents: GoalCents
    goal_hours: GoalHours
    starts_on: date
    deadline: date
    funding_model: FundingModel
    story: Story = ""
    wishlist: Wishlist = Field(default_factory=list)
    payee_name: PayeeName | None = None
    payee_iban: PayeeIban | None = None
    member_id: uuid.UUID | None = None
    default_fund_id: uuid.UUID | None = None  # where donate_to_fund pledges go when their pledger picked no fund


class ProjectPatch(BaseModel):
    """The fields to change; once live only story, summary and wishlist may change. Null empties a payee field."""

    title: Title | None = None
    summary: Summary | None = None
    story: Story | None = None
    municipality_code: MunicipalityCode | None = None
    neighbourhood: Neighbourhood | None = None
    theme: Theme | None = None
    goal_cents: GoalCents | None = None
    goal_hours: GoalHours | None = None
    starts_on: date | None = None
    deadline: date | None = None
    funding_model: FundingModel | None = None
    wishlist: Wishlist | None = None
    payee_name: PayeeName | None = None
    payee_iban: PayeeIban | None = None
    default_fund_id: uuid.UUID | None = None



class ProjectFilters(BaseModel):
    """What the public list can be narrowed to; `q` searches title, summary and neighbourhood."""

    municipality_code: MunicipalityCode | None = None
    neighbourhood: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    theme: Theme | None = None
    status: ProjectStatus | None = None
    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    page: int = Field(default=1, ge=1, le=1_000_000)
    per_page: int = Field(default=20, ge=1, le=MAX_PER_PAGE)


class RecentPledge(BaseModel):
    """A pledge on the project page: never an e-mail address, and "Anoniem" for anonymous pledgers."""

    kind: PledgeKind
    name: str
    amount_cents: int | None = None
    hours: float | None = None
    description: str | None = None
    message: str | None = None
    created_at: datetime


class ProjectCard(BaseModel):
    """A project with its progress: money in cents, time in hours (2 decimals) and exact minutes."""

    id: uuid.UUID
    status: ProjectStatus
    title: str
    summary: str
    municipality_code: str
    neighbourhood: str
    theme: Theme
    funding_model: FundingModel
    starts_on: date
    deadline: date
    days_left: int = Field(description="Campaign days left including today; 0 after the deadline or once closed.")
    goal_cents: int
    paid_cents: int
    pending_cents: int
    refunding_cents: int  # a failed or cancelled project's refunds the providers have not confirmed yet
    matched_cents: int
    granted_cents: int
    raised_cents: int = Field(description="Paid, matched and granted cents: what counts towards the goal.")
    percentage: int | None = Field(description="Floor of raised_cents * 100 / goal_cents; null without a money goal.")
    goal_hours: float
    hours_pledged: float
    hours_confirmed: float
    hours_delivered: float
    goal_minutes: int
    minutes_pledged: int
    minutes_confirmed: int
    minutes_delivered: int
    materials: int
    materials_value_cents: int
    backers: int


class ProjectPrivate(BaseModel):
    """What only the initiator and the board see of a project."""

    initiator_id: uuid.UUID
    member_id: uuid.UUID | None
    payee_name: str | None
    payee_iban: str | None
    decision_reason: str | None
    created_at: datetime
    submitted_at: datetime | None
    went_live_at: datetime | None
    closed_at: datetime | None


class ProjectDetail(ProjectCard):
    """The project page: the card, the story, the wishlist and the latest pledges."""

    story: str
    wishlist: list[str]
    recent_pledges: list[RecentPledge]
    private: ProjectPrivate | None = Field(default=None, description="Only for the initiator and the board.")


class ProjectPage(BaseModel):
    """One page of projects, by deadline."""

    items: list[ProjectCard]
    total: int
    page: int
    per_page: int


class UpdateIn(BaseModel):
    """A post about how the project is going, for everyone or for its backers only."""

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
    visibility: Visibility = Visibility.PUBLIC


class UpdatePublic(BaseModel):
    """A project update as readers see it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    project_id: uuid.UUID
    title: str
    body: str
    visibility: Visibility
    created_at: datetime


class PledgerPublic(BaseModel):
    """A pledge with the pledger's contact data, for the project's initiator and the board only."""

    id: uuid.UUID
    kind: PledgeKind
    status: PledgeStatus
    name: str
    email: str | None  # None for an anonymous gift, except to the board
    anonymous: bool
    message: str | None
    amount_cents: int | None
    hours: float | None
    minutes: int | None
    delivered_minutes: int | None
    skill: str | None
    availability: str | None
    description: str | None
    quantity: int | None
    value_cents: int | None
    created_at: datetime

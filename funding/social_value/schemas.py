"""Social value shapes the API takes and shows. Basis points: 10 000 = 100 %."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, StrictBool, StrictInt

from coop.core.errors import InvalidInput
from funding.projects.models import Theme
from funding.social_value.models import OutcomeStatus


def _number(value: Decimal) -> int | float:
    """A quantity or ratio as a JSON number: whole numbers stay integers."""
    return int(value) if value == value.to_integral_value() else float(value)


Quantity = Annotated[Decimal, Field(ge=0, le=1_000_000_000, decimal_places=3),
                     PlainSerializer(_number, return_type=int | float, when_used="json")]
BasisPoints = Annotated[StrictInt, Field(ge=0, le=10_000)]
Years = Annotated[StrictInt, Field(ge=1, le=10)]
Cents = Annotated[StrictInt, Field(ge=0, le=10**13)]
Code = Annotated[str, Field(min_length=2, max_length=60, pattern=r"^[a-z][a-z0-9_]*$")]


FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)  # the dates a statement or series may ask for
Day = Annotated[date, Field(ge=FIRST_DAY, le=LAST_DAY)]


def optional_theme(text: str) -> Theme | None:
    """A query's theme: empty is every theme, anything else must be one."""
    if not text:
        return None
    try:
        return Theme(text)
    except ValueError:
        raise InvalidInput(f"no theme {text!r}", field="theme") from None


def optional_day(text: str, field: str) -> date | None:
    """A query's date (YYYY-MM-DD, 2000 to 2100); empty is none."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("a date is written YYYY-MM-DD", field=field) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidInput(f"a date from {FIRST_DAY} to {LAST_DAY}", field=field)
    return day


class Strict(BaseModel):
    """A request body: unknown fields are refused, so a typo in an assumption is not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class ValuationIn(Strict):
    """One version of a valuation: what a unit is worth from `valid_from` on, and how much of it counts."""

    value_cents: Cents
    source: str = Field(min_length=2, max_length=500)
    valid_from: Day
    deadweight_bp: BasisPoints = 0
    attribution_bp: BasisPoints = 0
    displacement_bp: BasisPoints = 0
    duration_years: Years = 1
    drop_off_bp: BasisPoints = 0


class OutcomeTypeIn(ValuationIn):
    """A new outcome type with its first valuation."""

    code: Code
    name: str = Field(min_length=2, max_length=160)
    name_en: str = Field(default="", max_length=160)
    unit: str = Field(min_length=1, max_length=60)
    themes: list[Theme] = Field(default_factory=list)
    avoided_public_cost: StrictBool = False


class ValuationPublic(ValuationIn):
    """A stored version of a valuation."""

    id: uuid.UUID
    example: bool


class OutcomeTypePublic(BaseModel):
    """An outcome type with every version of its valuation, oldest first."""

    code: str
    name: str
    name_en: str
    unit: str
    themes: list[str]
    avoided_public_cost: bool
    versions: list[ValuationPublic]


class RatesIn(Strict):
    """The volunteer hour rate and the discount rate, in force from `valid_from`."""

    hour_rate_cents: Cents
    discount_rate_bp: BasisPoints
    valid_from: Day
    source: str = Field(default="aanname", min_length=2, max_length=500)


class RatesPublic(RatesIn):
    """A stored version of the rates."""

    id: uuid.UUID
    example: bool


class OutcomeIn(Strict):
    """An initiator reports what the project achieved in a period."""

    outcome_type: Code
    quantity: Quantity
    period_start: Day
    period_end: Day
    evidence: str = Field(min_length=2, max_length=5000)


class OutcomeDecisionIn(Strict):
    """Why a board member rejects an outcome report."""

    reason: str = Field(min_length=2, max_length=500)


class OutcomePublic(BaseModel):
    """A reported outcome and what the board decided."""

    id: uuid.UUID
    project_id: uuid.UUID
    outcome_type: str
    quantity: Quantity
    period_start: date
    period_end: date
    evidence: str
    status: OutcomeStatus
    reported_at: datetime
    decided_at: datetime | None
    reason: str | None


class Assumptions(BaseModel):
    """Everything a line used, with the versions, so anyone can redo the sum by hand."""

    valuation_id: uuid.UUID | None  # None when a simulation changed the valuation
    valid_from: date
    value_cents: int
    source: str
    example: bool
    deadweight_bp: int
    attribution_bp: int
    displacement_bp: int
    duration_years: int
    drop_off_bp: int
    discount_rate_bp: int
    rates_valid_from: date


class LinePublic(BaseModel):
    """One verified outcome valued: gross, net and present value in cents, and each year's discounted value."""

    outcome_id: uuid.UUID
    outcome_type: str
    name: str
    unit: str
    quantity: Quantity
    avoided_public_cost: bool
    value_cents: int
    net_cents: int
    present_value_cents: int
    years_cents: list[int]
    assumptions: Assumptions


class InputsPublic(BaseModel):
    """What went into the project by the statement's date."""

    money_cents: int  # paid pledges, matches and grants that reached it
    paid_pledges_cents: int
    matched_cents: int
    granted_cents: int
    hours: Quantity  # delivered volunteer hours
    hour_rate_cents: int
    hours_cents: int
    materials_cents: int  # estimated value of the materials pledged and not withdrawn


class PeersPublic(BaseModel):
    """Verified projects of the same theme in other municipalities, and where this project stands among them."""

    theme: str
    count: int
    median_ratio: float | None
    p25_ratio: float | None
    p75_ratio: float | None
    percentile: float | None  # share of the peers with a lower ratio (ties count half), 0 to 100


class SocialValuePublic(BaseModel):
    """A project's social value on a date: SROI ratio = present value / inputs, each rounded as documented."""

    project_id: uuid.UUID
    at: date
    theme: str
    municipality_code: str
    inputs: InputsPublic
    inputs_cents: int
    present_value_cents: int
    sroi_ratio: float | None  # two decimals, half to even; null when nothing went in
    discount_rate_bp: int
    rates_valid_from: date
    lines: list[LinePublic]
    unvalued_outcome_ids: list[uuid.UUID]  # verified, but their type had no valuation yet on this date
    peers: PeersPublic
    simulated: bool = False


class ValuationOverrides(Strict):
    """Assumptions to try instead of the catalogue's (each one optional)."""

    value_cents: Cents | None = None
    deadweight_bp: BasisPoints | None = None
    attribution_bp: BasisPoints | None = None
    displacement_bp: BasisPoints | None = None
    duration_years: Years | None = None
    drop_off_bp: BasisPoints | None = None


class Overrides(ValuationOverrides):
    """What-if: factors for every line, per outcome type (which win), and the rates."""

    hour_rate_cents: Cents | None = None
    discount_rate_bp: BasisPoints | None = None
    outcome_types: dict[str, ValuationOverrides] = Field(default_factory=dict, max_length=200)


class SimulateIn(Strict):
    """A project's statement with other assumptions; nothing is stored."""

    project_id: uuid.UUID
    at: Day | None = None
    overrides: Overrides = Field(default_factory=Overrides)


class IndexPoint(BaseModel):
    """One month of the index: the value verified in it and the level (100 in the base month)."""

    month: str  # YYYY-MM
    social_value_cents: int
    level: float


class IndexPublic(BaseModel):
    """The monthly social value index of one theme or of all."""

    theme: str | None
    base_month: str | None
    method: str
    points: list[IndexPoint]


class AvoidedCostPublic(BaseModel):
    """Avoided public cost in one municipality in one year."""

    municipality_code: str
    municipality: str
    present_value_cents: int
    outcomes: int


class AvoidedCostsPublic(BaseModel):
    """What the Netherlands saves: avoided public cost by municipality, for outcomes verified in the year."""

    year: int
    total_cents: int
    municipalities: list[AvoidedCostPublic]


class FundedValuePublic(BaseModel):
    """The social value of one project's share that a fund (or a pledger) paid for."""

    project_id: uuid.UUID
    title: str
    contributed_cents: int
    project_money_cents: int
    share: float  # contributed / the project's money inputs
    present_value_cents: int  # the project's PV x share, half to even
    sroi_ratio: float | None
    rates_valid_from: date
    outcome_types: list[str]  # the outcomes it rests on ...
    assumptions: list[Assumptions]  # ... and the assumptions (and versions) each of its lines used


class FundedValuesPublic(BaseModel):
    """What a fund's or a pledger's money achieved, pro rata to its share of each project's money."""

    at: date
    contributed_cents: int
    present_value_cents: int
    projects: list[FundedValuePublic]

"""Social value: the catalogue and rates (board), outcome reports (initiators, verified by the board), statements,
the index and avoided public cost (public), what-if (board), and what a fund's or a pledger's money achieved.

Every figure is computed exactly on fractions and rounded half to even to whole cents once per line (gross, net,
present value); totals are sums of the rounded lines; `sroi_ratio` = present value / inputs, two decimals.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from coop.auth.dependencies import CurrentUserDep, OptionalUserDep, require_roles
from coop.auth.models import Role
from coop.auth.schemas import CurrentUser
from coop.core.db import SessionDep
from funding.social_value import series, service, views
from funding.social_value.schemas import (
    FIRST_DAY,
    LAST_DAY,
    AvoidedCostsPublic,
    FundedValuesPublic,
    IndexPublic,
    OutcomeDecisionIn,
    OutcomeIn,
    OutcomePublic,
    OutcomeTypeIn,
    OutcomeTypePublic,
    RatesIn,
    RatesPublic,
    SimulateIn,
    SocialValuePublic,
    ValuationIn,
    ValuationPublic,
    optional_day,
    optional_theme,
)

router = APIRouter(tags=["social value"])
Board = Annotated[CurrentUser, Depends(require_roles(Role.BOARD))]
At = Annotated[date | None, Query(ge=FIRST_DAY, le=LAST_DAY,
                                  description="the statement's date (YYYY-MM-DD); today by default")]
ROUNDING = ("Computed exactly on fractions; each line's gross, net and present value is rounded once, half to even, "
            "to whole cents; totals are the sums of the lines; sroi_ratio = present value / inputs, two decimals "
            "(null without inputs).")


@router.get("/outcome-types", response_model=list[OutcomeTypePublic])
def catalogue(session: SessionDep) -> list[OutcomeTypePublic]:
    """The outcome catalogue with every version of every valuation (public: the assumptions are open)."""
    return views.describe_catalogue(session)


@router.post("/outcome-types", response_model=OutcomeTypePublic, status_code=status.HTTP_201_CREATED)
def create_type(session: SessionDep, user: Board, body: OutcomeTypeIn) -> OutcomeTypePublic:
    """A new outcome type with its first valuation (board)."""
    kind = service.create_outcome_type(session, data=body, actor_id=user.id)
    return next(found for found in views.describe_catalogue(session) if found.code == kind.code)


@router.post("/outcome-types/{code}/versions", response_model=ValuationPublic, status_code=status.HTTP_201_CREATED)
def add_version(session: SessionDep, user: Board, code: str, body: ValuationIn) -> ValuationPublic:
    """A new version of a type's valuation, in force from `valid_from` (board)."""
    return ValuationPublic.model_validate(service.add_valuation(session, code=code, data=body, actor_id=user.id),
                                          from_attributes=True)


@router.get("/settings/social-value", response_model=list[RatesPublic])
def rates(session: SessionDep) -> list[RatesPublic]:
    """Every version of the hour rate and the discount rate (public)."""
    return views.describe_rates(session)


@router.put("/settings/social-value", response_model=RatesPublic)
def set_rates(session: SessionDep, user: Board, body: RatesIn) -> RatesPublic:
    """A new version of the hour rate and discount rate, in force from `valid_from` (board)."""
    return RatesPublic.model_validate(service.set_rates(session, data=body, actor_id=user.id), from_attributes=True)


@router.post("/projects/{project_id}/outcomes", response_model=OutcomePublic, status_code=status.HTTP_201_CREATED)
def report(session: SessionDep, user: CurrentUserDep, project_id: uuid.UUID, body: OutcomeIn) -> OutcomePublic:
    """The project's initiator reports an outcome; it counts once a board member verified it."""
    made = service.report_outcome(session, project_id=project_id, data=body, user=user)
    return views.outcome_public(session, report=made)


@router.get("/projects/{project_id}/outcomes", response_model=list[OutcomePublic])
def outcomes(session: SessionDep, user: CurrentUserDep, project_id: uuid.UUID) -> list[OutcomePublic]:
    """Every outcome reported for a project, with the board's decisions (its initiator and the board)."""
    return views.outcomes_of(session, project_id=project_id, user=user)


@router.post("/outcomes/{outcome_id}/verify", response_model=OutcomePublic)
def verify(session: SessionDep, user: Board, outcome_id: uuid.UUID) -> OutcomePublic:
    """A board member who did not report it verifies an outcome."""
    decided = service.decide_outcome(session, outcome_id=outcome_id, user=user, verify=True)
    return views.outcome_public(session, report=decided)


@router.post("/outcomes/{outcome_id}/reject", response_model=OutcomePublic)
def reject(session: SessionDep, user: Board, outcome_id: uuid.UUID, body: OutcomeDecisionIn) -> OutcomePublic:
    """A board member who did not report it rejects an outcome, saying why."""
    decided = service.decide_outcome(session, outcome_id=outcome_id, user=user, verify=False, reason=body.reason)
    return views.outcome_public(session, report=decided)


@router.get("/projects/{project_id}/social-value", response_model=SocialValuePublic, description=ROUNDING)
def project_value(session: SessionDep, viewer: OptionalUserDep, project_id: uuid.UUID,
                  at: At = None) -> SocialValuePublic:
    """A project's inputs, verified outcomes valued with the assumptions in force on `at`, its SROI ratio and its
    peers (public)."""
    return views.project_social_value(session, project_id=project_id, at=at, viewer=viewer)


@router.post("/social-value/simulate", response_model=SocialValuePublic, description=ROUNDING)
def simulate(session: SessionDep, user: Board, body: SimulateIn) -> SocialValuePublic:
    """What-if: the statement with other assumptions; nothing is stored (board)."""
    return views.simulate(session, data=body, viewer=user)


@router.get("/social-value/index", response_model=IndexPublic)
def index(session: SessionDep, theme: Annotated[str, Query(max_length=40)] = "",
          start: Annotated[str, Query(alias="from", max_length=10)] = "",
          end: Annotated[str, Query(alias="to", max_length=10)] = "") -> IndexPublic:
    """The monthly social value index, per theme or overall (public, for partners to follow); an empty parameter
    means all themes, from the first month, to today."""
    return series.social_value_index(session, theme=optional_theme(theme), start=optional_day(start, "from"),
                                     end=optional_day(end, "to"))


@router.get("/social-value/avoided-public-costs", response_model=AvoidedCostsPublic)
def avoided(session: SessionDep, year: Annotated[int, Query(ge=2000, le=2100)]) -> AvoidedCostsPublic:
    """Avoided public cost per municipality for outcomes verified in a year (public)."""
    return series.avoided_public_costs(session, year=year)


@router.get("/funds/{fund_id}/social-value", response_model=FundedValuesPublic)
def fund_value(session: SessionDep, user: CurrentUserDep, fund_id: uuid.UUID, at: At = None) -> FundedValuesPublic:
    """The social value of what a fund paid for, pro rata per project (its managers, the board, a treasurer)."""
    return views.fund_social_value(session, fund_id=fund_id, at=at, reader=user)


@router.get("/me/social-value", response_model=FundedValuesPublic)
def my_value(session: SessionDep, user: CurrentUserDep, at: At = None) -> FundedValuesPublic:
    """The social value of what the signed-in pledger paid for, pro rata per project (their receipt)."""
    return views.my_social_value(session, at=at, user=user)

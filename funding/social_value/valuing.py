"""Valuing projects: the catalogue and rates in force on a date, verified outcomes valued with them (and with any
what-if), and a project's statement on a date, for one project or many in a few queries.

Which assumptions count: a project's statement for a date uses the valuation and rate versions in force on that
date and the outcomes verified by its end.
"""

from __future__ import annotations

import bisect
import uuid
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlmodel import Session

from coop.core.errors import Conflict
from funding.projects.models import Project
from funding.social_value import calculation as calc
from funding.social_value.models import OutcomeReport, OutcomeType, OutcomeValuation, SocialValueRates
from funding.social_value.queries import (
    InputTotals,
    end_of,
    inputs,
    outcome_types,
    projects_with_verified_outcomes,
    rates_versions,
    valuations,
    verified_outcomes,
)
from funding.social_value.schemas import Overrides, ValuationOverrides
from funding.social_value.service import MILLI


def two_decimals(value: Fraction | None) -> float | None:
    """A ratio as people read it: two decimals, rounded half to even from the exact fraction."""
    if value is None:
        return None
    return float(Decimal(round(value * 100)) / 100)


# -- the catalogue in force on a date ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Catalogue:
    """Every outcome type with its valuation versions and every version of the rates, to pick by date."""

    types: dict[uuid.UUID, OutcomeType]
    versions: dict[uuid.UUID, list[OutcomeValuation]]  # oldest first
    rates: list[SocialValueRates]  # oldest first

    def valuation_on(self, type_id: uuid.UUID, day: date) -> OutcomeValuation | None:
        """The version of a type's valuation in force on `day` (the latest that started by then)."""
        found = self.versions.get(type_id, [])
        at = bisect.bisect_right([version.valid_from for version in found], day)
        return found[at - 1] if at else None

    def rates_on(self, day: date) -> SocialValueRates | None:
        """The rates in force on `day`."""
        at = bisect.bisect_right([version.valid_from for version in self.rates], day)
        return self.rates[at - 1] if at else None


def load_catalogue(session: Session) -> Catalogue:
    """The whole catalogue: small enough to read at once."""
    versions: dict[uuid.UUID, list[OutcomeValuation]] = defaultdict(list)
    for version in valuations(session):
        versions[version.outcome_type_id].append(version)
    return Catalogue(types={kind.id: kind for kind in outcome_types(session)}, versions=dict(versions),
                     rates=rates_versions(session))


def quantity_of(report: OutcomeReport) -> Decimal:
    """A report's quantity as a decimal (stored in thousandths)."""
    return Decimal(report.quantity_milli) / MILLI


# -- valuing outcomes --------------------------------------------------------------------------------------------


def calc_valuation(version: OutcomeValuation, code: str) -> calc.Valuation:
    """The calculation's view of a stored version."""
    return calc.Valuation(outcome_type=code, valid_from=version.valid_from, proxy_cents=version.value_cents,
                          source=version.source, deadweight_bp=version.deadweight_bp,
                          attribution_bp=version.attribution_bp, displacement_bp=version.displacement_bp,
                          duration_years=version.duration_years, drop_off_bp=version.drop_off_bp)


def calc_rates(version: SocialValueRates) -> calc.Rates:
    """The calculation's view of a stored rates version."""
    return calc.Rates(valid_from=version.valid_from, hour_rate_cents=version.hour_rate_cents,
                      discount_rate_bp=version.discount_rate_bp)


def overridden(valuation: calc.Valuation, *changes: ValuationOverrides | None) -> calc.Valuation:
    """A valuation with what-if changes applied, later ones winning."""
    fields: dict[str, Any] = {}
    for change in changes:
        if change is not None:
            fields.update({("proxy_cents" if name == "value_cents" else name): value
                           for name, value in change.model_dump(include=set(ValuationOverrides.model_fields),
                                                                exclude_none=True).items()})
    return replace(valuation, **fields) if fields else valuation


@dataclass(frozen=True)
class Valued:
    """A verified outcome with the stored version that valued it (None for a simulated valuation)."""

    report: OutcomeReport
    kind: OutcomeType
    version: OutcomeValuation
    outcome: calc.Outcome
    simulated: bool


def value_outcomes(catalogue: Catalogue, reports: list[OutcomeReport], day: date,
                    overrides: Overrides | None = None) -> tuple[list[Valued], list[uuid.UUID]]:
    """The reports valued with the versions in force on `day` (and any what-if), and those that had none yet."""
    valued, unvalued = [], []
    for report in reports:
        kind, version = catalogue.types[report.outcome_type_id], catalogue.valuation_on(report.outcome_type_id, day)
        if version is None:
            unvalued.append(report.id)
            continue
        stored = calc_valuation(version, kind.code)
        valuation = stored if overrides is None else overridden(
            stored, overrides, overrides.outcome_types.get(kind.code))
        valued.append(Valued(report=report, kind=kind, version=version, simulated=valuation != stored,
                             outcome=calc.Outcome(quantity=Fraction(report.quantity_milli, MILLI),
                                                  valuation=valuation)))
    return valued, unvalued


def rates_on(catalogue: Catalogue, day: date) -> SocialValueRates:
    """The rates in force on `day`, or a clear refusal when the board has set none yet."""
    rates = catalogue.rates_on(day)
    if rates is None:
        raise Conflict(f"no social value rates are in force on {day.isoformat()}", field="at")
    return rates


def calc_inputs(totals: InputTotals) -> calc.Inputs:
    """The calculation's view of what went in."""
    return calc.Inputs(money_cents=totals.money_cents, minutes=totals.minutes, materials_cents=totals.materials_cents)


# -- statements --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectValue:
    """A project's statement on a date with what it rests on."""

    project: Project
    at: date
    totals: InputTotals
    rates: SocialValueRates
    valued: list[Valued]
    unvalued: list[uuid.UUID]
    result: calc.Statement


def value_projects(session: Session, *, catalogue: Catalogue, projects: list[Project], at: date,
                   overrides: Overrides | None = None) -> list[ProjectValue]:
    """Projects' inputs and verified outcomes by the end of `at`, valued with the versions in force then (and any
    what-if); a few queries for all of them together."""
    before = end_of(at)
    reports: dict[uuid.UUID, list[OutcomeReport]] = defaultdict(list)
    for found in verified_outcomes(session, before=before, project_ids=[project.id for project in projects]):
        reports[found.report.project_id].append(found.report)
    totals = inputs(session, project_ids=[project.id for project in projects], before=before)
    stored_rates = rates_on(catalogue, at)
    rates = calc_rates(stored_rates)
    if overrides is not None:
        rates = replace(rates, **overrides.model_dump(include={"hour_rate_cents", "discount_rate_bp"},
                                                      exclude_none=True))
    values = []
    for project in projects:
        valued, unvalued = value_outcomes(catalogue, reports[project.id], at, overrides)
        result = calc.statement(calc_inputs(totals[project.id]), [found.outcome for found in valued], rates)
        values.append(ProjectValue(project=project, at=at, totals=totals[project.id], rates=stored_rates,
                                   valued=valued, unvalued=unvalued, result=result))
    return values


def value_project(session: Session, *, catalogue: Catalogue, project: Project, at: date,
                  overrides: Overrides | None = None) -> ProjectValue:
    """One project's statement on `at`."""
    return value_projects(session, catalogue=catalogue, projects=[project], at=at, overrides=overrides)[0]


def valued_projects(session: Session, *, at: date, theme: str | None = None) -> list[ProjectValue]:
    """Every project (of a theme) with an outcome verified by `at`, valued on `at` (the year-end pack, the
    dashboards' ranking); none without rates."""
    catalogue = load_catalogue(session)
    if catalogue.rates_on(at) is None:
        return []
    return value_projects(session, catalogue=catalogue, at=at,
                          projects=projects_with_verified_outcomes(session, before=end_of(at), theme=theme))

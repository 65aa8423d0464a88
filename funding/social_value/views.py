"""What the API shows of social value: statements as of a date with their peers, what-ifs, the index, avoided
public cost, and the share of it that a fund's or a pledger's money paid for.

Which assumptions count: a project's statement for a date uses the valuation and rate versions in force on that
date and the outcomes verified by its end. The index and the avoided public cost are series over time, so each
outcome there is valued once, with the versions in force on the day it was verified: a new version changes what
is verified from its date on, never history.
"""

from __future__ import annotations

import bisect
import uuid
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any

from sqlmodel import Session

from coop.auth.models import Role
from coop.auth.schemas import CurrentUser
from coop.core.clock import AMSTERDAM, today_amsterdam
from coop.core.errors import Conflict, InvalidInput
from coop.core.municipalities import municipality_label
from funding.funds.service import ensure_fund_manager, get_fund
from funding.projects.models import Project
from funding.projects.service import ensure_project_access, get_project, visible_project
from funding.social_value import calculation as calc
from funding.social_value.models import OutcomeReport, OutcomeType, OutcomeValuation, SocialValueRates
from funding.social_value.queries import (
    InputTotals,
    end_of,
    fund_contributions,
    inputs,
    outcome_types,
    pledger_contributions,
    projects_with_verified_outcomes,
    rates_versions,
    reports_of,
    valuations,
    verified_outcomes,
)
from funding.social_value.schemas import (
    Assumptions,
    AvoidedCostPublic,
    AvoidedCostsPublic,
    FundedValuePublic,
    FundedValuesPublic,
    IndexPoint,
    IndexPublic,
    InputsPublic,
    LinePublic,
    OutcomePublic,
    OutcomeTypePublic,
    Overrides,
    PeersPublic,
    RatesPublic,
    SimulateIn,
    SocialValuePublic,
    ValuationOverrides,
    ValuationPublic,
)
from funding.social_value.service import MILLI

INDEX_METHOD = ("level = 100 x (social value verified up to and including the month) / (social value verified in "
                "the base month, the first month with any); each outcome valued with the versions in force on the "
                "day it was verified")


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


def describe_catalogue(session: Session) -> list[OutcomeTypePublic]:
    """Every outcome type with all its versions."""
    catalogue = load_catalogue(session)
    return [OutcomeTypePublic(code=kind.code, name=kind.name, name_en=kind.name_en, unit=kind.unit,
                              themes=kind.themes, avoided_public_cost=kind.avoided_public_cost,
                              versions=[ValuationPublic.model_validate(version, from_attributes=True)
                                        for version in catalogue.versions.get(kind.id, [])])
            for kind in catalogue.types.values()]


def describe_rates(session: Session) -> list[RatesPublic]:
    """Every version of the rates, oldest first."""
    return [RatesPublic.model_validate(version, from_attributes=True) for version in rates_versions(session)]


def quantity_of(report: OutcomeReport) -> Decimal:
    """A report's quantity as a decimal (stored in thousandths)."""
    return Decimal(report.quantity_milli) / MILLI


def _outcome(report: OutcomeReport, code: str) -> OutcomePublic:
    """The API shape of an outcome report."""
    return OutcomePublic.model_validate({**report.model_dump(), "outcome_type": code,
                                         "quantity": quantity_of(report)})


def outcome_public(session: Session, *, report: OutcomeReport) -> OutcomePublic:
    """One outcome report as the API shows it."""
    kind = session.get(OutcomeType, report.outcome_type_id)
    assert kind is not None  # a foreign key
    return _outcome(report, kind.code)


def outcomes_of(session: Session, *, project_id: uuid.UUID, user: CurrentUser) -> list[OutcomePublic]:
    """A project's outcome reports for its initiator and the board."""
    ensure_project_access(session, project=get_project(session, project_id=project_id), user=user)
    return [_outcome(report, code) for report, code in reports_of(session, project_id=project_id)]


# -- valuing outcomes --------------------------------------------------------------------------------------------


def _valuation(version: OutcomeValuation, code: str) -> calc.Valuation:
    """The calculation's view of a stored version."""
    return calc.Valuation(outcome_type=code, valid_from=version.valid_from, proxy_cents=version.value_cents,
                          source=version.source, deadweight_bp=version.deadweight_bp,
                          attribution_bp=version.attribution_bp, displacement_bp=version.displacement_bp,
                          duration_years=version.duration_years, drop_off_bp=version.drop_off_bp)


def _rates(version: SocialValueRates) -> calc.Rates:
    """The calculation's view of a stored rates version."""
    return calc.Rates(valid_from=version.valid_from, hour_rate_cents=version.hour_rate_cents,
                      discount_rate_bp=version.discount_rate_bp)


def _overridden(valuation: calc.Valuation, *changes: ValuationOverrides | None) -> calc.Valuation:
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


def _value_outcomes(catalogue: Catalogue, reports: list[OutcomeReport], day: date,
                    overrides: Overrides | None = None) -> tuple[list[Valued], list[uuid.UUID]]:
    """The reports valued with the versions in force on `day` (and any what-if), and those that had none yet."""
    valued, unvalued = [], []
    for report in reports:
        kind, version = catalogue.types[report.outcome_type_id], catalogue.valuation_on(report.outcome_type_id, day)
        if version is None:
            unvalued.append(report.id)
            continue
        stored = _valuation(version, kind.code)
        valuation = stored if overrides is None else _overridden(
            stored, overrides, overrides.outcome_types.get(kind.code))
        valued.append(Valued(report=report, kind=kind, version=version, simulated=valuation != stored,
                             outcome=calc.Outcome(quantity=Fraction(report.quantity_milli, MILLI),
                                                  valuation=valuation)))
    return valued, unvalued


def _rates_on(catalogue: Catalogue, day: date) -> SocialValueRates:
    """The rates in force on `day`, or a clear refusal when the board has set none yet."""
    rates = catalogue.rates_on(day)
    if rates is None:
        raise Conflict(f"no social value rates are in force on {day.isoformat()}", field="at")
    return rates


def _calc_inputs(totals: InputTotals) -> calc.Inputs:
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
    stored_rates = _rates_on(catalogue, at)
    rates = _rates(stored_rates)
    if overrides is not None:
        rates = replace(rates, **overrides.model_dump(include={"hour_rate_cents", "discount_rate_bp"},
                                                      exclude_none=True))
    values = []
    for project in projects:
        valued, unvalued = _value_outcomes(catalogue, reports[project.id], at, overrides)
        result = calc.statement(_calc_inputs(totals[project.id]), [found.outcome for found in valued], rates)
        values.append(ProjectValue(project=project, at=at, totals=totals[project.id], rates=stored_rates,
                                   valued=valued, unvalued=unvalued, result=result))
    return values


def value_project(session: Session, *, catalogue: Catalogue, project: Project, at: date,
                  overrides: Overrides | None = None) -> ProjectValue:
    """One project's statement on `at`."""
    return value_projects(session, catalogue=catalogue, projects=[project], at=at, overrides=overrides)[0]


def year_end_values(session: Session, *, at: date) -> list[ProjectValue]:
    """Every project with an outcome verified by `at`, valued on `at` (the year-end pack); none without rates."""
    catalogue = load_catalogue(session)
    if catalogue.rates_on(at) is None:
        return []
    return value_projects(session, catalogue=catalogue, at=at,
                          projects=projects_with_verified_outcomes(session, before=end_of(at)))


def _line(found: Valued, line: calc.Line) -> LinePublic:
    """One line with every assumption it used."""
    valuation, rates = line.outcome.valuation, line.rates
    return LinePublic(
        outcome_id=found.report.id, outcome_type=found.kind.code, name=found.kind.name, unit=found.kind.unit,
        quantity=quantity_of(found.report), avoided_public_cost=found.kind.avoided_public_cost,
        value_cents=line.value_cents, net_cents=line.net_cents, present_value_cents=line.present_value_cents,
        years_cents=list(line.years_cents),
        assumptions=Assumptions(
            valuation_id=None if found.simulated else found.version.id, valid_from=valuation.valid_from,
            value_cents=valuation.proxy_cents, source=valuation.source, example=found.version.example,
            deadweight_bp=valuation.deadweight_bp, attribution_bp=valuation.attribution_bp,
            displacement_bp=valuation.displacement_bp, duration_years=valuation.duration_years,
            drop_off_bp=valuation.drop_off_bp, discount_rate_bp=rates.discount_rate_bp,
            rates_valid_from=rates.valid_from))


def _public(value: ProjectValue, peers: PeersPublic, *, simulated: bool) -> SocialValuePublic:
    """The API shape of a statement."""
    result, totals = value.result, value.totals
    return SocialValuePublic(
        project_id=value.project.id, at=value.at, theme=value.project.theme,
        municipality_code=value.project.municipality_code,
        inputs=InputsPublic(money_cents=totals.money_cents, paid_pledges_cents=totals.paid_pledges_cents,
                            matched_cents=totals.matched_cents, granted_cents=totals.granted_cents,
                            hours=Decimal(totals.minutes) / 60, hour_rate_cents=result.rates.hour_rate_cents,
                            hours_cents=result.hours_cents, materials_cents=totals.materials_cents),
        inputs_cents=result.inputs_cents, present_value_cents=result.present_value_cents,
        sroi_ratio=two_decimals(result.ratio), discount_rate_bp=result.rates.discount_rate_bp,
        rates_valid_from=result.rates.valid_from,
        lines=[_line(found, line) for found, line in zip(value.valued, result.lines, strict=True)],
        unvalued_outcome_ids=value.unvalued, peers=peers, simulated=simulated)


def project_social_value(session: Session, *, project_id: uuid.UUID, at: date | None,
                         viewer: CurrentUser | None) -> SocialValuePublic:
    """A published project's social value on `at` (today by default) and where it stands among its peers."""
    project = visible_project(session, project_id=project_id, viewer=viewer)
    catalogue, day = load_catalogue(session), at or today_amsterdam()
    value = value_project(session, catalogue=catalogue, project=project, at=day)
    return _public(value, peers(session, catalogue=catalogue, project=project, at=day, ratio=value.result.ratio),
                   simulated=False)


def simulate(session: Session, *, data: SimulateIn, viewer: CurrentUser) -> SocialValuePublic:
    """The statement with other assumptions, compared with the real peers; nothing is written."""
    for code in data.overrides.outcome_types:
        if not any(kind.code == code for kind in outcome_types(session)):
            raise InvalidInput(f"no outcome type {code!r}", field=f"overrides.outcome_types.{code}")
    project = visible_project(session, project_id=data.project_id, viewer=viewer)
    catalogue, day = load_catalogue(session), data.at or today_amsterdam()
    value = value_project(session, catalogue=catalogue, project=project, at=day, overrides=data.overrides)
    return _public(value, peers(session, catalogue=catalogue, project=project, at=day, ratio=value.result.ratio),
                   simulated=True)


# -- peers -------------------------------------------------------------------------------------------------------


def quantile(ordered: list[Fraction], q: Fraction) -> Fraction:
    """The q-th quantile by linear interpolation between closest ranks (as numpy's and Excel's PERCENTILE)."""
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def percentile_rank(ordered: list[Fraction], value: Fraction) -> Fraction:
    """The share of values below `value`, ties counting half, in percent."""
    below = bisect.bisect_left(ordered, value)
    equal = bisect.bisect_right(ordered, value) - below
    return Fraction(100 * (2 * below + equal), 2 * len(ordered))


def peer_ratios(session: Session, *, catalogue: Catalogue, projects: list[Project], at: date) -> list[Fraction]:
    """The SROI ratios of these projects on `at` (those with inputs), sorted."""
    values = value_projects(session, catalogue=catalogue, projects=projects, at=at) if projects else []
    return sorted(value.result.ratio for value in values if value.result.ratio is not None)


def peers(session: Session, *, catalogue: Catalogue, project: Project, at: date,
          ratio: Fraction | None) -> PeersPublic:
    """Verified projects of the same theme in other municipalities: quartiles and this project's percentile."""
    pool = [other for other in projects_with_verified_outcomes(session, theme=project.theme, before=end_of(at))
            if other.municipality_code != project.municipality_code]
    ordered = peer_ratios(session, catalogue=catalogue, projects=pool, at=at)
    if not ordered:
        return PeersPublic(theme=project.theme, count=0, median_ratio=None, p25_ratio=None, p75_ratio=None,
                           percentile=None)
    return PeersPublic(theme=project.theme, count=len(ordered),
                       median_ratio=two_decimals(quantile(ordered, Fraction(1, 2))),
                       p25_ratio=two_decimals(quantile(ordered, Fraction(1, 4))),
                       p75_ratio=two_decimals(quantile(ordered, Fraction(3, 4))),
                       percentile=None if ratio is None else float(
                           Decimal(str(float(percentile_rank(ordered, ratio)))).quantize(Decimal("0.1"),
                                                                                        ROUND_HALF_EVEN)))


# -- series over time: the index and avoided public cost ----------------------------------------------------------


def _verified_values(session: Session, catalogue: Catalogue, *, before: date, since: date | None = None,
                     theme: str | None = None) -> list[tuple[date, OutcomeReport, str, int]]:
    """(verification day, report, municipality, present value) of outcomes verified in [since, before], each
    valued with the versions in force on the day it was verified."""
    found = []
    start = None if since is None else end_of(since - timedelta(days=1))
    for row in verified_outcomes(session, before=end_of(before), since=start, theme=theme):
        assert row.report.decided_at is not None  # verified outcomes are decided
        day = row.report.decided_at.astimezone(AMSTERDAM).date()
        rates = catalogue.rates_on(day)
        valued, _ = _value_outcomes(catalogue, [row.report], day)
        if rates is None or not valued:
            continue
        found.append((day, row.report, row.municipality_code,
                      calc.value_line(valued[0].outcome, _rates(rates)).present_value_cents))
    return found


def _month(day: date) -> str:
    """YYYY-MM."""
    return f"{day.year:04d}-{day.month:02d}"


def _months(first: str, last: str) -> list[str]:
    """Every month from `first` to `last`, both included."""
    year, month = int(first[:4]), int(first[5:])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def social_value_index(session: Session, *, theme: str | None, start: date | None,
                       end: date | None) -> IndexPublic:
    """The monthly index of one theme (or all): value verified per month, level 100 in the first month with any."""
    last_day = end or today_amsterdam()
    if start is not None and start > last_day:
        raise InvalidInput("the period ends before it starts", field="to")
    per_month: dict[str, int] = defaultdict(int)
    for day, _report, _code, cents in _verified_values(session, load_catalogue(session), before=last_day,
                                                       theme=theme):
        per_month[_month(day)] += cents
    months_with_value = sorted(month for month, cents in per_month.items() if cents > 0)
    if not months_with_value:
        return IndexPublic(theme=theme, base_month=None, method=INDEX_METHOD, points=[])
    base = months_with_value[0]
    points, cumulative = [], 0
    for month in _months(base, _month(last_day)):
        cumulative += per_month.get(month, 0)
        if start is None or month >= _month(start):
            points.append(IndexPoint(month=month, social_value_cents=per_month.get(month, 0),
                                     level=two_decimals(Fraction(100 * cumulative, per_month[base])) or 0.0))
    return IndexPublic(theme=theme, base_month=base, method=INDEX_METHOD, points=points)


def avoided_public_costs(session: Session, *, year: int) -> AvoidedCostsPublic:
    """Avoided public cost per municipality for the outcomes verified in `year` ("what the Netherlands saves")."""
    catalogue = load_catalogue(session)
    cents: dict[str, int] = defaultdict(int)
    counts: dict[str, int] = defaultdict(int)
    for _day, report, code, value in _verified_values(session, catalogue, since=date(year, 1, 1),
                                                      before=date(year, 12, 31)):
        if catalogue.types[report.outcome_type_id].avoided_public_cost:
            cents[code] += value
            counts[code] += 1
    rows = [AvoidedCostPublic(municipality_code=code, municipality=municipality_label(code),
                              present_value_cents=cents[code], outcomes=counts[code])
            for code in sorted(cents, key=lambda code: (-cents[code], code))]
    return AvoidedCostsPublic(year=year, total_cents=sum(cents.values()), municipalities=rows)


# -- following the money ------------------------------------------------------------------------------------------


def _funded(session: Session, contributions: dict[uuid.UUID, int], at: date) -> FundedValuesPublic:
    """Each funded project's present value times the contributor's share of the project's money inputs."""
    catalogue = load_catalogue(session)
    projects = []
    for project_id, cents in sorted(contributions.items(), key=lambda item: str(item[0])):
        project = get_project(session, project_id=project_id)
        value = value_project(session, catalogue=catalogue, project=project, at=at)
        money = value.totals.money_cents
        share = min(Fraction(cents, money), Fraction(1)) if money else Fraction(0)
        projects.append(FundedValuePublic(
            project_id=project.id, title=project.title, contributed_cents=cents, project_money_cents=money,
            share=float(share), present_value_cents=round(value.result.present_value_cents * share),
            sroi_ratio=two_decimals(value.result.ratio), rates_valid_from=value.rates.valid_from,
            outcome_types=sorted({found.kind.code for found in value.valued})))
    return FundedValuesPublic(at=at, contributed_cents=sum(item.contributed_cents for item in projects),
                              present_value_cents=sum(item.present_value_cents for item in projects),
                              projects=projects)


def fund_social_value(session: Session, *, fund_id: uuid.UUID, at: date | None,
                      reader: CurrentUser) -> FundedValuesPublic:
    """The social value of what a fund paid for (its managers, the board, a treasurer)."""
    fund = get_fund(session, fund_id=fund_id)
    if not reader.has_any(Role.TREASURER):
        ensure_fund_manager(session, fund=fund, user=reader)
    day = at or today_amsterdam()
    return _funded(session, fund_contributions(session, fund_id=fund.id, before=end_of(day)), day)


def my_social_value(session: Session, *, at: date | None, user: CurrentUser) -> FundedValuesPublic:
    """The social value of what a signed-in pledger paid for, for their receipt."""
    day = at or today_amsterdam()
    return _funded(session, pledger_contributions(session, email=user.email, before=end_of(day)), day)

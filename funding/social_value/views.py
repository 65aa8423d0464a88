"""What the API shows of social value: the catalogue, outcome reports, statements with their peers, what-ifs,
the board's ranking, and the share of a project's value that a fund's or a pledger's money paid for.
"""

from __future__ import annotations

import bisect
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from sqlmodel import Session

from coop.auth.models import Role
from coop.auth.schemas import CurrentUser
from coop.core.clock import today_amsterdam
from coop.core.errors import InvalidInput
from funding.funds.service import ensure_fund_manager, get_fund
from funding.projects.models import Project
from funding.projects.service import ensure_project_access, get_project, visible_project
from funding.social_value import calculation as calc
from funding.social_value.models import OutcomeReport, OutcomeType
from funding.social_value.queries import (
    end_of,
    fund_contributions,
    outcome_types,
    pledger_contributions,
    projects_with_verified_outcomes,
    rates_versions,
    reports_of,
)
from funding.social_value.schemas import (
    Assumptions,
    FundedValuePublic,
    FundedValuesPublic,
    InputsPublic,
    LinePublic,
    OutcomePublic,
    OutcomeTypePublic,
    PeersPublic,
    RatesPublic,
    SimulateIn,
    SocialValuePublic,
    ValuationPublic,
)
from funding.social_value.valuing import (
    Catalogue,
    ProjectValue,
    Valued,
    load_catalogue,
    quantity_of,
    two_decimals,
    value_project,
    value_projects,
)


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
                            hours=round(Decimal(totals.minutes) / 60, 2), hour_rate_cents=result.rates.hour_rate_cents,
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


def simulate(session: Session, *, data: SimulateIn, viewer: CurrentUser | None) -> SocialValuePublic:
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


def peers_among(theme: str, ordered: list[Fraction], ratio: Fraction | None) -> PeersPublic:
    """Quartiles of the peers' sorted ratios and the percentile of `ratio` among them."""
    if not ordered:
        return PeersPublic(theme=theme, count=0, median_ratio=None, p25_ratio=None, p75_ratio=None, percentile=None)
    return PeersPublic(theme=theme, count=len(ordered),
                       median_ratio=two_decimals(quantile(ordered, Fraction(1, 2))),
                       p25_ratio=two_decimals(quantile(ordered, Fraction(1, 4))),
                       p75_ratio=two_decimals(quantile(ordered, Fraction(3, 4))),
                       percentile=None if ratio is None else float(
                           Decimal(round(percentile_rank(ordered, ratio) * 10)) / 10))


def peers(session: Session, *, catalogue: Catalogue, project: Project, at: date,
          ratio: Fraction | None) -> PeersPublic:
    """Verified projects of the same theme in other municipalities: quartiles and this project's percentile."""
    pool = [other for other in projects_with_verified_outcomes(session, theme=project.theme, before=end_of(at))
            if other.municipality_code != project.municipality_code]
    return peers_among(project.theme, peer_ratios(session, catalogue=catalogue, projects=pool, at=at), ratio)


@dataclass(frozen=True)
class Ranked:
    """A project's statement with its peers, for the board's ranking."""

    value: ProjectValue
    peers: PeersPublic


def ranking(values: list[ProjectValue]) -> list[Ranked]:
    """Projects by SROI ratio (highest first, those without inputs last), each compared with the others of its
    theme in other municipalities, as the API's peers."""
    ranked = []
    for value in values:
        project = value.project
        ordered = sorted(other.result.ratio for other in values if other.result.ratio is not None
                         and other.project.theme == project.theme
                         and other.project.municipality_code != project.municipality_code)
        ranked.append(Ranked(value=value, peers=peers_among(project.theme, ordered, value.result.ratio)))
    return sorted(ranked, key=lambda item: (item.value.result.ratio is None, -(item.value.result.ratio or 0),
                                            item.value.project.title))


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
            outcome_types=sorted({found.kind.code for found in value.valued}),
            assumptions=[_line(found, line).assumptions for found, line in zip(value.valued, value.result.lines,
                                                                                strict=True)]))
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

"""Social value over time: the monthly index per theme and the avoided public cost per municipality.

These are series, so each outcome is valued once, with the versions in force on the day it was verified: a new
version changes what is verified from its date on, never history.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from sqlmodel import Session

from coop.core.clock import AMSTERDAM, today_amsterdam
from coop.core.errors import InvalidInput
from coop.core.municipalities import municipality_label
from funding.social_value import calculation as calc
from funding.social_value.models import OutcomeReport
from funding.social_value.queries import end_of, verified_outcomes
from funding.social_value.schemas import AvoidedCostPublic, AvoidedCostsPublic, IndexPoint, IndexPublic
from funding.social_value.valuing import Catalogue, calc_rates, load_catalogue, two_decimals, value_outcomes

INDEX_METHOD = ("level = 100 x (social value verified up to and including the month) / (social value verified in "
                "the base month, the first month with any); each outcome valued with the versions in force on the "
                "day it was verified")


@dataclass(frozen=True)
class VerifiedValue:
    """An outcome's present value on the day it was verified, with where its project is."""

    day: date
    report: OutcomeReport
    theme: str
    municipality_code: str
    present_value_cents: int


def _verified_values(session: Session, catalogue: Catalogue, *, before: date,
                     since: date | None = None) -> list[VerifiedValue]:
    """Outcomes verified in [since, before], each valued with the versions in force on the day it was verified
    (those without a valuation or rates that day are left out)."""
    found = []
    start = None if since is None else end_of(since - timedelta(days=1))
    for row in verified_outcomes(session, before=end_of(before), since=start):
        assert row.report.decided_at is not None  # verified outcomes are decided
        day = row.report.decided_at.astimezone(AMSTERDAM).date()
        rates = catalogue.rates_on(day)
        valued, _ = value_outcomes(catalogue, [row.report], day)
        if rates is not None and valued:
            found.append(VerifiedValue(day=day, report=row.report, theme=row.theme,
                                       municipality_code=row.municipality_code,
                                       present_value_cents=calc.value_line(valued[0].outcome,
                                                                           calc_rates(rates)).present_value_cents))
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


def _index(theme: str | None, per_month: dict[str, int], start: date | None, last_day: date) -> IndexPublic:
    """Levels from the value verified per month: 100 in the first month with any, then cumulative."""
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


def social_value_indexes(session: Session, *, start: date | None, end: date | None) -> dict[str | None, IndexPublic]:
    """The index of every theme with verified value and the overall one (key None), from one read."""
    last_day = end or today_amsterdam()
    if start is not None and start > last_day:
        raise InvalidInput("the period ends before it starts", field="to")
    per_theme: dict[str | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for found in _verified_values(session, load_catalogue(session), before=last_day):
        for theme in (None, found.theme):
            per_theme[theme][_month(found.day)] += found.present_value_cents
    return {theme: _index(theme, per_month, start, last_day) for theme, per_month in per_theme.items()}


def social_value_index(session: Session, *, theme: str | None, start: date | None,
                       end: date | None) -> IndexPublic:
    """The monthly index of one theme (or all): value verified per month, level 100 in the first month with any."""
    found = social_value_indexes(session, start=start, end=end).get(theme)
    return found or IndexPublic(theme=theme, base_month=None, method=INDEX_METHOD, points=[])


def avoided_public_costs(session: Session, *, year: int) -> AvoidedCostsPublic:
    """Avoided public cost per municipality for the outcomes verified in `year` ("what the Netherlands saves")."""
    catalogue = load_catalogue(session)
    cents: dict[str, int] = defaultdict(int)
    counts: dict[str, int] = defaultdict(int)
    for found in _verified_values(session, catalogue, since=date(year, 1, 1), before=date(year, 12, 31)):
        if catalogue.types[found.report.outcome_type_id].avoided_public_cost:
            cents[found.municipality_code] += found.present_value_cents
            counts[found.municipality_code] += 1
    rows = [AvoidedCostPublic(municipality_code=code, municipality=municipality_label(code),
                              present_value_cents=cents[code], outcomes=counts[code])
            for code in sorted(cents, key=lambda code: (-cents[code], code))]
    return AvoidedCostsPublic(year=year, total_cents=sum(cents.values()), municipalities=rows)

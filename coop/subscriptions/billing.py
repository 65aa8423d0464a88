"""The arithmetic of a subscription charge: periods, the VAT split and the revenue split over calendar years.

Pure functions on integer cents and dates, so hypothesis can check that every
split adds up to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from coop.core.money import BASIS_POINTS, allocate, apply_basis_points, divide_half_up


def add_years(day: date, years: int) -> date:
    """The same calendar day `years` later; 29 February becomes 28 February in a year without it."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class VatSplit:
    """Net + VAT = gross, in cents (negative for a credit note)."""

    net_cents: int
    vat_cents: int
    gross_cents: int


def split_vat(price_cents: int, *, vat_rate_bp: int, prices_include_vat: bool) -> VatSplit:
    """A price with VAT included (net = gross / (1 + rate), half up) or added on top (VAT = net x rate, half up)."""
    if prices_include_vat:
        net = divide_half_up(price_cents * BASIS_POINTS, BASIS_POINTS + vat_rate_bp)
        return VatSplit(net_cents=net, vat_cents=price_cents - net, gross_cents=price_cents)
    vat = apply_basis_points(price_cents, vat_rate_bp)
    return VatSplit(net_cents=price_cents, vat_cents=vat, gross_cents=price_cents + vat)


def split_gross(gross_cents: int, *, vat_rate_bp: int) -> VatSplit:
    """An amount actually paid or refunded (gross) split at a rate: what a credit note or a renewal invoice shows."""
    return split_vat(gross_cents, vat_rate_bp=vat_rate_bp, prices_include_vat=True)


@dataclass(frozen=True)
class RevenueSplit:
    """Net revenue of a document: revenue in the booking year, and per later year what is deferred until then."""

    now_cents: int
    deferred: tuple[tuple[date, int], ...]  # (1 January of the year it becomes revenue, cents)


def split_revenue(net_cents: int, *, period_start: date, period_end: date, booked_on: date) -> RevenueSplit:
    """Split net revenue over calendar years pro rata by the days of [period_start, period_end).

    Days in the booking year or before are revenue now (a closed year is never
    booked into); the days of each later year are deferred to its 1 January.
    The parts add up to `net_cents` exactly.
    """
    if period_end <= period_start:
        raise ValueError("a period ends after it starts")
    years = range(period_start.year, (period_end - timedelta(days=1)).year + 1)
    days = [(min(period_end, date(year + 1, 1, 1)) - max(period_start, date(year, 1, 1))).days for year in years]
    now_days = sum(d for year, d in zip(years, days, strict=True) if year <= booked_on.year)
    later = [(date(year, 1, 1), d) for year, d in zip(years, days, strict=True) if year > booked_on.year]
    parts = allocate(net_cents, [now_days] + [d for _, d in later])
    return RevenueSplit(now_cents=parts[0], deferred=tuple(
        (release_on, cents) for (release_on, _), cents in zip(later, parts[1:], strict=True) if cents != 0))

"""Social return on investment (SROI), computed exactly: pure functions, no database.

The method follows the Social Value International guide. Per outcome:

    gross value   = quantity x financial proxy
    net value     = gross x (1 - deadweight) x (1 - attribution) x (1 - displacement)
    year t        = net x (1 - drop-off) ** (t - 1) / (1 + discount rate) ** t,   t = 1 .. duration
    present value = the sum of the years

Inputs are the money that reached the project (paid pledges, matches, grants), the volunteer hours
delivered at the hour rate, and the estimated value of the materials delivered (shown on its own line).
The SROI ratio is total present value / inputs.

Every step is a `Fraction`, so nothing is lost on the way; each line's gross, net and present value is
rounded once to whole cents, half to even (`round` on a Fraction), and the total is the sum of the rounded
lines, so the statement adds up as printed. Every line keeps the assumptions (and their version) it used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction

BASIS_POINTS = 10_000
MINUTES_PER_HOUR = 60


@dataclass(frozen=True)
class Valuation:
    """One version of an outcome type's valuation: what a unit is worth and how much of it is the project's."""

    outcome_type: str
    valid_from: date
    proxy_cents: int  # what one unit is worth
    source: str  # where the proxy comes from ("aanname" when it is an assumption)
    deadweight_bp: int = 0  # what would have happened anyway
    attribution_bp: int = 0  # what others contributed
    displacement_bp: int = 0  # what moved elsewhere instead of being added
    duration_years: int = 1  # how long the outcome lasts (1 to 10)
    drop_off_bp: int = 0  # how much less it is worth in each later year

    def __post_init__(self) -> None:
        for name in ("deadweight_bp", "attribution_bp", "displacement_bp", "drop_off_bp"):
            value = getattr(self, name)
            if not 0 <= value <= BASIS_POINTS:
                raise ValueError(f"{name} must be between 0 and {BASIS_POINTS} basis points, not {value}")
        if not 1 <= self.duration_years <= 10:
            raise ValueError(f"duration_years must be 1 to 10, not {self.duration_years}")
        if self.proxy_cents < 0:
            raise ValueError("a financial proxy is not negative")


@dataclass(frozen=True)
class Rates:
    """The hour rate for volunteer time and the discount rate, in force from a date."""

    valid_from: date
    hour_rate_cents: int
    discount_rate_bp: int

    def __post_init__(self) -> None:
        if self.hour_rate_cents < 0 or not 0 <= self.discount_rate_bp <= BASIS_POINTS:
            raise ValueError("the hour rate is not negative and the discount rate is 0 to 10000 basis points")


@dataclass(frozen=True)
class Outcome:
    """A verified outcome: so many units of a type, valued with one version of its valuation."""

    quantity: Fraction
    valuation: Valuation

    def __post_init__(self) -> None:
        if self.quantity < 0:
            raise ValueError("a quantity is not negative")


@dataclass(frozen=True)
class Inputs:
    """What went into the project: money in cents, delivered volunteer time in minutes, materials in cents."""

    money_cents: int
    minutes: int
    materials_cents: int = 0


@dataclass(frozen=True)
class Line:
    """One outcome's value, step by step, with the assumptions it used (enough to redo the sum by hand)."""

    outcome: Outcome
    value_cents: int  # gross: quantity x proxy
    net_cents: int  # after deadweight, attribution and displacement
    present_value_cents: int  # over the duration, with drop-off, discounted
    years_cents: tuple[int, ...]  # each year's discounted value (rounded for reading; the PV is exact)
    rates: Rates


@dataclass(frozen=True)
class Statement:
    """Inputs, lines, total present value and the SROI ratio (None without inputs)."""

    inputs: Inputs
    rates: Rates
    lines: tuple[Line, ...] = field(default_factory=tuple)

    @property
    def hours_cents(self) -> int:
        """Delivered volunteer time at the hour rate, rounded half to even once."""
        return round(Fraction(self.inputs.minutes, MINUTES_PER_HOUR) * self.rates.hour_rate_cents)

    @property
    def inputs_cents(self) -> int:
        """Money, volunteer time and materials together."""
        return self.inputs.money_cents + self.hours_cents + self.inputs.materials_cents

    @property
    def present_value_cents(self) -> int:
        """The sum of the lines' present values (as the lines are printed)."""
        return sum(line.present_value_cents for line in self.lines)

    @property
    def ratio(self) -> Fraction | None:
        """Present value per euro of inputs, exactly; None when nothing went in."""
        return Fraction(self.present_value_cents, self.inputs_cents) if self.inputs_cents else None

    @property
    def ratio_rounded(self) -> Decimal | None:
        """The ratio as people read it: two decimals, half to even."""
        if self.ratio is None:
            return None
        return Decimal(round(self.ratio * 100)) / 100


def _share(basis_points: int) -> Fraction:
    """A rate in basis points as an exact fraction."""
    return Fraction(basis_points, BASIS_POINTS)


def net_fraction(valuation: Valuation) -> Fraction:
    """What is left of the gross value once deadweight, attribution and displacement are taken off."""
    return ((1 - _share(valuation.deadweight_bp)) * (1 - _share(valuation.attribution_bp))
            * (1 - _share(valuation.displacement_bp)))


def yearly_values(net: Fraction, valuation: Valuation, rates: Rates) -> list[Fraction]:
    """Each year's value: the net value, less drop-off after the first year, discounted to today."""
    keep, discount = 1 - _share(valuation.drop_off_bp), 1 + _share(rates.discount_rate_bp)
    return [net * keep ** (year - 1) / discount ** year for year in range(1, valuation.duration_years + 1)]


def value_line(outcome: Outcome, rates: Rates) -> Line:
    """One outcome valued: every figure exact until it is rounded, once, to whole cents."""
    valuation = outcome.valuation
    gross = outcome.quantity * valuation.proxy_cents
    net = gross * net_fraction(valuation)
    years = yearly_values(net, valuation, rates)
    return Line(outcome=outcome, value_cents=round(gross), net_cents=round(net), present_value_cents=round(sum(years)),
                years_cents=tuple(round(year) for year in years), rates=rates)


def statement(inputs: Inputs, outcomes: list[Outcome], rates: Rates) -> Statement:
    """A project's social value: its inputs and a line per verified outcome."""
    return Statement(inputs=inputs, rates=rates, lines=tuple(value_line(outcome, rates) for outcome in outcomes))

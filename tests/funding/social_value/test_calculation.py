"""The SROI arithmetic against sums done by hand, and the properties any valuation must keep."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from funding.social_value.calculation import Inputs, Outcome, Rates, Valuation, statement, value_line

DAY = date(2026, 1, 1)
NO_DISCOUNT = Rates(valid_from=DAY, hour_rate_cents=1_500, discount_rate_bp=0)


def valuation(**changes: object) -> Valuation:
    """EUR 500 a unit for one year, nothing taken off, unless changed."""
    fields: dict[str, object] = {"outcome_type": "eenzaamheid_minder", "valid_from": DAY, "proxy_cents": 50_000,
                                 "source": "aanname", **changes}
    return Valuation(**fields)  # type: ignore[arg-type]


def test_the_acceptance_example_by_hand() -> None:
    # EUR 2,000 in; 10 units x EUR 500 = EUR 5,000; less 20% deadweight and 10% attribution: 5,000 x 0.8 x 0.9.
    result = statement(Inputs(money_cents=200_000, minutes=0),
                       [Outcome(Fraction(10), valuation(deadweight_bp=2_000, attribution_bp=1_000))], NO_DISCOUNT)

    [line] = result.lines
    assert (line.value_cents, line.net_cents, line.present_value_cents) == (500_000, 360_000, 360_000)
    assert result.present_value_cents == 360_000 and result.ratio == Fraction(9, 5)
    assert result.ratio_rounded == Decimal("1.80")


def test_three_years_with_drop_off_and_discounting_by_hand() -> None:
    # Net EUR 1,000: year 1 = 100,000 / 1.035 = 96,618.36; year 2 = 90,000 / 1.035^2 = 84,015.96;
    # year 3 = 81,000 / 1.035^3 = 73,057.36; together 253,691.68 cents -> 253,692.
    rates = Rates(valid_from=DAY, hour_rate_cents=1_500, discount_rate_bp=350)
    line = value_line(Outcome(Fraction(2), valuation(duration_years=3, drop_off_bp=1_000)), rates)

    assert line.net_cents == 100_000
    assert line.years_cents == (96_618, 84_016, 73_057)
    assert line.present_value_cents == 253_692  # from the exact years, not from the rounded ones (253,691)


def test_the_three_year_acceptance_case_matches_the_formula_to_the_cent() -> None:
    rates = Rates(valid_from=DAY, hour_rate_cents=1_500, discount_rate_bp=350)
    line = value_line(Outcome(Fraction(10), valuation(deadweight_bp=2_000, attribution_bp=1_000, duration_years=3,
                                                       drop_off_bp=1_000)), rates)

    assert line.present_value_cents == 913_290  # 360,000 x (1/1.035 + 0.9/1.035^2 + 0.81/1.035^3) = 913,290.05


@pytest.mark.parametrize(("quantity", "proxy", "deadweight", "gross", "net"), [
    (Fraction(3, 2), 1, 0, 2, 2),  # 1.5 cents -> 2 (half to even)
    (Fraction(5, 2), 1, 0, 2, 2),  # 2.5 cents -> 2 (half to even)
    (Fraction(1), 5, 5_000, 5, 2),  # net 2.5 cents -> 2
    (Fraction(1), 7, 5_000, 7, 4),  # net 3.5 cents -> 4
])
def test_half_cents_are_rounded_to_even_once_per_line(quantity: Fraction, proxy: int, deadweight: int, gross: int,
                                                      net: int) -> None:
    line = value_line(Outcome(quantity, valuation(proxy_cents=proxy, deadweight_bp=deadweight)), NO_DISCOUNT)

    assert (line.value_cents, line.net_cents) == (gross, net)


def test_inputs_are_money_volunteer_time_and_materials() -> None:
    result = statement(Inputs(money_cents=100_000, minutes=90, materials_cents=12_500), [], NO_DISCOUNT)

    assert result.hours_cents == 2_250  # 1.5 hours at EUR 15
    assert result.inputs_cents == 114_750
    assert result.present_value_cents == 0 and result.ratio == 0


def test_nothing_in_means_no_ratio() -> None:
    result = statement(Inputs(money_cents=0, minutes=0), [Outcome(Fraction(1), valuation())], NO_DISCOUNT)

    assert result.present_value_cents == 50_000 and result.ratio is None and result.ratio_rounded is None


def test_every_line_carries_the_version_it_used() -> None:
    used = valuation(valid_from=date(2025, 6, 1), source="CBS, aanname 2025")
    line = value_line(Outcome(Fraction(1), used), NO_DISCOUNT)

    assert line.outcome.valuation == used and line.rates == NO_DISCOUNT


@pytest.mark.parametrize("changes", [{"deadweight_bp": 10_001}, {"attribution_bp": -1}, {"drop_off_bp": 20_000},
                                     {"duration_years": 0}, {"duration_years": 11}, {"proxy_cents": -1}])
def test_impossible_valuations_are_refused(changes: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        valuation(**changes)


def test_a_negative_quantity_or_discount_is_refused() -> None:
    with pytest.raises(ValueError, match="quantity"):
        Outcome(Fraction(-1), valuation())
    with pytest.raises(ValueError, match="discount"):
        Rates(valid_from=DAY, hour_rate_cents=1_500, discount_rate_bp=-1)


rates_st = st.builds(Rates, valid_from=st.just(DAY), hour_rate_cents=st.integers(0, 10_000),
                     discount_rate_bp=st.integers(0, 2_000))
valuations = st.builds(Valuation, outcome_type=st.just("x"), valid_from=st.just(DAY),
                       proxy_cents=st.integers(0, 10_000_000), source=st.just("aanname"),
                       deadweight_bp=st.integers(0, 10_000), attribution_bp=st.integers(0, 10_000),
                       displacement_bp=st.integers(0, 10_000), duration_years=st.integers(1, 10),
                       drop_off_bp=st.integers(0, 10_000))
quantities = st.fractions(min_value=0, max_value=10_000, max_denominator=100)


@given(quantities, valuations, rates_st)
def test_a_line_is_never_worth_more_than_its_gross_value_every_year(quantity: Fraction, value: Valuation,
                                                                     rates: Rates) -> None:
    line = value_line(Outcome(quantity, value), rates)

    assert 0 <= line.net_cents <= line.value_cents
    # The years come from the exact net value (each line is rounded once), so allow half a cent per rounding.
    assert 0 <= line.present_value_cents <= (line.net_cents + Fraction(1, 2)) * value.duration_years + Fraction(1, 2)


@given(quantities, valuations)
def test_without_discount_or_drop_off_the_present_value_is_the_net_value_times_the_years(quantity: Fraction,
                                                                                         value: Valuation) -> None:
    flat = Valuation(**{**value.__dict__, "drop_off_bp": 0})
    line = value_line(Outcome(quantity, flat), NO_DISCOUNT)

    exact_net = quantity * flat.proxy_cents * (1 - Fraction(flat.deadweight_bp, 10_000)) * (
        1 - Fraction(flat.attribution_bp, 10_000)) * (1 - Fraction(flat.displacement_bp, 10_000))
    assert line.present_value_cents == round(exact_net * flat.duration_years)


@given(quantities, valuations, rates_st, st.integers(0, 10_000))
def test_more_deadweight_never_adds_value(quantity: Fraction, value: Valuation, rates: Rates, more: int) -> None:
    heavier = Valuation(**{**value.__dict__, "deadweight_bp": max(value.deadweight_bp, more)})

    assert value_line(Outcome(quantity, heavier), rates).present_value_cents <= value_line(
        Outcome(quantity, value), rates).present_value_cents


@given(st.lists(st.tuples(quantities, valuations), max_size=6), rates_st, st.integers(0, 10**9))
def test_the_total_is_the_sum_of_the_lines_as_printed(outcomes: list[tuple[Fraction, Valuation]], rates: Rates,
                                                     money: int) -> None:
    result = statement(Inputs(money_cents=money, minutes=0), [Outcome(q, v) for q, v in outcomes], rates)

    assert result.present_value_cents == sum(line.present_value_cents for line in result.lines)
    if money:
        assert result.ratio == Fraction(result.present_value_cents, money)

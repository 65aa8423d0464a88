"""The arithmetic of a charge: VAT and revenue splits add up to the cent for any price, rate and period."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coop.subscriptions.billing import add_years, split_gross, split_revenue, split_vat

prices = st.integers(min_value=1, max_value=10_000_000)
rates = st.integers(min_value=0, max_value=10_000)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))


@given(price=prices, rate=rates, include=st.booleans())
def test_net_plus_vat_is_gross_and_the_vat_is_the_rate_rounded_half_up(price: int, rate: int, include: bool) -> None:
    split = split_vat(price, vat_rate_bp=rate, prices_include_vat=include)
    assert split.net_cents + split.vat_cents == split.gross_cents
    assert (split.gross_cents if include else split.net_cents) == price
    # VAT is the rate of the net amount to within rounding: |vat - net x rate| <= half a cent (+ the net's own
    # rounding when the price includes VAT).
    exact = split.net_cents * rate
    slack = 5_000 if not include else 5_000 + rate // 2 + 1
    assert abs(split.vat_cents * 10_000 - exact) <= slack


@given(price=prices, rate=rates)
def test_a_credit_note_mirrors_an_invoice_of_the_same_gross(price: int, rate: int) -> None:
    plus, minus = split_gross(price, vat_rate_bp=rate), split_gross(-price, vat_rate_bp=rate)
    assert (minus.net_cents, minus.vat_cents, minus.gross_cents) == (-plus.net_cents, -plus.vat_cents, -price)


@pytest.mark.parametrize(("price", "net", "vat"), [(9_900, 8_182, 1_718), (100_000, 82_645, 17_355)])
def test_the_standard_tiers_split_as_an_accountant_expects(price: int, net: int, vat: int) -> None:
    split = split_vat(price, vat_rate_bp=2_100, prices_include_vat=True)
    assert (split.net_cents, split.vat_cents) == (net, vat)


@given(net=st.integers(min_value=-10_000_000, max_value=10_000_000), start=days,
       length=st.integers(min_value=1, max_value=800), booked_offset=st.integers(min_value=-60, max_value=800))
def test_revenue_now_and_deferred_add_up_and_belong_to_later_years(net: int, start: date, length: int,
                                                                   booked_offset: int) -> None:
    end = start + timedelta(days=length)
    booked = start + timedelta(days=booked_offset)
    split = split_revenue(net, period_start=start, period_end=end, booked_on=booked)
    assert split.now_cents + sum(cents for _, cents in split.deferred) == net
    for release_on, cents in split.deferred:
        assert release_on.year > booked.year and (release_on.month, release_on.day) == (1, 1)
        assert start < release_on + timedelta(days=366) and release_on < end
        assert cents != 0 and (cents > 0) == (net > 0)


def test_a_period_from_29_november_defers_the_days_of_next_year() -> None:
    split = split_revenue(8_182, period_start=date(2026, 11, 29), period_end=date(2027, 11, 29),
                          booked_on=date(2026, 11, 29))
    assert (split.now_cents, split.deferred) == (740, ((date(2027, 1, 1), 7_442),))


def test_a_period_billed_a_month_ahead_defers_each_later_year_to_its_own_january() -> None:
    split = split_revenue(36_500, period_start=date(2027, 1, 10), period_end=date(2028, 1, 10),
                          booked_on=date(2026, 12, 11))
    assert split.now_cents == 0
    assert split.deferred == ((date(2027, 1, 1), 35_600), (date(2028, 1, 1), 900))


def test_a_late_payment_books_a_past_year_now_and_never_into_a_closed_year() -> None:
    split = split_revenue(36_500, period_start=date(2025, 12, 1), period_end=date(2026, 12, 1),
                          booked_on=date(2026, 1, 15))
    assert (split.now_cents, split.deferred) == (36_500, ())


@given(day=days, years=st.integers(min_value=1, max_value=5))
def test_a_year_later_is_the_same_calendar_day_or_28_february(day: date, years: int) -> None:
    later = add_years(day, years)
    assert later.year == day.year + years and later.month == day.month
    assert later.day == day.day or (day.month, day.day, later.day) == (2, 29, 28)

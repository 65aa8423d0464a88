"""Money as integer cents: parsing, display, provider strings, rounding and exact splits.

Pure functions: no database fixtures here, so every test runs once.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from coop.core.money import (
    MoneyError,
    allocate,
    apply_basis_points,
    cents_to_decimal,
    decimal_to_cents,
    divide_half_up,
    euros_text,
    format_eur,
    from_provider_string,
    parse_amount,
    to_provider_string,
)

# amount_cents columns are BigInteger: this is the whole domain of stored amounts.
BIGINT = st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1)


# --- parse_amount -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("1.000,50", 100050),
        ("1000.50", 100050),
        ("1000,50", 100050),
        ("99", 9900),
        ("0", 0),
        ("€ 25,50", 2550),
        ("€25,5", 2550),
        ("  € 25,50  ", 2550),
        ("€\xa01.234,56", 123456),
        ("1.000", 100000),  # Dutch thousands, never one euro with three decimals
        ("12.345", 1234500),
        ("1.000.000", 100000000),
        ("1.000.000,01", 100000001),
        ("1,000.50", 100050),  # English grouping with a decimal point
        ("1,000,000.99", 100000099),
        ("0,05", 5),
        ("0.5", 50),
        ("-3,5", -350),
        ("-1.000,50", -100050),
        ("€ -25,50", -2550),
        ("-0", 0),
    ],
)
def test_parse_amount_accepts_what_people_type(text: str, cents: int) -> None:
    assert parse_amount(text) == cents
    assert type(parse_amount(text)) is int


@pytest.mark.parametrize("number", [1.5, 10.0, 0.1, 100, Decimal("1.50"), None, b"1,50"])
def test_parse_amount_refuses_non_text(number: object) -> None:
    with pytest.raises(MoneyError):
        parse_amount(number)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "10,505",  # three decimals
        "1,000",  # a comma with three digits is three decimals, not a thousand
        "0,001",
        "1.000,505",
        "1,5.5",
    ],
)
def test_parse_amount_refuses_more_than_two_decimals(text: str) -> None:
    with pytest.raises(MoneyError):
        parse_amount(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "€",
        "-",
        "€ -",
        "abc",
        "12abc",
        "1,2,3",
        "1e3",
        "--5",
        "+5",
        "5-",
        "1 2 3,4.5",
        ".",  # no digits at all
        ",",
        "-,",
        "٣",  # non-ASCII digits
        "١٢,٥٠",
        "1\n,50",
        "NaN",
        "Infinity",
    ],
)
def test_parse_amount_refuses_garbage(text: str) -> None:
    with pytest.raises(MoneyError):
        parse_amount(text)


@pytest.mark.parametrize(
    "text",
    [
        "1.00.000",
        "10.00,50",
        "1.0000,00",
        "1234.567",
        "1.000.50",
        "1,00,000.00",
        "1.000,000.00",
        "0.500",  # not five hundred euros
        "01.000",
        "0,000.50",
        "1..000",
    ],
)
def test_parse_amount_refuses_bad_grouping(text: str) -> None:
    with pytest.raises(MoneyError):
        parse_amount(text)


def test_money_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="more than two decimals"):
        parse_amount("10,505")


# --- display and provider strings ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cents", "text"),
    [
        (100050, "€ 1.000,50"),
        (0, "€ 0,00"),
        (5, "€ 0,05"),
        (9900, "€ 99,00"),
        (123456789, "€ 1.234.567,89"),
    ],
)
def test_format_eur_is_dutch(cents: int, text: str) -> None:
    assert format_eur(cents) == text


def test_format_eur_negative_keeps_the_sign() -> None:
    text = format_eur(-100050)
    assert "-" in text
    assert "1.000,50" in text
    assert parse_amount(text) == -100050


def test_format_eur_nbsp_keeps_it_on_one_line() -> None:
    assert format_eur(100050, nbsp=True) == "€\xa01.000,50"
    assert "\xa0" not in format_eur(100050)


@pytest.mark.parametrize("bad", [1.5, True, "100", Decimal("1")])
def test_format_eur_refuses_non_int(bad: object) -> None:
    with pytest.raises(MoneyError):
        format_eur(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cents", "text"),
    [(9900, "99.00"), (0, "0.00"), (5, "0.05"), (-3507, "-35.07"), (100050, "1000.50"), (-5, "-0.05")],
)
def test_provider_strings_have_two_decimals(cents: int, text: str) -> None:
    assert to_provider_string(cents) == text
    assert from_provider_string(text) == cents


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_euros_text_is_the_exact_decimal_with_two_places(cents: int) -> None:
    assert euros_text(cents) == f"{Decimal(cents).scaleb(-2):.2f}"
    assert from_provider_string(euros_text(cents)) == cents


@pytest.mark.parametrize("bad", [1.5, True, "100", None])
def test_euros_text_refuses_anything_but_int_cents(bad: object) -> None:
    with pytest.raises(MoneyError):
        euros_text(bad)  # type: ignore[arg-type]


def test_from_provider_string_examples() -> None:
    assert from_provider_string("-35.07") == -3507
    assert from_provider_string("99.00") == 9900
    assert from_provider_string("99") == 9900
    assert from_provider_string("1.500") == 150  # exact, so accepted


@pytest.mark.parametrize("text", ["1.001", "0.005", "-35.075", "abc", "", "Infinity", "-Infinity", "NaN", "sNaN"])
def test_from_provider_string_refuses_inexact_or_garbage(text: str) -> None:
    with pytest.raises(MoneyError):
        from_provider_string(text)


@pytest.mark.parametrize("value", [99.0, 9900, None])
def test_from_provider_string_refuses_non_text(value: object) -> None:
    with pytest.raises(MoneyError):
        from_provider_string(value)  # type: ignore[arg-type]


def test_decimal_conversions_are_exact() -> None:
    assert cents_to_decimal(100050) == Decimal("1000.50")
    assert str(cents_to_decimal(-5)) == "-0.05"
    assert decimal_to_cents(Decimal("1000.50")) == 100050
    assert decimal_to_cents(Decimal("-0.07")) == -7
    with pytest.raises(MoneyError):
        decimal_to_cents(Decimal("0.001"))
    with pytest.raises(MoneyError):
        decimal_to_cents(Decimal("Infinity"))
    with pytest.raises(MoneyError):
        decimal_to_cents(1.5)  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        cents_to_decimal(1.5)  # type: ignore[arg-type]


# --- rounding ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (5, 2, 3),
        (-5, 2, -3),
        (5, -2, -3),
        (-5, -2, 3),
        (7, 2, 4),
        (-7, 2, -4),
        (1, 3, 0),
        (-1, 3, 0),
        (2, 3, 1),
        (-2, 3, -1),
        (10, 5, 2),
        (-10, 5, -2),
        (0, 7, 0),
        (149, 100, 1),
        (150, 100, 2),
        (-149, 100, -1),
        (-150, 100, -2),
    ],
)
def test_divide_half_up_rounds_half_away_from_zero(numerator: int, denominator: int, expected: int) -> None:
    assert divide_half_up(numerator, denominator) == expected


def test_divide_half_up_refuses_zero_and_floats() -> None:
    with pytest.raises(ZeroDivisionError):
        divide_half_up(1, 0)
    with pytest.raises(MoneyError):
        divide_half_up(1.0, 2)  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        divide_half_up(1, True)


@pytest.mark.parametrize(
    ("cents", "rate_bp", "expected"),
    [
        (9900, 2100, 2079),  # 21 % VAT of 99.00
        (-9900, 2100, -2079),
        (50, 100, 1),  # 0.5 cent rounds up
        (-50, 100, -1),  # and away from zero when negative
        (49, 100, 0),
        (-49, 100, 0),
        (150, 100, 2),  # 1.5 -> 2
        (-150, 100, -2),
        (12345, 10000, 12345),
        (12345, 0, 0),
    ],
)
def test_apply_basis_points(cents: int, rate_bp: int, expected: int) -> None:
    assert apply_basis_points(cents, rate_bp) == expected


@given(st.integers(min_value=-(10**12), max_value=10**12), st.integers(min_value=1, max_value=10**6))
def test_divide_half_up_matches_exact_rounding(numerator: int, denominator: int) -> None:
    exact = Fraction(numerator, denominator)
    result = divide_half_up(numerator, denominator)
    assert abs(Fraction(result) - exact) <= Fraction(1, 2)
    if abs(Fraction(result) - exact) == Fraction(1, 2):  # a tie went away from zero
        assert abs(result) > abs(exact)
    assert divide_half_up(-numerator, denominator) == -result


# --- allocate ---------------------------------------------------------------------------------------


def test_allocate_examples() -> None:
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]  # ties go to the earlier weight
    assert allocate(-100, [1, 1, 1]) == [-34, -33, -33]
    assert allocate(10, [0, 1, 1]) == [0, 5, 5]
    assert allocate(1, [1, 1]) == [1, 0]
    assert allocate(0, [3, 7]) == [0, 0]
    assert allocate(1000, [1, 2, 7]) == [100, 200, 700]
    assert allocate(5, [7]) == [5]


@pytest.mark.parametrize(
    ("total", "weights"),
    [(100, []), (100, [0, 0]), (100, [1, -1]), (100, [1.5]), (1.5, [1]), (100, [True])],
)
def test_allocate_refuses_bad_input(total: object, weights: list[object]) -> None:
    with pytest.raises(MoneyError):
        allocate(total, weights)  # type: ignore[arg-type]


WEIGHTS = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=30).filter(
    lambda ws: sum(ws) > 0
)


@given(BIGINT, WEIGHTS)
@example(100, [1, 1, 1])
@example(-1, [1, 1, 1])
@example(7, [0, 3, 0, 3])
def test_allocate_properties(total: int, weights: list[int]) -> None:
    parts = allocate(total, weights)
    weight_sum = sum(weights)
    assert len(parts) == len(weights)
    assert all(type(p) is int for p in parts)
    assert sum(parts) == total
    for part, weight in zip(parts, weights, strict=True):
        share = Fraction(total * weight, weight_sum)
        assert abs(part - share) < 1, (part, share)
        assert part * total >= 0  # the sign of the total (or zero)
        if weight == 0:
            assert part == 0


@given(BIGINT, WEIGHTS)
def test_allocate_is_deterministic(total: int, weights: list[int]) -> None:
    assert allocate(total, weights) == allocate(total, weights)
    assert allocate(-total, weights) == [-p for p in allocate(total, weights)]


# --- round trips ------------------------------------------------------------------------------------


@given(BIGINT)
@example(0)
@example(-1)
@example(100000)
@example(99999)
@example(2**63 - 1)
def test_format_then_parse_round_trips(cents: int) -> None:
    shown = format_eur(cents)
    assert shown.startswith("€")
    assert parse_amount(shown.replace("€", "")) == cents
    assert parse_amount(shown) == cents


@given(BIGINT)
def test_provider_string_round_trips(cents: int) -> None:
    text = to_provider_string(cents)
    whole, _, fraction = text.lstrip("-").partition(".")
    assert whole.isdigit()
    assert len(fraction) == 2
    assert from_provider_string(text) == cents


@given(BIGINT)
def test_decimal_round_trips(cents: int) -> None:
    value = cents_to_decimal(cents)
    assert isinstance(value, Decimal)
    assert value * 100 == cents
    assert decimal_to_cents(value) == cents


@given(st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-(10**9), max_value=10**9))
def test_decimal_to_cents_refuses_sub_cent_values(value: Decimal) -> None:
    if value * 100 == (value * 100).to_integral_value():
        assert decimal_to_cents(value) == value * 100
    else:
        with pytest.raises(MoneyError):
            decimal_to_cents(value)


@pytest.mark.parametrize("text", ["1e2", " 99.00 ", "1_000.00", "1e999999999", "99.001", "+5.00", "", "."])
def test_provider_amounts_must_be_plain_decimals(text: str) -> None:
    with pytest.raises(MoneyError):
        from_provider_string(text)

"""Money as integer euro cents: parsing, formatting, provider strings, rounding and exact splits.

Floats never enter: parsing takes text, conversion goes through Decimal, and
every rounding is half up in one helper.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency

CENTS_PER_EURO = 100
BASIS_POINTS = 10_000

# ASCII digits only (\d would accept "١٢"), \Z rather than $ (which also matches before a
# trailing newline), and no leading zero in a grouped number ("0.500" is not five hundred euros).
_THOUSANDS_DOT = re.compile(r"^[1-9][0-9]{0,2}(\.[0-9]{3})+\Z")
_THOUSANDS_COMMA = re.compile(r"^[1-9][0-9]{0,2}(,[0-9]{3})+\Z")
_DIGITS = re.compile(r"^[0-9]+\Z")


class MoneyError(ValueError):
    """Text or numbers that are not an exact amount of euro cents."""


def parse_amount(text: str) -> int:
    """Parse what a person types ("1.000,50", "1000.50", "99", "€ 25,5") into cents.

    The last of "," and "." that is followed by one or two digits is the decimal
    separator; the other one may only group thousands. Three or more decimals,
    floats and anything else are refused rather than guessed.
    """
    if not isinstance(text, str):
        raise MoneyError(f"amount must be text, not {type(text).__name__}")
    cleaned = text.strip().replace("€", "").replace("\xa0", "").replace(" ", "")
    negative = cleaned.startswith("-")
    if negative:
        cleaned = cleaned[1:]
    if not cleaned:
        raise MoneyError("amount is empty")
    if not any("0" <= char <= "9" for char in cleaned):
        raise MoneyError(f"{text!r} is not an amount")
    whole, fraction = _split_decimal(cleaned)
    if len(fraction) > 2:
        raise MoneyError(f"{text!r} has more than two decimals")
    cents = int(whole) * CENTS_PER_EURO + int(fraction.ljust(2, "0") or "0")
    return -cents if negative else cents


def _split_decimal(cleaned: str) -> tuple[str, str]:
    """Split into whole digits and decimal digits, removing thousands separators."""
    last_sep = max(cleaned.rfind(","), cleaned.rfind("."))
    if last_sep == -1:
        return _digits(cleaned, cleaned), ""
    head, sep, tail = cleaned[:last_sep], cleaned[last_sep], cleaned[last_sep + 1:]
    other = "." if sep == "," else ","
    if sep == "." and other not in head and "." in head:
        # Only dots, several of them: Dutch thousands grouping such as "1.000.000".
        return _grouped(cleaned, _THOUSANDS_DOT, "."), ""
    if sep == "." and not head.count(".") and other not in head and len(tail) == 3 and _DIGITS.match(head):
        # "1.000" is one thousand euros in Dutch, never one euro with three decimals.
        return _grouped(cleaned, _THOUSANDS_DOT, "."), ""
    if sep in head:
        raise MoneyError(f"{cleaned!r} is not an amount")
    grouping = _THOUSANDS_DOT if other == "." else _THOUSANDS_COMMA
    whole = _grouped(head, grouping, other) if other in head else _digits(head or "0", cleaned)
    return whole, _digits(tail, cleaned) if tail else ""


def _grouped(text: str, pattern: re.Pattern[str], separator: str) -> str:
    """Digits grouped by threes, separators removed."""
    if not pattern.match(text):
        raise MoneyError(f"{text!r} is not an amount (thousands separators must group three digits)")
    return text.replace(separator, "")


def _digits(part: str, whole_text: str) -> str:
    """Only ASCII digits are part of an amount."""
    if not _DIGITS.match(part):
        raise MoneyError(f"{whole_text!r} is not an amount")
    return part


def decimal_to_cents(value: Decimal) -> int:
    """An exact euro Decimal to cents; sub-cent values are refused, not rounded."""
    if not isinstance(value, Decimal):
        raise MoneyError(f"expected Decimal, not {type(value).__name__}")
    if not value.is_finite():
        raise MoneyError(f"{value!r} is not an amount")
    try:
        cents = value * CENTS_PER_EURO
        if cents != cents.to_integral_value():
            raise MoneyError(f"{value} has more than two decimals")
        return int(cents)
    except InvalidOperation as exc:
        raise MoneyError(f"{value!r} is not an amount") from exc


def cents_to_decimal(cents: int) -> Decimal:
    """Cents to an exact euro Decimal (for CSV and display)."""
    _require_int(cents)
    return Decimal(cents).scaleb(-2)


def euros_text(cents: int) -> str:
    """Euros with a point and always two decimals, e.g. -3507 -> "-35.07" (CSV files; in integers: a million rows
    of an export would spend seconds in Decimal)."""
    if type(cents) is not int:  # _require_int's rule, inline: this runs twice per row of the journal
        _require_int(cents)
    whole, part = divmod(abs(cents), 100)
    return f"-{whole}.{part:02d}" if cents < 0 else f"{whole}.{part:02d}"


def to_provider_string(cents: int) -> str:
    """Mollie's amount value: always two decimals, e.g. 9900 -> "99.00"."""
    return euros_text(cents)


_PROVIDER_AMOUNT = re.compile(r"^-?[0-9]{1,17}(\.[0-9]{1,6})?\Z")


def from_provider_string(value: str) -> int:
    """Mollie's "99.00" (or "-35.07") to cents, exactly; exponents, spaces and underscores are refused."""
    if not isinstance(value, str):
        raise MoneyError(f"provider amount must be text, not {type(value).__name__}")
    if not _PROVIDER_AMOUNT.match(value):
        raise MoneyError(f"{value!r} is not a provider amount")
    try:
        return decimal_to_cents(Decimal(value))
    except InvalidOperation as exc:
        raise MoneyError(f"{value!r} is not an amount") from exc


def format_eur(cents: int, *, nbsp: bool = False) -> str:
    """Dutch display: 100050 -> "€ 1.000,50" (babel nl_NL); nbsp=True keeps it on one line in HTML."""
    text = format_currency(cents_to_decimal(cents), "EUR", locale="nl_NL")
    return text if nbsp else text.replace("\xa0", " ")


def divide_half_up(numerator: int, denominator: int) -> int:
    """Integer division rounded half away from zero: the one rounding rule for money."""
    _require_int(numerator)
    _require_int(denominator)
    if denominator == 0:
        raise ZeroDivisionError("denominator is zero")
    sign = -1 if (numerator < 0) != (denominator < 0) else 1
    quotient, remainder = divmod(abs(numerator), abs(denominator))
    if remainder * 2 >= abs(denominator):
        quotient += 1
    return sign * quotient


def apply_basis_points(cents: int, rate_bp: int) -> int:
    """cents x rate / 10 000, rounded half up (2100 bp of 9900 -> 2079)."""
    return divide_half_up(cents * rate_bp, BASIS_POINTS)


def allocate(total_cents: int, weights: Sequence[int]) -> list[int]:
    """Split `total_cents` over `weights` so the parts sum exactly (largest remainder first).

    Ties go to the earlier weight, so the result is deterministic.
    """
    _require_int(total_cents)
    if not weights:
        raise MoneyError("allocate needs at least one weight")
    for weight in weights:
        _require_int(weight)
        if weight < 0:
            raise MoneyError("weights must not be negative")
    weight_sum = sum(weights)
    if weight_sum == 0:
        raise MoneyError("at least one weight must be positive")
    sign = -1 if total_cents < 0 else 1
    magnitude = abs(total_cents)
    shares = [divmod(magnitude * w, weight_sum) for w in weights]
    parts = [q for q, _ in shares]
    leftover = magnitude - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-shares[i][1], i))
    for index in by_remainder[:leftover]:
        parts[index] += 1
    return [sign * p for p in parts]


def _require_int(value: object) -> None:
    """Cents are ints; bools and floats are refused so no caller can slip them in."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise MoneyError(f"expected integer cents, not {type(value).__name__}")

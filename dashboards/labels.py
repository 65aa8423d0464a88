"""What the board reads: Dutch names for the codes the data carries, and Dutch numbers and dates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_decimal

from coop.core.money import format_eur
from coop.core.municipalities import municipality_label

LOCALE = "nl_NL"

MEMBER_KINDS = {"person": "Personen", "initiative": "Initiatieven", "social_enterprise": "Sociale ondernemingen",
                "company": "Bedrijven", "government": "Overheden", "organisation": "Overige organisaties"}
MEMBER_STATUSES = {"applicant": "Aangemeld", "active": "Actief", "resigning": "Opgezegd",
                   "former": "Voormalig", "expelled": "Geroyeerd", "deceased": "Overleden"}
SUBSCRIPTION_STATUSES = {"pending": "Nog niet betaald", "active": "Actief", "past_due": "Achterstallig",
                         "lapsed": "Vervallen", "canceled": "Opgezegd"}
PROVIDERS = {"sandbox": "Sandbox (demo)", "stripe": "Stripe", "mollie": "Mollie", "bank_transfer": "Overschrijving"}
THEMES = {"zorg_en_welzijn": "Zorg en welzijn", "energie": "Energie", "scholing": "Scholing",
          "wonen_en_werk": "Wonen en werk", "sport_en_recreatie": "Sport en recreatie",
          "gemeenschap_en_veiligheid": "Gemeenschap en veiligheid",
          "groen_en_duurzaamheid": "Groen en duurzaamheid", "voedsel": "Voedsel", "cultuur": "Cultuur"}
PLEDGE_KINDS = {"money": "Geld", "time": "Tijd", "materials": "Materialen"}
FUND_KINDS = {"foundation": "Stichting", "community_fund": "Buurtfonds", "municipality": "Gemeente",
              "company": "Bedrijf"}
SERIES = {"joined": "Nieuwe leden", "left": "Vertrokken leden", "renewed": "Verlengd", "lapsed": "Vervallen",
          "canceled": "Opgezegd", "pledged": "Toegezegd", "delivered": "Geleverd", "refunds": "Terugbetalingen",
          "chargebacks": "Storneringen", "capital": "Ledenkapitaal"}
ACCOUNTS = {"0500": "Ledenkapitaal", "1100": "Stripe", "1110": "Mollie", "1120": "Sandbox (demo)", "1200": "Bank",
            "1300": "Te ontvangen van leden", "1310": "Te ontvangen van projecten", "2100": "Terug te betalen aandelen",
            "2200": "Bijdragen voor projecten", "2300": "Fondsen beschikbaar", "2310": "Fondsen gereserveerd",
            "2400": "Te betalen aan projecten", "2500": "Te betalen btw", "2600": "Vooruitgefactureerde contributie",
            "4500": "Kosten betaaldiensten", "8000": "Contributie"}
ACCOUNT_TYPES = {"asset": "Activa", "liability": "Vreemd vermogen", "equity": "Eigen vermogen",
                 "revenue": "Opbrengsten", "expense": "Kosten"}


def label(names: dict[str, str], code: str) -> str:
    """The Dutch name of a code, or the code itself when it has none (a tier the board added)."""
    return names.get(code, code)


def account(code: str, name: str) -> str:
    """`0500 Ledenkapitaal`: the code with its Dutch name (the chart's own name for accounts added later)."""
    return f"{code} {ACCOUNTS.get(code, name)}"


def municipality(code: str | None) -> str:
    """A municipality's name where Kracht knows it, else its CBS code."""
    return municipality_label(code)


def euros(cents: int) -> str:
    """`€ 1.234,56`."""
    return format_eur(cents)


def number(value: int) -> str:
    """`12.345`."""
    return format_decimal(value, locale=LOCALE)


def hours(minutes: int) -> str:
    """Minutes as Dutch hours: `1.234,5 uur`."""
    return f"{format_decimal(Decimal(minutes) / 60, format='#,##0.#', locale=LOCALE)} uur"


def day(value: date) -> str:
    """`2 mrt. 2026`-style dates, as Dutch readers write them."""
    return format_date(value, "d MMM yyyy", locale=LOCALE)


def month(key: str) -> str:
    """'2026-03' -> `mrt 2026`."""
    year, number_of_month = (int(part) for part in key.split("-"))
    return format_date(date(year, number_of_month, 1), "MMM yyyy", locale=LOCALE)


def week(key: str) -> str:
    """'2026-03-02' (a Monday) -> `wk 10 2026`."""
    monday = date.fromisoformat(key)
    iso_year, iso_week, _ = monday.isocalendar()
    return f"wk {iso_week} {iso_year}"

"""The page plumbing without a browser: periods, the query string, filters, and a section that fails."""

from __future__ import annotations

import re
from datetime import date

import pytest

from coop.members.models import MemberKind
from dashboards.page import Dashboard, View, parse_query, preset_period
from dashboards.queries import Period, Selection
from funding.projects.models import Theme
from tests.demo_db import Demo

TODAY = date(2026, 12, 1)


@pytest.mark.parametrize(("preset", "start", "end"), [
    ("12m", date(2026, 1, 1), TODAY), ("jaar", date(2026, 1, 1), TODAY),
    ("vorigjaar", date(2025, 1, 1), date(2025, 12, 31)), ("3j", date(2024, 1, 1), TODAY),
    ("alles", date(2023, 6, 5), TODAY),
])
def test_presets_are_whole_months_up_to_today(preset: str, start: date, end: date) -> None:
    assert preset_period(preset, today=TODAY, first_day=date(2023, 6, 5)) == Period(start, end)


def test_twelve_months_in_march_start_last_april() -> None:
    assert preset_period("12m", today=date(2027, 3, 15), first_day=None).start == date(2026, 4, 1)
    assert len(Period(date(2026, 4, 1), date(2027, 3, 15)).months) == 12


def test_a_period_cannot_end_before_it_starts() -> None:
    with pytest.raises(ValueError, match="ends on or after"):
        Period(date(2026, 2, 1), date(2026, 1, 31))


def test_the_query_string_is_read_as_user_input() -> None:
    assert parse_query("van=2026-01-01&soort=person&soort=company&leeg=") == {"van": "2026-01-01", "soort": "company"}
    assert parse_query(None) == {} and parse_query("") == {}


def test_a_link_sets_the_period_and_the_filters_it_names(demo: Demo) -> None:
    page = Dashboard("Proef", filters=["kind", "municipality", "theme"], engine=demo.reader)
    page.municipality.options = [*page.municipality.options, ("Utrecht", "GM0344")]

    page.apply_query({"van": "2025-02-01", "tot": "2025-03-31", "soort": "company", "gemeente": "GM0344",
                      "thema": "energie", "vernieuwen": "60"})

    assert page.period == Period(date(2025, 2, 1), date(2025, 3, 31)) and page.preset.value == "zelf"
    assert page.selection == Selection(kind=MemberKind.COMPANY, municipality_code="GM0344", theme=Theme.ENERGIE)
    assert page.interval.value == 60 and page.browser.interval_ms == 60_000


def test_values_that_are_not_offered_are_ignored(demo: Demo) -> None:
    page = Dashboard("Proef", filters=["kind", "municipality"], engine=demo.reader)

    page.apply_query({"van": "gisteren", "soort": "'; DROP TABLE member; --", "gemeente": "GM0344",
                      "thema": "energie", "vernieuwen": "1", "periode": "vorigjaar"})

    assert page.preset.value == "vorigjaar" and page.period.end.month == 12
    assert page.selection == Selection()  # unknown kind, municipality not in use, theme not on this page
    assert page.browser.interval_ms == 0  # faster than every 5 seconds is refused


def test_a_wall_screen_may_ask_its_own_refresh_pace(demo: Demo) -> None:
    page = Dashboard("Proef", engine=demo.reader)

    page.apply_query({"vernieuwen": "7"})

    assert page.interval.value == 7 and ("elke 7 seconden", 7) in page.interval.options
    assert page.browser.interval_ms == 7_000


def test_a_failing_section_is_reported_and_the_others_still_draw(demo: Demo) -> None:
    page = Dashboard("Proef", engine=demo.reader)
    drawn: list[Period] = []

    def fine(view: View) -> str:
        drawn.append(view.period)
        assert view.tier_names == {"person": "Persoon of initiatief", "organisation": "Organisatie"}
        assert view.books.start == view.period.start
        return "<p>ok</p>"

    def broken(view: View) -> str:
        raise RuntimeError("kapot")

    page.add(broken)
    page.add(fine)
    page.apply_query({"periode": "jaar"})

    page.refresh()

    assert drawn == [page.period]
    assert re.search(r'data-failures="1".*Bijgewerkt', page.status.value)


def test_an_unknown_filter_is_a_mistake_in_the_notebook(demo: Demo) -> None:
    with pytest.raises(ValueError, match="unknown filters"):
        Dashboard("Proef", filters=["colour"], engine=demo.reader)

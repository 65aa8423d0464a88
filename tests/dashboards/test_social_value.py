"""The "Maatschappelijke waarde" page without a browser: the index figure, the ranking against the API's peers,
and the drill-down whose sliders go through the what-if function."""

from __future__ import annotations

import re
import uuid
from datetime import date
from fractions import Fraction

from sqlmodel import Session

from coop.core.clock import today_amsterdam
from dashboards import social_value
from dashboards.page import Dashboard
from dashboards.queries import EVERYTHING, Period, Selection
from funding.social_value.schemas import IndexPoint, IndexPublic
from funding.social_value.series import INDEX_METHOD
from funding.social_value.views import project_social_value
from tests.demo_db import Demo

TODAY = today_amsterdam()


def index(theme: str | None, *levels: float) -> IndexPublic:
    """An index from March 2026 with these levels."""
    return IndexPublic(theme=theme, base_month="2026-03", method=INDEX_METHOD,
                       points=[IndexPoint(month=f"2026-{3 + n:02d}", social_value_cents=100, level=level)
                               for n, level in enumerate(levels)])


def test_the_index_draws_all_themes_first_then_each_theme_in_dutch() -> None:
    figure = social_value.index_figure({None: index(None, 100, 150), "voedsel": index("voedsel", 100, 120),
                                        "cultuur": index("cultuur", 100, 300)})

    assert [trace.name for trace in figure.data] == ["Alle thema's", "Cultuur", "Voedsel"]
    assert list(figure.data[0].x) == ["mrt 2026", "apr 2026"] and list(figure.data[0].y) == [100, 150]
    assert figure.data[0].line.width == 3 and list(figure.data[0].customdata) == ["€ 1,00", "€ 1,00"]
    only = social_value.index_figure({None: index(None, 100), "voedsel": index("voedsel", 100)}, "voedsel")
    assert [trace.name for trace in only.data] == ["Alle thema's", "Voedsel"]
    empty = social_value.index_figure({})
    assert not empty.data and empty.layout.annotations[0].text == "Nog geen geverifieerde uitkomsten"


def test_ratios_are_read_in_dutch() -> None:
    assert social_value.ratio_text(1.8) == "1,80" and social_value.ratio_text(None) == "–"
    assert social_value.ratio_text(Fraction(12_345, 1000)) == "12,34"  # half to even, as the API rounds
    assert social_value.ratio_text(Fraction(12_355, 1000)) == "12,36"


def test_the_ranking_shows_the_apis_ratios_and_peers_highest_first(demo: Demo) -> None:
    with Session(demo.reader) as session:
        rows = social_value.ranked(session, TODAY, EVERYTHING)
        assert len(rows) > 3
        ratios = [row.value.result.ratio for row in rows]
        assert ratios == sorted(ratios, reverse=True)
        for row in rows:
            api = project_social_value(session, project_id=row.value.project.id, at=TODAY, viewer=None)
            assert row.peers == api.peers
            assert row.value.result.present_value_cents == api.present_value_cents
        html = social_value.ranking_table(rows)
        assert f'data-rows="{len(rows)}"' in html and rows[0].value.project.title in html
        theme = rows[0].value.project.theme
        assert {row.value.project.theme for row in social_value.ranked(session, TODAY, Selection(theme=theme))} == {
            theme}


def test_the_key_figures_add_up_the_ranked_projects(demo: Demo) -> None:
    with Session(demo.reader) as session:
        rows = social_value.ranked(session, TODAY, EVERYTHING)
        html = social_value.key_figures(session, Period(date(TODAY.year, 1, 1), TODAY), EVERYTHING)
    present = sum(row.value.result.present_value_cents for row in rows)
    assert f'data-kpi="social_value" data-value="{present}"' in html
    outcomes = sum(len(row.value.result.lines) for row in rows)
    assert f'data-kpi="verified_outcomes" data-value="{outcomes}"' in html


def test_the_drill_down_starts_at_the_catalogue_and_a_moved_slider_is_an_override(demo: Demo) -> None:
    page = Dashboard("Proef", filters=["theme"], engine=demo.reader)
    what_if = social_value.WhatIf()
    page.add(what_if.draw, controls=what_if)
    redraws: list[int] = []
    what_if.observe(lambda change: redraws.append(change["new"]), names="value")
    page.apply_query({"periode": "jaar"})

    page.refresh()  # chooses the first ranked project and puts the sliders at its assumptions

    assert what_if.project.value and what_if.overrides().model_dump(exclude_none=True) == {"outcome_types": {}}
    assert redraws == []  # setting its own widgets does not redraw
    with Session(demo.reader) as session:
        own = project_social_value(session, project_id=uuid.UUID(what_if.project.value), at=page.period.end,
                                   viewer=None)
    assert what_if.deadweight.value == own.lines[0].assumptions.deadweight_bp // 100

    what_if.deadweight.value = 100
    what_if.discount.value = 500

    assert redraws == [1, 2]
    assert what_if.overrides().deadweight_bp == 10_000 and what_if.overrides().discount_rate_bp == 500
    assert what_if.overrides().hour_rate_cents is None
    html = social_value.what_if_html(own, own)
    assert f'data-ratio="{own.sroi_ratio}"' in html and "niets wordt opgeslagen" in html
    page._redraw([page.sections[0]])
    assert re.search(r'data-failures="0"', page.status.value)

"""The figures, without a database or a browser: the right traces, Dutch labels and amounts, escaped HTML."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import plotly.graph_objects as go

from coop.ledger.schemas import TrialBalance, TrialBalanceRow
from dashboards import figures, labels
from dashboards.queries import ClassHolding, FundBalance, Link, PastDue, Period, ProjectProgress, Series
from funding.funds.models import FundKind

MONTHS = Period(date(2026, 1, 1), date(2026, 3, 31)).months


def series(**groups: tuple[int, ...]) -> Series:
    """A three-month series."""
    return Series(buckets=MONTHS, groups=groups)


def test_dutch_numbers_dates_and_names() -> None:
    assert labels.euros(123_456) == "€ 1.234,56"
    assert labels.number(12_345) == "12.345"
    assert labels.hours(90) == "1,5 uur" and labels.hours(60 * 1234) == "1.234 uur"
    assert labels.month("2026-03") == "mrt 2026" and labels.day(date(2026, 10, 2)) == "2 okt 2026"
    assert labels.week("2026-03-02") == "wk 10 2026"
    assert labels.municipality("GM0344") == "Utrecht" and labels.municipality("GM9999") == "GM9999"
    assert labels.municipality(None) == "onbekend"
    assert labels.account("0500", "Member share capital") == "0500 Ledenkapitaal"
    assert labels.account("9999", "Something new") == "9999 Something new"


def test_members_over_time_stacks_one_trace_per_kind_in_the_fixed_order() -> None:
    figure = figures.members_over_time(series(company=(1, 2, 2), person=(10, 11, 12)))

    assert figure.layout.title.text == "Leden per soort"
    assert [trace.name for trace in figure.data] == ["Personen", "Bedrijven"]
    assert all(trace.stackgroup == "all" for trace in figure.data)
    assert list(figure.data[0].x) == ["jan 2026", "feb 2026", "mrt 2026"] and list(figure.data[0].y) == [10, 11, 12]
    assert figure.layout.separators == ",."


def test_leavers_are_drawn_below_the_axis_but_counted_positive() -> None:
    figure = figures.joins_and_leavers(series(joined=(3, 0, 1), left=(0, 2, 0)))

    joined, left = figure.data
    assert (joined.name, left.name) == ("Nieuwe leden", "Vertrokken leden")
    assert list(left.y) == [0, -2, 0] and list(left.customdata) == [0, 2, 0]
    assert figure.layout.barmode == "relative"


def test_money_is_drawn_in_exact_euros_and_hovered_in_dutch() -> None:
    figure = figures.share_capital(series(capital=(5_000, 123_456, 123_456)))

    [line] = figure.data
    assert list(line.y) == [Decimal("50.00"), Decimal("1234.56"), Decimal("1234.56")]
    assert list(line.customdata) == ["€ 50,00", "€ 1.234,56", "€ 1.234,56"]
    assert figure.layout.yaxis.tickprefix == "€ " and "%{customdata}" in line.hovertemplate
    assert '"y":[50.0,1234.56,1234.56]' in figure.to_json().replace(" ", "")


def test_an_empty_chart_says_so() -> None:
    figure = figures.joins_and_leavers(series())

    assert [a.text for a in figure.layout.annotations] == ["Geen gegevens in deze periode"]
    assert not figures.members_over_time(series(person=(1, 1, 1))).layout.annotations


def test_holdings_status_and_municipalities() -> None:
    holdings = figures.holdings_by_class([ClassHolding("lidmaatschap", "Lidmaatschapsaandeel", 300, 300, 1_500_000),
                                          ClassHolding("maatschappelijk", "Maatschappelijk aandeel", 4, 20, 500_000)])
    assert list(holdings.data[0].x) == ["Lidmaatschapsaandeel", "Maatschappelijk aandeel"]
    assert "€ 15.000,00<br>300 aandelen, 300 houders" in holdings.data[0].text[0]
    status = figures.members_by_status({"active": 280, "former": 9, "applicant": 0})
    assert list(status.data[0].x) == ["Actief", "Voormalig"]
    places = figures.top_municipalities([("GM0344", 58), ("GM0363", 22), (None, 3)])
    assert list(places.data[0].y) == ["onbekend", "Amsterdam", "Utrecht"]  # largest on top


def test_subscriptions_by_tier_stack_the_statuses() -> None:
    figure = figures.subscriptions_by_tier({("person", "active"): 233, ("person", "past_due"): 2,
                                            ("organisation", "active"): 42, ("organisation", "lapsed"): 1},
                                           {"person": "Persoon of initiatief", "organisation": "Organisatie"})

    assert [trace.name for trace in figure.data] == ["Actief", "Achterstallig", "Vervallen"]
    assert list(figure.data[0].x) == ["Organisatie", "Persoon of initiatief"]
    assert list(figure.data[0].y) == [42, 233] and list(figure.data[1].y) == [0, 2]


def test_the_sankey_has_a_node_per_name_and_a_link_per_flow() -> None:
    links = [Link("Leden", "Aandelen", 5_000), Link("Aandelen", "Ledenkapitaal", 5_000),
             Link("Bewoners", "Bijdragen", 3_050), Link("Bijdragen", "Projecten", 3_050)]

    figure = figures.money_flows(links)

    [sankey] = figure.data
    assert list(sankey.node.label) == ["Leden", "Aandelen", "Ledenkapitaal", "Bewoners", "Bijdragen", "Projecten"]
    assert list(sankey.link.source) == [0, 1, 3, 4] and list(sankey.link.target) == [1, 2, 4, 5]
    assert list(sankey.link.customdata) == ["€ 50,00", "€ 50,00", "€ 30,50", "€ 30,50"]
    assert figures.money_flows([]).layout.annotations[0].text == "Geen gegevens in deze periode"


def test_project_progress_is_a_share_of_each_goal() -> None:
    project = ProjectProgress(id=uuid.uuid4(), title="Buurtmoestuin", municipality_code="GM0344", theme="voedsel",
                              deadline=date(2026, 12, 6), goal_cents=150_000, paid_cents=60_000,
                              matched_cents=15_000, granted_cents=0, goal_minutes=600, minutes_pledged=600,
                              minutes_confirmed=150)
    no_money_goal = ProjectProgress(id=uuid.uuid4(), title="Huiswerkklas", municipality_code="GM0363",
                                    theme="scholing", deadline=date(2026, 12, 9), goal_cents=0, paid_cents=0,
                                    matched_cents=0, granted_cents=0, goal_minutes=1200, minutes_pledged=0,
                                    minutes_confirmed=1200)

    figure = figures.project_progress([project, no_money_goal])

    money, time = figure.data
    assert list(money.y) == ["Huiswerkklas", "Buurtmoestuin"]
    assert list(money.x) == [Decimal(0), Decimal("50.0")] and list(time.x) == [Decimal("100.0"), Decimal("25.0")]
    assert money.customdata[1] == "€ 750,00 van € 1.500,00" and money.customdata[0] == "geen geldoel"
    assert time.customdata[1] == "2,5 uur van 10 uur"


def test_success_rates_name_themes_and_show_the_counts() -> None:
    figure = figures.success_rates([("energie", 2, 1), ("cultuur", 0, 1)], by="theme")

    [bars] = figure.data
    assert list(bars.x) == ["Cultuur", "Energie"]
    assert [round(v, 1) for v in bars.y] == [Decimal("0.0"), Decimal("66.7")]
    assert list(bars.text) == ["0 van 1", "2 van 3"]
    assert figure.layout.title.text == "Geslaagde campagnes per thema"


def test_fund_balances_stack_available_and_reserved() -> None:
    figure = figures.fund_balances([FundBalance(uuid.uuid4(), "Stichting Buurtkracht", FundKind.FOUNDATION,
                                                600_000, 50_000)])

    assert [trace.name for trace in figure.data] == ["Beschikbaar", "Gereserveerd voor projecten"]
    assert list(figure.data[1].customdata) == ["€ 500,00"]


def books(*rows: tuple[str, str, str, int, int, int]) -> TrialBalance:
    """A trial balance from (code, name, type, opening, debit, credit) rows."""
    accounts = [TrialBalanceRow(code=c, name=n, type=t, opening_cents=o, debit_cents=d, credit_cents=k,
                                balance_cents=o + d - k) for c, n, t, o, d, k in rows]
    return TrialBalance(start=date(2026, 1, 1), end=date(2026, 12, 31), accounts=accounts,
                        total_cents=sum(a.balance_cents for a in accounts))


YEAR = books(("0500", "Member share capital", "equity", -50_000, 0, 10_000),
             ("1200", "Bank", "asset", 50_000, 30_000, 0),
             ("2500", "VAT payable", "liability", 0, 0, 3_471),
             ("8000", "Subscription revenue", "revenue", 0, 0, 16_529))


def test_the_balance_sheet_balances_with_the_result() -> None:
    figure = figures.balance_sheet(YEAR)

    sides: dict[str, Decimal] = {}
    for trace in figure.data:
        sides[trace.x[0]] = sides.get(trace.x[0], Decimal(0)) + trace.y[0]
    assert sides == {"Activa": Decimal("800.00"), "Passiva": Decimal("800.00")}
    assert "Resultaat (opbrengsten min kosten)" in [trace.name for trace in figure.data]
    assert "0500 Ledenkapitaal" in [trace.name for trace in figure.data]
    assert figure.layout.title.text == "Balans per 31 dec 2026"


def test_the_income_overview_ends_with_the_result() -> None:
    figure = figures.income_overview(YEAR)

    assert list(figure.data[0].x) == ["8000 Contributie", "Resultaat"]
    assert list(figure.data[0].customdata) == ["€ 165,29", "€ 165,29"]


def test_key_figures_and_tables_escape_what_people_typed() -> None:
    html = figures.key_figures([figures.KeyFigure("members", "Leden <b>", "300", 300, "noot & zo")])
    assert 'data-kpi="members"' in html and 'data-value="300"' in html
    assert "Leden &lt;b&gt;" in html and "noot &amp; zo" in html and "<b>" not in html
    row = PastDue(member_id=uuid.uuid4(), member_number=7, name="<script>alert(1)</script>", tier="person",
                  provider="bank_transfer", due_on=date(2026, 11, 2), days_overdue=29, amount_cents=9_900)
    table = figures.past_due_table([row], {"person": "Persoon"})
    assert "<script>" not in table and "&lt;script&gt;" in table
    assert 'data-rows="1"' in table and "Overschrijving" in table and "€ 99,00" in table and "2 nov 2026" in table
    assert 'data-rows="0"' in figures.past_due_table([], {}) and "Geen achterstallige" in figures.past_due_table([], {})


def test_every_figure_is_light_enough_to_send() -> None:
    figure = figures.members_over_time(series(person=(1, 2, 3)))

    assert isinstance(figure, go.Figure) and len(figure.to_json()) < 5_000  # no template of several kB each

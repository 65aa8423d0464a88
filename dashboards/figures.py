"""Pure functions from query results to Plotly figures (and the HTML of key figures and tables).

No database and no widgets here: the same inputs always draw the same figure, so each one is
tested without a browser. Money arrives in cents and is drawn in euros; every label, hover and
tick is Dutch (`€ 1.234,56`, `mrt 2026`), in the cooperative's colours.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape
from typing import Any

import plotly.graph_objects as go

from coop.core.money import cents_to_decimal
from coop.ledger.schemas import TrialBalance, TrialBalanceRow
from dashboards import labels
from dashboards.queries import ClassHolding, FundBalance, Link, PastDue, ProjectProgress, Series

# Kracht in NL: warm orange for what the neighbours raise, deep blue for the cooperative, then calm accents.
ORANGE, BLUE, TEAL, SAND, GREEN, PLUM, YELLOW, SLATE, RED = (
    "#E4572E", "#1D3557", "#2A9D8F", "#F4A261", "#76B041", "#6D597A", "#E9C46A", "#8D99AE", "#B23A48")
COLOURS = (BLUE, ORANGE, TEAL, SAND, GREEN, PLUM, YELLOW, SLATE)
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"


def house_layout(title: str, **extra: Any) -> dict[str, Any]:
    """The house style: Dutch separators, our colours, no heavy template in every figure sent."""
    base: dict[str, Any] = {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 17, "color": BLUE}},
        "template": "none", "colorway": list(COLOURS), "separators": ",.",
        "font": {"family": FONT, "size": 12, "color": "#222"}, "height": 380,
        "margin": {"l": 60, "r": 20, "t": 56, "b": 48}, "paper_bgcolor": "white", "plot_bgcolor": "white",
        "legend": {"orientation": "h", "y": -0.18},
        "xaxis": {"gridcolor": "#eee", "automargin": True}, "yaxis": {"gridcolor": "#eee", "automargin": True},
        "hoverlabel": {"font": {"family": FONT}},
    }
    for key, value in extra.items():
        base[key] = {**base[key], **value} if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return base


def _euros(values: Sequence[int]) -> list[Decimal]:
    """Cents as exact euros for the axis."""
    return [cents_to_decimal(v) for v in values]


EURO_AXIS = {"tickprefix": "€ ", "tickformat": ",.0f"}
MONEY_HOVER = "%{x}<br>%{fullData.name}: %{customdata}<extra></extra>"
COUNT_HOVER = "%{x}<br>%{fullData.name}: %{y:,d}<extra></extra>"


def _time_traces(series: Series, names: dict[str, str], *, money: bool, bucket: Callable[[str], str],
                 kind: str, colours: dict[str, str] | None = None, groups: Sequence[str] | None = None,
                 sign: dict[str, int] | None = None) -> list[go.Scatter | go.Bar]:
    """One trace per group of a time series: stacked areas (`area`), lines or bars."""
    x = [bucket(key) for key in series.buckets]
    traces: list[go.Scatter | go.Bar] = []
    for group in groups or list(series.groups):
        values = series.groups.get(group, (0,) * len(x))
        factor = (sign or {}).get(group, 1)
        y = _euros([factor * v for v in values]) if money else [factor * v for v in values]
        style: dict[str, Any] = {"name": labels.label(names, group), "x": x, "y": y}
        if colours and group in colours:
            style["marker" if kind == "bar" else "line"] = {"color": colours[group]}
        if money:
            style |= {"customdata": [labels.euros(v) for v in values], "hovertemplate": MONEY_HOVER}
        else:
            style |= {"customdata": list(values), "hovertemplate": "%{x}<br>%{fullData.name}: %{customdata:,d}"
                                                                   "<extra></extra>"}
        if kind == "bar":
            traces.append(go.Bar(**style))
        else:
            traces.append(go.Scatter(mode="lines", stackgroup="all" if kind == "area" else None, **style))
    return traces


def empty_note(figure: go.Figure, when: bool, text: str = "Geen gegevens in deze periode") -> go.Figure:
    """Say so on the chart itself when there is nothing to draw."""
    if when:
        figure.add_annotation(text=text, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                              font={"size": 14, "color": SLATE})
    return figure


# -- membership -------------------------------------------------------------------------------------------


def members_over_time(series: Series) -> go.Figure:
    """Members at each month's end, stacked by kind."""
    groups = [kind for kind in labels.MEMBER_KINDS if kind in series.groups]
    figure = go.Figure(_time_traces(series, labels.MEMBER_KINDS, money=False, bucket=labels.month, kind="area",
                                    groups=groups),
                       layout=house_layout("Leden per soort", yaxis={"title": "leden", "rangemode": "tozero"}))
    return empty_note(figure, not groups)


def joins_and_leavers(series: Series) -> go.Figure:
    """New members above the axis, members who left below it, per month."""
    figure = go.Figure(_time_traces(series, labels.SERIES, money=False, bucket=labels.month, kind="bar",
                                    groups=["joined", "left"], colours={"joined": GREEN, "left": RED},
                                    sign={"left": -1}),
                       layout=house_layout("Nieuwe en vertrokken leden per maand", barmode="relative",
                                      yaxis={"title": "leden"}))
    return empty_note(figure, not series.total("joined") and not series.total("left"))


def members_by_status(counts: dict[str, int]) -> go.Figure:
    """How many members have each status on the chosen date."""
    statuses = [status for status in labels.MEMBER_STATUSES if counts.get(status)]
    figure = go.Figure(go.Bar(x=[labels.MEMBER_STATUSES[s] for s in statuses], y=[counts[s] for s in statuses],
                              text=[labels.number(counts[s]) for s in statuses], textposition="auto",
                              marker={"color": [GREEN if s == "active" else SLATE for s in statuses]},
                              hovertemplate="%{x}: %{y:,d}<extra></extra>", name="leden"),
                       layout=house_layout("Leden per status", yaxis={"title": "leden"}))
    return empty_note(figure, not statuses)


def share_capital(series: Series) -> go.Figure:
    """Member share capital (ledger 0500) at each month's end."""
    figure = go.Figure(_time_traces(series, labels.SERIES, money=True, bucket=labels.month, kind="line",
                                    colours={"capital": BLUE}),
                       layout=house_layout("Ledenkapitaal (grootboek 0500)", yaxis=EURO_AXIS | {"rangemode": "tozero"},
                                      showlegend=False))
    return empty_note(figure, not any(series.groups.get("capital", ())))


def holdings_by_class(holdings: Sequence[ClassHolding]) -> go.Figure:
    """Nominal value held per share class, with holders and shares in the label."""
    figure = go.Figure(go.Bar(
        x=[h.name for h in holdings], y=_euros([h.capital_cents for h in holdings]),
        text=[f"{labels.euros(h.capital_cents)}<br>{labels.number(h.quantity)} aandelen, "
              f"{labels.number(h.holders)} houders" for h in holdings],
        textposition="auto", marker={"color": [BLUE, ORANGE, TEAL, SAND][: len(holdings)] or BLUE},
        hovertemplate="%{x}<br>%{text}<extra></extra>", name="kapitaal"),
        layout=house_layout("Aandelen per soort", yaxis=EURO_AXIS))
    return empty_note(figure, not holdings)


def top_municipalities(rows: Sequence[tuple[str | None, int]]) -> go.Figure:
    """Municipalities with the most members, largest on top."""
    ordered = list(reversed(rows))
    figure = go.Figure(go.Bar(y=[labels.municipality(code) for code, _ in ordered], x=[n for _, n in ordered],
                              orientation="h", marker={"color": TEAL}, text=[labels.number(n) for _, n in ordered],
                              textposition="auto", hovertemplate="%{y}: %{x:,d} leden<extra></extra>", name="leden"),
                       layout=house_layout("Gemeenten met de meeste leden", xaxis={"title": "leden"},
                                      height=max(260, 60 + 28 * len(rows))))
    return empty_note(figure, not rows)


# -- subscriptions ----------------------------------------------------------------------------------------


def subscriptions_by_tier(counts: dict[tuple[str, str], int], tier_names: dict[str, str]) -> go.Figure:
    """Subscriptions per tier, stacked by their status on the chosen date."""
    tiers = sorted({tier for tier, _ in counts}, key=lambda t: tier_names.get(t, t))
    colours = {"active": GREEN, "past_due": ORANGE, "pending": YELLOW, "lapsed": SLATE, "canceled": PLUM}
    traces = [go.Bar(name=labels.SUBSCRIPTION_STATUSES[status], x=[tier_names.get(t, t) for t in tiers],
                     y=[counts.get((t, status), 0) for t in tiers], marker={"color": colours[status]},
                     hovertemplate="%{x}<br>%{fullData.name}: %{y:,d}<extra></extra>")
              for status in labels.SUBSCRIPTION_STATUSES if any(counts.get((t, status)) for t in tiers)]
    figure = go.Figure(traces, layout=house_layout("Abonnementen per niveau en status", barmode="stack",
                                              yaxis={"title": "abonnementen"}))
    return empty_note(figure, not traces)


def recurring_revenue(series: Series, tier_names: dict[str, str]) -> go.Figure:
    """Yearly recurring revenue of the active subscriptions at each month's end, stacked by tier."""
    figure = go.Figure(_time_traces(series, tier_names, money=True, bucket=labels.month, kind="area"),
                       layout=house_layout("Jaarlijks terugkerende contributie (incl. btw)", yaxis=EURO_AXIS))
    return empty_note(figure, not any(any(v) for v in series.groups.values()))


def renewals_and_lapses(series: Series) -> go.Figure:
    """Renewals paid against subscriptions that lapsed or were cancelled, per month."""
    figure = go.Figure(_time_traces(series, labels.SERIES, money=False, bucket=labels.month, kind="bar",
                                    groups=["renewed", "lapsed", "canceled"],
                                    colours={"renewed": GREEN, "lapsed": RED, "canceled": PLUM}),
                       layout=house_layout("Verlengingen en vervallen abonnementen per maand", barmode="group",
                                      yaxis={"title": "abonnementen"}))
    return empty_note(figure, not any(series.total(g) for g in ("renewed", "lapsed", "canceled")))


def invoiced_by_provider(series: Series) -> go.Figure:
    """Subscription revenue invoiced (excluding VAT) per month, stacked by how members pay."""
    figure = go.Figure(_time_traces(series, labels.PROVIDERS, money=True, bucket=labels.month, kind="bar"),
                       layout=house_layout("Gefactureerde contributie per betaalwijze (excl. btw)", barmode="relative",
                                      yaxis=EURO_AXIS))
    return empty_note(figure, not series.groups)


# -- crowdfunding and gift funds --------------------------------------------------------------------------

NODE_COLOURS = {"Leden": BLUE, "Bedrijven en organisaties": PLUM, "Bewoners": ORANGE, "Fondsen": TEAL,
                "Terugbetaald": RED, "Terug naar fonds": SLATE}


def money_flows(links: Sequence[Link], title: str = "Geldstromen") -> go.Figure:
    """A Sankey: payers -> what they paid for -> where the money is now."""
    nodes = list(dict.fromkeys([name for link in links for name in (link.source, link.target)]))
    index = {name: position for position, name in enumerate(nodes)}
    figure = go.Figure(go.Sankey(
        valueformat=",.2f", valuesuffix="", arrangement="snap",
        node={"label": nodes, "pad": 16, "thickness": 16, "color": [NODE_COLOURS.get(n, SAND) for n in nodes],
              "hovertemplate": "%{label}<extra></extra>"},
        link={"source": [index[link.source] for link in links], "target": [index[link.target] for link in links],
              "value": _euros([link.cents for link in links]),
              "customdata": [labels.euros(link.cents) for link in links],
              "hovertemplate": "%{source.label} → %{target.label}: %{customdata}<extra></extra>",
              "color": "rgba(141, 153, 174, 0.35)"}),
        layout=house_layout(title, height=460))
    return empty_note(figure, not links)


def project_progress(projects: Sequence[ProjectProgress]) -> go.Figure:
    """Live projects against their goals: money and hours as a share of the goal (100% is the goal)."""
    ordered = list(reversed(projects))
    names = [p.title for p in ordered]

    def share(part: int, goal: int) -> Decimal:
        return (Decimal(part) * 100 / goal).quantize(Decimal("0.1")) if goal else Decimal(0)

    money = go.Bar(name="Geld", y=names, x=[share(p.raised_cents, p.goal_cents) for p in ordered], orientation="h",
                   marker={"color": ORANGE},
                   customdata=[f"{labels.euros(p.raised_cents)} van {labels.euros(p.goal_cents)}"
                               if p.goal_cents else "geen geldoel" for p in ordered],
                   hovertemplate="%{y}<br>Geld: %{customdata} (%{x:,.1f}%)<extra></extra>")
    time = go.Bar(name="Uren", y=names, x=[share(p.minutes_confirmed, p.goal_minutes) for p in ordered],
                  orientation="h", marker={"color": TEAL},
                  customdata=[f"{labels.hours(p.minutes_confirmed)} van {labels.hours(p.goal_minutes)}"
                              if p.goal_minutes else "geen urendoel" for p in ordered],
                  hovertemplate="%{y}<br>Uren bevestigd: %{customdata} (%{x:,.1f}%)<extra></extra>")
    figure = go.Figure([money, time], layout=house_layout(
        "Voortgang lopende projecten", barmode="group", height=max(280, 80 + 46 * len(projects)),
        xaxis={"title": "% van het doel", "ticksuffix": "%", "rangemode": "tozero"}))
    figure.add_vline(x=100, line={"color": BLUE, "dash": "dot", "width": 1})
    return empty_note(figure, not projects, "Geen lopende projecten")


def pledges_per_week(series: Series) -> go.Figure:
    """Pledges per week, stacked by what was pledged."""
    groups = [kind for kind in labels.PLEDGE_KINDS if kind in series.groups]
    figure = go.Figure(_time_traces(series, labels.PLEDGE_KINDS, money=False, bucket=labels.week, kind="bar",
                                    groups=groups, colours={"money": ORANGE, "time": TEAL, "materials": SAND}),
                       layout=house_layout("Toezeggingen per week", barmode="stack", yaxis={"title": "toezeggingen"}))
    return empty_note(figure, not groups)


def success_rates(rows: Sequence[tuple[str, int, int]], *, by: str) -> go.Figure:
    """Share of campaigns that reached their goal, per theme or municipality, with the counts beside it."""
    name = {"theme": lambda key: labels.label(labels.THEMES, key), "municipality": labels.municipality}[by]
    ordered = sorted(rows, key=lambda row: name(row[0]))
    rates = [Decimal(won * 100) / (won + lost) if won + lost else Decimal(0) for _, won, lost in ordered]
    figure = go.Figure(go.Bar(
        x=[name(key) for key, _, _ in ordered], y=[rate.quantize(Decimal("0.1")) for rate in rates],
        text=[f"{won} van {won + lost}" for _, won, lost in ordered], textposition="outside", marker={"color": GREEN},
        hovertemplate="%{x}: %{y:,.1f}% geslaagd (%{text})<extra></extra>", name="geslaagd"),
        layout=house_layout(f"Geslaagde campagnes per {'thema' if by == 'theme' else 'gemeente'}",
                       yaxis={"title": "% geslaagd", "range": [0, 115], "ticksuffix": "%"}))
    return empty_note(figure, not rows, "Geen afgesloten campagnes in deze periode")


def hours_pledged_and_delivered(series: Series) -> go.Figure:
    """Volunteer hours pledged against hours delivered, per month."""
    x = [labels.month(key) for key in series.buckets]
    traces = [go.Bar(name=labels.SERIES[group], x=x, y=[Decimal(m) / 60 for m in series.groups.get(group, ())],
                     customdata=[labels.hours(m) for m in series.groups.get(group, ())],
                     marker={"color": colour}, hovertemplate="%{x}<br>%{fullData.name}: %{customdata}<extra></extra>")
              for group, colour in (("pledged", SAND), ("delivered", TEAL)) if group in series.groups]
    figure = go.Figure(traces, layout=house_layout("Uren toegezegd en geleverd per maand", barmode="group",
                                              yaxis={"title": "uren", "tickformat": ",.0f"}))
    return empty_note(figure, not traces)


def fund_balances(funds: Sequence[FundBalance]) -> go.Figure:
    """Each fund's money: available to give, and reserved for projects that have not closed."""
    ordered = list(reversed(funds))
    names = [fund.name for fund in ordered]
    traces = [go.Bar(name=title, y=names, x=_euros([getattr(f, attribute) for f in ordered]), orientation="h",
                     marker={"color": colour}, customdata=[labels.euros(getattr(f, attribute)) for f in ordered],
                     hovertemplate="%{y}<br>%{fullData.name}: %{customdata}<extra></extra>")
              for title, attribute, colour in (("Beschikbaar", "available_cents", TEAL),
                                               ("Gereserveerd voor projecten", "reserved_cents", SAND))]
    figure = go.Figure(traces, layout=house_layout("Fondsen: beschikbaar en gereserveerd", barmode="stack",
                                              xaxis=EURO_AXIS, height=max(260, 90 + 40 * len(funds))))
    return empty_note(figure, not funds, "Nog geen fondsen")


# -- the books --------------------------------------------------------------------------------------------


def _closing(row: TrialBalanceRow) -> int:
    """The closing balance on the account's normal side (positive when normal)."""
    return row.balance_cents if row.type in ("asset", "expense") else -row.balance_cents


def balance_sheet(books: TrialBalance) -> go.Figure:
    """Assets against equity and liabilities at the period's end; the result so far closes the equity side."""
    traces = []
    for row in books.accounts:
        if row.type not in ("asset", "liability", "equity") or row.balance_cents == 0:
            continue
        side = "Activa" if row.type == "asset" else "Passiva"
        name = labels.account(row.code, row.name)
        traces.append(go.Bar(name=name, x=[side], y=_euros([_closing(row)]), customdata=[labels.euros(_closing(row))],
                             hovertemplate=f"{escape(name)}: %{{customdata}}<extra></extra>"))
    retained = sum(_closing(r) if r.type == "revenue" else -_closing(r)
                   for r in books.accounts if r.type in ("revenue", "expense"))
    if retained:
        traces.append(go.Bar(name="Resultaat (opbrengsten min kosten)", x=["Passiva"], y=_euros([retained]),
                             customdata=[labels.euros(retained)], marker={"color": GREEN},
                             hovertemplate="Resultaat: %{customdata}<extra></extra>"))
    figure = go.Figure(traces, layout=house_layout(f"Balans per {labels.day(books.end)}", barmode="relative",
                                              yaxis=EURO_AXIS, height=480, legend={"orientation": "v", "y": 1},
                                              xaxis={"categoryorder": "array", "categoryarray": ["Activa", "Passiva"]}))
    return empty_note(figure, not traces, "Nog geen boekingen")


def income_overview(books: TrialBalance) -> go.Figure:
    """Revenue and expenses booked in the period, per account, with the result."""
    rows = [r for r in books.accounts if r.type in ("revenue", "expense") and (r.debit_cents or r.credit_cents)]
    amounts = [(r.credit_cents - r.debit_cents) for r in rows]
    result = sum(amounts)
    names = [labels.account(r.code, r.name) for r in rows] + ["Resultaat"]
    values = [*amounts, result]
    figure = go.Figure(go.Bar(
        x=names, y=_euros(values), customdata=[labels.euros(v) for v in values],
        text=[labels.euros(v) for v in values], textposition="auto",
        marker={"color": [GREEN if r.type == "revenue" else RED for r in rows] + [BLUE]},
        hovertemplate="%{x}: %{customdata}<extra></extra>", name="resultaat"),
        layout=house_layout(f"Opbrengsten en kosten {labels.day(books.start)} – {labels.day(books.end)}",
                       yaxis=EURO_AXIS))
    return empty_note(figure, not rows, "Geen opbrengsten of kosten in deze periode")


def cash_over_time(series: Series, books: TrialBalance) -> go.Figure:
    """Money at each payment provider and at the bank at each month's end (named as in the books)."""
    names = {row.code: labels.account(row.code, row.name) for row in books.accounts}
    figure = go.Figure(_time_traces(series, names, money=True, bucket=labels.month, kind="line"),
                       layout=house_layout("Geld per betaalrekening", yaxis=EURO_AXIS))
    return empty_note(figure, not series.groups)


def refunds_and_chargebacks(series: Series) -> go.Figure:
    """Money that went back to payers per month: refunds and chargebacks."""
    figure = go.Figure(_time_traces(series, labels.SERIES, money=True, bucket=labels.month, kind="bar",
                                    groups=["refunds", "chargebacks"],
                                    colours={"refunds": SAND, "chargebacks": RED}),
                       layout=house_layout("Terugbetalingen en storneringen per maand", barmode="group",
                                      yaxis=EURO_AXIS))
    return empty_note(figure, not series.total("refunds") and not series.total("chargebacks"))


# -- HTML: key figures and tables -------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyFigure:
    """One number in the row at the top of a page; `key` and `value` let tests and scripts read it back."""

    key: str
    title: str
    text: str
    value: int
    note: str = ""


def key_figures(figures: Sequence[KeyFigure]) -> str:
    """A row of tiles with the page's headline numbers."""
    tiles = "".join(
        f'<div class="kracht-kpi" data-kpi="{escape(f.key)}" data-value="{f.value}" style="flex:1 1 160px;'
        f'padding:10px 14px;border-radius:8px;background:#f4f6f9;border-left:5px solid {ORANGE}">'
        f'<div style="font-size:12px;color:#555">{escape(f.title)}</div>'
        f'<div class="kracht-kpi-value" style="font-size:22px;font-weight:600;color:{BLUE}">{escape(f.text)}</div>'
        + (f'<div style="font-size:11px;color:#777">{escape(f.note)}</div>' if f.note else "") + "</div>"
        for f in figures)
    return f'<div style="display:flex;flex-wrap:wrap;gap:10px;font-family:{FONT}">{tiles}</div>'


def html_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]], *, key: str,
               numeric: Sequence[int] = (), empty: str = "Niets te melden.") -> str:
    """An accessible HTML table (caption, header cells); every value is escaped."""
    def cell(tag: str, text: str, position: int) -> str:
        align = "right" if position in numeric else "left"
        return f'<{tag} style="text-align:{align};padding:4px 10px;border-bottom:1px solid #ddd">{escape(text)}</{tag}>'

    head = "".join(cell("th", h, i) for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(cell("td", value, i) for i, value in enumerate(row)) + "</tr>" for row in rows)
    caption = (f'<caption style="text-align:left;font-size:17px;color:{BLUE};padding:6px 0">{escape(title)}'
               f'</caption>')
    if not rows:
        return (f'<table class="kracht-table" data-table="{escape(key)}" data-rows="0" style="font-family:{FONT}">'
                f'{caption}</table><p style="font-family:{FONT};color:#555">{escape(empty)}</p>')
    return (f'<table class="kracht-table" data-table="{escape(key)}" data-rows="{len(rows)}" '
            f'style="border-collapse:collapse;font-family:{FONT};font-size:13px">{caption}<thead><tr>{head}</tr>'
            f'</thead><tbody>{body}</tbody></table>')


def past_due_table(rows: Sequence[PastDue], tier_names: dict[str, str]) -> str:
    """The board's list of members whose renewal is unpaid, longest overdue first."""
    return html_table(
        "Achterstallige contributie", ["Lidnummer", "Naam", "Niveau", "Betaalwijze", "Vervallen op",
                                       "Dagen te laat", "Bedrag"],
        [[str(r.member_number or "–"), r.name, tier_names.get(r.tier, r.tier), labels.label(labels.PROVIDERS,
                                                                                           r.provider),
          labels.day(r.due_on), labels.number(r.days_overdue), labels.euros(r.amount_cents)] for r in rows],
        key="past_due", numeric=(0, 5, 6), empty="Geen achterstallige contributie op deze datum.")

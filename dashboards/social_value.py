"""The "Maatschappelijke waarde" page: the index per theme, the ranking with peer quartiles, and a drill-down whose
sliders recompute a project's statement through the what-if function (nothing is stored).

Everything is read through `funding.social_value`, so the page shows exactly what the API and the year-end pack
show: present values in cents rounded once per line, ratios rounded half to even.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from fractions import Fraction
from html import escape
from typing import Any

import ipywidgets as W
import plotly.graph_objects as go
import traitlets
from babel.numbers import format_decimal
from sqlmodel import Session

from dashboards import labels
from dashboards.figures import BLUE, COLOURS, FONT, KeyFigure, empty_note, house_layout, html_table
from dashboards.figures import key_figures as key_figure_tiles
from dashboards.page import View
from dashboards.queries import Period, Selection
from funding.social_value.schemas import IndexPublic, Overrides, SimulateIn, SocialValuePublic
from funding.social_value.series import social_value_indexes
from funding.social_value.valuing import valued_projects
from funding.social_value.views import Ranked, project_social_value, ranking, simulate

ALL_THEMES = "Alle thema's"


def ranked(session: Session, at: date, selection: Selection) -> list[Ranked]:
    """Projects valued on the date, ranked; peers are always all the theme's projects elsewhere, the filters only
    choose which rows are shown."""
    rows = ranking(valued_projects(session, at=at))
    return [row for row in rows
            if (selection.theme is None or row.value.project.theme == selection.theme)
            and (selection.municipality_code is None
                 or row.value.project.municipality_code == selection.municipality_code)]


def ratio_text(value: float | Fraction | Decimal | None) -> str:
    """`1,80`, or a dash when nothing went in."""
    if value is None:
        return "–"
    return format_decimal(Decimal(round(Fraction(value) * 100)) / 100, format="#,##0.00", locale=labels.LOCALE)


def key_figures(session: Session, period: Period, selection: Selection) -> str:
    """Social value verified by the period's end, the overall ratio, avoided public cost and verified outcomes."""
    rows = ranked(session, period.end, selection)
    present = sum(row.value.result.present_value_cents for row in rows)
    inputs = sum(row.value.result.inputs_cents for row in rows)
    ratio = Fraction(present, inputs) if inputs else None
    avoided = sum(line.present_value_cents for row in rows
                  for found, line in zip(row.value.valued, row.value.result.lines, strict=True)
                  if found.kind.avoided_public_cost)
    outcomes = sum(len(row.value.result.lines) for row in rows)
    return key_figure_tiles([
        KeyFigure("social_value", f"Maatschappelijke waarde op {labels.day(period.end)}", labels.euros(present),
                  present, "contante waarde van geverifieerde uitkomsten"),
        KeyFigure("sroi", "Maatschappelijk rendement (SROI)", ratio_text(ratio),
                  round(ratio * 100) if ratio is not None else 0, "waarde per euro inbreng"),
        KeyFigure("avoided_public_cost", "Vermeden publieke kosten", labels.euros(avoided), avoided),
        KeyFigure("verified_outcomes", "Geverifieerde uitkomsten", labels.number(outcomes), outcomes)])


def index_figure(indexes: dict[str | None, IndexPublic], theme: str | None = None) -> go.Figure:
    """The maatschappelijke AEX: one line for all themes and one per theme (or the chosen one), 100 in each
    line's first month with verified value."""
    figure = go.Figure(layout=house_layout("Maatschappelijke AEX (index, eerste maand = 100)",
                                           yaxis={"tickformat": ",.0f"}))
    shown = [key for key in indexes if key is not None and (theme is None or key == theme)]
    for position, key in enumerate([None, *sorted(shown)]):
        index = indexes.get(key)
        if index is None or not index.points:
            continue
        figure.add_trace(go.Scatter(
            x=[labels.month(point.month) for point in index.points], y=[point.level for point in index.points],
            name=ALL_THEMES if key is None else labels.label(labels.THEMES, key), mode="lines",
            line={"width": 3 if key is None else 1.5,
                  "color": BLUE if key is None else COLOURS[position % len(COLOURS)]},
            customdata=[labels.euros(point.social_value_cents) for point in index.points],
            hovertemplate="%{x}<br>%{fullData.name}: %{y:,.2f}<br>geverifieerd: %{customdata}<extra></extra>"))
    return empty_note(figure, not figure.data, "Nog geen geverifieerde uitkomsten")


def index_section(view: View) -> go.Figure:
    """The index over the chosen period (its level is relative to each line's first month ever)."""
    theme = view.selection.theme.value if view.selection.theme else None
    return index_figure(social_value_indexes(view.session, start=view.period.start, end=view.period.end), theme)


def ranking_table(rows: Sequence[Ranked]) -> str:
    """Projects by SROI ratio with where they stand among their peers (same theme, other municipalities)."""
    return html_table(
        "Ranglijst: maatschappelijk rendement en vergelijkbare projecten",
        ["#", "Project", "Gemeente", "Thema", "Inbreng", "Waarde", "SROI", "Peers", "P25", "Mediaan", "P75",
         "Percentiel"],
        [[str(position), row.value.project.title, labels.municipality(row.value.project.municipality_code),
          labels.label(labels.THEMES, row.value.project.theme), labels.euros(row.value.result.inputs_cents),
          labels.euros(row.value.result.present_value_cents), ratio_text(row.value.result.ratio),
          labels.number(row.peers.count), ratio_text(row.peers.p25_ratio), ratio_text(row.peers.median_ratio),
          ratio_text(row.peers.p75_ratio),
          "–" if row.peers.percentile is None else f"{format_decimal(row.peers.percentile, locale=labels.LOCALE)}"]
         for position, row in enumerate(rows, start=1)],
        key="ranking", numeric=(0, 4, 5, 6, 7, 8, 9, 10, 11),
        empty="Nog geen projecten met geverifieerde uitkomsten op deze datum.")


def ranking_section(view: View) -> str:
    """The ranking on the period's last day."""
    return ranking_table(ranked(view.session, view.at, view.selection))


class WhatIf(W.VBox):
    """The drill-down: a project and sliders for deadweight, attribution, hour rate and discount rate.

    The sliders start at the assumptions the project's statement uses (the first line's, for factors that apply
    to every line); one that is moved becomes an override for the what-if function. `value` is bumped whenever
    the section should redraw, which is what the page listens to.
    """

    value = traitlets.Int(0)

    def __init__(self) -> None:
        style, layout = {"description_width": "initial"}, W.Layout(width="340px")
        self.project = W.Dropdown(description="Project", options=[], style=style, layout=W.Layout(width="auto"))
        self.deadweight = W.IntSlider(description="Deadweight (%)", min=0, max=100, style=style, layout=layout,
                                      continuous_update=False)
        self.attribution = W.IntSlider(description="Attributie (%)", min=0, max=100, style=style, layout=layout,
                                       continuous_update=False)
        self.hour_rate = W.SelectionSlider(description="Uurtarief vrijwilligers",
                                           options=[(labels.euros(cents), cents) for cents in range(0, 5_001, 50)],
                                           style=style, layout=layout, continuous_update=False)
        self.discount = W.SelectionSlider(
            description="Discontovoet", style=style, layout=layout, continuous_update=False,
            options=[(f"{format_decimal(Decimal(bp) / 100, format='0.00', locale=labels.LOCALE)} %", bp)
                     for bp in range(0, 1_001, 25)])
        self.sliders = (self.deadweight, self.attribution, self.hour_rate, self.discount)
        self._start: dict[str, int] = {}  # the sliders' values for the chosen project's own statement
        self._for: tuple[str, date] | None = None  # the project and date the sliders started at
        self._quiet = False
        super().__init__([self.project, W.HBox(list(self.sliders), layout=W.Layout(flex_flow="row wrap"))])
        for widget in (self.project, *self.sliders):
            widget.observe(self._changed, names="value")

    def _changed(self, _change: Any) -> None:
        """A choice of the reader: redraw (unless the drill-down is setting its own widgets)."""
        if not self._quiet:
            self.value += 1

    def _choose_projects(self, rows: Sequence[Ranked]) -> None:
        """Offer the ranked projects, keeping the chosen one when it is still there."""
        options = [(f"{row.value.project.title} ({labels.municipality(row.value.project.municipality_code)})",
                    str(row.value.project.id)) for row in rows]
        if list(self.project.options) != options:
            chosen = self.project.value
            self._quiet = True
            try:
                self.project.options = options
                self.project.value = chosen if chosen in [value for _, value in options] else (
                    options[0][1] if options else None)
            finally:
                self._quiet = False

    def _start_at(self, statement: SocialValuePublic, at: date) -> None:
        """Put the sliders where the project's own statement stands."""
        first = statement.lines[0].assumptions if statement.lines else None
        start = {"deadweight": first.deadweight_bp // 100 if first else 0,
                 "attribution": first.attribution_bp // 100 if first else 0,
                 "hour_rate": min(statement.inputs.hour_rate_cents // 50 * 50, 5_000),
                 "discount": min(statement.discount_rate_bp // 25 * 25, 1_000)}
        self._quiet = True
        try:
            for name, value in start.items():
                getattr(self, name).value = value
        finally:
            self._quiet = False
        self._start, self._for = start, (str(statement.project_id), at)

    def overrides(self) -> Overrides:
        """The sliders the reader moved, as what-if overrides."""
        moved = {name: getattr(self, name).value for name in ("deadweight", "attribution", "hour_rate", "discount")
                 if getattr(self, name).value != self._start.get(name)}
        return Overrides(deadweight_bp=moved["deadweight"] * 100 if "deadweight" in moved else None,
                         attribution_bp=moved["attribution"] * 100 if "attribution" in moved else None,
                         hour_rate_cents=moved.get("hour_rate"), discount_rate_bp=moved.get("discount"))

    def draw(self, view: View) -> str:
        """The chosen project's statement as it stands and with the sliders' assumptions."""
        rows = ranked(view.session, view.at, view.selection)
        self._choose_projects(rows)
        if not self.project.value:
            return '<p class="kracht-whatif-empty">Kies een periode of filter met geverifieerde uitkomsten.</p>'
        project_id = uuid.UUID(self.project.value)
        own = project_social_value(view.session, project_id=project_id, at=view.at, viewer=None)
        if self._for != (self.project.value, view.at):  # another project, or other versions in force
            self._start_at(own, view.at)
        what_if = simulate(view.session, viewer=None,
                           data=SimulateIn(project_id=project_id, at=view.at, overrides=self.overrides()))
        return what_if_html(own, what_if)


def what_if_html(own: SocialValuePublic, what_if: SocialValuePublic) -> str:
    """The ratio with the sliders' assumptions beside the catalogue's, and every line with what it used."""
    lines = html_table(
        "Uitkomsten met de gekozen aannames",
        ["Uitkomst", "Aantal", "Bruto", "Netto", "Contante waarde", "Deadweight", "Attributie", "Jaren",
         "Afname", "Bron"],
        [[line.name, format_decimal(line.quantity, locale=labels.LOCALE), labels.euros(line.value_cents),
          labels.euros(line.net_cents), labels.euros(line.present_value_cents),
          f"{format_decimal(Decimal(line.assumptions.deadweight_bp) / 100, locale=labels.LOCALE)} %",
          f"{format_decimal(Decimal(line.assumptions.attribution_bp) / 100, locale=labels.LOCALE)} %",
          str(line.assumptions.duration_years),
          f"{format_decimal(Decimal(line.assumptions.drop_off_bp) / 100, locale=labels.LOCALE)} %",
          line.assumptions.source] for line in what_if.lines],
        key="what_if_lines", numeric=(1, 2, 3, 4, 5, 6, 7, 8))
    percentile = what_if.peers.percentile
    standing = ("" if percentile is None else
                f" · percentiel {format_decimal(percentile, locale=labels.LOCALE)} van {what_if.peers.count} "
                f"vergelijkbare projecten")
    return (f'<div class="kracht-whatif" data-ratio="{escape(str(what_if.sroi_ratio))}" '
            f'data-own-ratio="{escape(str(own.sroi_ratio))}" style="font-family:{FONT}">'
            f'<p style="font-size:22px;font-weight:600;color:{BLUE};margin:6px 0">SROI '
            f'<span class="kracht-whatif-ratio">{ratio_text(what_if.sroi_ratio)}</span>'
            f'<span style="font-size:13px;font-weight:400;color:#555"> (met de aannames van de catalogus: '
            f'{ratio_text(own.sroi_ratio)}){escape(standing)}</span></p>'
            f'<p style="color:#555;margin:0 0 6px">Inbreng {labels.euros(what_if.inputs_cents)} '
            f'(waarvan uren {labels.euros(what_if.inputs.hours_cents)}) · waarde '
            f'{labels.euros(what_if.present_value_cents)} · niets wordt opgeslagen</p>{lines}</div>')

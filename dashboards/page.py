"""The plumbing every dashboard page shares: the toolbar, reading the query string, and redrawing.

A notebook makes a `Dashboard`, adds its sections (each a function from a `View` to a Plotly
figure or an HTML string, built from `dashboards.queries` and `dashboards.figures`) and calls
`show()`. Every drawing reads one consistent snapshot through a read-only engine. In Voilà the browser
starts each one (its visit, a widget change, the "Vernieuwen" button, or the auto-refresh timer),
because Voilà only shows output that answers a message from the page itself; run elsewhere (nbclient),
`show()` draws at once.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from html import escape
from typing import Any
from urllib.parse import parse_qs

import anywidget
import ipywidgets as W
import plotly.graph_objects as go
import plotly.io as pio
import traitlets
from IPython.display import clear_output, display
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from coop.core.clock import AMSTERDAM, today_amsterdam, utc_now
from coop.core.db import make_reader_engine
from coop.core.settings import Settings, get_settings
from coop.ledger.models import JournalEntry
from coop.ledger.schemas import TrialBalance
from coop.members.models import MemberKind
from coop.subscriptions.queries import list_tiers
from dashboards import labels
from dashboards.queries import Period, Selection, books, municipalities_in_use
from funding.funds import matching  # noqa: F401  (project progress counts matched and granted money)
from funding.projects.models import Theme

pio.renderers.default = "plotly_mimetype"  # offline: drawn by the jupyterlab-plotly extension Voilà serves
log = logging.getLogger("kracht.dashboards")

FILTERS = ("kind", "municipality", "theme")
ALL = ""  # the value of "all" in a filter (a Dropdown shows None as nothing chosen)
PRESETS = {"12m": "Laatste 12 maanden", "jaar": "Dit jaar", "vorigjaar": "Vorig jaar", "3j": "Laatste 3 jaar",
           "alles": "Alles", "zelf": "Zelf gekozen"}
MIN_INTERVAL, MAX_INTERVAL = 5, 3600  # seconds a link may ask for (`?vernieuwen=`)
INTERVALS = ((0, "uit"), (30, "elke 30 seconden"), (60, "elke minuut"), (300, "elke 5 minuten"),
             (900, "elke 15 minuten"))


@dataclass
class View:
    """What one redraw reads: the snapshot, the chosen period and filters, and the settings they need."""

    session: Session
    period: Period
    selection: Selection
    settings: Settings

    @property
    def at(self) -> date:
        """The date the "as of" charts show: the period's last day."""
        return self.period.end

    @property
    def books(self) -> TrialBalance:
        """The period's trial balance (read once per redraw however many sections show it: `per_snapshot`)."""
        return books(self.session, self.period)

    @cached_property
    def tier_names(self) -> dict[str, str]:
        """Tier codes to the names the board gave them."""
        return {tier.code: tier.name for tier in list_tiers(self.session)}


Draw = Callable[[View], "go.Figure | str"]


@dataclass
class Section:
    """One chart or block of HTML, redrawn into its own output area; its own controls (a widget whose `value`
    changes when the section should redraw, as the what-if sliders) redraw only this section."""

    draw: Draw
    wide: bool
    controls: W.Widget | None = None
    output: W.Output = field(default_factory=W.Output)
    failed: bool = False  # at its last drawing


class Browser(anywidget.AnyWidget):
    """The page's browser as the kernel sees it: the query string it opened the page with, and a timer.

    On showing the page the browser sends `location.search` and bumps `visits`, so the page applies the
    link's choices and draws what the database holds at that moment. Every `interval_ms` (0: never) it
    bumps `ticks`, which the page answers with a redraw.
    """

    _esm = """
    function render({ model }) {
      model.set("query", window.location.search.replace(/^[?]/, ""));
      model.set("visits", model.get("visits") + 1);
      model.save_changes();
      let timer = null;
      const arm = () => {
        if (timer) { clearInterval(timer); timer = null; }
        const ms = model.get("interval_ms");
        const tick = () => { model.set("ticks", model.get("ticks") + 1); model.save_changes(); };
        if (ms > 0) timer = setInterval(tick, ms);
      };
      model.on("change:interval_ms", arm);
      arm();
      return () => { if (timer) clearInterval(timer); };
    }
    export default { render };
    """
    query = traitlets.Unicode("").tag(sync=True)
    visits = traitlets.Int(0).tag(sync=True)
    interval_ms = traitlets.Int(0).tag(sync=True)
    ticks = traitlets.Int(0).tag(sync=True)


def _months_back(today: date, months: int) -> date:
    """The first day of the month `months` months before today's month."""
    index = today.year * 12 + today.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def preset_period(key: str, *, today: date, first_day: date | None) -> Period:
    """The period a preset stands for: whole months up to today, or last calendar year."""
    if key == "jaar":
        return Period(date(today.year, 1, 1), today)
    if key == "vorigjaar":
        return Period(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))
    if key == "3j":
        return Period(_months_back(today, 35), today)
    if key == "alles":
        return Period(min(first_day or today, today), today)
    return Period(_months_back(today, 11), today)


def parse_query(query: str | None) -> dict[str, str]:
    """The page's query string (`?van=2026-01-01&soort=person`), last value per name; user input, only filters."""
    return {name: values[-1] for name, values in parse_qs(query or "", keep_blank_values=False).items()}


def _as_date(text: str | None) -> date | None:
    """A query-string date, or None when absent or malformed."""
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


class Dashboard:
    """A page: a title, a toolbar (period, filters, refresh, auto-refresh) and sections drawn from one snapshot."""

    def __init__(self, title: str, *, filters: Sequence[str] = (), intro: str = "",
                 engine: Engine | None = None) -> None:
        unknown = set(filters) - set(FILTERS)
        if unknown:
            raise ValueError(f"unknown filters: {sorted(unknown)}")
        self.title, self.intro, self.filters = title, intro, tuple(filters)
        self.settings = get_settings()
        self.engine = engine or make_reader_engine(self.settings.dashboard_database_url or self.settings.database_url)
        self.sections: list[Section] = []
        self._quiet = False
        layout, style = W.Layout(width="auto"), {"description_width": "initial"}
        self.preset = W.Dropdown(options=[(text, key) for key, text in PRESETS.items()], value="12m",
                                 description="Periode", layout=layout, style=style)
        self.start = W.DatePicker(description="Van", layout=layout, style=style)
        self.end = W.DatePicker(description="Tot en met", layout=layout, style=style)
        self.kind = W.Dropdown(options=[("Alle soorten", ALL), *((labels.MEMBER_KINDS[k.value], k.value)
                                                                  for k in MemberKind)],
                               description="Soort lid", layout=layout, style=style)
        self.municipality = W.Dropdown(options=[("Alle gemeenten", ALL)], description="Gemeente", layout=layout,
                                       style=style)
        self.theme = W.Dropdown(options=[("Alle thema's", ALL), *((labels.THEMES[t.value], t.value) for t in Theme)],
                                description="Thema", layout=layout, style=style)
        self.refresh_button = W.Button(description="Vernieuwen", button_style="primary", tooltip="Nu opnieuw lezen")
        self.interval = W.Dropdown(options=[(text, seconds) for seconds, text in INTERVALS], value=0,
                                   description="Automatisch vernieuwen", layout=layout,
                                   style=style)
        self.browser = Browser(layout=W.Layout(display="none"))
        self.status = W.HTML()

    def add(self, draw: Draw, *, wide: bool = True, controls: W.Widget | None = None) -> None:
        """A section (full width, or half when not `wide`), drawn in the order added, with its own controls."""
        self.sections.append(Section(draw=draw, wide=wide, controls=controls))

    # -- reading the choices --------------------------------------------------------------------------------

    @property
    def period(self) -> Period:
        """The chosen period (an empty or reversed choice falls back to the last twelve months)."""
        start, end = self.start.value, self.end.value
        if isinstance(start, date) and isinstance(end, date) and start <= end:
            return Period(start, end)
        return preset_period("12m", today=today_amsterdam(), first_day=None)

    @property
    def selection(self) -> Selection:
        """The chosen filters (those the page offers)."""
        return Selection(kind=MemberKind(self.kind.value) if "kind" in self.filters and self.kind.value else None,
                         municipality_code=self.municipality.value or None if "municipality" in self.filters
                         else None,
                         theme=Theme(self.theme.value) if "theme" in self.filters and self.theme.value else None)

    def _first_day(self) -> date | None:
        """The first booking date: where "Alles" starts."""
        with Session(self.engine) as session:
            first = session.execute(select(func.min(JournalEntry.booked_on))).scalar()
        return date.fromisoformat(first) if isinstance(first, str) else first

    @contextmanager
    def _quietly(self) -> Iterator[None]:
        """Change widgets without each change redrawing the page."""
        self._quiet = True
        try:
            yield
        finally:
            self._quiet = False

    def _set_dates(self, preset: str) -> None:
        """Both dates from a preset ("zelf gekozen" keeps them)."""
        if preset != "zelf":
            first = self._first_day() if preset == "alles" else None
            period = preset_period(preset, today=today_amsterdam(), first_day=first)
            self.start.value, self.end.value = period.start, period.end

    def apply_query(self, query: dict[str, str]) -> None:
        """Take the choices a link carries (`periode`, `van`, `tot`, `soort`, `gemeente`, `thema`, `vernieuwen`);
        values that are not among the options are ignored."""
        preset = query["periode"] if query.get("periode") in PRESETS else "12m"
        self._set_dates("12m" if preset == "zelf" else preset)
        self.preset.value = preset
        start, end = _as_date(query.get("van")), _as_date(query.get("tot"))
        if start or end:
            self.start.value, self.end.value = start or self.start.value, end or self.end.value
            self.preset.value = "zelf"
        for name, widget in (("soort", self.kind), ("gemeente", self.municipality), ("thema", self.theme)):
            wanted = query.get(name)
            if wanted and wanted in [value for _, value in widget.options]:
                widget.value = wanted
        seconds = query.get("vernieuwen", "")
        if seconds.isdigit() and MIN_INTERVAL <= int(seconds) <= MAX_INTERVAL:
            if int(seconds) not in [value for _, value in self.interval.options]:  # a wall screen's own pace
                self.interval.options = [*self.interval.options, (f"elke {int(seconds)} seconden", int(seconds))]
            self.interval.value = int(seconds)
            self.browser.interval_ms = int(seconds) * 1000

    # -- drawing ----------------------------------------------------------------------------------------------

    def refresh(self, _change: Any = None) -> None:
        """Read one snapshot and redraw every section; a section that fails says so and the rest still draw."""
        if not self._quiet:
            self._redraw(self.sections)

    def _redraw(self, sections: Sequence[Section]) -> None:
        """Draw these sections from one snapshot and say when, how long it took and how many failed."""
        began = time.perf_counter()
        with Session(self.engine) as session:
            view = View(session=session, period=self.period, selection=self.selection, settings=self.settings)
            for section in sections:
                section.failed = not self._draw(section, view)
        failures = sum(section.failed for section in self.sections)
        moment = utc_now().astimezone(AMSTERDAM)
        self.status.value = (f'<span class="kracht-updated" data-failures="{failures}" '
                             f'data-visit="{self.browser.visits}" style="color:#555">'
                             f'Bijgewerkt {labels.day(moment.date())} {moment:%H:%M:%S} '
                             f'({time.perf_counter() - began:.2f} s)</span>')

    @staticmethod
    def _draw(section: Section, view: View) -> bool:
        """Draw one section into its output area; False (and a note where it stood) when it failed."""
        with section.output:
            clear_output(wait=True)
            try:
                drawn = section.draw(view)
            except Exception as error:
                log.exception("dashboard section %s failed", getattr(section.draw, "__name__", "?"))
                display(W.HTML(f'<p class="kracht-error" style="color:#B23A48">Dit onderdeel kon niet '
                               f'worden getekend ({escape(type(error).__name__)}).</p>'))
                return False  # the reader sees that it failed; the kernel's log has the why
            display(W.HTML(drawn) if isinstance(drawn, str) else drawn)
            return True

    def _on_preset(self, change: dict[str, Any]) -> None:
        """A preset sets both dates, then the page redraws once."""
        if self._quiet:
            return
        with self._quietly():
            self._set_dates(change["new"])
        self.refresh()

    def _on_date(self, _change: dict[str, Any]) -> None:
        """A date typed by hand makes the period the reader's own."""
        if self._quiet:
            return
        with self._quietly():
            self.preset.value = "zelf"
        self.refresh()

    def _on_visit(self, _change: dict[str, Any]) -> None:
        """The browser shows the page: take its link's choices and draw what the database holds now."""
        with self._quietly():
            self.apply_query(parse_query(self.browser.query))
        self.refresh()

    def _on_interval(self, change: dict[str, Any]) -> None:
        """Start, change or stop the browser's auto-refresh timer."""
        self.browser.interval_ms = int(change["new"]) * 1000

    def show(self) -> None:
        """Display the page; in Voilà the browser's first message (see `Browser`) draws it, elsewhere it draws now.

        Voilà sends the page when the notebook has run, so drawing there first would only delay the page: the
        browser asks for a drawing with its link's choices as soon as it shows the page.
        """
        with Session(self.engine) as session:
            codes = municipalities_in_use(session)
        self.municipality.options = [("Alle gemeenten", ALL), *((labels.municipality(c), c) for c in codes)]
        self.apply_query({})
        if os.environ.get("VOILA_KERNEL_ID"):  # set by Voilà in its kernels before the notebook runs
            self.status.value = '<span class="kracht-drawing" style="color:#555">Bezig met lezen…</span>'
        else:
            self.refresh()
        self.preset.observe(self._on_preset, names="value")
        for widget in (self.start, self.end):
            widget.observe(self._on_date, names="value")
        for widget in (self.kind, self.municipality, self.theme):
            widget.observe(self.refresh, names="value")
        self.refresh_button.on_click(self.refresh)
        self.interval.observe(self._on_interval, names="value")
        self.browser.observe(self.refresh, names="ticks")
        self.browser.observe(self._on_visit, names="visits")
        chosen = {"kind": self.kind, "municipality": self.municipality, "theme": self.theme}
        toolbar = W.HBox([self.preset, self.start, self.end, *(chosen[f] for f in self.filters),
                          self.refresh_button, self.interval, self.browser],
                         layout=W.Layout(flex_flow="row wrap", align_items="center"))
        for section in self.sections:
            section.output.layout = W.Layout(width="100%" if section.wide else "49%", min_width="420px")
            if section.controls is not None:
                section.controls.observe(lambda _change, only=section: self._redraw([only]), names="value")
        body = W.Box([section.output if section.controls is None
                      else W.VBox([section.controls, section.output], layout=W.Layout(width="100%"))
                      for section in self.sections],
                     layout=W.Layout(display="flex", flex_flow="row wrap", justify_content="space-between"))
        header = W.HTML(f'<p style="margin:0 0 6px;color:#444">{escape(self.intro)}</p>' if self.intro else "")
        display(W.VBox([header, toolbar, self.status, body]))

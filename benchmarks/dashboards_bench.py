"""The dashboards at 100,000 members and 1,000,000 pledges: every query in dashboards/queries.py.

Each query function is timed as the dashboards call it (a read-only session, five
years, the default filters) against its baseline: the SQL statements it sent,
recorded once and sent again raw by psycopg with every row fetched. The ratio is the
cost of the query layer (building, ORM, accumulating in Python) over the database's
own work. Then the time to the first chart: Voilà as `kracht dashboards` serves it, in headless
Chromium, from opening the membership page to its first Plotly chart drawn; and its floor, a notebook
that only shows one small chart, served the same way.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from sql_capture import capture
from sqlalchemy.engine import Engine
from sqlmodel import Session

from dashboards import queries

RUNS = 3


def calls(today: date) -> dict[str, Callable[[Session], Any]]:
    """Every public query, called as the pages call it."""
    period = queries.Period(date(today.year - 5, 1, 1), today)
    year = queries.Period(date(today.year, 1, 1), today)
    return {
        "members_over_time": lambda s: queries.members_over_time(s, period),
        "joins_and_leavers": lambda s: queries.joins_and_leavers(s, period),
        "members_by_status": lambda s: queries.members_by_status(s, today),
        "top_municipalities": lambda s: queries.top_municipalities(s, today),
        "share_capital_over_time": lambda s: queries.share_capital_over_time(s, period),
        "holdings_by_class": lambda s: queries.holdings_by_class(s, today),
        "recurring_revenue_over_time": lambda s: queries.recurring_revenue_over_time(s, period),
        "subscriptions_by_status": lambda s: queries.subscriptions_by_status(s, today, grace_days=30),
        "past_due": lambda s: queries.past_due(s, today, grace_days=30),
        "renewals_and_lapses": lambda s: queries.renewals_and_lapses(s, period),
        "invoiced_by_provider": lambda s: queries.invoiced_by_provider(s, period),
        "books": lambda s: queries.books(s, year),
        "cash_over_time": lambda s: queries.cash_over_time(s, period),
        "refunds_and_chargebacks": lambda s: queries.refunds_and_chargebacks(s, period),
        "money_flows": lambda s: queries.money_flows(s, year),
        "live_projects": lambda s: queries.live_projects(s),
        "pledges_per_week": lambda s: queries.pledges_per_week(s, year),
        "hours_per_month": lambda s: queries.hours_per_month(s, period),
        "success_by_theme": lambda s: queries.success_by(s, period, by="theme"),
        "success_by_municipality": lambda s: queries.success_by(s, period, by="municipality"),
        "fund_balances": lambda s: queries.fund_balances(s, today),
        "municipalities_in_use": lambda s: queries.municipalities_in_use(s),
    }


def _median_seconds(work: Callable[[], object]) -> float:
    """The median wall time of RUNS runs."""
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _afresh(session: Session, call: Callable[[Session], Any]) -> None:
    """One call that reads the database again, in the same snapshot as the SQL baseline's runs share a connection:
    a snapshot answers each question once (`queries.per_snapshot`), so the answers are forgotten first."""
    queries.forget_answers(session)
    call(session)


def bench_dashboard_queries(reader: Engine, dsn: str, *, today: date) -> dict[str, Any]:
    """Seconds per query function and per its raw SQL; the ratios and the worst of them."""
    per_query: dict[str, dict[str, float]] = {}
    with psycopg.connect(dsn, autocommit=True) as raw:
        cursor = psycopg.ClientCursor(raw)
        for name, call in calls(today).items():
            with Session(reader) as session:
                with capture(reader) as recorded:  # also the warm-up: plans and caches, as an open dashboard has
                    call(session)
                statements = [(sql, params) for sql, sets in recorded.steps for params in sets
                              if sql.lstrip().upper().startswith(("SELECT", "WITH"))]
                through_queries = _median_seconds(lambda call=call, session=session: _afresh(session, call))

            def send_raw(statements: list[tuple[str, dict[str, Any]]] = statements) -> None:
                for sql, params in statements:
                    cursor.execute(sql, params)
                    cursor.fetchall()

            baseline = _median_seconds(send_raw)
            per_query[name] = {"s": round(through_queries, 4), "sql_s": round(baseline, 4),
                               "ratio": round(through_queries / baseline, 2)}
    worst = max(per_query, key=lambda name: per_query[name]["ratio"])
    return {"dashboard_query_ratio_max": per_query[worst]["ratio"], "dashboard_query_worst": worst,
            "dashboard_query_s_max": max(q["s"] for q in per_query.values()),
            "dashboard_queries": per_query}


SPARE_READY_S = 8  # a spare kernel starts in about 2 s on two cores; more when the machine is busy
FIRST_CHART = """() => [...document.querySelectorAll('.js-plotly-plot')].some(gd => gd.data && gd.data.length)"""


def bench_first_chart(database_url: str, *, page: str = "membership", visits: int = RUNS,
                      pause_s: float = SPARE_READY_S) -> dict[str, Any]:
    """Seconds from opening a dashboard page to its first drawn chart, and to all of it, as `kracht dashboards`
    serves it.

    Warm kernels: each visit takes the spare kernel that `kracht dashboards` keeps started, with the dashboards
    imported (dashboards/kernel_pool.py); visits are `pause_s` apart so that the next spare has started.
    The first visit warms the machine's and the browser's caches and is not counted.
    """
    from http_load import BIN, free_port, serving

    port = free_port()
    command = [str(BIN / "kracht"), "dashboards", "--port", str(port)]
    env = {**_env_without_database(), "KRACHT_DATABASE_URL": database_url}
    with serving(command, env=env, port=port, ready_path=None) as base:
        first_chart, drawn = _visit(f"{base}/voila/render/{page}.ipynb", visits=visits, pause_s=pause_s,
                                    drawn=".kracht-updated")
    return {"dashboard_first_chart_s": round(statistics.median(first_chart), 2),
            "dashboard_page_drawn_s": round(statistics.median(drawn), 2), "dashboard_first_chart_page": page}


FLOOR_CHART = """import plotly.graph_objects as go
import plotly.io as pio

pio.renderers.default = "plotly_mimetype"
go.Figure(go.Bar(x=["a", "b", "c"], y=[3, 1, 2])).show()
"""


def bench_voila_floor(database_url: str, folder: Path, *, visits: int = RUNS,
                      pause_s: float = SPARE_READY_S) -> dict[str, Any]:
    """The floor under `dashboard_first_chart_s`: seconds to the first chart of a notebook that only shows one
    small Plotly chart (no widgets, no database), served as the dashboards are (dashboards/serve.py)."""
    import nbformat
    from http_load import free_port, serving

    from dashboards.serve import voila_command, voila_environment

    folder.mkdir(parents=True, exist_ok=True)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(FLOOR_CHART)])
    nbformat.write(notebook, folder / "floor.ipynb")
    port = free_port()
    command = voila_command(host="127.0.0.1", port=port, notebooks=folder)
    with serving(command, env=voila_environment(database_url), port=port, ready_path=None) as base:
        first_chart, _ = _visit(f"{base}/voila/render/floor.ipynb", visits=visits, pause_s=pause_s)
    return {"dashboard_floor_first_chart_s": round(statistics.median(first_chart), 2)}


def _visit(url: str, *, visits: int, pause_s: float, drawn: str | None = None) -> tuple[list[float], list[float]]:
    """Seconds to the first drawn chart of `url` (and to the `drawn` selector) in headless Chromium, for each of
    `visits` visits `pause_s` apart after one warm-up visit that is not counted."""
    from playwright.sync_api import sync_playwright

    first_chart, done = [], []
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"])
        for visit in range(visits + 1):
            time.sleep(pause_s)
            tab = chromium.new_page()
            start = time.perf_counter()
            tab.goto(url, timeout=120_000)
            tab.wait_for_function(FIRST_CHART, timeout=120_000)
            charted = time.perf_counter() - start
            if drawn:
                tab.wait_for_selector(drawn, timeout=120_000)
            if visit:
                first_chart.append(charted)
                done.append(time.perf_counter() - start)
            tab.close()
        chromium.close()
    return first_chart, done


def _env_without_database() -> dict[str, str]:
    """This process's environment minus any database URL of its own."""
    import os

    return {name: value for name, value in os.environ.items() if name != "KRACHT_DATABASE_URL"}

"""The dashboards in a real browser: `kracht dashboards` (Voilà, spare kernels) on the demo, Debian's Chromium.

Each page is opened, its charts are waited for and compared with the data (titles, traces, nodes,
rows), a filter is changed and the chart must follow, and a screenshot is saved in the test's tmp
folder. The key figures are checked against `GET /api/v1/ledger/trial-balance` for the same dates,
and the auto-refresh ticker must show a new member without anyone touching the page.
"""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from coop.app import create_app
from coop.auth.models import Role
from coop.auth.service import create_token, create_user
from coop.core.clock import today_amsterdam
from coop.core.db import get_session
from coop.core.money import format_eur
from coop.ledger.chart import AccountCode
from coop.ledger.queries import balance
from coop.members.importer import import_members
from coop.members.models import MemberKind
from dashboards import labels, queries, social_value
from dashboards.page import preset_period
from dashboards.queries import EVERYTHING, Selection
from funding.projects.models import Theme
from funding.social_value.series import social_value_indexes
from funding.social_value.views import project_social_value
from tests.browser import require_chromium
from tests.demo_db import Demo
from tests.support import free_port

KRACHT = Path(sys.executable).with_name("kracht")
TODAY = today_amsterdam()
PERIOD = preset_period("12m", today=TODAY, first_day=None)  # what a page shows when opened without a query
PLOTS = """() => [...document.querySelectorAll('.js-plotly-plot')].filter(gd => gd.layout && gd.data).map(gd => ({
    title: gd.layout.title && gd.layout.title.text, traces: gd.data.length, names: gd.data.map(t => t.name || null),
    nodes: gd.data[0] && gd.data[0].node ? gd.data[0].node.label.length : null,
    bars: gd.data[0] && gd.data[0].type === 'bar'
          ? (gd.data[0].orientation === 'h' ? gd.data[0].y : gd.data[0].x).length : null}))"""
KEY_FIGURES = """() => Object.fromEntries([...document.querySelectorAll('.kracht-kpi')].map(
    k => [k.dataset.kpi, {value: Number(k.dataset.value), text: k.querySelector('.kracht-kpi-value').textContent}]))"""


@pytest.fixture(scope="module")
def dashboards_url(sqlite_demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`kracht dashboards` serving the demo; stopped (kernels and all) at the end."""
    require_chromium()
    port = free_port()
    log = tmp_path_factory.mktemp("voila") / "voila.log"
    env = {**os.environ, "KRACHT_DATABASE_URL": sqlite_demo.url}
    with log.open("wb") as output:
        process = subprocess.Popen([str(KRACHT), "dashboards", "--port", str(port)], env=env, stdout=output,
                                   stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:  # the port, not GET /: every page request starts a kernel
            assert process.poll() is None, log.read_text()[-3000:]
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
        kernels = psutil.Process(process.pid).children(recursive=True)
        assert kernels, "Voilà started no kernels"
    finally:
        process.send_signal(signal.SIGTERM)  # `kracht dashboards` is Voilà itself: its kernels stop with it
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        print(log.read_text()[-2000:])
    _, alive = psutil.wait_procs(kernels, timeout=30)
    assert not alive, f"kernels left running after Voilà stopped: {alive}"


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A tall tab, so a screenshot holds the whole page."""
    tab = browser.new_page(viewport={"width": 1400, "height": 2600})
    yield tab
    tab.close()


def open_dashboard(page: Any, url: str, name: str, query: str = "", *, charts: bool = True) -> float:
    """Open a page and wait until its sections are drawn; seconds until the first chart."""
    began = time.monotonic()
    page.goto(f"{url}/voila/render/{name}.ipynb{'?' + query if query else ''}", timeout=120_000)
    page.wait_for_selector('.kracht-updated:not([data-visit="0"])', timeout=90_000)  # drawn for this visit
    if charts:
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=90_000)
    elapsed = time.monotonic() - began
    assert page.evaluate("() => document.querySelectorAll('.kracht-error').length") == 0, page.inner_text("body")
    assert page.get_attribute(".kracht-updated", "data-failures") == "0"
    return elapsed


def plots(page: Any) -> dict[str, dict[str, Any]]:
    """The drawn Plotly figures by title."""
    return {plot["title"]: plot for plot in page.evaluate(PLOTS)}


def wait_for(page: Any, condition: str, timeout: float = 30_000) -> None:
    """Wait until a JavaScript condition over the drawn figures (`plots`) holds."""
    page.wait_for_function(f"() => {{ const plots = ({PLOTS})(); return {condition}; }}", timeout=timeout)


def choose(page: Any, description: str, option: str) -> None:
    """Pick an option in the ipywidgets Dropdown with this description."""
    page.locator(".widget-dropdown", has_text=description).locator("select").select_option(label=option)


def screenshot(page: Any, path: Path) -> None:
    """Save what the board sees (after the Sankey's links have faded in)."""
    time.sleep(1.0)
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 30_000  # a page of charts, not a blank one


def test_membership_page_shows_the_register_and_follows_the_member_kind(dashboards_url: str, page: Any,
                                                                       sqlite_demo: Demo, tmp_path: Path) -> None:
    with Session(sqlite_demo.reader) as session:
        kinds = [k for k, values in queries.members_over_time(session, PERIOD).groups.items() if any(values)]
        statuses = queries.members_by_status(session, TODAY)
        capital = -balance(session, account=AccountCode.SHARE_CAPITAL, at=TODAY)
        companies = queries.members_by_status(session, TODAY, Selection(kind=MemberKind.COMPANY))

    seconds = open_dashboard(page, dashboards_url, "membership")

    drawn = plots(page)
    assert set(drawn) == {"Leden per soort", "Nieuwe en vertrokken leden per maand", "Leden per status",
                          "Ledenkapitaal (grootboek 0500)", "Aandelen per soort", "Gemeenten met de meeste leden"}
    assert drawn["Leden per soort"]["traces"] == len(kinds) > 1
    assert drawn["Leden per status"]["bars"] == len([s for s, n in statuses.items() if n])
    shown = page.evaluate(KEY_FIGURES)
    assert shown["share_capital"]["text"] == format_eur(capital)
    assert shown["members"]["value"] == statuses.get("active", 0) + statuses.get("resigning", 0)
    assert "page.add(" not in page.content()  # sources are stripped
    screenshot(page, tmp_path / "membership.png")
    print(f"\nmembership: first chart after {seconds:.1f} s")

    choose(page, "Soort lid", "Bedrijven")

    wait_for(page, "plots.some(p => p.title === 'Leden per soort' && p.traces === 1 && p.names[0] === 'Bedrijven')")
    page.wait_for_function(f"() => ({KEY_FIGURES})().members.value === "
                           f"{companies.get('active', 0) + companies.get('resigning', 0)}")
    screenshot(page, tmp_path / "membership-companies.png")


def test_subscriptions_page_lists_who_is_behind(dashboards_url: str, page: Any, sqlite_demo: Demo,
                                               tmp_path: Path) -> None:
    with Session(sqlite_demo.reader) as session:
        overdue = queries.past_due(session, TODAY, grace_days=30)
        tiers = {tier for tier, _ in queries.subscriptions_by_status(session, TODAY, grace_days=30)}

    open_dashboard(page, dashboards_url, "subscriptions")

    drawn = plots(page)
    assert set(drawn) == {"Abonnementen per niveau en status", "Jaarlijks terugkerende contributie (incl. btw)",
                          "Verlengingen en vervallen abonnementen per maand",
                          "Gefactureerde contributie per betaalwijze (excl. btw)"}
    assert drawn["Abonnementen per niveau en status"]["bars"] == len(tiers)
    assert page.get_attribute(".kracht-table", "data-rows") == str(len(overdue))
    for row in overdue:
        assert row.name in page.inner_text(".kracht-table")
    screenshot(page, tmp_path / "subscriptions.png")

    choose(page, "Soort lid", "Bedrijven")

    wait_for(page, "plots.some(p => p.title === 'Abonnementen per niveau en status' && p.bars === 1)")


def test_funding_page_draws_the_money_flows_and_follows_the_theme(dashboards_url: str, page: Any, sqlite_demo: Demo,
                                                                 tmp_path: Path) -> None:
    with Session(sqlite_demo.reader) as session:
        nodes = {name for link in queries.money_flows(session, PERIOD) for name in (link.source, link.target)}
        live = queries.live_projects(session)
        theme = Theme(live[0].theme)
        themed = queries.live_projects(session, Selection(theme=theme))
        funds = queries.fund_balances(session, TODAY)

    open_dashboard(page, dashboards_url, "funding")

    drawn = plots(page)
    assert drawn["Geldstromen"]["nodes"] == len(nodes) > 5
    assert drawn["Voortgang lopende projecten"]["bars"] == len(live)
    assert drawn["Fondsen: beschikbaar en gereserveerd"]["bars"] == len(funds)
    assert {"Toezeggingen per week", "Geslaagde campagnes per thema", "Geslaagde campagnes per gemeente",
            "Uren toegezegd en geleverd per maand"} <= set(drawn)
    screenshot(page, tmp_path / "funding.png")

    choose(page, "Thema", {"zorg_en_welzijn": "Zorg en welzijn", "energie": "Energie", "scholing": "Scholing",
                           "wonen_en_werk": "Wonen en werk", "sport_en_recreatie": "Sport en recreatie",
                           "gemeenschap_en_veiligheid": "Gemeenschap en veiligheid",
                           "groen_en_duurzaamheid": "Groen en duurzaamheid", "voedsel": "Voedsel",
                           "cultuur": "Cultuur"}[theme.value])

    wait_for(page, f"plots.some(p => p.title === 'Voortgang lopende projecten' && p.bars === {len(themed)})")
    wait_for(page, f"plots.some(p => p.title === 'Geldstromen' && (p.nodes || 0) < {len(nodes)})")
    screenshot(page, tmp_path / "funding-theme.png")


def test_finance_page_shows_the_balance_sheet_of_the_chosen_date(dashboards_url: str, page: Any,
                                                                  tmp_path: Path) -> None:
    open_dashboard(page, dashboards_url, "finance")

    drawn = plots(page)
    assert {"Geld per betaalrekening", "Terugbetalingen en storneringen per maand"} <= set(drawn)
    assert any(title.startswith("Balans per ") and plot["traces"] > 5 for title, plot in drawn.items())
    screenshot(page, tmp_path / "finance.png")

    choose(page, "Periode", "Vorig jaar")

    wait_for(page, f"plots.some(p => p.title === 'Balans per 31 dec {TODAY.year - 1}')")


def test_social_value_page_draws_the_index_the_ranking_and_recomputes_with_the_sliders(
        dashboards_url: str, page: Any, sqlite_demo: Demo, tmp_path: Path) -> None:
    with Session(sqlite_demo.reader) as session:
        rows = social_value.ranked(session, TODAY, EVERYTHING)
        lines = sum(1 for index in social_value_indexes(session, start=PERIOD.start, end=PERIOD.end).values()
                    if index.points)
        first = rows[0].value.project
        own = project_social_value(session, project_id=first.id, at=TODAY, viewer=None)
        themed = social_value.ranked(session, TODAY, Selection(theme=Theme(first.theme)))

    open_dashboard(page, dashboards_url, "socialvalue")

    assert plots(page)["Maatschappelijke AEX (index, eerste maand = 100)"]["traces"] == lines > 1
    assert page.get_attribute('.kracht-table[data-table="ranking"]', "data-rows") == str(len(rows))
    assert page.get_attribute(".kracht-whatif", "data-ratio") == str(own.sroi_ratio)
    assert page.inner_text(".kracht-whatif-ratio") == f"{own.sroi_ratio:.2f}".replace(".", ",")
    shown = page.evaluate(KEY_FIGURES)
    assert shown["social_value"]["value"] == sum(row.value.result.present_value_cents for row in rows)
    screenshot(page, tmp_path / "socialvalue.png")

    handle = page.locator(".widget-slider", has_text="Deadweight").locator(".noUi-handle")
    handle.focus()
    handle.press("End")  # all of it would have happened anyway: nothing is the project's

    page.wait_for_function("() => document.querySelector('.kracht-whatif').dataset.ratio === '0.0'")
    assert page.get_attribute(".kracht-whatif", "data-own-ratio") == str(own.sroi_ratio)
    screenshot(page, tmp_path / "socialvalue-what-if.png")

    choose(page, "Thema", labels.THEMES[first.theme])

    page.wait_for_function(f"() => document.querySelector('.kracht-table[data-table=\"ranking\"]')"
                           f".dataset.rows === '{len(themed)}'")


def trial_balance(demo: Demo, start: date, end: date) -> dict[str, dict[str, int]]:
    """`GET /api/v1/ledger/trial-balance` on the demo database, as a treasurer."""
    def demo_session() -> Iterator[Session]:
        with Session(demo.engine) as session:
            yield session
            session.commit()

    with Session(demo.engine) as session:
        user = create_user(session, email=f"treasurer-{time.monotonic_ns()}@example.org", roles=[Role.TREASURER])
        token, _ = create_token(session, user_id=user.id, ttl=timedelta(hours=1))
        session.commit()
    app = create_app()
    app.dependency_overrides[get_session] = demo_session
    with TestClient(app) as client:
        response = client.get("/api/v1/ledger/trial-balance", params={"start": start.isoformat(),
                                                                       "end": end.isoformat()},
                              headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return {row["code"]: row for row in response.json()["accounts"]}


def test_the_numbers_shown_are_the_ledgers_numbers(dashboards_url: str, page: Any, sqlite_demo: Demo) -> None:
    start, end = date(TODAY.year - 1, 1, 1), date(TODAY.year - 1, 12, 31)
    books = trial_balance(sqlite_demo, start, end)

    open_dashboard(page, dashboards_url, "index", f"van={start}&tot={end}", charts=False)

    shown = page.evaluate(KEY_FIGURES)
    assert shown["share_capital"]["value"] == -books[AccountCode.SHARE_CAPITAL]["balance_cents"]
    revenue = books[AccountCode.SUBSCRIPTION_REVENUE]
    assert shown["subscription_revenue"]["value"] == revenue["credit_cents"] - revenue["debit_cents"] > 0
    assert shown["subscription_revenue"]["text"] == format_eur(revenue["credit_cents"] - revenue["debit_cents"])
    assert shown["funds_available"]["value"] == -books[AccountCode.FUNDS_AVAILABLE]["balance_cents"]
    assert shown["funds_reserved"]["value"] == -books.get(AccountCode.FUNDS_RESERVED, {"balance_cents": 0})[
        "balance_cents"]
    assets = sum(row["balance_cents"] for row in books.values() if row["type"] == "asset")
    assert shown["assets"]["value"] == assets


def test_auto_refresh_shows_a_new_member_without_a_click(dashboards_url: str, page: Any, sqlite_demo: Demo) -> None:
    open_dashboard(page, dashboards_url, "index", "vernieuwen=5", charts=False)
    before = page.evaluate(KEY_FIGURES)["members"]["value"]
    row = ("kind;name;email;joined_on;membership_shares\n"
           f"person;Noor Bakker;noor.bakker@example.org;{TODAY.isoformat()};1\n")

    with Session(sqlite_demo.engine) as session:
        report = import_members(session, rows_source=io.StringIO(row), dry_run=False)
        assert report.imported == 1, report.errors
        session.commit()

    page.wait_for_function(f"() => ({KEY_FIGURES})().members.value === {before + 1}", timeout=30_000)



def test_leaving_a_page_shuts_its_kernel_down(dashboards_url: str, page: Any) -> None:
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    open_dashboard(page, dashboards_url, "membership")
    found = re.search(r"/api/kernels/([0-9a-f-]{36})/channels", sockets[0])
    assert found, sockets
    kernel = f"{dashboards_url}/api/kernels/{found.group(1)}"
    assert httpx.get(kernel).status_code == 200

    page.goto("about:blank")  # the page asks Voilà to shut its kernel down as it goes (it needs the XSRF cookie)

    deadline = time.monotonic() + 20
    while httpx.get(kernel).status_code != 404:
        assert time.monotonic() < deadline, "the kernel of a page that was left still runs"
        time.sleep(0.2)

"""The public pages in Debian's headless Chromium against `kracht serve` on a copy of the demo: a resident pledges
EUR 25 through the sandbox checkout (with and without JavaScript, and with the keyboard only), a company joins
with 10 social shares, a wrong e-mail address is shown beside its field, and axe-core finds no serious or critical
violations on any page. Screenshots are kept in each test's tmp folder.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.browser import require_chromium
from tests.demo_db import Demo
from tests.support import free_port

KRACHT = Path(sys.executable).with_name("kracht")
SERIOUS = ("serious", "critical")


@pytest.fixture(scope="module")
def site(sqlite_demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`kracht serve` on its own copy of the demo (the tests pledge and join), stopped at the end."""
    require_chromium()
    folder = tmp_path_factory.mktemp("site")
    copy = folder / "site.db"
    with sqlite3.connect(make_url(sqlite_demo.url).database or "") as original, sqlite3.connect(copy) as target:
        original.backup(target)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "KRACHT_DATABASE_URL": f"sqlite:///{copy}", "KRACHT_PUBLIC_URL": url,
           "KRACHT_PUBLIC_POSTS_PER_MINUTE": "1000"}
    log = folder / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen([str(KRACHT), "serve", "--port", str(port), "--no-worker-thread"], env=env,
                                   stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(params=[True, False], ids=["javascript", "no-javascript"])
def tab(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A phone-sized tab, with and without JavaScript."""
    context = browser.new_context(java_script_enabled=request.param, viewport={"width": 390, "height": 844},
                                  locale="nl-NL")
    yield context.new_page()
    context.close()


@pytest.fixture
def desktop(browser: Any) -> Iterator[Any]:
    """A desktop tab with JavaScript (axe-core runs as a script)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-NL")
    yield context.new_page()
    context.close()


def live_project(site: str) -> tuple[str, str, int]:
    """A project that takes pledges today: its id, title and paid cents."""
    projects = httpx.get(f"{site}/api/v1/projects", params={"status": "live", "per_page": 50}).json()["items"]
    chosen = next(project for project in projects if project["days_left"] > 0)
    return chosen["id"], chosen["title"], chosen["paid_cents"]


def paid_on_page(tab: Any) -> int:
    """The paid total the project page shows (its data attribute, written by the server)."""
    return int(tab.get_attribute("#money-progress", "data-paid-cents"))


def shoot(tab: Any, path: Path) -> None:
    """Keep what the reader saw."""
    tab.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5_000


def test_a_resident_pledges_25_euros_and_sees_the_total_grow(site: str, tab: Any, tmp_path: Path) -> None:
    project_id, title, before = live_project(site)
    tab.goto(f"{site}/")
    tab.click("text=Bekijk de projecten")
    tab.fill("#zoek", title)  # as a new user would: search the list, then open the project
    tab.click("form[role=search] button[type=submit]")
    tab.click(f"li[data-project='{project_id}'] h2 a")
    assert paid_on_page(tab) == before
    tab.check("#kind-money")
    tab.fill("#amount", "25")
    tab.fill("#name", "Noor de Vries")
    tab.fill("#email", "noor@example.org")
    shoot(tab, tmp_path / "project.png")

    tab.click("#pledge-form button[type=submit]")

    tab.wait_for_url(re.compile(r"/sandbox/checkout/"))
    assert "25,00" in tab.inner_text("body")
    tab.click("button[value=paid]")
    tab.wait_for_url(re.compile(r"/bedankt/"))
    assert "€ 25,00" in tab.inner_text("#pledge-amount").replace("\xa0", " ")
    assert tab.get_attribute("#payment-status", "data-status") == "paid"
    shoot(tab, tmp_path / "thanks.png")
    tab.click("text=Terug naar het project")
    assert paid_on_page(tab) == before + 2500
    assert httpx.get(f"{site}/api/v1/projects/{project_id}").json()["paid_cents"] == before + 2500


def test_a_company_joins_with_ten_social_shares_and_gets_the_1000_tier(site: str, tab: Any, tmp_path: Path) -> None:
    tab.goto(f"{site}/lid-worden")
    tab.check("#kind-company")
    tab.fill("#name", f"Bouwbedrijf Van Dam {time.monotonic_ns()}")
    tab.fill("#email", f"info{time.monotonic_ns()}@vandam.example.org")
    tab.fill("#kvk_number", "87654321")
    tab.select_option("#share_class", "maatschappelijk")
    tab.fill("#quantity", "10")
    tab.check("#consent")

    tab.click("#join-form button[type=submit]")

    tab.wait_for_url(re.compile(r"/sandbox/checkout/"))
    assert "2.550,00" in tab.inner_text("body")  # one membership share of 50 and ten social shares of 250
    tab.click("button[value=paid]")
    tab.wait_for_url(re.compile(r"/lid-worden/welkom/"))
    assert tab.inner_text(".tier-price").replace("\xa0", " ") == "€ 1.000,00"
    assert "lidnummer" in tab.inner_text("main")
    shoot(tab, tmp_path / "welcome.png")


def test_a_wrong_email_is_shown_beside_its_field_and_the_rest_is_kept(site: str, tab: Any, tmp_path: Path) -> None:
    tab.goto(f"{site}/lid-worden")
    tab.check("#kind-person")
    tab.fill("#name", "Sem Jansen")
    tab.fill("#email", "sem-at-example")
    tab.check("#consent")

    tab.click("#join-form button[type=submit]")

    error = tab.locator("#email-error")
    assert "e-mailadres" in error.inner_text()
    assert tab.get_attribute("#email", "aria-describedby") == "email-error"
    assert tab.input_value("#name") == "Sem Jansen" and tab.input_value("#email") == "sem-at-example"
    assert tab.is_checked("#kind-person") and tab.is_checked("#consent")
    shoot(tab, tmp_path / "join-error.png")


def test_a_pledge_can_be_made_with_the_keyboard_only(site: str, desktop: Any) -> None:
    project_id, _, before = live_project(site)
    desktop.goto(f"{site}/projecten/{project_id}")
    for _ in range(80):  # Tab from the top of the page until the form's first choice has the focus
        desktop.keyboard.press("Tab")
        if desktop.evaluate("() => document.activeElement.name") == "kind":
            break
    desktop.keyboard.press("Space")  # money
    visited = []
    for text in ("12,50", None, None, "Kees Bakker", "kees@example.org", None):
        desktop.keyboard.press("Tab")
        visited.append(desktop.evaluate("() => document.activeElement.name"))
        if text:
            desktop.keyboard.type(text)
    desktop.keyboard.press("Tab")
    assert desktop.evaluate("() => document.activeElement.type") == "submit"
    assert visited == ["amount", "hours", "description", "name", "email", "anonymous"]  # the order they are read in
    desktop.keyboard.press("Enter")
    desktop.wait_for_url(re.compile(r"/sandbox/checkout/"))
    desktop.focus("button[value=paid]")
    desktop.keyboard.press("Enter")
    desktop.wait_for_url(re.compile(r"/bedankt/"))
    assert httpx.get(f"{site}/api/v1/projects/{project_id}").json()["paid_cents"] == before + 1250


def sign_in(tab: Any, site: str) -> None:
    """Sign in as the demo member with the demo password (printed by `kracht demo seed` in development)."""
    tab.goto(f"{site}/mijn/inloggen")
    tab.fill("#email", "member@demo.kracht.nl")
    tab.fill("#password", "kracht-member-demo")
    tab.click("#password-form button[type=submit]")
    tab.wait_for_url(re.compile(r"/mijn$"))


def test_a_member_signs_in_and_sees_their_account(site: str, desktop: Any, tmp_path: Path) -> None:
    sign_in(desktop, site)

    assert "Ingelogd als member@demo.kracht.nl" in desktop.inner_text("main")
    assert desktop.locator("section.membership").count() >= 1
    shoot(desktop, tmp_path / "account.png")


def test_axe_finds_no_serious_or_critical_violations(site: str, desktop: Any, tmp_path: Path) -> None:
    from axe_playwright_python.sync_playwright import Axe

    project_id, _, _ = live_project(site)
    axe = Axe()
    pages = {"home": "/", "projects": "/projecten", "project": f"/projecten/{project_id}", "join": "/lid-worden",
             "embed": f"/embed/projecten/{project_id}", "sign-in": "/mijn/inloggen", "my-account": "/mijn",
             "new-project": "/mijn/projecten/nieuw",
             "english": "/taal/en?next=/projecten"}
    sign_in(desktop, site)
    found = {}
    for name, path in pages.items():
        desktop.goto(f"{site}{path}")
        found[name] = serious(axe, desktop)
        shoot(desktop, tmp_path / f"{name}.png")
    desktop.goto(f"{site}/taal/nl?next=/projecten/{project_id}")
    desktop.check("#kind-time")
    desktop.fill("#hours", "2")
    desktop.fill("#name", "Lotte Kok")
    desktop.fill("#email", "lotte@example.org")
    desktop.click("#pledge-form button[type=submit]")
    desktop.wait_for_url(re.compile(r"/bedankt/"))
    found["thanks"] = serious(axe, desktop)
    desktop.goto(f"{site}/mijn/inloggen")
    desktop.fill("#link-email", "lotte@example.org")
    desktop.click("#link-form button[type=submit]")
    found["link-sent"] = serious(axe, desktop)
    assert found == {name: [] for name in [*pages, "thanks", "link-sent"]}


def serious(axe: Any, tab: Any) -> list[tuple[str, str, int]]:
    """axe-core's serious and critical violations on the page shown."""
    return [(v["id"], v["impact"], len(v["nodes"])) for v in axe.run(tab).response["violations"]
            if v["impact"] in SERIOUS]

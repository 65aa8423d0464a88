"""The project pages without JavaScript: the list, a project with its pledge form (the contract), a pledge of
money through the sandbox to the thank-you page, hours and materials, one pledge per click, and the embed card."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from lxml import html
from sqlmodel import func, select

from coop.auth.models import Role
from funding.pledges.models import Pledge
from tests.coop.members.support import on
from tests.coop.web.support import error_beside, form_fields, input_names, local, page, submit
from tests.funding.pledges.support import live_project

START = date(2027, 5, 3)
TODAY = START + timedelta(days=4)
GIVER = {"name": "Fatima el Amrani", "email": "fatima@example.org"}


@pytest.fixture
def project(client, auth_headers) -> str:
    """A live all-or-nothing project in Utrecht with a money goal of EUR 500 and 10 hours."""
    with on(START):
        return live_project(client, auth_headers(Role.INITIATOR), auth_headers(Role.BOARD), START)["id"]


def pledges(session) -> int:
    """How many pledges exist."""
    return session.exec(select(func.count()).select_from(Pledge)).one()


def paid_cents(client, project_id: str) -> int:
    """The project's paid total as the API shows it."""
    return client.get(f"/api/v1/projects/{project_id}").json()["paid_cents"]


def test_the_project_page_has_the_pledge_form_of_the_contract(client, project) -> None:
    with on(TODAY):
        document = page(client, f"/projecten/{project}")

    assert {"kind", "amount", "hours", "description", "name", "email", "anonymous"} <= input_names(
        document, "pledge-form")
    assert document.xpath("//form[@id='pledge-form']//input[@name='kind']/@value") == ["money", "time", "materials"]
    assert len(document.xpath("//form[@id='pledge-form']//button[@type='submit']")) == 1
    assert document.xpath("string(//h1)") == "Moestuin De Bikkershof"
    assert "Nog 27 dagen" in document.text_content()
    assert document.get_element_by_id("money-progress").get("data-paid-cents") == "0"


@pytest.mark.parametrize(("typed", "cents", "shown"), [("25", 2500, "25,00"), ("25,00", 2500, "25,00"),
                                                       ("25.50", 2550, "25,50"), ("25,50", 2550, "25,50")])
def test_a_resident_pledges_25_euros_pays_in_the_sandbox_and_sees_it_counted(client, project, typed, cents,
                                                                             shown) -> None:
    with on(TODAY):
        response = submit(client, f"/projecten/{project}", "pledge-form", f"/projecten/{project}/bijdragen",
                          kind="money", amount=typed, **GIVER)
        assert response.status_code == 303 and "/sandbox/checkout/" in response.headers["location"]
        waiting = page(client, local(response.headers["location"]))
        assert shown in waiting.text_content()
        paid = client.post(local(response.headers["location"]), data={"outcome": "paid"}, follow_redirects=False)
        thanks = page(client, local(paid.headers["location"]))

        assert thanks.get_element_by_id("pledge-amount").text_content().startswith(f"Je bijdrage van €\xa0{shown}")
        assert thanks.get_element_by_id("payment-status").get("data-status") == "paid"
        assert not thanks.xpath("//meta[@http-equiv='refresh']")  # settled: no more refreshing
        progress = page(client, f"/projecten/{project}").get_element_by_id("money-progress")
        assert progress.get("data-paid-cents") == str(cents) and f"€\xa0{shown}" in progress.text_content()
        assert paid_cents(client, project) == cents


def test_the_thank_you_page_waits_for_the_payment_and_says_when_it_failed(client, session, project) -> None:
    with on(TODAY):
        response = submit(client, f"/projecten/{project}", "pledge-form", f"/projecten/{project}/bijdragen",
                          kind="money", amount="10", **GIVER)
        made = session.exec(select(Pledge).where(Pledge.amount_cents == 1000)).one()
        waiting = page(client, f"/projecten/{project}/bedankt/{made.id}")
        assert waiting.get_element_by_id("payment-status").get("data-status") == "open"
        assert waiting.xpath("//meta[@http-equiv='refresh']/@content") == ["3"]  # until the provider says
        back = client.post(local(response.headers["location"]), data={"outcome": "canceled"}, follow_redirects=False)
        canceled = page(client, local(back.headers["location"]))
        assert canceled.get_element_by_id("payment-status").get("data-status") == "canceled"
        assert paid_cents(client, project) == 0
    assert client.get(f"/projecten/{project}/bedankt/{project}").status_code == 404


def test_hours_and_materials_need_no_payment(client, session, project) -> None:
    with on(TODAY):
        hours = submit(client, f"/projecten/{project}", "pledge-form", f"/projecten/{project}/bijdragen",
                       kind="time", hours="2,5", **GIVER)
        stuff = submit(client, f"/projecten/{project}", "pledge-form", f"/projecten/{project}/bijdragen",
                       kind="materials", description="Een kruiwagen", **GIVER)
        assert hours.status_code == stuff.status_code == 303
        assert "2,5 uur" in page(client, local(hours.headers["location"])).text_content()
        assert "Een kruiwagen" in page(client, local(stuff.headers["location"])).text_content()
        detail = client.get(f"/api/v1/projects/{project}").json()
    assert detail["minutes_pledged"] == 150 and detail["materials"] == 1


def test_a_double_click_makes_one_pledge(client, session, project) -> None:
    with on(TODAY):
        fields = form_fields(page(client, f"/projecten/{project}"), "pledge-form")
        before = pledges(session)
        body = {**fields, "kind": "money", "amount": "25", **GIVER}
        first = client.post(f"/projecten/{project}/bijdragen", data=body, follow_redirects=False)
        second = client.post(f"/projecten/{project}/bijdragen", data=body, follow_redirects=False)
    assert first.headers["location"] == second.headers["location"]
    assert pledges(session) == before + 1


@pytest.mark.parametrize(("values", "field"), [
    ({"kind": "money", "amount": "veel", **GIVER}, "amount"),
    ({"kind": "money", "amount": "", **GIVER}, "amount"),
    ({"kind": "money", "amount": "25", "name": "Fatima", "email": "fatima@"}, "email"),
    ({"kind": "time", "hours": "", **GIVER}, "hours"),
    ({"kind": "materials", "description": "", **GIVER}, "description"),
])
def test_a_mistake_shows_beside_its_field_and_keeps_the_rest(client, session, project, values, field) -> None:
    with on(TODAY):
        before = pledges(session)
        response = submit(client, f"/projecten/{project}", "pledge-form", f"/projecten/{project}/bijdragen",
                          **values)
    assert response.status_code == 422
    document = html.fromstring(response.text)
    assert error_beside(document, field)
    assert document.get_element_by_id("name").value == values["name"]
    assert document.xpath("//input[@name='kind'][@checked]/@value") == [values["kind"]]
    assert pledges(session) == before


def test_the_list_filters_and_pages_and_closed_campaigns_take_no_pledges(client, auth_headers) -> None:
    initiator, board = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    with on(START):
        for n in range(14):
            live_project(client, initiator, board, START, title=f"Buurtproject {n:02d}",
                         theme="energie" if n < 3 else "voedsel")
    with on(TODAY):
        first = page(client, "/projecten")
        second = page(client, "/projecten?pagina=2")
        energy = page(client, "/projecten?thema=energie&zoek=buurtproject")
        assert len(first.xpath("//ul[@class='projects']/li")) == 12
        assert len(second.xpath("//ul[@class='projects']/li")) == 2
        assert "14 projecten gevonden" in first.text_content()
        assert len(energy.xpath("//ul[@class='projects']/li")) == 3
        assert first.xpath("//a[@rel='next']/@href") == ["/projecten?pagina=2"]
    after = START + timedelta(days=40)
    with on(after):
        one = first.xpath("//ul[@class='projects']/li/@data-project")[0]
        assert not page(client, f"/projecten/{one}").xpath("//form[@id='pledge-form']")
    assert client.get("/projecten/00000000-0000-0000-0000-000000000000").status_code == 404


def test_the_embed_card_may_be_framed_and_nothing_else(client, project) -> None:
    with on(TODAY):
        card = client.get(f"/embed/projecten/{project}")
        full = client.get(f"/projecten/{project}")
    assert card.status_code == 200 and "frame-ancestors *" in card.headers["content-security-policy"]
    assert "x-frame-options" not in card.headers
    assert full.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in \
        full.headers["content-security-policy"]
    assert "<form" not in card.text and "Moestuin De Bikkershof" in card.text

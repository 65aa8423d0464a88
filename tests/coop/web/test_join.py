"""Joining in a browser, without JavaScript: the form, its errors beside the fields, CSRF and the honeypot, one
member per submission, the checkout, and the welcome page with the tier that follows from the kind."""

from __future__ import annotations

import pytest
from lxml import html
from sqlmodel import func, select

from coop.auth.models import Role
from coop.members.models import Member
from coop.payments.models import Payment
from tests.coop.web.support import error_beside, form_fields, input_names, local, page, submit

COMPANY = {"kind": "company", "name": "Bakkerij De Korenaar BV", "email": "info@korenaar.example.org",
           "share_class": "maatschappelijk", "quantity": "10", "kvk_number": "12345678", "consent": "ja"}


def count(session, model) -> int:
    """Rows of a table."""
    return session.exec(select(func.count()).select_from(model)).one()


def test_the_join_form_has_the_contract_fields_and_shows_both_tiers(client) -> None:
    document = page(client, "/lid-worden")

    assert {"kind", "name", "email", "share_class", "quantity", "consent"} <= input_names(document, "join-form")
    assert len(document.get_element_by_id("join-form").xpath(".//button[@type='submit']")) == 1
    kinds = document.xpath("//input[@name='kind']/@value")
    assert kinds == ["person", "initiative", "social_enterprise", "company", "government", "organisation"]
    labels = document.get_element_by_id("join-form").text_content()
    assert "€\xa099,00 per jaar" in labels and "€\xa01.000,00 per jaar" in labels
    assert {"csrf_token", "submission_id"} <= set(form_fields(document, "join-form"))


def test_a_company_joins_with_ten_social_shares_pays_and_has_the_1000_tier(client, session, auth_headers) -> None:
    response = submit(client, "/lid-worden", "join-form", "/lid-worden", **COMPANY)

    assert response.status_code == 303 and "/sandbox/checkout/" in response.headers["location"]
    paid = client.post(local(response.headers["location"]), data={"outcome": "paid"}, follow_redirects=False)
    assert paid.status_code == 303 and "/lid-worden/welkom/" in paid.headers["location"]
    welcome = page(client, local(paid.headers["location"]))
    assert welcome.xpath("string(//*[@class='tier-price'])") == "€\xa01.000,00"
    assert "lidnummer" in welcome.text_content()

    member = session.exec(select(Member).where(Member.email == COMPANY["email"])).one()
    board = auth_headers(Role.BOARD)
    register = client.get("/api/v1/registers/members", headers=board).json()["members"]
    assert [entry["name"] for entry in register if entry["id"] == str(member.id)] == [COMPANY["name"]]
    subscription = client.get(f"/api/v1/members/{member.id}/subscription", headers=board).json()
    assert subscription["tier"] == "organisation"
    holdings = client.get(f"/api/v1/members/{member.id}", headers=board).json()
    assert {(h["class_code"], h["quantity"]) for h in holdings["holdings"]} == {("lidmaatschap", 1),
                                                                                ("maatschappelijk", 10)}


def test_a_double_click_makes_one_member(client, session) -> None:
    fields = form_fields(page(client, "/lid-worden"), "join-form")
    before = count(session, Member)

    first = client.post("/lid-worden", data={**fields, **COMPANY}, follow_redirects=False)
    second = client.post("/lid-worden", data={**fields, **COMPANY}, follow_redirects=False)

    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert count(session, Member) == before + 1


@pytest.mark.parametrize(("changes", "field"), [
    ({"email": "info-at-korenaar"}, "email"),
    ({"consent": ""}, "consent"),
    ({"kvk_number": ""}, "kvk_number"),
    ({"quantity": "tien"}, "quantity"),
    ({"name": "B"}, "name"),
])
def test_a_mistake_is_shown_beside_its_field_keeps_what_was_typed_and_writes_nothing(client, session, changes,
                                                                                  field) -> None:
    before = (count(session, Member), count(session, Payment))

    response = submit(client, "/lid-worden", "join-form", "/lid-worden", **{**COMPANY, **changes})

    assert response.status_code == 422
    document = html.fromstring(response.text)
    assert error_beside(document, field)
    kept = {name: value for name, value in COMPANY.items() if name not in changes and name != "consent"}
    for name, value in kept.items():
        shown = (document.xpath("//input[@name='kind'][@checked]/@value")[0] if name == "kind"
                 else document.get_element_by_id(name).value)
        assert shown == value, name
    assert (count(session, Member), count(session, Payment)) == before


def test_a_post_without_the_browsers_token_or_with_the_honeypot_is_refused(client, session) -> None:
    fields = form_fields(page(client, "/lid-worden"), "join-form")
    before = count(session, Member)

    forged = client.post("/lid-worden", data={**fields, **COMPANY, "csrf_token": "forged"})
    client.cookies.clear()
    no_cookie = client.post("/lid-worden", data={**fields, **COMPANY})
    bot = submit(client, "/lid-worden", "join-form", "/lid-worden", **COMPANY, website="https://spam.example")

    assert forged.status_code == no_cookie.status_code == bot.status_code == 403
    assert "text/html" in bot.headers["content-type"]
    assert count(session, Member) == before


def test_pages_speak_dutch_or_english_and_the_switch_stays_on_this_site(client) -> None:
    dutch = page(client, "/lid-worden")
    english = page(client, "/lid-worden", headers={"Accept-Language": "en-GB,en;q=0.8"})

    assert dutch.get("lang") == "nl" and dutch.xpath("string(//h1)") == "Lid worden van de coöperatie"
    assert english.get("lang") == "en" and english.xpath("string(//h1)") == "Join the cooperative"
    switched = client.get("/taal/en?next=/projecten", follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/projecten"
    assert page(client, "/").get("lang") == "en"  # the choice is remembered
    assert client.get("/taal/nl?next=//evil.example", follow_redirects=False).headers["location"] == "/"


def test_pages_carry_security_headers_and_no_inline_scripts(client) -> None:
    response = client.get("/")

    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "'unsafe-inline'" not in \
        policy.split("script-src")[1].split(";")[0]
    assert response.headers["x-frame-options"] == "DENY"
    assert "<script" not in response.text

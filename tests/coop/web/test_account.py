"""My account through the browser's eyes (no JavaScript): a one-time link by e-mail or a password, the membership
with shares, certificate, subscription and invoices, personal data to download, a request to erase it, the
pledges and the hours to acknowledge, and signing out."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import select

from coop.audit.models import AuditEvent
from coop.auth.models import Role
from coop.members.models import Member
from coop.notifications.models import Notification
from funding.pledges.models import Pledge
from tests.conftest import TEST_PASSWORD
from tests.coop.members.support import on
from tests.coop.web.support import form_fields, local, page, submit
from tests.coop.web.test_join import COMPANY
from tests.funding.pledges.support import live_project
from tests.funding.web.test_project_pages import START, TODAY


def joined_and_paid(client) -> str:
    """A company that joined through the pages and paid its shares and first subscription; its e-mail."""
    response = submit(client, "/lid-worden", "join-form", "/lid-worden", **COMPANY)
    welcome = client.post(local(response.headers["location"]), data={"outcome": "paid"}, follow_redirects=False)
    document = page(client, local(welcome.headers["location"]))
    contribution = document.xpath("//a[contains(@href, '/sandbox/checkout/')]/@href")[0]
    assert client.post(local(contribution), data={"outcome": "paid"}, follow_redirects=False).status_code == 303
    return COMPANY["email"]


def link_from_mail(session, email: str) -> str:
    """The sign-in link in the newest e-mail to `email`."""
    mail = session.exec(select(Notification).where(Notification.recipient == email,
                                                   Notification.template == "sign_in_link")
                        .order_by(Notification.created_at.desc())).first()  # type: ignore[attr-defined]
    assert mail is not None, "no sign-in e-mail"
    return local(re.search(r"https?://\S+/mijn/inloggen/\S+", mail.body).group(0))


def sign_in_by_link(client, session, email: str):
    """Ask for a link, open it, press the button; the response (a redirect to /mijn on success)."""
    asked = submit(client, "/mijn/inloggen", "link-form", "/mijn/inloggen/link", email=email)
    assert asked.status_code == 200
    link = link_from_mail(session, email)
    return submit(client, link, "confirm-form", link)


def test_my_account_needs_signing_in(client) -> None:
    response = client.get("/mijn", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/mijn/inloggen"
    assert client.get("/mijn/leden/00000000-0000-0000-0000-000000000000/gegevens.json",
                      follow_redirects=False).status_code == 303


def test_a_new_member_signs_in_by_link_and_sees_shares_certificate_and_invoices(client, session) -> None:
    email = joined_and_paid(client)

    signed = sign_in_by_link(client, session, email)

    assert signed.status_code == 303 and signed.headers["location"] == "/mijn"
    cookie = signed.headers["set-cookie"]
    assert "kracht_sessie=" in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    mine = page(client, "/mijn")
    member = session.exec(select(Member).where(Member.email == email)).one()
    section = mine.xpath(f"//section[@data-member='{member.id}']")[0]
    assert f"Lidnummer {member.member_number}" in section.text_content()
    assert section.xpath(".//*[@class='status']/@data-status") == ["active"]
    rows = [[cell.text_content() for cell in row.xpath("td")] for row in section.xpath(".//table[1]/tbody/tr")]
    assert sorted(row[:2] for row in rows) == [["lidmaatschap", "1"], ["maatschappelijk", "10"]]
    certificate = client.get(section.xpath(".//a[contains(@href, 'certificaat.pdf')]/@href")[0])
    assert certificate.status_code == 200 and certificate.content.startswith(b"%PDF")
    invoices = section.xpath(".//a[contains(@href, '/facturen/')]/@href")
    assert invoices, "the paid subscription has an invoice"
    pdf = client.get(invoices[0])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    data = client.get(section.xpath(".//a[contains(@href, 'gegevens.json')]/@href")[0])
    assert data.status_code == 200 and COMPANY["name"] in data.text


def test_a_link_works_once_and_an_unknown_address_gets_no_mail_but_the_same_answer(client, session) -> None:
    email = joined_and_paid(client)
    asked = submit(client, "/mijn/inloggen", "link-form", "/mijn/inloggen/link", email=email)
    link = link_from_mail(session, email)
    assert submit(client, link, "confirm-form", link).status_code == 303
    again = submit(client, link, "confirm-form", link)
    assert again.status_code == 401 and "verlopen of al gebruikt" in again.text

    stranger = submit(client, "/mijn/inloggen", "link-form", "/mijn/inloggen/link", email="nobody@example.org")
    assert stranger.status_code == asked.status_code == 200
    assert session.exec(select(Notification).where(Notification.recipient == "nobody@example.org")).first() is None


def test_an_expired_link_does_not_sign_in(client, session) -> None:
    email = joined_and_paid(client)
    submit(client, "/mijn/inloggen", "link-form", "/mijn/inloggen/link", email=email)
    link = link_from_mail(session, email)
    fields = form_fields(page(client, link), "confirm-form")
    from coop.core.clock import utc_now

    with on((utc_now() + timedelta(days=1)).date()):
        assert client.post(link, data=fields, follow_redirects=False).status_code == 401


def test_a_password_signs_in_and_a_wrong_one_is_shown_beside_its_field(client, make_user) -> None:
    make_user(Role.MEMBER, email="lid@example.org")

    wrong = submit(client, "/mijn/inloggen", "password-form", "/mijn/inloggen", email="lid@example.org",
                   password="fout")
    right = submit(client, "/mijn/inloggen", "password-form", "/mijn/inloggen", email="lid@example.org",
                   password=TEST_PASSWORD)

    assert wrong.status_code == 401 and 'id="password-error"' in wrong.text
    assert right.status_code == 303 and right.headers["location"] == "/mijn"
    assert "Ingelogd als lid@example.org" in page(client, "/mijn").text_content()


def test_nobody_sees_someone_elses_certificate(client, session) -> None:
    joined_and_paid(client)
    other = session.exec(select(Member).where(Member.email == COMPANY["email"])).one()
    client.cookies.clear()
    submit(client, "/lid-worden", "join-form", "/lid-worden", kind="person", name="Anna Smit",
           email="anna@example.org", consent="ja")
    sign_in_by_link(client, session, "anna@example.org")

    response = client.get(f"/mijn/leden/{other.id}/certificaat.pdf", follow_redirects=False)

    assert response.status_code == 303 and response.headers["location"] == "/mijn/inloggen"


def test_a_member_asks_to_be_erased_and_the_administrator_is_told(client, session) -> None:
    email = joined_and_paid(client)
    sign_in_by_link(client, session, email)
    member = session.exec(select(Member).where(Member.email == email)).one()
    mine = page(client, "/mijn")
    action = f"/mijn/leden/{member.id}/verwijderverzoek"
    fields = {field.name: field.value for field in mine.xpath(f"//form[@action='{action}']//input")}

    response = client.post(action, data=fields, follow_redirects=False)

    assert response.status_code == 303 and "verzoek" in page(client, response.headers["location"]).text_content()
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "member.erasure_requested",
                                                 AuditEvent.object_id == str(member.id))).first() is not None
    told = session.exec(select(Notification).where(Notification.template == "erasure_requested")).one()
    assert COMPANY["name"] in told.body


def test_a_volunteer_signs_in_and_acknowledges_the_logged_hours(client, session, auth_headers) -> None:
    initiator = auth_headers(Role.INITIATOR)
    with on(START):
        project = live_project(client, initiator, auth_headers(Role.BOARD), START)["id"]
    with on(TODAY):
        submit(client, f"/projecten/{project}", "pledge-form", f"/projecten/{project}/bijdragen", kind="time",
               hours="3", name="Mo Haddou", email="mo@example.org")
        pledge = session.exec(select(Pledge).where(Pledge.email == "mo@example.org")).one()
        assert client.post(f"/api/v1/pledges/{pledge.id}/confirm", headers=initiator).status_code == 200
        assert client.post(f"/api/v1/pledges/{pledge.id}/deliver", headers=initiator,
                           json={"hours": "2.5"}).status_code == 200
        sign_in_by_link(client, session, "mo@example.org")
        mine = page(client, "/mijn")
        assert "2,5 uur" in mine.xpath("string(//form[@class='acknowledge'])")
        form = mine.xpath("//form[@class='acknowledge']")[0]
        fields = {field.name: field.value for field in form.xpath(".//input")}
        done = client.post(form.get("action"), data=fields, follow_redirects=False)
    assert done.status_code == 303
    session.refresh(pledge)
    assert pledge.acknowledged_at is not None


def test_signing_out_ends_the_session(client, session) -> None:
    email = joined_and_paid(client)
    sign_in_by_link(client, session, email)
    mine = page(client, "/mijn")
    fields = {field.name: field.value for field in mine.xpath("//form[@action='/mijn/uitloggen']//input")}
    token = client.cookies.get("kracht_sessie")

    client.post("/mijn/uitloggen", data=fields, follow_redirects=False)

    client.cookies.set("kracht_sessie", token)  # even the old cookie no longer works
    assert client.get("/mijn", follow_redirects=False).status_code == 303

"""Share certificates over HTTP: a PDF extract from the share register, for the member or the staff."""

from __future__ import annotations

import re
import uuid
import zlib
from datetime import date

import pytest

from coop.auth.models import Role
from coop.core.clock import today_amsterdam
from coop.members import documents
from tests.coop.members.support import PERSON, join_and_pay, on, own_headers

COMPANY = {"kind": "company", "name": "Bouwbedrijf Köster BV", "email": "info@koster.example.org",
           "provider": "sandbox", "kvk_number": "69599084", "share_class": "maatschappelijk", "quantity": 10}


def pdf_content(pdf: bytes) -> bytes:
    """Every stream of the PDF, inflated where it is deflated: the page's text operators are in there."""
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S)
    out = []
    for stream in streams:
        try:
            out.append(zlib.decompress(stream))
        except zlib.error:
            out.append(stream)
    return b"\n".join(out)


def shown(text: str) -> bytes:
    """A text as the PDF shows it with a core font: `(text) Tj` in cp1252."""
    return b"(" + text.encode("cp1252") + b") Tj"


def test_a_company_with_ten_social_shares_gets_a_certificate_listing_the_range(client, auth_headers) -> None:
    board = auth_headers(Role.BOARD)
    with on(date(2026, 3, 1)):
        joined = join_and_pay(client, COMPANY)
    member_id = joined["member"]["id"]
    member = client.get(f"/api/v1/members/{member_id}", headers=board).json()
    held = {h["class_code"]: h["certificates"] for h in member["holdings"]}
    social = held["maatschappelijk"]
    assert social == list(range(social[0], social[0] + 10))

    response = client.get(f"/api/v1/members/{member_id}/certificate.pdf", headers=board)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    number = member["member_number"]
    assert response.headers["content-disposition"] == (
        f'attachment; filename="aandelenbewijs-{number}-{today_amsterdam().isoformat()}.pdf"')
    assert response.content.startswith(b"%PDF")
    content = pdf_content(response.content)
    assert shown(f"{social[0]}-{social[-1]}") in content
    assert shown(str(held["lidmaatschap"][0])) in content
    assert shown(str(number)) in content
    assert shown("Bouwbedrijf Köster BV") in content
    assert shown("Coöperatie Kracht in NL U.A.") in content
    # The euro sign is cp1252 0x80 in WinAnsiEncoding, so the real glyph prints, not "EUR".
    assert shown("€ 250,00") in content and shown("€ 2.500,00") in content
    assert shown("Totaal nominaal: € 2.550,00") in content
    assert b"uittreksel uit het register van aandeelhouders" in content


def test_the_certificate_shows_the_holdings_as_of_a_date(client, auth_headers) -> None:
    treasurer = auth_headers(Role.TREASURER)
    with on(date(2026, 3, 1)):
        joined = join_and_pay(client, COMPANY)
    url = f"/api/v1/members/{joined['member']['id']}/certificate.pdf"

    before = client.get(f"{url}?at=2026-02-28", headers=treasurer)
    assert before.status_code == 404
    assert before.headers["content-type"] == "application/problem+json"
    assert "no shares on 2026-02-28" in before.json()["detail"]

    that_day = client.get(f"{url}?at=2026-03-01", headers=treasurer)
    assert that_day.status_code == 200
    assert that_day.headers["content-disposition"].endswith('-2026-03-01.pdf"')
    assert shown("1 maart 2026") in pdf_content(that_day.content)


def test_a_member_without_shares_has_no_certificate(client, auth_headers) -> None:
    joined = join_and_pay(client, PERSON, outcome="failed")
    response = client.get(f"/api/v1/members/{joined['member']['id']}/certificate.pdf",
                          headers=auth_headers(Role.ADMIN))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "held no shares" in response.json()["detail"]
    unknown = client.get(f"/api/v1/members/{uuid.uuid4()}/certificate.pdf", headers=auth_headers(Role.ADMIN))
    assert unknown.status_code == 404


def test_the_member_themself_and_the_staff_may_get_the_certificate(client, session, make_user, auth_headers) -> None:
    joined = join_and_pay(client, PERSON)
    url = f"/api/v1/members/{joined['member']['id']}/certificate.pdf"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=auth_headers(Role.MEMBER)).status_code == 403
    assert client.get(url, headers=auth_headers(Role.INITIATOR, Role.FUND_MANAGER)).status_code == 403
    for role in (Role.BOARD, Role.TREASURER, Role.ADMIN):
        assert client.get(url, headers=auth_headers(role)).status_code == 200, role
    mine = client.get(url, headers=own_headers(session, make_user, joined["member"]["id"]))
    assert mine.status_code == 200 and mine.content.startswith(b"%PDF")


@pytest.mark.parametrize(("numbers", "text"), [
    ([], ""),
    ([7], "7"),
    ([*range(12, 22), 30], "12-21, 30"),
    ([30, 12, 13, 13, 14], "12-14, 30"),
    ([1, 3, 5, 6], "1, 3, 5-6"),
])
def test_certificate_numbers_are_compressed_into_ranges(numbers, text) -> None:
    assert documents.certificate_ranges(numbers) == text


def test_a_gap_in_the_numbers_and_names_outside_latin_1_still_print() -> None:
    certificate = documents.Certificate(
        member_id=uuid.uuid4(), member_name="Şükrü Yılmaz – Łódź", member_number=3, at=date(2026, 3, 1),
        made_on=date(2026, 3, 2), lines=[documents.CertificateLine(
            class_code="maatschappelijk", class_name="Maatschappelijk aandeel", quantity=11, nominal_cents=25000,
            certificates=[*range(12, 22), 30])])
    pdf = documents.render_certificate(certificate)
    assert pdf.startswith(b"%PDF")
    content = pdf_content(pdf)
    assert shown("12-21, 30") in content
    assert shown("Sükrü Yilmaz – Lódz") in content
    assert shown("€ 2.750,00") in content

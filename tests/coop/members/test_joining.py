"""Joining through the HTTP API with the sandbox: applicant, payment, active member, registers and ledger agree."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlmodel import func, select

from coop.auth.models import Role
from coop.ledger.chart import AccountCode
from coop.ledger.queries import balance
from coop.members.models import Member
from tests.coop.members.support import COMPANY, PERSON, join_and_pay, on


def test_a_person_joins_pays_and_becomes_an_active_member(client, session, auth_headers) -> None:
    board = auth_headers(Role.BOARD)
    response = client.post("/api/v1/members", json=PERSON)
    assert response.status_code == 201, response.text
    joined = response.json()
    assert joined["member"]["status"] == "applicant" and joined["member"]["member_number"] is None
    payment = joined["payment"]
    assert payment["amount_cents"] == 5000 and payment["purpose"] == "share_order" and payment["status"] == "open"
    assert payment["checkout_url"].endswith(f"/sandbox/checkout/{payment['id']}")

    client.post(f"/sandbox/checkout/{payment['id']}", data={"outcome": "paid"}, follow_redirects=False)

    member = client.get(f"/api/v1/members/{joined['member']['id']}", headers=board).json()
    assert member["status"] == "active" and member["member_number"] >= 1
    [holding] = member["holdings"]
    assert holding["class_code"] == "lidmaatschap" and holding["quantity"] == 1 and len(holding["certificates"]) == 1
    assert holding["member_number"] == member["member_number"]
    assert balance(session, account=AccountCode.SHARE_CAPITAL, member_id=uuid.UUID(member["id"])) == -5000
    shown = client.get(f"/api/v1/payments/{payment['id']}", headers=auth_headers(Role.TREASURER)).json()
    assert shown["status"] == "paid"


def test_a_company_buys_ten_social_shares_with_its_membership_share(client, session, auth_headers) -> None:
    joined = join_and_pay(client, COMPANY)
    assert joined["payment"]["amount_cents"] == 5000 + 10 * 25000
    member = client.get(f"/api/v1/members/{joined['member']['id']}", headers=auth_headers(Role.BOARD)).json()
    assert member["kvk_number"] == "69599084" and member["iban"] == "NL91ABNA0417164300"
    held = {h["class_code"]: h for h in member["holdings"]}
    assert held["maatschappelijk"]["quantity"] == 10 and len(set(held["maatschappelijk"]["certificates"])) == 10
    assert held["lidmaatschap"]["quantity"] == 1
    assert balance(session, account=AccountCode.SHARE_CAPITAL, member_id=uuid.UUID(member["id"])) == -255000


def test_registers_at_three_dates_match_the_ledger(client, session, auth_headers) -> None:
    board = auth_headers(Role.BOARD)
    with on(date(2026, 3, 1)):
        first = join_and_pay(client, PERSON)
    with on(date(2026, 6, 1)):
        second = join_and_pay(client, COMPANY)
    with on(date(2026, 9, 1)):
        join_and_pay(client, {**PERSON, "email": "niet-betaald@example.org"}, outcome="failed")

    expectations = {date(2026, 2, 1): set(), date(2026, 4, 1): {first["member"]["id"]},
                    date(2026, 12, 31): {first["member"]["id"], second["member"]["id"]}}
    for day, expected in expectations.items():
        members = client.get(f"/api/v1/registers/members?at={day}", headers=board).json()
        assert {m["id"] for m in members["members"]} == expected
        shares = client.get(f"/api/v1/registers/shares?at={day}", headers=board).json()
        assert {h["member_id"] for h in shares["holdings"]} == expected
        assert shares["total_nominal_cents"] == -balance(session, account=AccountCode.SHARE_CAPITAL, at=day)
    numbers = [m["member_number"] for m in client.get("/api/v1/registers/members?at=2026-12-31",
                                                      headers=board).json()["members"]]
    assert numbers == sorted(numbers) and numbers[1] == numbers[0] + 1


def test_a_failed_payment_leaves_an_applicant_without_shares(client, session, auth_headers) -> None:
    joined = join_and_pay(client, PERSON, outcome="failed")
    member = client.get(f"/api/v1/members/{joined['member']['id']}", headers=auth_headers(Role.BOARD)).json()
    assert member["status"] == "applicant" and member["member_number"] is None and member["holdings"] == []
    assert balance(session, account=AccountCode.SHARE_CAPITAL, member_id=uuid.UUID(member["id"])) == 0


def test_a_full_refund_cancels_the_shares_and_a_partial_one_is_refused(client, session, auth_headers) -> None:
    treasurer = auth_headers(Role.TREASURER)
    joined = join_and_pay(client, COMPANY)
    url = f"/api/v1/payments/{joined['payment']['id']}/refund"
    partial = client.post(url, json={"amount_cents": 25000}, headers=treasurer)
    assert partial.status_code == 422 and partial.json()["field"] == "amount_cents"
    assert client.post(url, json={}, headers=treasurer).status_code == 201
    shares = client.get("/api/v1/registers/shares", headers=treasurer).json()
    assert joined["member"]["id"] not in {h["member_id"] for h in shares["holdings"]}
    assert balance(session, account=AccountCode.SHARE_CAPITAL, member_id=uuid.UUID(joined["member"]["id"])) == 0


def test_a_double_click_with_one_idempotency_key_makes_one_member(client, session) -> None:
    headers = {"Idempotency-Key": "join-form-7f3a"}
    first = client.post("/api/v1/members", json=PERSON, headers=headers)
    second = client.post("/api/v1/members", json=PERSON, headers=headers)
    assert first.status_code == second.status_code == 201 and first.json() == second.json()
    assert session.exec(select(func.count()).select_from(Member)).one() == 1


@pytest.mark.parametrize(("change", "field"), [
    ({"kind": "alien"}, "kind"),
    ({"email": "not-an-address"}, "email"),
    ({"name": ""}, "name"),
    ({"provider": "paypal"}, "provider"),
    ({"kind": "company"}, "kvk_number"),
    ({"kvk_number": "69599084"}, "kvk_number"),
    ({"kind": "company", "kvk_number": "1234"}, "kvk_number"),
    ({"iban": "NL00ABNA0417164300"}, "iban"),
    ({"share_class": "maatschappelijk", "quantity": 2}, "share_class"),
    ({"share_class": "onbekend"}, "share_class"),
    ({"kind": "company", "kvk_number": "69599084", "share_class": "maatschappelijk", "quantity": 0}, "quantity"),
    ({"kind": "company", "kvk_number": "69599084", "share_class": "maatschappelijk", "quantity": 1001},
     "quantity"),
    ({"quantity": 2}, "quantity"),
    ({"consent": False}, "consent"),
])
def test_bad_joins_are_problems_naming_the_field_and_write_nothing(client, session, change, field) -> None:
    response = client.post("/api/v1/members", json={**PERSON, **change})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field
    assert session.exec(select(func.count()).select_from(Member)).one() == 0


def test_share_classes_are_public_with_the_investor_notice(client) -> None:
    classes = {c["code"]: c for c in client.get("/api/v1/share-classes").json()}
    assert classes["lidmaatschap"]["nominal_cents"] == 5000 and classes["lidmaatschap"]["required"]
    assert "AFM-toezicht" in classes["maatschappelijk"]["investor_notice"]
    assert classes["maatschappelijk"]["member_kinds"] == ["company", "government", "organisation"]


def test_members_and_registers_need_the_right_role(client, auth_headers) -> None:
    joined = client.post("/api/v1/members", json=PERSON).json()
    url = f"/api/v1/members/{joined['member']['id']}"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=auth_headers(Role.MEMBER)).status_code == 403
    assert client.get(url, headers=auth_headers(Role.ADMIN)).status_code == 200
    for register in ("/api/v1/registers/members", "/api/v1/registers/shares"):
        assert client.get(register).status_code == 401
        assert client.get(register, headers=auth_headers(Role.INITIATOR)).status_code == 403
        assert client.get(register, headers=auth_headers(Role.TREASURER)).status_code == 200


def test_facts_recorded_in_the_same_instant_follow_the_lifecycle(session) -> None:
    from coop.members.models import FactKind, MemberKind, MemberStatus
    from coop.members.queries import status_at
    from coop.members.service import add_fact

    member = Member(kind=MemberKind.PERSON, name="Gelijktijdig", email="same@example.org")
    session.add(member)
    session.flush()
    with on(date(2026, 4, 1)):
        for kind in (FactKind.RESIGNATION_REQUESTED, FactKind.ACTIVATED, FactKind.APPLIED):
            add_fact(session, member=member, kind=kind, effective_on=date(2026, 4, 1))
    assert status_at(session, member_id=member.id, at=date(2026, 4, 1)) is MemberStatus.RESIGNING

"""Transfers and redemptions through the HTTP API: four eyes, register and ledger move together on the same date."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from coop.auth.models import Role
from coop.ledger.chart import AccountCode
from coop.ledger.queries import balance
from tests.coop.members.support import COMPANY, PERSON, join_and_pay, on


def capital(session, member_id: str, day: date | None = None) -> int:
    return -balance(session, account=AccountCode.SHARE_CAPITAL, member_id=uuid.UUID(member_id), at=day)


def holdings(client, headers, member_id: str, day: date) -> dict[str, int]:
    shares = client.get(f"/api/v1/registers/shares?at={day}", headers=headers).json()
    return {h["class_code"]: h["quantity"] for h in shares["holdings"] if h["member_id"] == member_id}


@pytest.fixture
def board_pair(auth_headers):
    return auth_headers(Role.BOARD), auth_headers(Role.BOARD)


def test_a_transfer_needs_a_second_board_member_and_moves_register_and_ledger(client, session, board_pair) -> None:
    requester, approver = board_pair
    with on(date(2026, 2, 1)):
        seller = join_and_pay(client, COMPANY)["member"]["id"]
        buyer = join_and_pay(client, {**COMPANY, "email": "info@buurtbouw.example.org", "quantity": 2})["member"]["id"]
    with on(date(2026, 5, 1)):
        asked = client.post("/api/v1/share-transfers", headers=requester, json={
            "from_member_id": seller, "to_member_id": buyer, "class_code": "maatschappelijk", "quantity": 3})
        assert asked.status_code == 201, asked.text
        mutation = asked.json()
        assert mutation["status"] == "requested" and mutation["kind"] == "transfer"
        own = client.post(f"/api/v1/share-mutations/{mutation['id']}/approve", headers=requester)
        assert own.status_code == 403 and own.json()["field"] == "mutation_id"
        approved = client.post(f"/api/v1/share-mutations/{mutation['id']}/approve", headers=approver)
        assert approved.status_code == 200 and approved.json()["status"] == "approved"
        assert approved.json()["amount_cents"] == 3 * 25000
        again = client.post(f"/api/v1/share-mutations/{mutation['id']}/approve", headers=approver)
        assert again.status_code == 409

    assert holdings(client, approver, seller, date(2026, 4, 30))["maatschappelijk"] == 10
    assert holdings(client, approver, seller, date(2026, 5, 1))["maatschappelijk"] == 7
    assert holdings(client, approver, buyer, date(2026, 5, 1))["maatschappelijk"] == 5
    assert capital(session, seller, date(2026, 4, 30)) == 5000 + 10 * 25000
    assert capital(session, seller, date(2026, 5, 1)) == 5000 + 7 * 25000
    assert capital(session, buyer, date(2026, 5, 1)) == 5000 + 5 * 25000


def test_a_resignation_redeems_the_shares_and_the_payout_follows_the_class_rule(client, session, board_pair,
                                                                               auth_headers) -> None:
    requester, approver = board_pair
    treasurer = auth_headers(Role.TREASURER)
    with on(date(2026, 1, 10)):
        member_id = join_and_pay(client, PERSON)["member"]["id"]
    with on(date(2026, 3, 15)):
        notice = client.post(f"/api/v1/members/{member_id}/resign", headers=requester, json={})
        assert notice.status_code == 201, notice.text
        [redemption] = notice.json()
        assert redemption["kind"] == "redemption" and redemption["effective_on"] == "2026-06-30"
        status_now = client.get(f"/api/v1/members/{member_id}", headers=approver).json()["status"]
        assert status_now == "resigning"
        approved = client.post(f"/api/v1/share-mutations/{redemption['id']}/approve", headers=approver).json()
        assert approved["payout_due_on"] == "2027-12-31" and approved["amount_cents"] == 5000

    assert client.get(f"/api/v1/members/{member_id}?at=2026-07-01", headers=approver).json()["status"] == "former"
    assert holdings(client, approver, member_id, date(2026, 6, 29)) == {"lidmaatschap": 1}
    assert holdings(client, approver, member_id, date(2026, 6, 30)) == {}
    assert capital(session, member_id, date(2026, 6, 29)) == 5000
    assert capital(session, member_id, date(2026, 6, 30)) == 0
    assert -balance(session, account=AccountCode.REDEMPTIONS_PAYABLE, member_id=uuid.UUID(member_id)) == 5000
    former = client.get("/api/v1/registers/members?at=2026-07-01", headers=approver).json()["members"]
    assert [m["status"] for m in former if m["id"] == member_id] == ["former"]

    paid = client.post(f"/api/v1/redemptions/{redemption['id']}/paid", headers=treasurer,
                       json={"paid_on": "2028-01-05"})
    assert paid.status_code == 200 and paid.json()["status"] == "paid_out"
    assert client.post(f"/api/v1/redemptions/{redemption['id']}/paid", headers=treasurer, json={}).json()[
        "paid_out_on"] == "2028-01-05"
    assert balance(session, account=AccountCode.REDEMPTIONS_PAYABLE, member_id=uuid.UUID(member_id)) == 0
    assert client.post(f"/api/v1/redemptions/{redemption['id']}/paid", headers=approver, json={}).status_code == 403


def test_a_rejected_request_moves_nothing(client, session, board_pair) -> None:
    requester, approver = board_pair
    holder = join_and_pay(client, COMPANY)["member"]["id"]
    asked = client.post("/api/v1/redemptions", headers=requester, json={
        "member_id": holder, "class_code": "maatschappelijk", "quantity": 4}).json()
    too_short = client.post(f"/api/v1/share-mutations/{asked['id']}/reject", headers=approver, json={"reason": ""})
    assert too_short.status_code == 422 and too_short.json()["field"] == "reason"
    rejected = client.post(f"/api/v1/share-mutations/{asked['id']}/reject", headers=approver,
                           json={"reason": "Uittreding pas per jaareinde"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert capital(session, holder) == 5000 + 10 * 25000
    listed = client.get("/api/v1/share-mutations?status=rejected", headers=approver).json()
    assert [m["id"] for m in listed] == [asked["id"]]


@pytest.mark.parametrize(("change", "field"), [
    ({"class_code": "lidmaatschap", "quantity": 1}, "class_code"),
    ({"quantity": 11}, "quantity"),
    ({"quantity": 0}, "quantity"),
    ({"class_code": "onbekend"}, "class_code"),
    ({"to": "person"}, "to_member_id"),
    ({"to": "self"}, "to_member_id"),
    ({"to": "applicant"}, "to_member_id"),
])
def test_bad_transfers_are_problems_naming_the_field(client, session, board_pair, change, field) -> None:
    requester, _ = board_pair
    holder = join_and_pay(client, COMPANY)["member"]["id"]
    receivers = {
        "company": lambda: join_and_pay(client, {**COMPANY, "email": "b@example.org"})["member"]["id"],
        "person": lambda: join_and_pay(client, PERSON)["member"]["id"],
        "self": lambda: holder,
        "applicant": lambda: join_and_pay(client, {**COMPANY, "email": "c@example.org"}, "failed")["member"]["id"],
    }
    change = dict(change)
    to = receivers[change.pop("to", "company")]()
    body = {"from_member_id": holder, "to_member_id": to, "class_code": "maatschappelijk", "quantity": 2, **change}
    response = client.post("/api/v1/share-transfers", headers=requester, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field


def test_only_the_holder_or_the_board_may_ask(client, make_user, auth_headers, session) -> None:
    from coop.auth.service import create_token
    from coop.members.models import Member

    holder = join_and_pay(client, COMPANY)["member"]["id"]
    body = {"member_id": holder, "class_code": "maatschappelijk", "quantity": 1}
    assert client.post("/api/v1/redemptions", json=body).status_code == 401
    assert client.post("/api/v1/redemptions", json=body, headers=auth_headers(Role.MEMBER)).status_code == 403
    assert client.post("/api/v1/redemptions", json=body, headers=auth_headers(Role.TREASURER)).status_code == 403
    representative = make_user(Role.MEMBER)
    member = session.get(Member, uuid.UUID(holder))
    member.user_id = representative.id
    session.add(member)
    session.commit()
    from datetime import timedelta

    token, _ = create_token(session, user_id=representative.id, ttl=timedelta(hours=1))
    own = client.post("/api/v1/redemptions", json=body, headers={"Authorization": f"Bearer {token}"})
    assert own.status_code == 201
    assert client.get("/api/v1/share-mutations", headers=auth_headers(Role.MEMBER)).status_code == 403


def test_board_searches_members(client, auth_headers) -> None:
    board = auth_headers(Role.BOARD)
    with on(date(2025, 6, 1)):
        person = join_and_pay(client, {**PERSON, "city": "Zwolle"})["member"]["id"]
    with on(date(2026, 6, 1)):
        company = join_and_pay(client, COMPANY)["member"]["id"]
        applicant = join_and_pay(client, {**PERSON, "email": "later@example.org"}, "failed")["member"]["id"]

    def ids(query: str) -> list[str]:
        response = client.get(f"/api/v1/members?{query}", headers=board)
        assert response.status_code == 200, response.text
        return [m["id"] for m in response.json()["items"]]

    assert ids("kind=company") == [company]
    assert ids("status=applicant") == [applicant]
    assert ids("q=zwolle") == [person]
    assert ids("joined_from=2026-01-01&status=active") == [company]
    assert ids("at=2025-12-31&status=active") == [person]
    assert client.get("/api/v1/members?limit=0", headers=board).status_code == 422
    assert client.get("/api/v1/members", headers=auth_headers(Role.MEMBER)).status_code == 403


def test_a_share_order_cannot_be_refunded_once_its_shares_moved(client, session, board_pair, auth_headers) -> None:
    requester, approver = board_pair
    joined = join_and_pay(client, COMPANY)
    holder = joined["member"]["id"]
    asked = client.post("/api/v1/redemptions", headers=requester, json={
        "member_id": holder, "class_code": "maatschappelijk", "quantity": 1}).json()
    client.post(f"/api/v1/share-mutations/{asked['id']}/approve", headers=approver)
    refused = client.post(f"/api/v1/payments/{joined['payment']['id']}/refund", json={},
                          headers=auth_headers(Role.TREASURER))
    assert refused.status_code == 409 and refused.json()["field"] == "payment_id"
    assert capital(session, holder) == 5000 + 9 * 25000


def test_the_offer_carries_the_investor_notice_and_decisions_are_audited(client, board_pair) -> None:
    requester, approver = board_pair
    person = client.post("/api/v1/members", json=PERSON).json()
    assert person["investor_notices"] == []
    company = join_and_pay(client, COMPANY)
    assert any("AFM-toezicht" in notice for notice in company["investor_notices"])
    asked = client.post("/api/v1/redemptions", headers=requester, json={
        "member_id": company["member"]["id"], "class_code": "maatschappelijk", "quantity": 1}).json()
    client.post(f"/api/v1/share-mutations/{asked['id']}/approve", headers=approver)
    log = client.get(f"/api/v1/audit?object_type=share_mutation&object_id={asked['id']}", headers=approver).json()
    assert [e["action"] for e in log["items"]] == ["share_redemption.approved", "share_redemption.requested"]
    assert log["items"][0]["after"]["status"] == "approved"


@pytest.mark.parametrize("reason", ["expelled", "deceased"])
def test_the_board_records_an_expulsion_or_a_death(client, session, board_pair, auth_headers, reason) -> None:
    recorder, approver = board_pair
    with on(date(2026, 2, 1)):
        member_id = join_and_pay(client, COMPANY)["member"]["id"]
    with on(date(2026, 4, 1)):
        ended = client.post(f"/api/v1/members/{member_id}/end", headers=recorder,
                            json={"reason": reason, "effective_on": "2026-03-20", "note": "besluit ALV"})
        assert ended.status_code == 201, ended.text
        assert {m["class_code"]: m["quantity"] for m in ended.json()} == {"lidmaatschap": 1, "maatschappelijk": 10}
        for mutation in ended.json():
            assert client.post(f"/api/v1/share-mutations/{mutation['id']}/approve", headers=approver).status_code == 200
    assert client.get(f"/api/v1/members/{member_id}?at=2026-03-20", headers=approver).json()["status"] == reason
    assert client.get(f"/api/v1/members/{member_id}?at=2026-03-19", headers=approver).json()["status"] == "active"
    assert holdings(client, approver, member_id, date(2026, 3, 20)) == {}
    assert capital(session, member_id, date(2026, 3, 20)) == 0
    again = client.post(f"/api/v1/members/{member_id}/end", headers=recorder,
                        json={"reason": reason, "effective_on": "2026-05-01"})
    assert again.status_code == 409
    bad = client.post(f"/api/v1/members/{member_id}/end", headers=recorder,
                      json={"reason": "resigned", "effective_on": "2026-05-01"})
    assert bad.status_code == 422 and bad.json()["field"] == "reason"
    assert client.post(f"/api/v1/members/{member_id}/end", headers=auth_headers(Role.TREASURER),
                       json={"reason": reason, "effective_on": "2026-05-01"}).status_code == 403

"""GDPR over HTTP: a member's data export, and erasure that leaves the registers and the books as they were."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime

from sqlmodel import select

from coop.audit.models import AuditEvent
from coop.auth.models import Role
from coop.members import privacy
from coop.members.models import Member
from tests.coop.members.support import COMPANY, join_and_pay, on, own_headers

PERSON = {"kind": "person", "name": "Fatima el Amrani", "email": "fatima@example.org", "provider": "sandbox",
          "phone": "+31 6 12345678", "street": "Oudegracht 1", "postcode": "3511 AA", "city": "Utrecht",
          "iban": "NL91 ABNA 0417 1643 00"}
TRIAL_BALANCE = "/api/v1/ledger/trial-balance?start=2026-01-01&end=2026-12-31"


def erasures(session, member_id: str) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == "member.erased",
                                                      AuditEvent.object_id == member_id)).all())


def snapshot(client, headers: dict[str, str], days: list[date]) -> dict:
    """Both registers on several dates and the trial balance of the year, as the API shows them."""

    def get(url: str) -> dict:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    return {"members": {d: get(f"/api/v1/registers/members?at={d}") for d in days},
            "shares": {d: get(f"/api/v1/registers/shares?at={d}") for d in days},
            "trial_balance": get(TRIAL_BALANCE)}


def test_export_has_the_email_consents_facts_shares_and_the_payment(client, session, make_user) -> None:
    joined = join_and_pay(client, PERSON)
    member_id = joined["member"]["id"]
    response = client.get(f"/api/v1/members/{member_id}/export", headers=own_headers(session, make_user, member_id))

    assert response.status_code == 200, response.text
    data = response.json()
    assert data["member"]["email"] == "fatima@example.org" and data["member"]["name"] == "Fatima el Amrani"
    assert data["member"]["phone"] == "+31 6 12345678" and data["member"]["iban"] == "NL91ABNA0417164300"
    assert data["status"] == "active"
    assert {c["kind"] for c in data["consents"]} == {"data_policy", "statutes", "financial_risk"}
    assert all(datetime.fromisoformat(c["given_at"]).tzinfo is not None for c in data["consents"])
    assert [f["kind"] for f in data["membership_facts"]] == ["applied", "activated"]
    [holding] = data["holdings"]
    assert holding["class_code"] == "lidmaatschap" and holding["quantity"] == 1
    [operation] = data["share_operations"]
    assert operation["kind"] == "issue" and operation["certificates"] == holding["certificates"]
    [order] = data["share_orders"]
    assert order["status"] == "paid" and order["lines"][0]["quantity"] == 1
    [payment] = data["payments"]
    assert payment["id"] == joined["payment"]["id"] and payment["reference"] == joined["payment"]["reference"]
    assert payment["amount_cents"] == 5000 and payment["status"] == "paid" and payment["provider"] == "sandbox"
    assert payment["paid_at"] and payment["created_at"] and payment["refunds"] == []
    assert {e["action"] for e in data["audit_events"]} >= {"member.applied", "member.activated"}


def test_the_export_is_json_safe_without_the_web_layer(client, session) -> None:
    joined = join_and_pay(client, COMPANY)
    data = privacy.export_member(session, member_id=uuid.UUID(joined["member"]["id"]))
    assert json.loads(json.dumps(data))["member"]["kvk_number"] == "69599084"
    assert {h["class_code"] for h in data["holdings"]} == {"lidmaatschap", "maatschappelijk"}


def test_only_the_member_themself_or_an_admin_may_export(client, session, make_user, auth_headers) -> None:
    joined = join_and_pay(client, PERSON)
    url = f"/api/v1/members/{joined['member']['id']}/export"
    assert client.get(url).status_code == 401
    for role in (Role.MEMBER, Role.BOARD, Role.TREASURER, Role.INITIATOR):
        response = client.get(url, headers=auth_headers(role))
        assert response.status_code == 403, role
        assert response.headers["content-type"] == "application/problem+json"
    assert client.get(url, headers=auth_headers(Role.ADMIN)).status_code == 200
    assert client.get(url, headers=own_headers(session, make_user, joined["member"]["id"])).status_code == 200


def test_only_an_admin_may_erase(client, session, make_user, auth_headers) -> None:
    joined = join_and_pay(client, PERSON, outcome="failed")
    member_id = joined["member"]["id"]
    url = f"/api/v1/members/{member_id}/erase"
    assert client.post(url).status_code == 401
    for role in (Role.MEMBER, Role.BOARD, Role.TREASURER):
        assert client.post(url, headers=auth_headers(role)).status_code == 403, role
    assert client.post(url, headers=own_headers(session, make_user, member_id)).status_code == 403
    assert erasures(session, member_id) == []
    assert client.post(url, headers=auth_headers(Role.ADMIN)).status_code == 200


def test_erasure_is_refused_while_the_member_holds_shares(client, session, auth_headers) -> None:
    joined = join_and_pay(client, PERSON)
    member_id = joined["member"]["id"]
    board = auth_headers(Role.BOARD)
    before = client.get(f"/api/v1/members/{member_id}", headers=board).json()

    response = client.post(f"/api/v1/members/{member_id}/erase", headers=auth_headers(Role.ADMIN))

    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert "still holds shares" in response.json()["detail"] and "1 lidmaatschap" in response.json()["detail"]
    assert client.get(f"/api/v1/members/{member_id}", headers=board).json() == before
    member = session.get(Member, uuid.UUID(member_id))
    session.refresh(member)
    assert member.erased_at is None and member.phone == "+31 6 12345678"
    assert erasures(session, member_id) == []


def test_erasure_is_refused_while_a_payment_is_open(client, session, auth_headers) -> None:
    joined = join_and_pay(client, PERSON, outcome=None)
    assert joined["payment"]["status"] == "open"
    response = client.post(f"/api/v1/members/{joined['member']['id']}/erase", headers=auth_headers(Role.ADMIN))
    assert response.status_code == 409
    assert joined["payment"]["reference"] in response.json()["detail"]
    assert "open or pending" in response.json()["detail"]
    assert session.get(Member, uuid.UUID(joined["member"]["id"])).erased_at is None


def test_an_open_payment_under_the_members_email_also_blocks_erasure(client, auth_headers) -> None:
    failed = join_and_pay(client, PERSON, outcome="failed")
    again = join_and_pay(client, {**PERSON, "name": "Fatima el Amrani (opnieuw)"}, outcome=None)
    response = client.post(f"/api/v1/members/{failed['member']['id']}/erase", headers=auth_headers(Role.ADMIN))
    assert response.status_code == 409
    assert again["payment"]["reference"] in response.json()["detail"]


def test_a_joiner_whose_payment_failed_is_erased_once(client, session, auth_headers) -> None:
    joined = join_and_pay(client, PERSON, outcome="failed")
    member_id = joined["member"]["id"]
    admin = auth_headers(Role.ADMIN)

    response = client.post(f"/api/v1/members/{member_id}/erase", headers=admin)

    assert response.status_code == 200, response.text
    erased = response.json()
    short = uuid.UUID(member_id).hex[:8]
    assert erased["name"] == f"Verwijderd lid {short}" and erased["member_number"] is None
    assert erased["email"] == f"erased-{uuid.UUID(member_id).hex}@invalid.example"
    assert erased["id"] == member_id and erased["status"] == "applicant" and erased["erased_at"]
    member = session.get(Member, uuid.UUID(member_id))
    session.refresh(member)
    assert (member.phone, member.street, member.postcode, member.city, member.iban, member.kvk_number) == (
        None, None, None, None, None, None)
    assert member.erased_at is not None and member.kind == "person"

    exported = client.get(f"/api/v1/members/{member_id}/export", headers=admin).json()
    assert [f["kind"] for f in exported["membership_facts"]] == ["applied"]
    assert len(exported["consents"]) == 3 and exported["payments"][0]["status"] == "failed"
    assert "Fatima" not in json.dumps(exported["member"]) and "fatima@" not in json.dumps(exported["member"])

    again = client.post(f"/api/v1/members/{member_id}/erase", headers=admin)
    assert again.status_code == 409 and "already erased" in again.json()["detail"]

    [event] = erasures(session, member_id)
    recorded = json.dumps([event.before, event.after])
    for personal in ("Fatima", "Amrani", "fatima@example.org", "12345678", "Oudegracht", "3511", "Utrecht",
                     "NL91ABNA0417164300"):
        assert personal not in recorded
    assert event.after["pseudonymised"] == ["name", "email"]
    assert set(event.after["cleared"]) == {"phone", "street", "postcode", "city", "iban"}
    listed = client.get(f"/api/v1/audit?object_type=member&object_id={member_id}&action=member.erased",
                        headers=admin).json()
    assert listed["total"] == 1


def test_after_a_full_refund_erasure_leaves_registers_and_trial_balance_as_they_were(client, auth_headers) -> None:
    treasurer, admin = auth_headers(Role.TREASURER), auth_headers(Role.ADMIN)
    with on(date(2026, 2, 1)):
        other = join_and_pay(client, PERSON)
    with on(date(2026, 3, 1)):
        joined = join_and_pay(client, COMPANY)
    member_id = joined["member"]["id"]
    with on(date(2026, 4, 1)):
        refund = client.post(f"/api/v1/payments/{joined['payment']['id']}/refund", json={}, headers=treasurer)
        assert refund.status_code == 201, refund.text
    days = [date(2026, 3, 15), date(2026, 4, 1), date(2026, 12, 31)]
    with on(date(2026, 5, 1)):
        before = snapshot(client, treasurer, days)
        assert any(h["member_id"] == member_id for h in before["shares"][date(2026, 3, 15)]["holdings"])
        assert not any(h["member_id"] == member_id for h in before["shares"][date(2026, 4, 1)]["holdings"])

        response = client.post(f"/api/v1/members/{member_id}/erase", headers=admin)
        assert response.status_code == 200, response.text
        number = response.json()["member_number"]
        assert response.json()["name"] == f"Verwijderd lid {number}"

        after = snapshot(client, treasurer, days)

    assert after["trial_balance"] == before["trial_balance"] and after["shares"] == before["shares"]
    for day in days:
        entries_before = {e["id"]: e for e in before["members"][day]["members"]}
        entries_after = {e["id"]: e for e in after["members"][day]["members"]}
        assert entries_before.keys() == entries_after.keys() and other["member"]["id"] in entries_after
        assert entries_after[member_id]["name"] == f"Verwijderd lid {number}"
        assert entries_before[member_id]["name"] == "Bouwbedrijf De Vries BV"
        entries_before[member_id]["name"] = entries_after[member_id]["name"]
        assert entries_before == entries_after
    assert client.post(f"/api/v1/members/{member_id}/erase", headers=admin).status_code == 409


def test_no_member_name_reaches_the_immutable_ledger(client, session) -> None:
    from sqlmodel import select

    from coop.ledger.models import JournalEntry
    from tests.coop.members.support import COMPANY, join_and_pay

    joined = join_and_pay(client, COMPANY)
    assert joined["payment"]["description"] == "Aandelen: 1 x Lidmaatschapsaandeel, 10 x Maatschappelijk aandeel"
    descriptions = [e.description for e in session.exec(select(JournalEntry)).all()]
    assert descriptions and not any(COMPANY["name"] in d for d in descriptions)


def test_erasure_also_erases_a_login_that_only_served_the_membership(client, session, make_user) -> None:
    from coop.auth.models import Role, User
    from coop.members.models import Member
    from coop.members.privacy import erase_member
    from tests.coop.members.support import PERSON, join_and_pay

    joined = join_and_pay(client, PERSON, outcome="failed")
    login = make_user(Role.MEMBER, email="fatima.login@example.org")
    member = session.get(Member, uuid.UUID(joined["member"]["id"]))
    member.user_id = login.id
    erase_member(session, member_id=member.id, actor_id=None)
    erased = session.get(User, login.id)
    assert erased.email == f"erased-{login.id.hex}@invalid.example"
    assert erased.active is False and erased.password_hash is None
    board_member = make_user(Role.MEMBER, Role.BOARD, email="bestuur@example.org")
    other = join_and_pay(client, {**PERSON, "email": "ander@example.org"}, outcome="failed")
    second = session.get(Member, uuid.UUID(other["member"]["id"]))
    second.user_id = board_member.id
    erase_member(session, member_id=second.id, actor_id=None)
    assert session.get(User, board_member.id).email == "bestuur@example.org"  # a board account is not erased


def test_erasing_a_former_member_leaves_books_and_registers_unchanged_but_the_name(client, auth_headers) -> None:
    from datetime import date

    from coop.auth.models import Role
    from tests.coop.members.support import PERSON, join_and_pay, on

    requester, approver = auth_headers(Role.BOARD), auth_headers(Role.BOARD)
    treasurer, admin = auth_headers(Role.TREASURER), auth_headers(Role.ADMIN)
    with on(date(2026, 1, 10)):
        member_id = join_and_pay(client, {**PERSON, "iban": "NL20INGB0001234567"})["member"]["id"]
        join_and_pay(client, {**PERSON, "name": "Blijft Lid", "email": "blijft@example.org"})
    with on(date(2026, 3, 15)):
        [redemption] = client.post(f"/api/v1/members/{member_id}/resign", headers=requester, json={}).json()
        client.post(f"/api/v1/share-mutations/{redemption['id']}/approve", headers=approver)
    assert client.post(f"/api/v1/redemptions/{redemption['id']}/paid", headers=treasurer,
                       json={"paid_on": "2026-07-15"}).status_code == 200
    assert client.get(f"/api/v1/members/{member_id}", headers=admin).json()["status"] == "former"

    def snapshot() -> dict:
        views = {"trial_balance": client.get("/api/v1/ledger/trial-balance?start=2026-01-01&end=2026-12-31",
                                             headers=treasurer).json()}
        for day in ("2026-02-01", "2026-06-29", "2026-12-31"):
            views[f"members {day}"] = client.get(f"/api/v1/registers/members?at={day}", headers=treasurer).json()
            views[f"shares {day}"] = client.get(f"/api/v1/registers/shares?at={day}", headers=treasurer).json()
        return views

    before = snapshot()
    erased = client.post(f"/api/v1/members/{member_id}/erase", headers=admin)
    assert erased.status_code == 200, erased.text
    after = snapshot()
    for view, shown in before.items():
        if view.startswith("members"):
            for entry in shown["members"]:
                if entry["id"] == member_id:
                    assert entry["name"] == PERSON["name"]
                    entry["name"] = erased.json()["name"]
        assert after[view] == shown, view
    assert any(e["id"] == member_id for e in after["members 2026-02-01"]["members"])

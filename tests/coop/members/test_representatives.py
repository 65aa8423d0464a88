"""Organisations act through representatives: they may do what the member may, nobody else's."""

from __future__ import annotations

from datetime import timedelta

from coop.auth.models import Role
from coop.auth.service import create_token, user_by_email
from tests.coop.members.support import COMPANY, PERSON, join_and_pay


def bearer(session, email: str) -> dict[str, str]:
    user = user_by_email(session, email=email)
    token, _ = create_token(session, user_id=user.id, ttl=timedelta(hours=1))
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_a_representative_acts_for_the_organisation_only(client, session, auth_headers) -> None:
    board = auth_headers(Role.BOARD)
    company = join_and_pay(client, COMPANY)["member"]["id"]
    other = join_and_pay(client, {**COMPANY, "email": "ander@example.org"})["member"]["id"]
    url = f"/api/v1/members/{company}/representatives"
    assert client.post(url, json={"email": "penningmeester@devries.example.org"}).status_code == 401
    assert client.post(url, json={"email": "x@example.org"}, headers=auth_headers(Role.TREASURER)).status_code == 403
    added = client.post(url, json={"email": "Penningmeester@DeVries.example.org"}, headers=board)
    assert added.status_code == 201, added.text
    assert [r["email"] for r in added.json()] == ["penningmeester@devries.example.org"]
    assert client.post(url, json={"email": "penningmeester@devries.example.org"}, headers=board).json() == added.json()

    rep = bearer(session, "penningmeester@devries.example.org")
    assert client.get(f"/api/v1/members/{company}", headers=rep).status_code == 200
    assert client.get(f"/api/v1/members/{company}/certificate.pdf", headers=rep).status_code == 200
    assert client.get(f"/api/v1/members/{other}", headers=rep).status_code == 403
    asked = client.post("/api/v1/redemptions", headers=rep, json={
        "member_id": company, "class_code": "maatschappelijk", "quantity": 1})
    assert asked.status_code == 201
    assert client.post("/api/v1/redemptions", headers=rep, json={
        "member_id": other, "class_code": "maatschappelijk", "quantity": 1}).status_code == 403

    user_id = added.json()[0]["user_id"]
    assert client.delete(f"{url}/{user_id}", headers=board).status_code == 204
    assert client.get(f"/api/v1/members/{company}", headers=rep).status_code == 403
    assert client.delete(f"{url}/{user_id}", headers=board).status_code == 404
    log = client.get(f"/api/v1/audit?object_type=member&object_id={company}", headers=board).json()["items"]
    assert {"member.representative_added", "member.representative_removed"} <= {e["action"] for e in log}


def test_a_person_has_no_representatives(client, auth_headers) -> None:
    person = join_and_pay(client, PERSON)["member"]["id"]
    response = client.post(f"/api/v1/members/{person}/representatives", json={"email": "buur@example.org"},
                           headers=auth_headers(Role.BOARD))
    assert response.status_code == 422 and response.json()["field"] == "member_id"
    bad = client.post(f"/api/v1/members/{person}/representatives", json={"email": "geen-adres"},
                      headers=auth_headers(Role.BOARD))
    assert bad.status_code == 422 and bad.json()["field"] == "email"

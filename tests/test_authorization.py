"""Who may call what: every operation of the API, called anonymously and as each role, against an explicit matrix.

The world holds one of everything (a member with its own login, a live project run by the initiator with a
paid pledge and hours offered, a fund run by the fund manager with a rule and a proposed grant, a reported
outcome), so the path ids are real. Bodies are empty: a call the matrix lets through may still be refused for
its body (422) or state (404, 409), but never with 401 or 403, and never with a 5xx. Object-level rules (a
member reads only their own data, an initiator only their own project's pledgers, a fund manager only their
own fund) are tested with full requests at the end.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from coop.auth.models import Role
from coop.auth.service import create_token
from coop.core.clock import today_amsterdam
from coop.ledger.models import JournalEntry
from coop.members.models import Member
from tests.coop.members.support import PERSON, join_and_pay
from tests.funding.pledges.support import live_project, pledge
from tests.support import pay

ROLES = ("anonymous", "member", "initiator", "fund_manager", "board", "treasurer", "admin")
A, M, I, F, B, T, D = ROLES  # noqa: E741  (short names keep the matrix readable)
EVERYONE = set(ROLES)
SIGNED_IN = EVERYONE - {A}


def only(*roles: str) -> set[str]:
    """These roles get through; anonymous gets 401 and the other roles 403."""
    return set(roles)


# operation -> the callers that get through (every other signed-in caller gets 403, anonymous 401)
MATRIX: dict[str, set[str]] = {
    "POST /api/v1/auth/token": EVERYONE,
    "POST /api/v1/auth/logout": SIGNED_IN,
    "GET /api/v1/auth/me": SIGNED_IN,
    "GET /api/v1/audit": only(B, D),
    "GET /api/v1/ledger/trial-balance": only(B, T),
    "GET /api/v1/ledger/accounts": only(B, T),
    "GET /api/v1/ledger/entries": only(B, T),
    "POST /api/v1/ledger/entries": only(T),
    "POST /api/v1/ledger/entries/{entry_id}/reverse": only(T),
    "GET /api/v1/payments": only(B, T),
    "GET /api/v1/payments/{payment_id}": only(B, T),
    "POST /api/v1/payments/{payment_id}/confirm-transfer": only(T),
    "POST /api/v1/payments/{payment_id}/refund": only(T),
    "POST /api/v1/webhooks/stripe": EVERYONE,
    "POST /api/v1/webhooks/mollie": EVERYONE,
    "POST /api/v1/webhooks/mollie/subscriptions": EVERYONE,
    "POST /api/v1/members": EVERYONE,
    "GET /api/v1/members": only(B, T),
    "GET /api/v1/members/{member_id}": only(M, B, T, D),
    "GET /api/v1/registers/members": only(B, T),
    "GET /api/v1/registers/shares": only(B, T),
    "POST /api/v1/members/{member_id}/resign": only(M, B),
    "GET /api/v1/members/{member_id}/certificate.pdf": only(M, B, T, D),
    "GET /api/v1/members/{member_id}/export": only(M, D),
    "POST /api/v1/members/{member_id}/erase": only(D),
    "GET /api/v1/members/{member_id}/representatives": only(M, B, D),
    "POST /api/v1/members/{member_id}/representatives": only(B, D),
    "DELETE /api/v1/members/{member_id}/representatives/{user_id}": only(B, D),
    "POST /api/v1/members/{member_id}/end": only(B),
    "GET /api/v1/share-classes": EVERYONE,
    "POST /api/v1/share-transfers": SIGNED_IN,
    "POST /api/v1/redemptions": SIGNED_IN,
    "GET /api/v1/share-mutations": only(B, T),
    "POST /api/v1/share-mutations/{mutation_id}/approve": only(B),
    "POST /api/v1/share-mutations/{mutation_id}/reject": only(B),
    "POST /api/v1/redemptions/{mutation_id}/paid": only(T),
    "GET /api/v1/tiers": EVERYONE,
    "POST /api/v1/members/{member_id}/subscription": only(M, B, T),
    "GET /api/v1/members/{member_id}/subscription": only(M, B, T, D),
    "POST /api/v1/members/{member_id}/subscription/cancel": only(M, B, T),
    "POST /api/v1/members/{member_id}/subscription/resume": only(M, B, T),
    "POST /api/v1/members/{member_id}/subscription/tier": only(B, T),
    "GET /api/v1/members/{member_id}/invoices": only(M, B, T, D),
    "GET /api/v1/members/{member_id}/invoices/{number}/pdf": only(M, B, T, D),
    "GET /api/v1/projects": EVERYONE,
    "POST /api/v1/projects": SIGNED_IN,
    "GET /api/v1/projects/{project_id}": EVERYONE,
    "PATCH /api/v1/projects/{project_id}": only(I, B, D),
    "POST /api/v1/projects/{project_id}/submit": only(I, B, D),
    "POST /api/v1/projects/{project_id}/approve": only(B),
    "POST /api/v1/projects/{project_id}/reject": only(B),
    "POST /api/v1/projects/{project_id}/cancel": only(B),
    "GET /api/v1/projects/{project_id}/pledgers": only(I, B, D),
    "POST /api/v1/projects/{project_id}/updates": SIGNED_IN,
    "GET /api/v1/projects/{project_id}/updates": EVERYONE,
    "POST /api/v1/projects/{project_id}/pledges": EVERYONE,
    "POST /api/v1/projects/{project_id}/payouts": only(T),
    "POST /api/v1/pledges/{pledge_id}/confirm": only(I, B, D),
    "POST /api/v1/pledges/{pledge_id}/deliver": SIGNED_IN,
    "POST /api/v1/pledges/{pledge_id}/acknowledge": only(M),  # the volunteer
    "POST /api/v1/pledges/{pledge_id}/withdraw": only(M, I, B, D),  # the pledger too
    "GET /api/v1/funds": EVERYONE,
    "POST /api/v1/funds": SIGNED_IN,
    "PATCH /api/v1/funds/{fund_id}": only(F, B, D),
    "GET /api/v1/funds/{fund_id}": EVERYONE,
    "POST /api/v1/funds/{fund_id}/deposits": only(T),
    "POST /api/v1/funds/{fund_id}/donations": EVERYONE,
    "POST /api/v1/funds/{fund_id}/match-rules": SIGNED_IN,
    "POST /api/v1/match-rules/{rule_id}/deactivate": only(F, B, D),
    "POST /api/v1/funds/{fund_id}/grants": SIGNED_IN,
    "GET /api/v1/funds/{fund_id}/grants": EVERYONE,
    "POST /api/v1/grants/{grant_id}/approve": only(B, D),  # never the proposer (the fund manager)
    "POST /api/v1/grants/{grant_id}/reject": SIGNED_IN,
    "GET /api/v1/funds/{fund_id}/statement": only(F, B, T, D),
    "GET /api/v1/outcome-types": EVERYONE,
    "POST /api/v1/outcome-types": only(B),
    "POST /api/v1/outcome-types/{code}/versions": only(B),
    "GET /api/v1/settings/social-value": EVERYONE,
    "PUT /api/v1/settings/social-value": only(B),
    "POST /api/v1/projects/{project_id}/outcomes": SIGNED_IN,
    "GET /api/v1/projects/{project_id}/outcomes": only(I, B, D),
    "POST /api/v1/outcomes/{outcome_id}/verify": only(B),
    "POST /api/v1/outcomes/{outcome_id}/reject": only(B),
    "GET /api/v1/projects/{project_id}/social-value": EVERYONE,
    "POST /api/v1/social-value/simulate": only(B),
    "GET /api/v1/social-value/index": EVERYONE,
    "GET /api/v1/social-value/avoided-public-costs": EVERYONE,
    "GET /api/v1/funds/{fund_id}/social-value": only(F, B, T, D),
    "GET /api/v1/me/social-value": SIGNED_IN,
    "GET /sandbox/checkout/{payment_id}": EVERYONE,
    "POST /sandbox/checkout/{payment_id}": EVERYONE,
    "GET /payments/{payment_id}/return": EVERYONE,
    "GET /healthz": EVERYONE,
}


@dataclass
class World:
    """One of everything, with the ids the paths need and each role's headers."""

    ids: dict[str, str]
    headers: dict[str, dict[str, str]]


@pytest.fixture
def world(client, session, make_user) -> World:
    """A member with its own login, a live project with pledges, a fund with a rule and a grant, an outcome."""
    users = {role: make_user(Role(role)) for role in ROLES if role != A}
    headers: dict[str, dict[str, str]] = {A: {}}
    for role, user in users.items():
        plain, _ = create_token(session, user_id=user.id, ttl=timedelta(days=3650))
        headers[role] = {"Authorization": f"Bearer {plain}"}
    joined = join_and_pay(client, {**PERSON, "email": users[M].email})
    member = session.get(Member, uuid.UUID(joined["member"]["id"]))
    member.user_id = users[M].id
    session.add(member)
    session.flush()
    project = live_project(client, headers[I], headers[B], today_amsterdam())["id"]
    money = pledge(client, project, kind="money", amount_cents=2_500, name="Buur", email="buur@example.org")
    pay(client, money["payment"]["id"])
    hours = pledge(client, project, kind="time", hours=2, name="Hulp", email=users[M].email)
    fund = client.post("/api/v1/funds", headers=headers[F], json={"name": "Wijkfonds", "kind": "community_fund"})
    assert fund.status_code == 201, fund.text
    fund_id = fund.json()["id"]
    rule = client.post(f"/api/v1/funds/{fund_id}/match-rules", headers=headers[F], json={
        "ratio_bp": 10_000, "cap_per_pledge_cents": 1_000, "cap_per_project_cents": 5_000, "budget_cents": 10_000})
    assert rule.status_code == 201, rule.text
    grant = client.post(f"/api/v1/funds/{fund_id}/grants", headers=headers[F],
                        json={"project_id": project, "amount_cents": 1_000, "note": "Mooi"})
    assert grant.status_code == 201, grant.text
    outcome = client.post(f"/api/v1/projects/{project}/outcomes", headers=headers[I], json={
        "outcome_type": "maaltijd_gered", "quantity": 5, "period_start": "2026-01-01", "period_end": "2026-01-31",
        "evidence": "Foto's"})
    assert outcome.status_code == 201, outcome.text
    entry = session.exec(select(JournalEntry.id)).first()
    return World(headers=headers, ids={
        "member_id": str(member.id), "payment_id": money["payment"]["id"], "project_id": project,
        "pledge_id": hours["pledge"]["id"], "fund_id": fund_id, "rule_id": rule.json()["id"],
        "grant_id": grant.json()["id"], "outcome_id": outcome.json()["id"], "entry_id": str(entry),
        "code": "maaltijd_gered", "mutation_id": str(uuid.uuid4()), "user_id": str(users[D].id),
        "number": "2026-99999"})


def operations(client) -> list[tuple[str, str]]:
    """Every operation the app declares (its OpenAPI schema); signing out last, as it ends the callers' tokens."""
    found = [(method.upper(), path) for path, methods in client.app.openapi()["paths"].items() for method in methods]
    return sorted(found, key=lambda operation: operation[1] == "/api/v1/auth/logout")


QUERIES = {"/api/v1/funds/{fund_id}/statement": {"from": "2026-01-01", "to": "2026-12-31"}}  # checked first


def call(client, world: World, method: str, path: str, role: str) -> Any:
    """One call with real ids and an empty body."""
    url = re.sub(r"\{(\w+)\}", lambda found: world.ids[found.group(1)], path)
    body = {"json": {}} if method in ("POST", "PUT", "PATCH") and "sandbox" not in path else {}
    return client.request(method, url, headers=world.headers[role], params=QUERIES.get(path), **body)


def test_the_matrix_names_every_operation(client) -> None:
    assert sorted(f"{method} {path}" for method, path in operations(client)) == sorted(MATRIX)


def test_every_operation_lets_in_exactly_whom_the_matrix_says(client, world: World) -> None:
    wrong = []
    for method, path in operations(client):
        allowed = MATRIX[f"{method} {path}"]
        for role in ROLES:
            status = call(client, world, method, path, role).status_code
            expected = "through" if role in allowed else "401" if role == A else "403"
            got = "401" if status == 401 else "403" if status == 403 else "through"
            if "/webhooks/" in path:  # providers sign, nobody signs in: a bad signature is their 401
                got = "through"
            if status >= 500 or got != expected:
                wrong.append(f"{method} {path} as {role}: {status} (expected {expected})")
    assert not wrong, "\n".join(wrong)


def test_a_member_reads_only_their_own_data(client, world: World, make_user) -> None:
    other = join_and_pay(client, {**PERSON, "email": "ander-lid@example.org", "name": "Anders Lid"})["member"]["id"]
    mine = world.ids["member_id"]
    for suffix in ("", "/certificate.pdf", "/export", "/subscription", "/invoices", "/representatives"):
        assert client.get(f"/api/v1/members/{mine}{suffix}", headers=world.headers[M]).status_code in (200, 404)
        refused = client.get(f"/api/v1/members/{other}{suffix}", headers=world.headers[M])
        assert refused.status_code == 403, (suffix, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert client.get(f"/api/v1/members/{mine}", headers=world.headers[M]).json()["id"] == mine


def test_an_initiator_sees_the_contacts_of_their_own_projects_pledgers_only(client, world: World,
                                                                           auth_headers) -> None:
    project = world.ids["project_id"]
    own = client.get(f"/api/v1/projects/{project}/pledgers", headers=world.headers[I])
    assert own.status_code == 200 and {"buur@example.org"} <= {p["email"] for p in own.json()}
    assert client.get(f"/api/v1/projects/{project}/pledgers",
                      headers=auth_headers(Role.INITIATOR)).status_code == 403


def test_a_fund_manager_manages_only_their_own_fund(client, world: World, auth_headers) -> None:
    fund = world.ids["fund_id"]
    stranger = auth_headers(Role.FUND_MANAGER)
    attempts = [
        client.patch(f"/api/v1/funds/{fund}", headers=stranger, json={"description": "Overgenomen"}),
        client.get(f"/api/v1/funds/{fund}/statement", headers=stranger, params={"from": "2026-01-01",
                                                                                "to": "2026-12-31"}),
        client.post(f"/api/v1/funds/{fund}/grants", headers=stranger,
                    json={"project_id": world.ids["project_id"], "amount_cents": 500, "note": "Van mij"}),
        client.post(f"/api/v1/funds/{fund}/match-rules", headers=stranger, json={
            "ratio_bp": 10_000, "cap_per_pledge_cents": 100, "cap_per_project_cents": 100, "budget_cents": 100}),
        client.post(f"/api/v1/match-rules/{world.ids['rule_id']}/deactivate", headers=stranger),
        client.get(f"/api/v1/funds/{fund}/social-value", headers=stranger),
    ]
    assert [response.status_code for response in attempts] == [403] * len(attempts)
    assert client.patch(f"/api/v1/funds/{fund}", headers=world.headers[F],
                        json={"description": "Voor de buurt"}).status_code == 200

"""Grants through the HTTP API: four eyes, reservation, payable on success, back to the fund otherwise."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from coop.auth.models import Role
from coop.auth.service import create_token
from coop.ledger.chart import AccountCode
from coop.ledger.queries import balance
from coop.notifications.queries import list_notifications
from funding.pledges.queries import pledges_of
from tests.coop.members.support import on
from tests.funding.pledges.support import live_project, pledge, run_closing
from tests.support import pay

START = date(2027, 10, 1)
AFTER = START + timedelta(days=31)


def manager_headers(session, make_user, email: str) -> dict[str, str]:
    """A fund manager's bearer headers (valid on every frozen day)."""
    user = make_user(Role.FUND_MANAGER, email=email)
    token, _ = create_token(session, user_id=user.id, ttl=timedelta(days=3650))
    return {"Authorization": f"Bearer {token}"}


def community_fund(client, session, make_user, auth_headers) -> tuple[str, dict[str, str], dict[str, str]]:
    """A community fund with EUR 2,000 and two managers; (fund id, first manager, second manager)."""
    first = manager_headers(session, make_user, "anna@wijkfonds.example.org")
    second = manager_headers(session, make_user, "bram@wijkfonds.example.org")
    with on(START):
        made = client.post("/api/v1/funds", headers=first, json={
            "name": "Wijkfonds Lombok", "kind": "community_fund", "manager_emails": ["bram@wijkfonds.example.org"]})
        assert made.status_code == 201, made.text
        fund_id = made.json()["id"]
        assert client.post(f"/api/v1/funds/{fund_id}/deposits", headers=auth_headers(Role.TREASURER),
                           json={"amount_cents": 200_000, "reference": "Wijkfonds 2027"}).status_code == 201
    return fund_id, first, second


def test_a_grant_needs_two_people_reserves_the_money_and_is_paid_on_success(client, session, make_user,
                                                                             auth_headers) -> None:
    fund_id, anna, bram = community_fund(client, session, make_user, auth_headers)
    initiator, board = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    with on(START):
        pid = live_project(client, initiator, board, START, goal_cents=100_000, goal_hours=0)["id"]
        proposed = client.post(f"/api/v1/funds/{fund_id}/grants", headers=anna,
                               json={"project_id": pid, "amount_cents": 80_000, "note": "Mooi plan"})
        assert proposed.status_code == 201, proposed.text
        grant_id = proposed.json()["id"]
        assert client.post(f"/api/v1/grants/{grant_id}/approve", headers=anna).status_code == 403  # not the proposer
        assert client.post(f"/api/v1/grants/{grant_id}/approve",
                           headers=auth_headers(Role.FUND_MANAGER)).status_code == 403  # not this fund's
        approved = client.post(f"/api/v1/grants/{grant_id}/approve", headers=bram)
        assert approved.status_code == 200 and approved.json()["status"] == "approved"
        fund = client.get(f"/api/v1/funds/{fund_id}").json()
        assert (fund["available_cents"], fund["reserved_cents"]) == (120_000, 80_000)
        assert client.get(f"/api/v1/projects/{pid}").json()["granted_cents"] == 80_000
        pay(client, pledge(client, pid, kind="money", amount_cents=20_000, name="Buur",
                           email="buur@example.org")["payment"]["id"])
    run_closing(session, AFTER)  # 200 from the crowd + 800 granted reaches 1,000
    assert client.get(f"/api/v1/projects/{pid}").json()["status"] == "succeeded"
    assert -balance(session, account=AccountCode.PAYABLE_TO_PROJECTS, project_id=uuid.UUID(pid)) == 100_000
    assert client.get(f"/api/v1/funds/{fund_id}").json()["reserved_cents"] == 0
    assert [g["status"] for g in client.get(f"/api/v1/funds/{fund_id}/grants").json()] == ["payable"]


def test_a_grant_whose_condition_is_not_met_returns_to_the_fund(client, session, make_user, auth_headers) -> None:
    fund_id, anna, _ = community_fund(client, session, make_user, auth_headers)
    initiator, board = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    with on(START):
        pid = live_project(client, initiator, board, START, goal_cents=50_000, goal_hours=0,
                           funding_model="keep_it_all")["id"]
        grant_id = client.post(f"/api/v1/funds/{fund_id}/grants", headers=anna, json={
            "project_id": pid, "amount_cents": 30_000, "note": "Als de buurt meedoet", "condition_cents": 10_000,
        }).json()["id"]
        assert client.post(f"/api/v1/grants/{grant_id}/approve", headers=board).status_code == 200
        assert client.get(f"/api/v1/projects/{pid}").json()["granted_cents"] == 0  # the crowd has not met it yet
        pay(client, pledge(client, pid, kind="money", amount_cents=5_000, name="Buur",
                           email="buur@example.org")["payment"]["id"])
    run_closing(session, AFTER)
    assert client.get(f"/api/v1/projects/{pid}").json()["status"] == "succeeded"  # keep-it-all keeps the 50
    assert -balance(session, account=AccountCode.PAYABLE_TO_PROJECTS, project_id=uuid.UUID(pid)) == 5_000
    fund = client.get(f"/api/v1/funds/{fund_id}").json()
    assert (fund["available_cents"], fund["reserved_cents"]) == (200_000, 0)


def test_a_failed_project_returns_its_grant_and_a_rejection_needs_a_reason(client, session, make_user,
                                                                          auth_headers) -> None:
    fund_id, anna, bram = community_fund(client, session, make_user, auth_headers)
    initiator, board = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    with on(START):
        pid = live_project(client, initiator, board, START, goal_cents=500_000, goal_hours=0)["id"]
        kept = client.post(f"/api/v1/funds/{fund_id}/grants", headers=anna,
                           json={"project_id": pid, "amount_cents": 50_000, "note": "Start"}).json()["id"]
        assert client.post(f"/api/v1/grants/{kept}/approve", headers=bram).status_code == 200
        too_much = client.post(f"/api/v1/funds/{fund_id}/grants", headers=anna,
                               json={"project_id": pid, "amount_cents": 160_000, "note": "Alles"}).json()["id"]
        refused = client.post(f"/api/v1/grants/{too_much}/approve", headers=bram)
        assert refused.status_code == 409 and refused.json()["field"] == "amount_cents"  # only 1,500 available
        no_reason = client.post(f"/api/v1/grants/{too_much}/reject", headers=bram, json={"reason": ""})
        assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
        rejected = client.post(f"/api/v1/grants/{too_much}/reject", headers=bram, json={"reason": "Te veel"})
        assert rejected.json()["status"] == "rejected"
    run_closing(session, AFTER)
    assert client.get(f"/api/v1/projects/{pid}").json()["status"] == "failed"
    fund = client.get(f"/api/v1/funds/{fund_id}").json()
    assert (fund["available_cents"], fund["reserved_cents"]) == (200_000, 0)
    assert balance(session, account=AccountCode.FUNDS_RESERVED, project_id=uuid.UUID(pid)) == 0


def test_the_fund_statement_reconciles_to_the_ledger(client, session, make_user, auth_headers) -> None:
    fund_id, anna, bram = community_fund(client, session, make_user, auth_headers)
    initiator, board = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    with on(START):
        pid = live_project(client, initiator, board, START, goal_cents=500_000, goal_hours=0)["id"]
        grant_id = client.post(f"/api/v1/funds/{fund_id}/grants", headers=anna,
                               json={"project_id": pid, "amount_cents": 40_000, "note": "Start"}).json()["id"]
        client.post(f"/api/v1/grants/{grant_id}/approve", headers=bram)
        donation = client.post(f"/api/v1/funds/{fund_id}/donations",
                               json={"amount_cents": 2_500, "name": "Jan", "email": "jan@example.org"}).json()
        pay(client, donation["payment"]["id"])
    run_closing(session, AFTER)  # fails: the grant returns
    url = f"/api/v1/funds/{fund_id}/statement?from={START.isoformat()}&to={AFTER.isoformat()}"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=auth_headers(Role.FUND_MANAGER)).status_code == 403
    statement = client.get(url, headers=auth_headers(Role.TREASURER)).json()
    assert statement["reconciles"] is True
    assert statement["opening"] == {"available_cents": 0, "reserved_cents": 0, "total_cents": 0}
    lines = {line["kind"]: (line["available_cents"], line["reserved_cents"]) for line in statement["lines"]}
    assert lines == {"deposits": (200_000, 0), "donations": (2_500, 0), "grants": (0, 0)}  # reserved, then back
    assert statement["closing"]["available_cents"] == 202_500
    assert client.get(url.replace("from=2027-10-01", "from=2027-12-01"),
                      headers=anna).json()["field"] == "to"


def test_a_failed_projects_pledge_goes_to_the_fund_its_pledger_chose_with_a_receipt(client, session, make_user,
                                                                                     auth_headers) -> None:
    fund_id, _, _ = community_fund(client, session, make_user, auth_headers)
    initiator, board = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    with on(START):
        pid = live_project(client, initiator, board, START, goal_cents=500_000, goal_hours=0)["id"]
        given = pledge(client, pid, kind="money", amount_cents=2_500, name="Els", email="els@example.org",
                       on_failure="donate_to_fund", fund_id=fund_id)
        refunded = pledge(client, pid, kind="money", amount_cents=1_000, name="Jan", email="jan@example.org")
        for made in (given, refunded):
            pay(client, made["payment"]["id"])
    run_closing(session, AFTER)
    statuses = {p.email: p.status.value for p in pledges_of(session, project_id=uuid.UUID(pid))}
    assert statuses == {"els@example.org": "donated", "jan@example.org": "refunded"}
    assert balance(session, account=AccountCode.PLEDGES_HELD, project_id=uuid.UUID(pid)) == 0
    assert client.get(f"/api/v1/funds/{fund_id}").json()["available_cents"] == 202_500
    [receipt] = [n for n in list_notifications(session, limit=500) if n.template == "donation_receipt"]
    assert receipt.recipient == "els@example.org" and "Wijkfonds Lombok" in receipt.subject

"""Matchfunding through the HTTP API: a municipality doubles pledges 1:1 within its caps, exactly."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from coop.auth.models import Role
from coop.auth.service import create_token, user_by_email
from coop.ledger.chart import AccountCode
from coop.ledger.queries import balance
from funding.funds.models import MatchStatus
from funding.funds.queries import matches_of
from tests.coop.members.support import on
from tests.funding.pledges.support import live_project, pledge, run_closing
from tests.support import pay

START = date(2027, 9, 1)
AFTER = START + timedelta(days=31)


@pytest.fixture
def utrecht(client, auth_headers) -> dict:
    """Gemeente Utrecht's fund with EUR 10,000 and a 1:1 rule: EUR 100 per pledge, EUR 500 per project."""
    board, treasurer = auth_headers(Role.BOARD), auth_headers(Role.TREASURER)
    with on(START):
        created = client.post("/api/v1/funds", headers=board, json={
            "name": "Initiatievenfonds Utrecht", "kind": "municipality", "municipality_codes": ["GM0344"],
            "manager_emails": ["fonds@utrecht.example.org"]})
        assert created.status_code == 201, created.text
        fund_id = created.json()["id"]
        deposit = client.post(f"/api/v1/funds/{fund_id}/deposits", headers=treasurer,
                              json={"amount_cents": 1_000_000, "reference": "GM0344 subsidie 2027"})
        assert deposit.status_code == 201 and deposit.json()["available_cents"] == 1_000_000
        rule = client.post(f"/api/v1/funds/{fund_id}/match-rules", headers=board, json={
            "ratio_bp": 10_000, "cap_per_pledge_cents": 10_000, "cap_per_project_cents": 50_000,
            "budget_cents": 500_000})
        assert rule.status_code == 201, rule.text
    return {"id": fund_id, "rule": rule.json()["id"]}


def paid_pledge(client, project_id: str, cents: int, email: str) -> dict:
    """A money pledge, paid on the sandbox."""
    made = pledge(client, project_id, kind="money", amount_cents=cents, name="Buur", email=email)
    pay(client, made["payment"]["id"])
    return made


def test_pledges_are_doubled_until_the_caps_and_not_outside_the_municipality(client, session, auth_headers,
                                                                            utrecht) -> None:
    initiator, board = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    with on(START):
        lombok = live_project(client, initiator, board, START, goal_cents=200_000, goal_hours=0)["id"]
        elsewhere = live_project(client, initiator, board, START, goal_cents=200_000, goal_hours=0,
                                 municipality_code="GM0363")["id"]
        first = paid_pledge(client, lombok, 5_000, "a@example.org")  # matched 50
        paid_pledge(client, lombok, 25_000, "b@example.org")  # matched 100 (the pledge cap)
        again = paid_pledge(client, lombok, 5_000, "a@example.org")  # same pledger: not matched again
        for n in range(4):  # 100 + 100 + 100 + 50: the project cap of 500 is reached
            paid_pledge(client, lombok, 20_000, f"c{n}@example.org")
        paid_pledge(client, elsewhere, 10_000, "d@example.org")

    shown = client.get(f"/api/v1/projects/{lombok}").json()
    assert shown["matched_cents"] == 50_000 and shown["raised_cents"] == shown["paid_cents"] + 50_000
    assert client.get(f"/api/v1/projects/{elsewhere}").json()["matched_cents"] == 0
    assert matches_of(session, pledge_id=uuid.UUID(again["pledge"]["id"])) == []
    [last] = [m for m in matches_of(session, project_id=uuid.UUID(lombok)) if m.amount_cents == 5_000 and
              m.pledge_id != uuid.UUID(first["pledge"]["id"])]
    assert "maximum per project" in last.explanation
    fund = client.get(f"/api/v1/funds/{utrecht['id']}").json()
    assert (fund["available_cents"], fund["reserved_cents"]) == (950_000, 50_000)
    assert fund["rules"][0]["matched_cents"] == 50_000


def test_a_refunded_pledge_releases_its_match_and_a_failed_project_returns_the_rest(client, session, auth_headers,
                                                                                   utrecht) -> None:
    initiator, board, treasurer = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD), auth_headers(
        Role.TREASURER)
    with on(START):
        pid = live_project(client, initiator, board, START, goal_cents=500_000, goal_hours=0)["id"]
        refunded = paid_pledge(client, pid, 8_000, "a@example.org")
        paid_pledge(client, pid, 6_000, "b@example.org")
        assert client.post(f"/api/v1/payments/{refunded['payment']['id']}/refund", json={},
                           headers=treasurer).status_code == 201
    [released] = matches_of(session, pledge_id=uuid.UUID(refunded["pledge"]["id"]), statuses=[MatchStatus.RELEASED])
    assert released.amount_cents == 8_000
    assert client.get(f"/api/v1/funds/{utrecht['id']}").json()["reserved_cents"] == 6_000

    run_closing(session, AFTER)  # 60 + 60 matched of 5,000: the project fails

    fund = client.get(f"/api/v1/funds/{utrecht['id']}").json()
    assert (fund["available_cents"], fund["reserved_cents"]) == (1_000_000, 0)
    assert balance(session, account=AccountCode.FUNDS_RESERVED, project_id=uuid.UUID(pid)) == 0


def test_a_succeeded_project_is_owed_its_matches(client, session, auth_headers, utrecht) -> None:
    initiator, board = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    with on(START):
        pid = live_project(client, initiator, board, START, goal_cents=15_000, goal_hours=0)["id"]
        paid_pledge(client, pid, 7_500, "a@example.org")  # 75 + 75 matched reaches the goal of 150
    run_closing(session, AFTER)
    assert client.get(f"/api/v1/projects/{pid}").json()["status"] == "succeeded"
    assert -balance(session, account=AccountCode.PAYABLE_TO_PROJECTS, project_id=uuid.UUID(pid)) == 15_000
    assert client.get(f"/api/v1/funds/{utrecht['id']}").json()["reserved_cents"] == 0


def test_only_managers_and_the_board_set_rules_and_only_the_treasurer_records_deposits(client, auth_headers,
                                                                                      utrecht) -> None:
    rule = {"ratio_bp": 10_000, "cap_per_pledge_cents": 100, "cap_per_project_cents": 100, "budget_cents": 100}
    url = f"/api/v1/funds/{utrecht['id']}"
    assert client.post(f"{url}/match-rules", json=rule).status_code == 401
    assert client.post(f"{url}/match-rules", json=rule, headers=auth_headers(Role.FUND_MANAGER)).status_code == 403
    assert client.post(f"{url}/deposits", json={"amount_cents": 100, "reference": "x"},
                       headers=auth_headers(Role.BOARD)).status_code == 403
    assert client.post("/api/v1/funds", json={"name": "Fonds", "kind": "company"},
                       headers=auth_headers(Role.MEMBER)).status_code == 403
    bad = client.post(f"{url}/match-rules", json={**rule, "ratio_bp": 0}, headers=auth_headers(Role.BOARD))
    assert bad.status_code == 422 and bad.json()["field"] == "ratio_bp"
    twice = client.post(f"{url}/deposits", json={"amount_cents": 100, "reference": "GM0344 subsidie 2027"},
                        headers=auth_headers(Role.TREASURER))
    assert twice.status_code == 409 and twice.json()["field"] == "reference"


def test_a_donation_becomes_available_money_once_paid(client, session, utrecht) -> None:
    made = client.post(f"/api/v1/funds/{utrecht['id']}/donations",
                       json={"amount_cents": 2_500, "name": "Jan", "email": "jan@example.org"})
    assert made.status_code == 201, made.text
    assert client.get(f"/api/v1/funds/{utrecht['id']}").json()["available_cents"] == 1_000_000
    pay(client, made.json()["payment"]["id"])
    assert client.get(f"/api/v1/funds/{utrecht['id']}").json()["available_cents"] == 1_002_500


def test_a_threshold_rule_pays_its_lump_sum_once_when_the_crowd_gets_there(client, session, auth_headers,
                                                                          utrecht) -> None:
    initiator, board = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    with on(START):
        lump = client.post(f"/api/v1/funds/{utrecht['id']}/match-rules", headers=board, json={
            "ratio_bp": 10_000, "cap_per_pledge_cents": 25_000, "cap_per_project_cents": 25_000,
            "budget_cents": 100_000, "lump_sum_cents": 25_000, "threshold_percent": 50, "min_backers": 3})
        assert lump.status_code == 201, lump.text
        off = client.post(f"/api/v1/match-rules/{utrecht['rule']}/deactivate", headers=board)
        assert off.status_code == 200 and off.json()["active"] is False  # only the lump sum applies now
        pid = live_project(client, initiator, board, START, goal_cents=60_000, goal_hours=0)["id"]
        paid_pledge(client, pid, 25_000, "a@example.org")
        paid_pledge(client, pid, 5_000, "b@example.org")  # 50% reached, but two backers
        assert client.get(f"/api/v1/projects/{pid}").json()["matched_cents"] == 0
        paid_pledge(client, pid, 1_000, "c@example.org")  # the third backer: the lump sum, once
        paid_pledge(client, pid, 1_000, "d@example.org")
    [match] = matches_of(session, project_id=uuid.UUID(pid))
    assert match.amount_cents == 25_000 and "50%" in match.explanation
    assert client.get(f"/api/v1/projects/{pid}").json()["matched_cents"] == 25_000
    half = client.post(f"/api/v1/funds/{utrecht['id']}/match-rules", headers=board, json={
        "ratio_bp": 10_000, "cap_per_pledge_cents": 100, "cap_per_project_cents": 100, "budget_cents": 100,
        "lump_sum_cents": 100})
    assert half.status_code == 422 and half.json()["field"] == "threshold_percent"
    assert client.post(f"/api/v1/match-rules/{utrecht['rule']}/deactivate",
                       headers=auth_headers(Role.FUND_MANAGER)).status_code == 403


def test_managers_and_the_board_change_a_fund_and_add_managers(client, session, make_user, auth_headers,
                                                               utrecht) -> None:
    url = f"/api/v1/funds/{utrecht['id']}"
    assert client.patch(url, json={"name": "Anders"}).status_code == 401
    assert client.patch(url, json={"name": "Anders"}, headers=auth_headers(Role.FUND_MANAGER)).status_code == 403
    changed = client.patch(url, headers=auth_headers(Role.BOARD), json={
        "name": "Initiatievenfonds Utrecht 2028", "themes": ["energie"], "add_manager_emails": ["nieuw@example.org"]})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["themes"]) == ("Initiatievenfonds Utrecht 2028", ["energie"])
    bad = client.patch(url, headers=auth_headers(Role.BOARD), json={"municipality_codes": ["Utrecht"]})
    assert bad.status_code == 422 and bad.json()["field"] == "municipality_codes"
    new_manager = user_by_email(session, email="nieuw@example.org")
    token, _ = create_token(session, user_id=new_manager.id, ttl=timedelta(days=1))
    assert client.patch(url, json={"description": "Voor energie"},
                        headers={"Authorization": f"Bearer {token}"}).status_code == 200

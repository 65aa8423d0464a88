"""The ledger over HTTP: /api/v1/ledger/{trial-balance,accounts,entries}."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session

from coop.auth.models import Role
from coop.ledger import queries, service
from coop.ledger.chart import CHART
from coop.ledger.schemas import Line
from tests.conftest import HeadersFactory
from tests.coop.ledger.support import BANK, FEES, FUNDS, PAYABLE, REVENUE, new_key, row_counts

BASE = "/api/v1/ledger"
PROBLEM_JSON = "application/problem+json"


def assert_problem(response: Response, status: int, field: str | None = None) -> dict[str, Any]:
    """An RFC 9457 problem of this status (naming `field`, when given)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    if field is not None:
        assert body["field"] == field, body
    return body


@pytest.fixture
def treasurer(session: Session, auth_headers: HeadersFactory) -> dict[str, str]:
    """Headers of a treasurer, committed to the test transaction so a refused request cannot roll them back."""
    headers = auth_headers(Role.TREASURER)
    session.commit()
    return headers


@pytest.fixture
def board(session: Session, auth_headers: HeadersFactory) -> dict[str, str]:
    headers = auth_headers(Role.BOARD)
    session.commit()
    return headers


@pytest.fixture
def member(session: Session, auth_headers: HeadersFactory) -> dict[str, str]:
    headers = auth_headers(Role.MEMBER)
    session.commit()
    return headers


def manual_entry(key: str | None = None, cents: int = 1_500, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "idempotency_key": key or uuid.uuid4().hex,
        "booked_on": "2024-02-29",
        "description": "Bank costs February",
        "lines": [{"account": FEES, "amount_cents": cents}, {"account": BANK, "amount_cents": -cents}],
    }
    body.update(overrides)
    return body


# --- trial balance ----------------------------------------------------------------------------------------

TB_PERIOD = {"start": "1995-01-01", "end": "1995-12-31"}


def test_trial_balance_needs_a_token(client: TestClient) -> None:
    response = client.get(f"{BASE}/trial-balance", params=TB_PERIOD)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


def test_trial_balance_is_not_for_members(client: TestClient, member: dict[str, str]) -> None:
    assert_problem(client.get(f"{BASE}/trial-balance", params=TB_PERIOD, headers=member), 403)


@pytest.mark.parametrize("role", [Role.TREASURER, Role.BOARD])
def test_trial_balance_for_treasurer_and_board(
    client: TestClient, session: Session, auth_headers: HeadersFactory, role: Role
) -> None:
    service.post(session, key=new_key(), lines=[Line(BANK, 900), Line(REVENUE, -900)], description="before",
                 booked_on=date(1994, 12, 31))
    service.post(session, key=new_key(), lines=[Line(FEES, 100), Line(BANK, -100)], description="during",
                 booked_on=date(1995, 6, 1))
    service.post(session, key=new_key(), lines=[Line(BANK, 5), Line(REVENUE, -5)], description="after",
                 booked_on=date(1996, 1, 1))
    response = client.get(f"{BASE}/trial-balance", params=TB_PERIOD, headers=auth_headers(role))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total_cents"] == 0
    assert (body["start"], body["end"]) == ("1995-01-01", "1995-12-31")
    rows = {row["code"]: row for row in body["accounts"]}
    assert list(rows) == [BANK, FEES, REVENUE]
    assert rows[BANK] == {"code": BANK, "name": "Bank", "type": "asset", "opening_cents": 900, "debit_cents": 0,
                          "credit_cents": 100, "balance_cents": 800}
    assert (rows[FEES]["debit_cents"], rows[FEES]["credit_cents"], rows[FEES]["balance_cents"]) == (100, 0, 100)
    assert (rows[REVENUE]["opening_cents"], rows[REVENUE]["balance_cents"]) == (-900, -900)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param({"start": "1995-13-01", "end": "1995-12-31"}, "start", id="bad-start"),
        pytest.param({"start": "1995-01-01", "end": "31-12-1995"}, "end", id="bad-end"),
        pytest.param({"end": "1995-12-31"}, "start", id="missing-start"),
        pytest.param({"start": "1995-12-31", "end": "1995-01-01"}, "end", id="end-before-start"),
    ],
)
def test_trial_balance_refuses_bad_periods_naming_the_field(
    client: TestClient, treasurer: dict[str, str], params: dict[str, str], field: str
) -> None:
    assert_problem(client.get(f"{BASE}/trial-balance", params=params, headers=treasurer), 422, field)


def test_a_one_day_period_is_fine(client: TestClient, treasurer: dict[str, str]) -> None:
    response = client.get(f"{BASE}/trial-balance", params={"start": "1995-01-01", "end": "1995-01-01"},
                          headers=treasurer)
    assert response.status_code == 200
    assert response.json()["total_cents"] == 0


# --- manual entries ---------------------------------------------------------------------------------------


def test_the_treasurer_books_a_manual_entry(client: TestClient, session: Session, treasurer: dict[str, str]) -> None:
    before = row_counts(session)
    response = client.post(f"{BASE}/entries", json=manual_entry("feb-costs"), headers=treasurer)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["number"] == before[2] + 1
    assert body["idempotency_key"] == "manual:feb-costs"
    assert (body["booked_on"], body["description"], body["source_type"]) == (
        "2024-02-29", "Bank costs February", "manual")
    assert body["reversal_of"] is None
    assert sorted((p["account"], p["amount_cents"]) for p in body["postings"]) == [(BANK, -1_500), (FEES, 1_500)]
    entry = service.get_entry(session, entry_id=uuid.UUID(body["id"]))
    assert entry.created_by is not None
    assert row_counts(session) == (before[0] + 1, before[1] + 2, before[2] + 1)


def test_repeating_a_manual_entry_returns_the_same_entry(
    client: TestClient, session: Session, treasurer: dict[str, str]
) -> None:
    first = client.post(f"{BASE}/entries", json=manual_entry("retry-me"), headers=treasurer)
    after_first = row_counts(session)
    body = manual_entry("retry-me")
    body["lines"].reverse()
    again = client.post(f"{BASE}/entries", json=body, headers=treasurer)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["number"] == first.json()["number"]
    assert again.json()["id"] == first.json()["id"]
    assert row_counts(session) == after_first


def test_a_manual_key_reused_for_other_lines_is_a_conflict(
    client: TestClient, session: Session, treasurer: dict[str, str]
) -> None:
    assert client.post(f"{BASE}/entries", json=manual_entry("once"), headers=treasurer).status_code == 201
    before = row_counts(session)
    response = client.post(f"{BASE}/entries", json=manual_entry("once", cents=1_501), headers=treasurer)
    assert_problem(response, 409, "idempotency_key")
    assert row_counts(session) == before


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        pytest.param([{"account": FEES, "amount_cents": 100}, {"account": BANK, "amount_cents": -99}], "lines",
                     id="sum-not-zero"),
        pytest.param([{"account": FEES, "amount_cents": 100}], "lines", id="one-line"),
        pytest.param([{"account": FEES, "amount_cents": 0}, {"account": BANK, "amount_cents": 0}],
                     "lines.0.amount_cents", id="zero"),
        pytest.param([{"account": FEES, "amount_cents": 1.5}, {"account": BANK, "amount_cents": -1.5}],
                     "lines.0.amount_cents", id="float"),
        pytest.param([{"account": FEES, "amount_cents": 100.0}, {"account": BANK, "amount_cents": -100}],
                     "lines.0.amount_cents", id="whole-float"),
        pytest.param([{"account": FEES, "amount_cents": "100"}, {"account": BANK, "amount_cents": -100}],
                     "lines.0.amount_cents", id="string"),
        pytest.param([{"account": FEES, "amount_cents": True}, {"account": BANK, "amount_cents": -1}],
                     "lines.0.amount_cents", id="bool"),
        pytest.param([{"account": FEES, "amount_cents": 100}, {"account": "9999", "amount_cents": -100}], "lines",
                     id="unknown-account"),
    ],
)
def test_improper_manual_entries_are_422_problems_and_write_nothing(
    client: TestClient, session: Session, treasurer: dict[str, str], lines: list[dict[str, Any]], field: str
) -> None:
    before = row_counts(session)
    response = client.post(f"{BASE}/entries", json=manual_entry(lines=lines), headers=treasurer)
    assert_problem(response, 422, field)
    assert row_counts(session) == before


def test_overdrawing_a_fund_by_hand_is_a_409(client: TestClient, session: Session, treasurer: dict[str, str]) -> None:
    body = manual_entry(lines=[{"account": FUNDS, "amount_cents": 100, "fund_id": str(uuid.uuid4())},
                               {"account": PAYABLE, "amount_cents": -100}])
    before = row_counts(session)
    assert_problem(client.post(f"{BASE}/entries", json=body, headers=treasurer), 409, "amount_cents")
    assert row_counts(session) == before


def test_only_the_treasurer_books_by_hand(
    client: TestClient, session: Session, board: dict[str, str], member: dict[str, str]
) -> None:
    before = row_counts(session)
    assert_problem(client.post(f"{BASE}/entries", json=manual_entry(), headers=board), 403)
    assert_problem(client.post(f"{BASE}/entries", json=manual_entry(), headers=member), 403)
    assert_problem(client.post(f"{BASE}/entries", json=manual_entry()), 401)
    assert row_counts(session) == before


# --- reversal ---------------------------------------------------------------------------------------------


def test_the_treasurer_reverses_an_entry_once(client: TestClient, session: Session, treasurer: dict[str, str]) -> None:
    original = client.post(f"{BASE}/entries", json=manual_entry(cents=700), headers=treasurer).json()
    url = f"{BASE}/entries/{original['id']}/reverse"

    response = client.post(url, json={"idempotency_key": "undo-1", "booked_on": "2024-03-01"}, headers=treasurer)
    assert response.status_code == 201, response.text
    reversal = response.json()
    assert reversal["reversal_of"] == original["id"]
    assert reversal["number"] == original["number"] + 1
    assert reversal["booked_on"] == "2024-03-01"
    assert reversal["source_type"] == "reversal"
    assert sorted((p["account"], p["amount_cents"]) for p in reversal["postings"]) == [(BANK, 700), (FEES, -700)]

    before = row_counts(session)
    again = client.post(url, json={"idempotency_key": "undo-1", "booked_on": "2024-03-01"}, headers=treasurer)
    assert again.status_code == 201
    assert again.json()["id"] == reversal["id"]
    assert_problem(client.post(url, json={"idempotency_key": "undo-2"}, headers=treasurer), 409, "entry_id")
    assert_problem(client.post(f"{BASE}/entries/{reversal['id']}/reverse", json={"idempotency_key": "undo-3"},
                               headers=treasurer), 409, "entry_id")
    assert row_counts(session) == before


def test_reversal_errors(
    client: TestClient, session: Session, treasurer: dict[str, str], board: dict[str, str]
) -> None:
    original = client.post(f"{BASE}/entries", json=manual_entry(), headers=treasurer).json()
    before = row_counts(session)
    assert_problem(client.post(f"{BASE}/entries/{uuid.uuid4()}/reverse", json={"idempotency_key": "x"},
                               headers=treasurer), 404, "entry_id")
    assert_problem(client.post(f"{BASE}/entries/not-a-uuid/reverse", json={"idempotency_key": "x"},
                               headers=treasurer), 422, "entry_id")
    assert_problem(client.post(f"{BASE}/entries/{original['id']}/reverse", json={"idempotency_key": ""},
                               headers=treasurer), 422, "idempotency_key")
    assert_problem(client.post(f"{BASE}/entries/{original['id']}/reverse", json={"idempotency_key": "x"},
                               headers=board), 403)
    assert row_counts(session) == before


# --- reading ----------------------------------------------------------------------------------------------


def test_accounts_lists_the_chart_with_balances(
    client: TestClient, session: Session, board: dict[str, str]
) -> None:
    service.post(session, key=new_key(), lines=[Line(BANK, 4_200), Line(REVENUE, -4_200)], description="x",
                 booked_on=date(2024, 5, 1))
    response = client.get(f"{BASE}/accounts", headers=board)
    assert response.status_code == 200
    accounts = {a["code"]: a for a in response.json()}
    assert set(accounts) == {spec.code.value for spec in CHART}
    assert [a["code"] for a in response.json()] == sorted(accounts)
    assert accounts[FUNDS] | {"balance_cents": None} == {
        "code": FUNDS, "name": "Gift funds available", "type": "liability", "normal_side": "credit",
        "no_overdraft": True, "balance_cents": None}
    assert accounts[BANK]["normal_side"] == "debit"
    for code, account in accounts.items():
        assert account["balance_cents"] == queries.balance(session, account=code)
    assert sum(a["balance_cents"] for a in accounts.values()) == 0

    earlier = client.get(f"{BASE}/accounts", params={"at": "2024-04-30"}, headers=board).json()
    later = client.get(f"{BASE}/accounts", params={"at": "2024-05-01"}, headers=board).json()
    bank_earlier = next(a for a in earlier if a["code"] == BANK)["balance_cents"]
    bank_later = next(a for a in later if a["code"] == BANK)["balance_cents"]
    assert bank_later - bank_earlier == 4_200


def test_accounts_and_entries_are_not_for_members(client: TestClient, member: dict[str, str]) -> None:
    assert_problem(client.get(f"{BASE}/accounts", headers=member), 403)
    assert_problem(client.get(f"{BASE}/entries", headers=member), 403)
    assert_problem(client.get(f"{BASE}/accounts"), 401)
    assert_problem(client.get(f"{BASE}/entries"), 401)


def test_entries_lists_bookings_in_number_order_with_their_postings(
    client: TestClient, session: Session, board: dict[str, str]
) -> None:
    fund = uuid.uuid4()
    booked = [
        service.post(session, key=new_key(), lines=[Line(BANK, cents), Line(FUNDS, -cents, fund_id=fund)],
                     description=f"gift {cents}", booked_on=day)
        for cents, day in ((100, date(1993, 3, 1)), (200, date(1993, 1, 1)), (300, date(1993, 2, 1)))
    ]
    response = client.get(f"{BASE}/entries", params={"start": "1993-01-01", "end": "1993-03-31"}, headers=board)
    assert response.status_code == 200
    listed = response.json()
    assert [e["id"] for e in listed] == [str(e.id) for e in booked]  # booking number order, not date order
    assert listed[0]["description"] == "gift 100"
    assert sorted((p["account"], p["amount_cents"], p["fund_id"]) for p in listed[0]["postings"]) == [
        (BANK, 100, None), (FUNDS, -100, str(fund))]

    window = client.get(f"{BASE}/entries", params={"start": "1993-01-15", "end": "1993-02-15"}, headers=board)
    assert [e["description"] for e in window.json()] == ["gift 300"]
    page = client.get(f"{BASE}/entries", params={"start": "1993-01-01", "end": "1993-03-31", "limit": 1,
                                                 "offset": 1}, headers=board)
    assert [e["description"] for e in page.json()] == ["gift 200"]
    assert_problem(client.get(f"{BASE}/entries", params={"limit": 0}, headers=board), 422, "limit")
    assert_problem(client.get(f"{BASE}/entries", params={"limit": 501}, headers=board), 422, "limit")

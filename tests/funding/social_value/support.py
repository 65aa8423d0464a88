"""Shared steps of the social value tests: rates, outcome types, funded projects and verified outcomes via HTTP."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

from coop.auth.models import Role
from tests.coop.members.support import on
from tests.funding.pledges.support import live_project, pledge
from tests.support import pay

START = date(2027, 3, 1)  # the projects go live on this day
REPORTED = START + timedelta(days=25)
VERIFIED = START + timedelta(days=26)
OUTCOME_TYPES = "/api/v1/outcome-types"
RATES = "/api/v1/settings/social-value"


def set_rates(client, board: dict[str, str], *, hour_rate_cents: int = 0, discount_rate_bp: int = 0,
              valid_from: date = date(2027, 1, 1)) -> dict:
    """PUT a version of the rates; the 200 body."""
    response = client.put(RATES, headers=board, json={"hour_rate_cents": hour_rate_cents,
                                                      "discount_rate_bp": discount_rate_bp,
                                                      "valid_from": valid_from.isoformat()})
    assert response.status_code == 200, response.text
    return response.json()


def outcome_type(client, board: dict[str, str], code: str = "buurtmaaltijd", **changes) -> dict:
    """POST an outcome type (EUR 500 a unit, 20 % deadweight, 10 % attribution, one year); the 201 body."""
    body = {"code": code, "name": "Buurtmaaltijd geserveerd", "unit": "maaltijd", "themes": ["voedsel"],
            "avoided_public_cost": False, "value_cents": 50_000, "source": "aanname", "valid_from": "2027-01-01",
            "deadweight_bp": 2000, "attribution_bp": 1000, "displacement_bp": 0, "duration_years": 1,
            "drop_off_bp": 0, **changes}
    response = client.post(OUTCOME_TYPES, headers=board, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def funded_project(client, initiator: dict[str, str], board: dict[str, str], *, paid_cents: int = 200_000,
                   **changes) -> str:
    """A live project on START that received `paid_cents` in one paid pledge; its id."""
    with on(START):
        project_id = live_project(client, initiator, board, START, goal_cents=paid_cents, goal_hours=0,
                                  **changes)["id"]
        if paid_cents:
            made = pledge(client, project_id, kind="money", amount_cents=paid_cents, name="Buur",
                          email="buur@example.org")
            pay(client, made["payment"]["id"])
    return project_id


def report(client, initiator: dict[str, str], project_id: str, *, code: str = "buurtmaaltijd",
           quantity: object = 10, day: date = REPORTED) -> dict:
    """The initiator reports an outcome over the first three weeks; the 201 body."""
    with on(day):
        response = client.post(f"/api/v1/projects/{project_id}/outcomes", headers=initiator, json={
            "outcome_type": code, "quantity": quantity, "period_start": START.isoformat(),
            "period_end": (START + timedelta(days=20)).isoformat(), "evidence": "Presentielijsten en foto's"})
    assert response.status_code == 201, response.text
    return response.json()


def verify(client, board: dict[str, str], outcome_id: str, day: date = VERIFIED) -> dict:
    """A board member verifies an outcome; the 200 body."""
    with on(day):
        response = client.post(f"/api/v1/outcomes/{outcome_id}/verify", headers=board)
    assert response.status_code == 200, response.text
    return response.json()


def verified(client, initiator, board, project_id: str, **kw) -> dict:
    """Report and verify an outcome."""
    day = kw.pop("verified_on", VERIFIED)
    return verify(client, board, report(client, initiator, project_id, day=min(day, REPORTED), **kw)["id"], day)


def statement(client, project_id: str, at: date | None = None, day: date = VERIFIED) -> dict:
    """GET a project's social value (anonymously, on `day`); the 200 body."""
    with on(day):
        response = client.get(f"/api/v1/projects/{project_id}/social-value",
                              params={"at": at.isoformat()} if at else None)
    assert response.status_code == 200, response.text
    return response.json()


def present_value(net_cents: int, years: int, drop_off: Fraction, discount: Fraction) -> int:
    """The issue's formula, written out: year t is net x (1 - drop-off)^(t-1) / (1 + r)^t; rounded half even."""
    return round(sum(Fraction(net_cents) * (1 - drop_off) ** (t - 1) / (1 + discount) ** t
                     for t in range(1, years + 1)))


def board_pair(auth_headers) -> tuple[dict[str, str], dict[str, str]]:
    """An initiator and a board member."""
    return auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)

"""Shared steps of the pledge tests: a live project through the API, pledges, and the campaign's close."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session

from funding.pledges.jobs import CLOSE_JOB, REFUND_JOB, close, close_due, refund
from tests.coop.members.support import on
from tests.support import run_queued

HANDLERS = {CLOSE_JOB: close, REFUND_JOB: refund}


def project_body(today: date, **changes) -> dict:
    """A neighbourhood project in Utrecht, from `today` for 30 days."""
    body = {"title": "Moestuin De Bikkershof", "summary": "Een gezamenlijke moestuin voor de buurt",
            "municipality_code": "GM0344", "neighbourhood": "Lombok", "theme": "groen_en_duurzaamheid",
            "goal_cents": 50_000, "goal_hours": 10, "starts_on": today.isoformat(),
            "deadline": (today + timedelta(days=30)).isoformat(), "funding_model": "all_or_nothing"}
    return {**body, **changes}


def live_project(client, initiator: dict[str, str], board: dict[str, str], today: date, **changes) -> dict:
    """Create, submit and approve a project on `today` (the clock frozen by the caller); the approved body."""
    created = client.post("/api/v1/projects", json=project_body(today, **changes), headers=initiator)
    assert created.status_code == 201, created.text
    project_id = created.json()["id"]
    assert client.post(f"/api/v1/projects/{project_id}/submit", headers=initiator).status_code == 200
    approved = client.post(f"/api/v1/projects/{project_id}/approve", headers=board)
    assert approved.status_code == 200, approved.text
    return approved.json()


def pledge(client, project_id: str, **body) -> dict:
    """POST a pledge; the 201 body."""
    response = client.post(f"/api/v1/projects/{project_id}/pledges", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def run_closing(session: Session, day: date) -> None:
    """What the worker does on `day`: queue the closes, run them and the refunds they queue."""
    with on(day):
        close_due(session)
        run_queued(session, HANDLERS)

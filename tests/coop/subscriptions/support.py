"""Shared steps of the subscription tests: subscribe, pay on the sandbox page, run the daily jobs on a day."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlmodel import Session, select

from coop.notifications.models import Notification
from coop.subscriptions.jobs import ADVANCE_JOB, advance_one, daily
from tests.coop.members.support import PERSON, join_and_pay, on
from tests.support import run_queued

YEARS = timedelta(days=3650)  # a token that stays valid on every date the tests freeze


def status_on(client, member_id: str, headers: dict[str, str], day: date) -> dict:
    """GET the subscription as of `day` (asked on that day)."""
    with on(day):
        response = client.get(f"/api/v1/members/{member_id}/subscription", params={"at": day.isoformat()},
                              headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def invoices(client, member_id: str, headers: dict[str, str]) -> list[dict]:
    """GET the member's invoices and credit notes."""
    response = client.get(f"/api/v1/members/{member_id}/invoices", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def member_who_joined(client, body: dict | None = None) -> str:
    """A member who joined and paid their share (today, as the clock says); their id."""
    return join_and_pay(client, body or PERSON)["member"]["id"]


def subscribe(client, member_id: str, headers: dict[str, str], provider: str = "sandbox") -> dict:
    """POST the subscription; the 201 body."""
    response = client.post(f"/api/v1/members/{member_id}/subscription", json={"provider": provider},
                           headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def run_daily(session: Session, day: date) -> None:
    """What the worker does on `day`: the daily pass and the per-subscription jobs it queued."""
    with on(day):
        daily(session)
        run_queued(session, {ADVANCE_JOB: advance_one})


def messages(session: Session, member_id: str, template: str) -> list[Notification]:
    """The notifications of one template queued for the member, oldest first."""
    return list(session.exec(select(Notification).where(Notification.member_id == uuid.UUID(member_id),
                                                        Notification.template == template)
                             .order_by(Notification.created_at)).all())

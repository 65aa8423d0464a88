"""Shared steps of the member tests: join through the API, pay on the sandbox page, act on a date."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from coop.auth.models import Role
from coop.auth.service import create_token
from coop.core.clock import frozen_clock
from coop.members.models import Member

PERSON = {"kind": "person", "name": "Fatima el Amrani", "email": "fatima@example.org", "provider": "sandbox"}
COMPANY = {"kind": "company", "name": "Bouwbedrijf De Vries BV", "email": "info@devries.example.org",
           "provider": "sandbox", "kvk_number": "69599084", "iban": "NL91 ABNA 0417 1643 00",
           "share_class": "maatschappelijk", "quantity": 10}


def join_and_pay(client, body: dict, outcome: str | None = "paid") -> dict:
    """POST /members, then press `outcome` on the sandbox page (None: leave the payment open)."""
    response = client.post("/api/v1/members", json=body)
    assert response.status_code == 201, response.text
    joined = response.json()
    if outcome is not None:
        chosen = client.post(f"/sandbox/checkout/{joined['payment']['id']}", data={"outcome": outcome},
                             follow_redirects=False)
        assert chosen.status_code == 303
    return joined


def on(day: date):
    """Act as if it were 10:00 UTC on `day`."""
    return frozen_clock(datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC))


def own_headers(session, make_user, member_id: str, ttl: timedelta = timedelta(hours=1)) -> dict[str, str]:
    """A member-role user linked to the member, and their bearer headers."""
    user = make_user(Role.MEMBER)
    member = session.get(Member, uuid.UUID(member_id))
    member.user_id = user.id
    session.add(member)
    session.flush()
    plain, _ = create_token(session, user_id=user.id, ttl=ttl)
    return {"Authorization": f"Bearer {plain}"}

"""Shared steps of the project tests: signed-in users, projects in a given state, pledges written directly."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlmodel import Session, func, select

from coop.auth.models import Role, User
from coop.auth.service import create_token
from funding.pledges.models import Pledge, PledgeKind, PledgeStatus
from funding.projects.models import Project
from tests.conftest import UserFactory
from tests.coop.subscriptions.support import YEARS
from tests.funding.pledges.support import project_body

START = date(2027, 3, 1)  # the campaigns in these tests start on this day
API = "/api/v1/projects"


def headers_of(session: Session, user: User) -> dict[str, str]:
    """Bearer headers for `user`, valid on every day the tests freeze."""
    plain, _ = create_token(session, user_id=user.id, ttl=YEARS)
    return {"Authorization": f"Bearer {plain}"}


def signed_in(session: Session, make_user: UserFactory, *roles: Role, email: str | None = None) -> dict[str, str]:
    """A fresh user with `roles` (and this e-mail, if given), signed in."""
    return headers_of(session, make_user(*roles, email=email))


def created(client, headers: dict[str, str], **changes) -> dict:
    """POST a project starting on START (the clock frozen by the caller); the 201 body."""
    response = client.post(API, json=project_body(START, **changes), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def act(client, headers: dict[str, str], project_id: str, step: str, **body) -> dict:
    """POST a lifecycle step (submit, approve, reject, cancel); the 200 body."""
    response = client.post(f"{API}/{project_id}/{step}", json=body or None, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def projects_count(session: Session) -> int:
    """How many projects exist (each test starts with none)."""
    return session.exec(select(func.count()).select_from(Project)).one()


def add_pledge(session: Session, project_id: str, kind: PledgeKind, status: PledgeStatus, **fields) -> Pledge:
    """A pledge row as the pledge service would leave it (the pledge API is tested in tests/funding/pledges)."""
    defaults = {"name": f"Buur {uuid.uuid4().hex[:6]}", "email": f"buur-{uuid.uuid4().hex[:8]}@example.org"}
    pledge = Pledge(project_id=uuid.UUID(project_id), kind=kind, status=status, **{**defaults, **fields})
    session.add(pledge)
    session.flush()
    return pledge


def days(n: int) -> str:
    """START plus `n` days, as the API writes dates."""
    return (START + timedelta(days=n)).isoformat()

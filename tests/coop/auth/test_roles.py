"""Who may read what: `require_roles` on the audit log and the trial balance."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from coop.auth.models import Role
from coop.core.errors import PROBLEM_JSON
from tests.conftest import HeadersFactory

AUDIT_URL = "/api/v1/audit"
TRIAL_BALANCE_URL = "/api/v1/ledger/trial-balance?start=2026-01-01&end=2026-12-31"

ALL_ROLES = list(Role)
AUDIT_READERS = {Role.ADMIN, Role.BOARD}
LEDGER_READERS = {Role.TREASURER, Role.BOARD}


def expected(role: Role, allowed: set[Role]) -> int:
    return 200 if role in allowed else 403


@pytest.mark.parametrize(
    ("url", "role", "status"),
    [(AUDIT_URL, role, expected(role, AUDIT_READERS)) for role in ALL_ROLES]
    + [(TRIAL_BALANCE_URL, role, expected(role, LEDGER_READERS)) for role in ALL_ROLES],
    ids=[f"audit-{role.value}" for role in ALL_ROLES] + [f"trial-balance-{role.value}" for role in ALL_ROLES],
)
def test_role_matrix(
    client: TestClient, auth_headers: HeadersFactory, url: str, role: Role, status: int
) -> None:
    response = client.get(url, headers=auth_headers(role))

    assert response.status_code == status, response.text
    if status == 403:
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
        body = response.json()
        assert body["status"] == 403
        assert body["title"] == "Forbidden"


@pytest.mark.parametrize("url", [AUDIT_URL, TRIAL_BALANCE_URL], ids=["audit", "trial-balance"])
def test_anonymous_is_401_not_403(client: TestClient, url: str) -> None:
    response = client.get(url)

    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("url", "roles", "status"),
    [
        (AUDIT_URL, (Role.MEMBER, Role.BOARD), 200),
        (AUDIT_URL, (Role.MEMBER, Role.TREASURER, Role.FUND_MANAGER), 403),
        (TRIAL_BALANCE_URL, (Role.INITIATOR, Role.TREASURER), 200),
        (TRIAL_BALANCE_URL, (Role.ADMIN, Role.MEMBER), 403),
        (AUDIT_URL, (), 403),
    ],
    ids=["audit-member+board", "audit-no-reader-role", "tb-initiator+treasurer", "tb-admin-is-not-enough",
         "audit-no-roles"],
)
def test_any_one_allowed_role_suffices(
    client: TestClient, auth_headers: HeadersFactory, url: str, roles: tuple[Role, ...], status: int
) -> None:
    assert client.get(url, headers=auth_headers(*roles)).status_code == status

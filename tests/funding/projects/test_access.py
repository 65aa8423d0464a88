"""Who may do what with a project: 401 without a token, 403 for the wrong person, 404 for hidden projects."""

from __future__ import annotations

import pytest

from coop.auth.models import Role
from funding.pledges.models import PledgeKind, PledgeStatus
from tests.coop.members.support import PERSON, join_and_pay, on, own_headers
from tests.coop.subscriptions.support import YEARS
from tests.funding.pledges.support import project_body
from tests.funding.projects.support import API, START, act, add_pledge, created, projects_count

# Every endpoint that needs a signed-in caller; `{id}` is a submitted project of someone else.
GUARDED = [
    ("patch", "/{id}", {"story": "Overgenomen"}),
    ("post", "/{id}/submit", None),
    ("post", "/{id}/approve", None),
    ("post", "/{id}/reject", {"reason": "Nee"}),
    ("post", "/{id}/cancel", {"reason": "Nee"}),
    ("get", "/{id}/pledgers", None),
    ("post", "/{id}/updates", {"title": "Nieuws", "body": "Van een ander"}),
]


def call(client, method: str, path: str, body: dict | None, project_id: str, headers: dict[str, str] | None):
    """Send one request to a project endpoint."""
    kwargs = {"headers": headers or {}}
    if body is not None:
        kwargs["json"] = body
    return getattr(client, method)(API + path.format(id=project_id), **kwargs)


@pytest.fixture
def submitted(client, auth_headers) -> str:
    """A project of some initiator, waiting for the board."""
    initiator = auth_headers(Role.INITIATOR)
    with on(START):
        pid = created(client, initiator)["id"]
        act(client, initiator, pid, "submit")
    return pid


@pytest.mark.parametrize(("method", "path", "body"), GUARDED)
def test_anonymous_callers_get_401(client, submitted, method, path, body) -> None:
    with on(START):
        response = call(client, method, path, body, submitted, None)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(("method", "path", "body"), GUARDED)
@pytest.mark.parametrize("who", ["other_initiator", "member", "treasurer"])
def test_people_who_do_not_run_the_project_get_403(client, session, make_user, auth_headers, submitted, who, method,
                                                   path, body) -> None:
    with on(START):
        if who == "other_initiator":
            headers = auth_headers(Role.INITIATOR)
            created(client, headers)  # they run a project, just not this one
        elif who == "member":
            headers = own_headers(session, make_user, join_and_pay(client, PERSON)["member"]["id"], ttl=YEARS)
        else:
            headers = auth_headers(Role.TREASURER)
        response = call(client, method, path, body, submitted, headers)
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_the_initiator_sees_the_pledgers_of_their_own_project_only(client, session, auth_headers) -> None:
    initiator, board = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    with on(START):
        pid = created(client, initiator)["id"]
        act(client, initiator, pid, "submit")
        act(client, board, pid, "approve")
        add_pledge(session, pid, PledgeKind.MONEY, PledgeStatus.PAID, amount_cents=2_500, name="Els de Wit",
                   email="els@example.org", anonymous=True)
        add_pledge(session, pid, PledgeKind.TIME, PledgeStatus.PLEDGED, minutes=150, skill="timmeren",
                   name="Ahmed", email="ahmed@example.org")
        for headers, giver in ((initiator, "Anoniem"), (board, "Els de Wit")):  # only the board knows who gave
            seen = client.get(f"{API}/{pid}/pledgers", headers=headers)
            assert seen.status_code == 200, seen.text
            by_name = {p["name"]: p for p in seen.json()}
            assert by_name[giver]["anonymous"] and by_name[giver]["amount_cents"] == 2_500
            assert by_name[giver]["email"] == ("els@example.org" if headers is board else None)
            assert (by_name["Ahmed"]["hours"], by_name["Ahmed"]["minutes"]) == (2.5, 150)
        other = auth_headers(Role.INITIATOR)
        own = created(client, other)["id"]
        assert client.get(f"{API}/{own}/pledgers", headers=other).json() == []
        assert client.get(f"{API}/{pid}/pledgers", headers=other).status_code == 403


def test_proposing_needs_an_initiator_an_active_member_or_the_board(client, session, make_user,
                                                                   auth_headers) -> None:
    body = project_body(START)
    with on(START):
        assert client.post(API, json=body).status_code == 401
        for roles in ((Role.MEMBER,), (Role.TREASURER,), (Role.FUND_MANAGER,)):
            refused = client.post(API, json=body, headers=auth_headers(*roles))
            assert refused.status_code == 403, refused.text
        assert projects_count(session) == 0

        member_id = join_and_pay(client, PERSON)["member"]["id"]
        member = own_headers(session, make_user, member_id, ttl=YEARS)
        made = client.post(API, json=body, headers=member)
        assert made.status_code == 201, made.text
        assert made.json()["private"]["member_id"] == member_id  # started for their own membership

        applicant = own_headers(session, make_user, join_and_pay(client, {**PERSON, "email": "nog@example.org"},
                                                                 outcome=None)["member"]["id"], ttl=YEARS)
        assert client.post(API, json=body, headers=applicant).status_code == 403  # not paid: not a member yet

        initiator = auth_headers(Role.INITIATOR)
        foreign = client.post(API, json={**body, "member_id": member_id}, headers=initiator)
        assert foreign.status_code == 403  # nobody starts a project in another member's name
        for roles in ((Role.INITIATOR,), (Role.BOARD,), (Role.ADMIN,)):
            assert client.post(API, json=body, headers=auth_headers(*roles)).status_code == 201


def test_hidden_projects_are_404_for_everyone_but_their_initiator_and_the_board(client, auth_headers,
                                                                                submitted) -> None:
    with on(START):
        for headers in ({}, auth_headers(Role.INITIATOR), auth_headers(Role.MEMBER)):
            assert client.get(f"{API}/{submitted}", headers=headers).status_code == 404
            assert client.get(f"{API}/{submitted}/updates", headers=headers).status_code == 404
        for roles in ((Role.BOARD,), (Role.ADMIN,)):
            assert client.get(f"{API}/{submitted}", headers=auth_headers(*roles)).status_code == 200
        bad_token = client.get(API, headers={"Authorization": "Bearer not-a-token"})
        assert bad_token.status_code == 401  # a public endpoint still refuses a token that is wrong

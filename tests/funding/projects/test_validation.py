"""Bad proposals are 422 problem+json naming the field, and write nothing."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from coop.audit.models import AuditEvent
from coop.auth.models import Role
from tests.coop.members.support import on
from tests.funding.pledges.support import project_body
from tests.funding.projects.support import API, START, days, projects_count


@pytest.mark.parametrize(("change", "field"), [
    ({"goal_cents": -1}, "goal_cents"),
    ({"goal_cents": 3.5}, "goal_cents"),
    ({"goal_cents": "10"}, "goal_cents"),
    ({"goal_cents": 10.0}, "goal_cents"),
    ({"goal_hours": 1.5}, "goal_hours"),
    ({"goal_hours": -2}, "goal_hours"),
    ({"goal_cents": 0, "goal_hours": 0}, "goal_cents"),
    ({"deadline": days(200)}, "deadline"),
    ({"deadline": days(91)}, "deadline"),
    ({"deadline": days(0)}, "deadline"),
    ({"deadline": days(-3)}, "deadline"),
    ({"starts_on": days(-1), "deadline": days(20)}, "starts_on"),
    ({"municipality_code": "0344"}, "municipality_code"),
    ({"municipality_code": "GM344"}, "municipality_code"),
    ({"municipality_code": "gm0344"}, "municipality_code"),
    ({"theme": "ruimtevaart"}, "theme"),
    ({"funding_model": "half_om_half"}, "funding_model"),
    ({"title": "ab"}, "title"),
    ({"title": "x" * 121}, "title"),
    ({"summary": "  kort  "}, "summary"),
    ({"summary": "x" * 501}, "summary"),
    ({"neighbourhood": ""}, "neighbourhood"),
    ({"wishlist": ["schop"] * 31}, "wishlist"),
    ({"wishlist": ["x" * 121]}, "wishlist.0"),
    ({"wishlist": [""]}, "wishlist.0"),
    ({"payee_iban": "NL00 BANK 0000 0000 00"}, "payee_iban"),
    ({"payee_name": "x" * 71}, "payee_name"),
    ({"title": None}, "title"),
])
def test_a_bad_proposal_names_the_field_and_writes_nothing(client, session, auth_headers, change, field) -> None:
    initiator = auth_headers(Role.INITIATOR)
    events = session.exec(select(func.count()).select_from(AuditEvent)).one()
    with on(START):
        response = client.post(API, json=project_body(START, **change), headers=initiator)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field
    assert projects_count(session) == 0
    assert session.exec(select(func.count()).select_from(AuditEvent)).one() == events


@pytest.mark.parametrize("missing", ["title", "summary", "municipality_code", "neighbourhood", "theme", "goal_cents",
                                     "goal_hours", "starts_on", "deadline", "funding_model"])
def test_every_field_of_the_contract_is_required(client, session, auth_headers, missing) -> None:
    body = project_body(START)
    del body[missing]
    with on(START):
        response = client.post(API, json=body, headers=auth_headers(Role.INITIATOR))
    assert response.status_code == 422 and response.json()["field"] == missing
    assert projects_count(session) == 0


def test_the_edges_of_a_campaign_are_accepted(client, auth_headers) -> None:
    initiator = auth_headers(Role.INITIATOR)
    with on(START):
        for body in (project_body(START, deadline=days(1)), project_body(START, deadline=days(90)),
                     project_body(START, goal_cents=0, goal_hours=5), project_body(START, goal_hours=0),
                     project_body(START, starts_on=days(10), deadline=days(100))):
            response = client.post(API, json=body, headers=initiator)
            assert response.status_code == 201, (body, response.text)

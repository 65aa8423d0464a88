"""Project updates: public posts for everyone, backers-only posts for backers, the initiator and the board."""

from __future__ import annotations

import pytest

from coop.auth.models import Role
from funding.pledges.models import PledgeKind, PledgeStatus
from tests.coop.members.support import on
from tests.funding.pledges.support import live_project
from tests.funding.projects.support import API, START, add_pledge, signed_in


@pytest.fixture
def posted(client, auth_headers) -> tuple[str, dict[str, str]]:
    """A live project with a public and a backers-only update; its id and its initiator's headers."""
    initiator = auth_headers(Role.INITIATOR)
    with on(START):
        pid = live_project(client, initiator, auth_headers(Role.BOARD), START)["id"]
        for title, visibility in (("De eerste spade", "public"), ("Alleen voor jullie", "backers")):
            response = client.post(f"{API}/{pid}/updates", headers=initiator,
                                   json={"title": title, "body": "Het gaat goed.", "visibility": visibility})
            assert response.status_code == 201, response.text
            assert response.json()["visibility"] == visibility
    return pid, initiator


def titles(client, project_id: str, headers: dict[str, str] | None = None) -> set[str]:
    """The titles of the updates the caller may read."""
    response = client.get(f"{API}/{project_id}/updates", headers=headers or {})
    assert response.status_code == 200, response.text
    return {update["title"] for update in response.json()}


EVERYONE = {"De eerste spade"}
BACKERS = {"De eerste spade", "Alleen voor jullie"}


@pytest.mark.parametrize(("status", "sees"), [
    (PledgeStatus.PAID, BACKERS),
    (PledgeStatus.PENDING, EVERYONE),  # not paid (yet): not a backer
    (PledgeStatus.FAILED, EVERYONE),
    (PledgeStatus.REFUNDED, EVERYONE),
])
def test_people_who_pledged_money_read_backers_only_updates_once_paid(client, session, make_user, posted, status,
                                                                      sees) -> None:
    pid, _ = posted
    add_pledge(session, pid, PledgeKind.MONEY, status, amount_cents=1_000, email="jan@example.org")
    assert titles(client, pid, signed_in(session, make_user, Role.MEMBER, email="Jan@Example.org")) == sees


@pytest.mark.parametrize(("kind", "status", "sees"), [
    (PledgeKind.TIME, PledgeStatus.PLEDGED, BACKERS),
    (PledgeKind.TIME, PledgeStatus.CONFIRMED, BACKERS),
    (PledgeKind.TIME, PledgeStatus.DELIVERED, BACKERS),
    (PledgeKind.TIME, PledgeStatus.WITHDRAWN, EVERYONE),
    (PledgeKind.MATERIALS, PledgeStatus.PLEDGED, BACKERS),
])
def test_volunteers_and_givers_of_materials_are_backers_while_their_pledge_stands(client, session, make_user, posted,
                                                                                  kind, status, sees) -> None:
    pid, _ = posted
    add_pledge(session, pid, kind, status, minutes=60, description="Schoppen", email="mo@example.org")
    assert titles(client, pid, signed_in(session, make_user, email="mo@example.org")) == sees


def test_the_public_sees_public_updates_and_who_runs_the_project_sees_all(client, session, make_user, auth_headers,
                                                                          posted) -> None:
    pid, initiator = posted
    add_pledge(session, pid, PledgeKind.MONEY, PledgeStatus.PAID, amount_cents=1_000, email="jan@example.org")
    assert titles(client, pid) == EVERYONE
    assert titles(client, pid, signed_in(session, make_user, Role.MEMBER)) == EVERYONE
    assert titles(client, pid, auth_headers(Role.INITIATOR)) == EVERYONE  # another project's initiator
    for headers in (initiator, auth_headers(Role.BOARD), auth_headers(Role.ADMIN)):
        assert titles(client, pid, headers) == BACKERS


def test_the_board_may_post_and_bad_posts_name_the_field(client, auth_headers, posted) -> None:
    pid, initiator = posted
    board = client.post(f"{API}/{pid}/updates", headers=auth_headers(Role.BOARD),
                        json={"title": "Van het bestuur", "body": "Goed bezig."})
    assert board.status_code == 201 and board.json()["visibility"] == "public"
    for body, field in (({"body": "zonder titel"}, "title"), ({"title": "Leeg", "body": "  "}, "body"),
                        ({"title": "Geheim", "body": "x", "visibility": "secret"}, "visibility")):
        refused = client.post(f"{API}/{pid}/updates", json=body, headers=initiator)
        assert refused.status_code == 422 and refused.json()["field"] == field
    newest = client.get(f"{API}/{pid}/updates").json()
    assert len(newest) == 2 and "@" not in str(newest)

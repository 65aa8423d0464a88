"""A project's life through the HTTP API: draft, submitted, the board's decision, live, and the close."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlmodel import select

from coop.audit.models import AuditEvent
from coop.auth.models import Role
from coop.core.errors import Conflict
from funding.projects.models import ProjectStatus
from funding.projects.service import get_project, set_closed_status
from tests.coop.members.support import on
from tests.funding.projects.support import API, START, act, created, days


def actions(session, project_id: str) -> list[str]:
    """The audited actions on a project, sorted (under a frozen clock they share one instant)."""
    return sorted(session.exec(select(AuditEvent.action).where(AuditEvent.object_type == "project",
                                                               AuditEvent.object_id == project_id)).all())


def test_a_project_is_proposed_submitted_and_approved_then_shown_publicly(client, session, auth_headers) -> None:
    initiator, board = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    with on(START):
        draft = created(client, initiator, wishlist=["Kruiwagen", "Plantenbakken"], story="Al jaren een wens.",
                        payee_name="Stichting De Bikkershof", payee_iban="NL91 ABNA 0417 1643 00")
        pid = draft["id"]
        assert draft["status"] == "draft" and draft["goal_hours"] == 10 and draft["goal_minutes"] == 600
        assert (draft["percentage"], draft["days_left"], draft["backers"]) == (0, 31, 0)
        assert draft["private"]["payee_iban"] == "NL91ABNA0417164300"
        assert draft["wishlist"] == ["Kruiwagen", "Plantenbakken"]

        assert client.get(f"{API}/{pid}").status_code == 404  # a draft is not public
        assert client.get(f"{API}/{pid}", headers=auth_headers(Role.INITIATOR)).status_code == 404
        assert client.get(f"{API}/{pid}", headers=initiator).json()["status"] == "draft"
        assert client.get(API).json()["total"] == 0

        assert act(client, initiator, pid, "submit")["status"] == "submitted"
        assert client.get(f"{API}/{pid}").status_code == 404
        assert [p["id"] for p in client.get(API, headers=board).json()["items"]] == [pid]  # the board's queue

        live = act(client, board, pid, "approve")
        assert live["status"] == "live" and live["private"]["went_live_at"]

        shown = client.get(f"{API}/{pid}")
        assert shown.status_code == 200 and shown.json()["private"] is None
        assert shown.json()["story"] == "Al jaren een wens."
        listed = client.get(API).json()
        assert (listed["total"], [p["id"] for p in listed["items"]]) == (1, [pid])
    assert actions(session, pid) == ["project.created", "project.live", "project.submitted"]


def test_rejecting_needs_a_reason_and_sends_the_project_back_to_its_initiator(client, session, auth_headers) -> None:
    initiator, board = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    with on(START):
        pid = created(client, initiator)["id"]
        act(client, initiator, pid, "submit")
        for body in (None, {}, {"reason": "   "}):
            refused = client.post(f"{API}/{pid}/reject", json=body, headers=board)
            assert refused.status_code == 422, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["field"] == "reason"
        assert get_project(session, project_id=uuid.UUID(pid)).status is ProjectStatus.SUBMITTED

        rejected = act(client, board, pid, "reject", reason="Graag een begroting toevoegen")
        assert rejected["status"] == "draft"
        seen = client.get(f"{API}/{pid}", headers=initiator).json()
        assert seen["private"]["decision_reason"] == "Graag een begroting toevoegen"

        twice = client.post(f"{API}/{pid}/reject", json={"reason": "nog eens"}, headers=board)
        assert twice.status_code == 409 and twice.json()["field"] == "status"
        act(client, initiator, pid, "submit")
        assert act(client, board, pid, "approve")["private"]["decision_reason"] is None
    assert actions(session, pid) == ["project.created", "project.draft", "project.live", "project.submitted",
                                     "project.submitted"]


def test_approval_keeps_a_start_that_passed_but_not_a_deadline_that_passed(client, auth_headers) -> None:
    initiator, board = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    with on(START):
        late = created(client, initiator)["id"]
        expired = created(client, initiator, deadline=days(3))["id"]
        for pid in (late, expired):
            act(client, initiator, pid, "submit")
        assert client.post(f"{API}/{late}/approve", headers=initiator).status_code == 403
    with on(START + timedelta(days=5)):
        approved = act(client, board, late, "approve")
        assert (approved["status"], approved["starts_on"]) == ("live", START.isoformat())
        assert approved["days_left"] == 26  # day 5 to day 30, both included
        too_late = client.post(f"{API}/{expired}/approve", headers=board)
        assert too_late.status_code == 409 and too_late.json()["field"] == "deadline"


def test_a_board_member_does_not_approve_their_own_project(client, auth_headers) -> None:
    board = auth_headers(Role.BOARD)
    with on(START):
        pid = created(client, board)["id"]
        act(client, board, pid, "submit")
        assert client.post(f"{API}/{pid}/approve", headers=board).status_code == 403
        assert act(client, auth_headers(Role.BOARD), pid, "approve")["status"] == "live"


def test_only_a_draft_is_submitted_and_only_a_submitted_project_approved(client, auth_headers) -> None:
    initiator, board = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    with on(START):
        pid = created(client, initiator)["id"]
        assert client.post(f"{API}/{pid}/approve", headers=board).json()["field"] == "status"
        act(client, initiator, pid, "submit")
        again = client.post(f"{API}/{pid}/submit", headers=initiator)
        assert again.status_code == 409 and again.json()["field"] == "status"
        assert client.post(f"{API}/{uuid.uuid4()}/submit", headers=initiator).status_code == 404


@pytest.mark.parametrize(("change", "field"), [
    ({"goal_cents": 75_000}, "goal_cents"),
    ({"goal_hours": 20}, "goal_hours"),
    ({"deadline": days(40)}, "deadline"),
    ({"starts_on": days(1)}, "starts_on"),
    ({"funding_model": "keep_it_all"}, "funding_model"),
    ({"municipality_code": "GM0363"}, "municipality_code"),
])
def test_goals_campaign_and_model_are_frozen_once_live(client, session, auth_headers, change, field) -> None:
    initiator, board = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    with on(START):
        pid = created(client, initiator)["id"]
        act(client, initiator, pid, "submit")
        act(client, board, pid, "approve")
        for headers in (initiator, board):
            refused = client.patch(f"{API}/{pid}", json=change, headers=headers)
            assert refused.status_code == 409, refused.text
            assert refused.json()["field"] == field
    project = get_project(session, project_id=uuid.UUID(pid))
    assert (project.goal_cents, project.goal_minutes, project.funding_model.value) == (50_000, 600, "all_or_nothing")


def test_story_summary_wishlist_and_payee_may_still_change_while_live(client, session, auth_headers) -> None:
    initiator, board = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    with on(START):
        pid = created(client, initiator)["id"]
        act(client, initiator, pid, "submit")
        act(client, board, pid, "approve")
        same = {"goal_cents": 50_000, "goal_hours": 10, "deadline": days(30)}  # unchanged values are no change
        edited = client.patch(f"{API}/{pid}", headers=initiator, json={
            **same, "story": "Nieuw verhaal", "summary": "Een moestuin en een kas voor de buurt",
            "wishlist": ["Kas"], "payee_iban": "NL91 ABNA 0417 1643 00"})
        assert edited.status_code == 200, edited.text
        assert (edited.json()["story"], edited.json()["wishlist"]) == ("Nieuw verhaal", ["Kas"])
        assert edited.json()["private"]["payee_iban"] == "NL91ABNA0417164300"
        assert edited.json()["summary"] == "Een moestuin en een kas voor de buurt"
    assert "project.updated" in actions(session, pid)


def test_a_draft_can_be_edited_within_the_same_rules(client, session, auth_headers) -> None:
    initiator = auth_headers(Role.INITIATOR)
    with on(START):
        pid = created(client, initiator)["id"]
        edited = client.patch(f"{API}/{pid}", headers=initiator, json={
            "goal_cents": 0, "goal_hours": 25, "deadline": days(60), "theme": "cultuur", "payee_iban": None})
        assert edited.status_code == 200, edited.text
        assert (edited.json()["goal_minutes"], edited.json()["percentage"], edited.json()["theme"]) == (
            1_500, None, "cultuur")
        for change, field in (({"deadline": days(91)}, "deadline"), ({"goal_hours": 0}, "goal_cents"),
                              ({"starts_on": days(-1)}, "starts_on"), ({"title": None}, "title"),
                              ({"payee_iban": "NL00 BANK 0000 0000 00"}, "payee_iban")):
            refused = client.patch(f"{API}/{pid}", json=change, headers=initiator)
            assert refused.status_code == 422, (change, refused.text)
            assert refused.json()["field"] == field
    project = get_project(session, project_id=uuid.UUID(pid))
    assert (project.goal_minutes, project.deadline.isoformat()) == (1_500, days(60))


def test_closing_moves_only_along_the_allowed_transitions(client, session, auth_headers) -> None:
    initiator, board = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    with on(START):
        draft, live = created(client, initiator)["id"], created(client, initiator)["id"]
        act(client, initiator, live, "submit")
        act(client, board, live, "approve")
        project = get_project(session, project_id=uuid.UUID(draft))
        with pytest.raises(Conflict):
            set_closed_status(session, project=project, status=ProjectStatus.SUCCEEDED, actor_id=None)
        canceled = set_closed_status(session, project=project, status=ProjectStatus.CANCELED, actor_id=None,
                                     reason="Initiatiefnemer verhuisd")
        assert canceled.closed_at is not None and canceled.decision_reason == "Initiatiefnemer verhuisd"
        assert client.get(f"{API}/{draft}", headers=initiator).json()["days_left"] == 0
        assert client.get(f"{API}/{draft}").status_code == 404  # canceled projects are not public
        with pytest.raises(Conflict):
            set_closed_status(session, project=canceled, status=ProjectStatus.CANCELED, actor_id=None)

        succeeded = set_closed_status(session, project=get_project(session, project_id=uuid.UUID(live)),
                                      status=ProjectStatus.SUCCEEDED, actor_id=None)
        assert succeeded.decided_by is not None  # the approver stays the one who decided
        with pytest.raises(Conflict):
            set_closed_status(session, project=succeeded, status=ProjectStatus.FAILED, actor_id=None)
        shown = client.get(f"{API}/{live}").json()
        assert (shown["status"], shown["days_left"]) == ("succeeded", 0)
        refused = client.patch(f"{API}/{live}", json={"story": "Gelukt!"}, headers=initiator)
        assert refused.status_code == 409 and refused.json()["field"] == "status"
    assert "project.canceled" in actions(session, draft)
    assert "project.succeeded" in actions(session, live)

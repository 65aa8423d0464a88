"""The audit log: written by `record`, read by the board, never rewritten."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, update
from sqlmodel import Session, select

from coop.audit.models import AuditEvent
from coop.audit.queries import list_events
from coop.audit.service import AuditLogIsAppendOnly, record
from coop.auth.models import Role
from coop.core.clock import frozen_clock
from coop.core.errors import PROBLEM_JSON
from tests.conftest import HeadersFactory

AUDIT_URL = "/api/v1/audit"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def kind() -> str:
    """An object type no other test uses, so counts are exact."""
    return f"thing-{uuid.uuid4().hex[:12]}"


def test_record_writes_an_event(session: Session) -> None:
    actor = uuid.uuid4()
    object_id = uuid.uuid4()

    with frozen_clock(T0):
        written = record(session, action="member.admitted", object_type="member", object_id=object_id,
                         actor_id=actor, before={"status": "applied"},
                         after={"status": "admitted", "shares": 2})

    session.expire_all()
    stored = session.exec(select(AuditEvent).where(AuditEvent.id == written.id)).one()
    assert stored.action == "member.admitted"
    assert stored.object_type == "member"
    assert stored.object_id == str(object_id)  # uuids are stored as text
    assert stored.actor_id == actor
    assert stored.at == T0
    assert stored.at.tzinfo is not None
    assert stored.before == {"status": "applied"}
    assert stored.after == {"status": "admitted", "shares": 2}


def test_record_without_actor_or_states(session: Session) -> None:
    written = record(session, action="job.ran", object_type="job", object_id="nightly")

    session.expire_all()
    stored = session.get(AuditEvent, written.id)
    assert stored is not None
    assert (stored.actor_id, stored.before, stored.after) == (None, None, None)


def test_modifying_an_event_is_refused(session: Session) -> None:
    written = record(session, action="share.issued", object_type="share", object_id="1", after={"n": 1})

    written.action = "share.cancelled"
    with pytest.raises(AuditLogIsAppendOnly):
        session.flush()

    session.expire(written)  # forget the attempted change so the test can finish cleanly
    session.expire_all()
    assert session.get(AuditEvent, written.id).action == "share.issued"


def test_modifying_a_loaded_event_is_refused(session: Session) -> None:
    written = record(session, action="share.issued", object_type="share", object_id="2", after={"n": 1})
    session.expire_all()
    loaded = session.get(AuditEvent, written.id)

    loaded.after = {"n": 999}
    with pytest.raises(AuditLogIsAppendOnly):
        session.flush()

    session.expire(loaded)
    assert session.get(AuditEvent, written.id).after == {"n": 1}


def test_deleting_an_event_is_refused(session: Session) -> None:
    written = record(session, action="share.issued", object_type="share", object_id="3")

    session.delete(written)
    with pytest.raises(AuditLogIsAppendOnly):
        session.flush()

    session.expunge(written)
    assert session.get(AuditEvent, written.id) is not None


def test_bulk_update_through_the_orm_is_refused(session: Session) -> None:
    object_type = kind()
    record(session, action="a", object_type=object_type, object_id="1")

    with pytest.raises(AuditLogIsAppendOnly):
        session.execute(update(AuditEvent).where(AuditEvent.object_type == object_type).values(action="b"))

    assert session.exec(select(AuditEvent.action).where(AuditEvent.object_type == object_type)).all() == ["a"]


def test_bulk_delete_through_the_orm_is_refused(session: Session) -> None:
    object_type = kind()
    record(session, action="a", object_type=object_type, object_id="1")

    with pytest.raises(AuditLogIsAppendOnly):
        session.execute(delete(AuditEvent).where(AuditEvent.object_type == object_type))

    assert len(session.exec(select(AuditEvent).where(AuditEvent.object_type == object_type)).all()) == 1


def test_adding_more_events_is_fine(session: Session) -> None:
    object_type = kind()
    for n in range(3):
        record(session, action="a", object_type=object_type, object_id=str(n))

    events, total = list_events(session, object_type=object_type)
    assert total == 3 and len(events) == 3


# --- reading over HTTP ----------------------------------------------------------------------------


@pytest.fixture
def board(auth_headers: HeadersFactory) -> dict[str, str]:
    return auth_headers(Role.BOARD)


@pytest.fixture
def history(session: Session) -> dict[str, object]:
    """Six events on two objects of a fresh type, one minute apart (oldest first)."""
    object_type = kind()
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    plan = [(first, "created"), (first, "updated"), (second, "created"),
            (first, "updated"), (second, "updated"), (first, "closed")]
    ids = []
    for minute, (object_id, action) in enumerate(plan):
        with frozen_clock(T0 + timedelta(minutes=minute)):
            ids.append(record(session, action=action, object_type=object_type, object_id=object_id,
                              after={"step": minute}).id)
    return {"type": object_type, "first": first, "second": second, "ids": ids}


def get(client: TestClient, headers: dict[str, str], **params: object):
    response = client.get(AUDIT_URL, headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_filter_by_object_type_newest_first(client: TestClient, board: dict[str, str], history: dict) -> None:
    page = get(client, board, object_type=history["type"])

    assert page["total"] == 6
    assert page["limit"] == 50 and page["offset"] == 0
    assert [item["id"] for item in page["items"]] == [str(i) for i in reversed(history["ids"])]
    times = [datetime.fromisoformat(item["at"]) for item in page["items"]]
    assert times == sorted(times, reverse=True)
    assert times[0] == T0 + timedelta(minutes=5)
    newest = page["items"][0]
    assert newest["action"] == "closed"
    assert newest["object_id"] == history["first"]
    assert newest["after"] == {"step": 5}
    assert newest["before"] is None


def test_filter_by_object_id(client: TestClient, board: dict[str, str], history: dict) -> None:
    page = get(client, board, object_type=history["type"], object_id=history["second"])

    assert page["total"] == 2
    assert [item["action"] for item in page["items"]] == ["updated", "created"]
    assert {item["object_id"] for item in page["items"]} == {history["second"]}


def test_filter_by_action(client: TestClient, board: dict[str, str], history: dict) -> None:
    page = get(client, board, object_type=history["type"], action="updated")

    assert page["total"] == 3
    assert [item["after"]["step"] for item in page["items"]] == [4, 3, 1]


def test_filters_combine(client: TestClient, board: dict[str, str], history: dict) -> None:
    page = get(client, board, object_type=history["type"], object_id=history["first"], action="updated")

    assert page["total"] == 2
    assert [item["after"]["step"] for item in page["items"]] == [3, 1]


def test_filter_without_matches(client: TestClient, board: dict[str, str], history: dict) -> None:
    page = get(client, board, object_type=history["type"], action="no-such-action")

    assert page == {"items": [], "total": 0, "limit": 50, "offset": 0}


def test_pagination_pages_through_without_overlap(
    client: TestClient, board: dict[str, str], history: dict
) -> None:
    pages = [get(client, board, object_type=history["type"], limit=4, offset=offset) for offset in (0, 4, 8)]

    assert [p["total"] for p in pages] == [6, 6, 6]
    assert [(p["limit"], p["offset"]) for p in pages] == [(4, 0), (4, 4), (4, 8)]
    assert [len(p["items"]) for p in pages] == [4, 2, 0]
    seen = [item["id"] for p in pages for item in p["items"]]
    assert seen == [str(i) for i in reversed(history["ids"])]


def test_same_moment_events_page_stably(client: TestClient, board: dict[str, str], session: Session) -> None:
    object_type = kind()
    with frozen_clock(T0):
        for n in range(5):
            record(session, action="tick", object_type=object_type, object_id=str(n))

    one_by_one = [get(client, board, object_type=object_type, limit=1, offset=n)["items"][0]["id"]
                  for n in range(5)]
    at_once = [item["id"] for item in get(client, board, object_type=object_type)["items"]]

    assert one_by_one == at_once
    assert len(set(at_once)) == 5


def test_admin_reads_the_log_too(client: TestClient, auth_headers: HeadersFactory, history: dict) -> None:
    assert get(client, auth_headers(Role.ADMIN), object_type=history["type"])["total"] == 6


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 10000}, {"limit": 501}, {"limit": "many"}],
                         ids=["zero", "ten-thousand", "just-over", "not-a-number"])
def test_bad_limit_is_422_naming_limit(client: TestClient, board: dict[str, str], params: dict) -> None:
    response = client.get(AUDIT_URL, headers=board, params=params)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["status"] == 422
    assert body["field"] == "limit"
    assert "limit" in body["detail"]


def test_limits_at_the_bounds_are_fine(client: TestClient, board: dict[str, str]) -> None:
    assert get(client, board, limit=1)["limit"] == 1
    assert get(client, board, limit=500)["limit"] == 500


def test_negative_offset_is_422_naming_offset(client: TestClient, board: dict[str, str]) -> None:
    response = client.get(AUDIT_URL, headers=board, params={"offset": -1})

    assert response.status_code == 422
    assert response.json()["field"] == "offset"

"""The per-process copy of the anonymous project listing and page: fresh after this process's writes, at most
a second old for writes it cannot see (another process's), never for signed-in callers or failures."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from coop.auth.models import Role
from coop.core import microcache
from coop.core.microcache import PublicCache
from tests.coop.members.support import on
from tests.funding.pledges.support import live_project, pledge
from tests.funding.projects.support import API, START


class Clock:
    """monotonic() as the cache reads it, moved by the test."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """The cache's clock, under the test's hand."""
    moved = Clock()
    monkeypatch.setattr(microcache, "monotonic", moved)
    return moved


@pytest.fixture
def project_id(client, auth_headers) -> str:
    """A live project."""
    with on(START):
        return str(live_project(client, auth_headers(Role.INITIATOR), auth_headers(Role.BOARD), START)["id"])


def rename_unseen(session, project_id: str, title: str) -> None:
    """Change the project as another process would: on the same data, unseen by this process's engine."""
    cursor = session.connection().connection.dbapi_connection.cursor()
    marker = "%s" if session.get_bind().dialect.name == "postgresql" else "?"
    cursor.execute(f"UPDATE project SET title = {marker} WHERE id = {marker}",
                   (title, project_id.replace("-", "") if marker == "?" else project_id))
    assert cursor.rowcount == 1
    cursor.close()


def test_a_second_anonymous_read_is_the_copy_until_a_second_has_passed(client, session, project_id, clock):
    with on(START):
        first = client.get(f"{API}/{project_id}")
        rename_unseen(session, project_id, "Moestuin (nieuwe naam)")
        clock.now += 0.9
        again = client.get(f"{API}/{project_id}")
        clock.now += 0.2
        later = client.get(f"{API}/{project_id}")
    assert "age" not in first.headers and first.json()["title"] == "Moestuin De Bikkershof"
    assert again.headers["age"] == "0" and again.content == first.content
    assert again.headers["x-content-type-options"] == "nosniff"  # the hardening headers are on copies too
    assert "age" not in later.headers and later.json()["title"] == "Moestuin (nieuwe naam)"


def test_a_write_by_this_process_shows_at_once(client, project_id, clock):
    with on(START):
        before = client.get(f"{API}/{project_id}").json()
        listed = client.get(API).json()
        made = pledge(client, project_id, kind="money", amount_cents=2_500, name="Els", email="els@example.org")
        client.post(f"/sandbox/checkout/{made['payment']['id']}", data={"outcome": "paid"}, follow_redirects=False)
        after = client.get(f"{API}/{project_id}").json()
        listed_after = client.get(API).json()
    assert (before["paid_cents"], after["paid_cents"]) == (0, 2_500)
    assert [item["paid_cents"] for item in listed["items"]] == [0]
    assert [item["paid_cents"] for item in listed_after["items"]] == [2_500]


def test_signed_in_callers_and_other_queries_get_their_own_answer(client, session, auth_headers, project_id, clock):
    board = auth_headers(Role.BOARD)
    with on(START):
        client.get(f"{API}/{project_id}")
        client.get(API, params={"q": "moestuin"})
        rename_unseen(session, project_id, "Moestuin (nieuwe naam)")
        signed_in = client.get(f"{API}/{project_id}", headers=board)
        other_query = client.get(API, params={"q": "Moestuin"})
        same_query = client.get(API, params={"q": "moestuin"})
    assert "age" not in signed_in.headers and signed_in.json()["title"] == "Moestuin (nieuwe naam)"
    assert "age" not in other_query.headers and other_query.json()["items"][0]["title"] == "Moestuin (nieuwe naam)"
    assert same_query.headers["age"] == "0" and same_query.json()["items"][0]["title"] == "Moestuin De Bikkershof"


def test_a_new_day_shows_fewer_days_left(client, project_id, clock):
    with on(START):
        today = client.get(f"{API}/{project_id}").json()
    with on(START + timedelta(days=1)):
        tomorrow = client.get(f"{API}/{project_id}")
    assert "age" not in tomorrow.headers and tomorrow.json()["days_left"] == today["days_left"] - 1


def test_failures_are_never_kept(client, clock):
    missing = f"{API}/00000000-0000-4000-8000-000000000000"
    answers = [client.get(missing), client.get(missing)]
    assert [answer.status_code for answer in answers] == [404, 404]
    assert all("age" not in answer.headers for answer in answers)


def counting_app(seconds: float, max_copies: int = 256) -> tuple[TestClient, list[str]]:
    """A cached app that records every request that reached it."""
    reached: list[str] = []

    def hello(request) -> PlainTextResponse:
        reached.append(request.url.path)
        return PlainTextResponse(f"hello {request.url.path}")

    app = Starlette(routes=[Route("/p/{n}", hello), Route("/other", hello)])
    cached = PublicCache(app, paths=re.compile(r"/p/\d+"), seconds=seconds, max_copies=max_copies)
    return TestClient(cached), reached


def test_only_the_listed_paths_are_kept_and_zero_seconds_keeps_nothing(clock):
    on_client, reached = counting_app(seconds=1)
    for path in ("/p/1", "/p/1", "/other", "/other"):
        on_client.get(path)
    off_client, reached_off = counting_app(seconds=0)
    for _ in range(3):
        off_client.get("/p/1")
    assert reached == ["/p/1", "/other", "/other"]
    assert reached_off == ["/p/1"] * 3


def test_many_queries_do_not_grow_the_copies_past_their_bound(clock):
    bounded, reached = counting_app(seconds=1, max_copies=3)
    for n in range(10):
        bounded.get(f"/p/{n}")
    bounded.get("/p/9")  # the latest is kept
    assert len(reached) == 10
    assert len(bounded.app._copies) <= 3  # type: ignore[attr-defined]

"""Signing in and out over HTTP: tokens, /me, the failed-login limit, and every way a token is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from coop.auth.models import AccessToken, LoginAttempt, Role
from coop.auth.service import create_token, hash_token
from coop.core.clock import frozen_clock
from coop.core.errors import PROBLEM_JSON
from tests.conftest import TEST_PASSWORD, UserFactory

TOKEN_URL = "/api/v1/auth/token"
ME_URL = "/api/v1/auth/me"
LOGOUT_URL = "/api/v1/auth/logout"
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def sign_in(client: TestClient, email: str, password: str = TEST_PASSWORD):
    """POST the OAuth2 password form."""
    return client.post(TOKEN_URL, data={"username": email, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response, status: int) -> dict:
    """`response` is an RFC 9457 problem with `status`; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    return body


def assert_no_secrets(response) -> None:
    """No password hash (nor the test password) ever leaves the API."""
    text = response.text
    assert "$argon2" not in text
    assert "password_hash" not in text
    assert TEST_PASSWORD not in text


def failures_for(session: Session, email: str) -> int:
    query = select(func.count()).select_from(LoginAttempt).where(LoginAttempt.email == email)
    return session.exec(query).one()


# --- signing in ---------------------------------------------------------------------------------


def test_sign_in_returns_a_bearer_token_that_works_on_me(
    client: TestClient, session: Session, make_user: UserFactory
) -> None:
    user = make_user(Role.TREASURER, Role.BOARD, email="anna@example.org")

    response = sign_in(client, "anna@example.org")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert isinstance(body["access_token"], str) and len(body["access_token"]) >= 32
    assert body["expires_in"] > 0
    assert_no_secrets(response)
    # Only the hash of the token is stored.
    stored = session.exec(select(AccessToken).where(AccessToken.user_id == user.id)).one()
    assert stored.token_hash == hash_token(body["access_token"])
    assert stored.token_hash != body["access_token"]

    me = client.get(ME_URL, headers=bearer(body["access_token"]))

    assert me.status_code == 200, me.text
    assert me.json() == {"id": str(user.id), "email": "anna@example.org",
                         "roles": ["board", "treasurer"], "active": True}
    assert_no_secrets(me)


def test_each_sign_in_issues_a_different_token(client: TestClient, make_user: UserFactory) -> None:
    make_user(Role.MEMBER, email="twice@example.org")

    first = sign_in(client, "twice@example.org").json()["access_token"]
    second = sign_in(client, "twice@example.org").json()["access_token"]

    assert first != second
    assert client.get(ME_URL, headers=bearer(first)).status_code == 200
    assert client.get(ME_URL, headers=bearer(second)).status_code == 200


@pytest.mark.parametrize("typed", ["BOB@EXAMPLE.ORG", "Bob@Example.Org", "  bob@example.org  "])
def test_email_is_case_insensitive(client: TestClient, make_user: UserFactory, typed: str) -> None:
    make_user(Role.MEMBER, email="Bob@Example.org")

    response = sign_in(client, typed)

    assert response.status_code == 200, response.text
    me = client.get(ME_URL, headers=bearer(response.json()["access_token"]))
    assert me.json()["email"] == "bob@example.org"


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("carol@example.org", "not the right password"),
        ("carol@example.org", TEST_PASSWORD.upper()),
        ("nobody-here@example.org", TEST_PASSWORD),
    ],
    ids=["wrong-password", "password-in-other-case", "unknown-email"],
)
def test_wrong_credentials_are_401_problem_and_recorded(
    client: TestClient, session: Session, make_user: UserFactory, email: str, password: str
) -> None:
    make_user(Role.MEMBER, email="carol@example.org")

    response = client.post(TOKEN_URL, data={"username": email, "password": password})

    body = assert_problem(response, 401)
    assert "access_token" not in body
    assert_no_secrets(response)
    # The refusal still commits the attempt (keeps_changes), so guessing is counted.
    assert failures_for(session, email) == 1


def test_unknown_and_wrong_password_look_the_same(client: TestClient, make_user: UserFactory) -> None:
    make_user(Role.MEMBER, email="dave@example.org")

    wrong = sign_in(client, "dave@example.org", "wrong password!")
    unknown = sign_in(client, "nobody@example.org", "wrong password!")

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]


def test_missing_form_fields_are_422_problem(client: TestClient) -> None:
    response = client.post(TOKEN_URL, data={"username": "x@example.org"})

    body = assert_problem(response, 422)
    assert body["field"] == "password"


def test_user_without_password_cannot_sign_in(client: TestClient, session: Session) -> None:
    from coop.auth.service import create_user

    create_user(session, email="linkonly@example.org", roles=[Role.MEMBER])

    assert_problem(sign_in(client, "linkonly@example.org", "anything at all"), 401)


def test_inactive_user_cannot_sign_in(client: TestClient, session: Session, make_user: UserFactory) -> None:
    user = make_user(Role.MEMBER, email="gone@example.org")
    user.active = False
    session.add(user)
    session.flush()

    assert_problem(sign_in(client, "gone@example.org"), 401)


def test_overlong_username_is_401_not_a_server_error(client: TestClient) -> None:
    """The attempt is about an address no user can have; it must not break the insert of the attempt."""
    response = sign_in(client, "x" * 300 + "@example.org", "whatever-password")

    assert_problem(response, 401)


# --- the failed-login limit ---------------------------------------------------------------------


def test_five_failures_lock_the_email_for_the_window(
    client: TestClient, session: Session, make_user: UserFactory
) -> None:
    make_user(Role.MEMBER, email="erin@example.org")

    with frozen_clock(T0):
        for attempt in range(5):
            response = sign_in(client, "erin@example.org", f"guess number {attempt}")
            assert_problem(response, 401)
        assert failures_for(session, "erin@example.org") == 5

        locked = sign_in(client, "erin@example.org")  # even the right password

        body = assert_problem(locked, 429)
        assert "access_token" not in body
        assert int(locked.headers["Retry-After"]) > 0

    with frozen_clock(T0 + timedelta(minutes=14)):
        assert sign_in(client, "erin@example.org").status_code == 429

    with frozen_clock(T0 + timedelta(minutes=16)):
        response = sign_in(client, "erin@example.org")

        assert response.status_code == 200, response.text
        assert client.get(ME_URL, headers=bearer(response.json()["access_token"])).status_code == 200


def test_four_failures_do_not_lock(client: TestClient, make_user: UserFactory) -> None:
    make_user(Role.MEMBER, email="fay@example.org")

    with frozen_clock(T0):
        for attempt in range(4):
            assert sign_in(client, "fay@example.org", f"guess number {attempt}").status_code == 401

        assert sign_in(client, "fay@example.org").status_code == 200


def test_the_limit_counts_case_insensitively(client: TestClient, make_user: UserFactory) -> None:
    make_user(Role.MEMBER, email="gus@example.org")

    with frozen_clock(T0):
        spellings = ["GUS@example.org", "Gus@Example.org", "gus@EXAMPLE.ORG", "gUs@example.org",
                     " GuS@Example.org "]
        for typed in spellings:
            assert sign_in(client, typed, "wrong password!").status_code == 401

        assert sign_in(client, "gus@example.org").status_code == 429


def test_failures_are_counted_per_email(client: TestClient, make_user: UserFactory) -> None:
    make_user(Role.MEMBER, email="hank@example.org")
    make_user(Role.MEMBER, email="iris@example.org")

    with frozen_clock(T0):
        for attempt in range(7):
            assert sign_in(client, "iris@example.org", f"guess number {attempt}").status_code in (401, 429)
        assert sign_in(client, "iris@example.org").status_code == 429

        response = sign_in(client, "hank@example.org")

        assert response.status_code == 200, response.text


def test_failures_spread_beyond_the_window_do_not_lock(client: TestClient, make_user: UserFactory) -> None:
    make_user(Role.MEMBER, email="jo@example.org")

    for minute in (0, 4, 8, 12, 16):  # five failures, but at most four within any 15 minutes
        with frozen_clock(T0 + timedelta(minutes=minute)):
            assert sign_in(client, "jo@example.org", "wrong password!").status_code == 401

    with frozen_clock(T0 + timedelta(minutes=16, seconds=30)):
        assert sign_in(client, "jo@example.org").status_code == 200


# --- using and refusing tokens ------------------------------------------------------------------


def test_logout_revokes_the_token(client: TestClient, make_user: UserFactory) -> None:
    make_user(Role.MEMBER, email="kim@example.org")
    token = sign_in(client, "kim@example.org").json()["access_token"]
    other = sign_in(client, "kim@example.org").json()["access_token"]
    assert client.get(ME_URL, headers=bearer(token)).status_code == 200

    response = client.post(LOGOUT_URL, headers=bearer(token))

    assert response.status_code == 204, response.text
    assert_problem(client.get(ME_URL, headers=bearer(token)), 401)
    assert_problem(client.post(LOGOUT_URL, headers=bearer(token)), 401)
    # Only the token used is revoked, not the user's other sessions.
    assert client.get(ME_URL, headers=bearer(other)).status_code == 200


def test_logout_needs_a_token(client: TestClient) -> None:
    response = client.post(LOGOUT_URL)

    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_expired_token_is_refused(client: TestClient, session: Session, make_user: UserFactory) -> None:
    user = make_user(Role.MEMBER)
    with frozen_clock(T0):
        plain, _ = create_token(session, user_id=user.id, ttl=timedelta(minutes=30))
        assert client.get(ME_URL, headers=bearer(plain)).status_code == 200

    with frozen_clock(T0 + timedelta(minutes=29, seconds=59)):
        assert client.get(ME_URL, headers=bearer(plain)).status_code == 200

    with frozen_clock(T0 + timedelta(minutes=30)):
        response = client.get(ME_URL, headers=bearer(plain))

        assert_problem(response, 401)
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_token_of_a_deactivated_user_is_refused(
    client: TestClient, session: Session, make_user: UserFactory
) -> None:
    user = make_user(Role.ADMIN)
    plain, _ = create_token(session, user_id=user.id, ttl=timedelta(hours=1))
    assert client.get(ME_URL, headers=bearer(plain)).status_code == 200

    user.active = False
    session.add(user)
    session.flush()

    assert_problem(client.get(ME_URL, headers=bearer(plain)), 401)


@pytest.mark.parametrize(
    "header",
    ["Bearer not-a-real-token", "Bearer " + "A" * 43, "Bearer ' OR 1=1 --", "Basic dXNlcjpwYXNz"],
    ids=["garbage", "token-shaped", "sql-ish", "basic-scheme"],
)
def test_garbage_token_is_refused(client: TestClient, header: str) -> None:
    response = client.get(ME_URL, headers={"Authorization": header})

    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_the_token_hash_itself_is_not_a_token(
    client: TestClient, session: Session, make_user: UserFactory
) -> None:
    """Someone who reads the database cannot sign in with what is stored there."""
    user = make_user(Role.MEMBER)
    _, stored = create_token(session, user_id=user.id, ttl=timedelta(hours=1))

    assert_problem(client.get(ME_URL, headers=bearer(stored.token_hash)), 401)


def test_no_token_is_401_with_www_authenticate(client: TestClient) -> None:
    response = client.get(ME_URL)

    body = assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "bearer" in body["detail"].lower()

"""Every failure becomes RFC 9457 problem+json: 4xx for what the caller can fix, a bare 500 otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from http import HTTPStatus

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from pydantic import BaseModel

from coop.core.errors import (
    PROBLEM_JSON,
    Conflict,
    Forbidden,
    InvalidInput,
    KrachtError,
    NotFound,
    TooManyRequests,
    Unauthorized,
    install_error_handlers,
)


class Line(BaseModel):
    amount_cents: int


class Payment(BaseModel):
    amount_cents: int
    description: str


class Entry(BaseModel):
    lines: list[Line]


def build_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/invalid")
    def invalid() -> None:
        raise InvalidInput("amount must be positive", field="amount_cents")

    @app.get("/domain/{kind}")
    def domain(kind: str) -> None:
        errors: dict[str, KrachtError] = {
            "not-found": NotFound("no such member"),
            "conflict": Conflict("already paid"),
            "unauthorized": Unauthorized("log in first", headers={"WWW-Authenticate": "Bearer"}),
            "forbidden": Forbidden("treasurers only"),
            "slow-down": TooManyRequests("too many attempts", headers={"Retry-After": "60"}),
            "plain": KrachtError("no"),
        }
        raise errors[kind]

    @app.post("/payments")
    def create_payment(payment: Payment) -> dict[str, int]:
        return {"amount_cents": payment.amount_cents}

    @app.post("/entries")
    def create_entry(entry: Entry) -> dict[str, int]:
        return {"lines": len(entry.lines)}

    @app.get("/items")
    def items(limit: int) -> dict[str, int]:
        return {"limit": limit}

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret-xyz")

    @app.get("/teapot")
    def teapot() -> None:
        raise HTTPException(status_code=418, detail="short and stout")

    return app


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(build_app(), raise_server_exceptions=False) as test_client:
        yield test_client


def _problem(response) -> dict:  # type: ignore[no-untyped-def]
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["status"] == response.status_code
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str)
    assert body["type"] == "about:blank"
    return body


def test_invalid_input_names_the_field(client: TestClient) -> None:
    response = client.get("/invalid")
    assert response.status_code == 422
    body = _problem(response)
    assert body["field"] == "amount_cents"
    assert body["title"] == "Invalid input"
    assert body["detail"] == "amount must be positive"


@pytest.mark.parametrize(
    ("kind", "status", "title"),
    [
        ("not-found", 404, "Not found"),
        ("conflict", 409, "Conflict"),
        ("unauthorized", 401, "Unauthorized"),
        ("forbidden", 403, "Forbidden"),
        ("slow-down", 429, "Too many requests"),
        ("plain", 400, "Bad request"),
    ],
)
def test_domain_errors_map_to_their_status(client: TestClient, kind: str, status: int, title: str) -> None:
    response = client.get(f"/domain/{kind}")
    assert response.status_code == status
    body = _problem(response)
    assert body["title"] == title
    assert "field" not in body


def test_domain_error_headers_are_sent(client: TestClient) -> None:
    assert client.get("/domain/slow-down").headers["retry-after"] == "60"
    assert client.get("/domain/unauthorized").headers["www-authenticate"] == "Bearer"


def test_body_validation_error_names_the_bad_field(client: TestClient) -> None:
    response = client.post("/payments", json={"amount_cents": "secret-input-abc", "description": "x"})
    assert response.status_code == 422
    body = _problem(response)
    assert body["field"] == "amount_cents"
    assert body["detail"].startswith("amount_cents: ")
    assert isinstance(body["errors"], list)
    assert [error["field"] for error in body["errors"]] == ["amount_cents"]
    assert all(set(error) == {"field", "message"} for error in body["errors"])
    assert "secret-input-abc" not in response.text  # the input is not echoed back


def test_every_invalid_field_is_listed(client: TestClient) -> None:
    response = client.post("/payments", json={"amount_cents": 1.5})
    assert response.status_code == 422
    body = _problem(response)
    assert body["field"] == "amount_cents"
    assert sorted(error["field"] for error in body["errors"]) == ["amount_cents", "description"]


def test_nested_field_path(client: TestClient) -> None:
    response = client.post("/entries", json={"lines": [{"amount_cents": 1}, {"amount_cents": "x"}]})
    assert response.status_code == 422
    assert _problem(response)["field"] == "lines.1.amount_cents"


def test_query_validation_error(client: TestClient) -> None:
    response = client.get("/items", params={"limit": "many"})
    assert response.status_code == 422
    assert _problem(response)["field"] == "limit"


def test_missing_body(client: TestClient) -> None:
    response = client.post("/payments")
    assert response.status_code == 422
    body = _problem(response)
    assert body["errors"]


def test_unexpected_error_is_a_bare_500(client: TestClient) -> None:
    response = client.get("/boom")
    assert response.status_code == 500
    body = _problem(response)
    assert body["title"] == "Internal server error"
    assert "secret-xyz" not in response.text
    assert "Traceback" not in response.text
    assert "RuntimeError" not in response.text


def test_unknown_path_is_problem_json(client: TestClient) -> None:
    response = client.get("/no/such/path")
    assert response.status_code == 404
    body = _problem(response)
    assert body["title"] == "Not Found"


def test_wrong_method_is_problem_json(client: TestClient) -> None:
    response = client.delete("/invalid")
    assert response.status_code == 405
    _problem(response)
    assert "GET" in response.headers["allow"]


def test_http_exception_is_problem_json(client: TestClient) -> None:
    response = client.get("/teapot")
    assert response.status_code == 418
    body = _problem(response)
    assert body["detail"] == "short and stout"
    assert body["title"] == HTTPStatus(418).phrase


def test_keeps_changes_is_off_by_default() -> None:
    assert KrachtError.keeps_changes is False
    assert InvalidInput("x").keeps_changes is False
    error = InvalidInput("bad amount", field="amount_cents")
    assert str(error) == "bad amount"
    assert error.field == "amount_cents"

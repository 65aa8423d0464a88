"""Domain errors and the one handler that turns every failure into RFC 9457 problem+json."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("kracht.errors")


class KrachtError(Exception):
    """An expected refusal: becomes a 4xx problem+json, never a 500."""

    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"
    keeps_changes: bool = False
    """True when the request's changes are committed although it fails (a failed login is still counted)."""

    def __init__(self, message: str, *, field: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.headers = headers


class NotFound(KrachtError):
    """The thing asked for does not exist (or the caller may not know it does)."""

    status = 404
    title = "Not found"


class Conflict(KrachtError):
    """The request clashes with the current state."""

    status = 409
    title = "Conflict"


class InvalidInput(KrachtError):
    """Well-formed but unacceptable input, naming the field."""

    status = 422
    title = "Invalid input"


class Unauthorized(KrachtError):
    """No valid credentials."""

    status = 401
    title = "Unauthorized"


class Forbidden(KrachtError):
    """Valid credentials without the right role."""

    status = 403
    title = "Forbidden"


class TooManyRequests(KrachtError):
    """Slow down; Retry-After says for how long."""

    status = 429
    title = "Too many requests"


def problem(
    status: int, title: str, detail: str, *, field: str | None = None, **extra: Any
) -> dict[str, Any]:
    """The problem+json body (RFC 9457)."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if field is not None:
        body["field"] = field
    body.update(extra)
    return body


def _field_path(location: tuple[Any, ...]) -> str:
    """`("body", "lines", 0, "amount_cents")` -> `lines.0.amount_cents`."""
    parts = [str(p) for p in location]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie", "form"):
        parts = parts[1:] or parts
    return ".".join(parts)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    """Each pydantic error as a field and a human message, with no input echoed back."""
    return [{"field": _field_path(tuple(err.get("loc", ()))), "message": str(err.get("msg", ""))}
            for err in exc.errors()]


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception to problem+json: 4xx for what the caller can fix, a bare 500 otherwise."""

    @app.exception_handler(KrachtError)
    async def _domain(_: Request, exc: KrachtError) -> JSONResponse:
        return JSONResponse(
            problem(exc.status, exc.title, exc.message, field=exc.field),
            status_code=exc.status, media_type=PROBLEM_JSON, headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        first = errors[0] if errors else {"field": None, "message": "invalid request"}
        detail = f"{first['field']}: {first['message']}" if first["field"] else str(first["message"])
        return JSONResponse(
            problem(422, "Invalid input", detail, field=first["field"], errors=errors),
            status_code=422, media_type=PROBLEM_JSON,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            problem(exc.status_code, _reason(exc.status_code), str(exc.detail)),
            status_code=exc.status_code, media_type=PROBLEM_JSON, headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            problem(500, "Internal server error", "Something went wrong on our side; it has been logged."),
            status_code=500, media_type=PROBLEM_JSON,
        )


def _reason(status: int) -> str:
    """The standard reason phrase for an HTTP status."""
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"

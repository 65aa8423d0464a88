"""HTTP hardening shared by every route: security headers, a body-size limit, a rate limit for anonymous POSTs."""

from __future__ import annotations

import json
import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import Request
from starlette.exceptions import HTTPException

from coop.core.errors import PROBLEM_JSON, TooManyRequests, problem

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_OFFSET = 10**9  # paging past this is nobody's need, and larger numbers overflow SQLite's integers
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# Forms post to this site, which may send the browser on to a provider's checkout (form-action covers redirects).
CHECKOUTS = "https://checkout.stripe.com https://www.mollie.com"
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            f"frame-ancestors 'none'; form-action 'self' {CHECKOUTS}; base-uri 'none'")
EMBED_CSP = "default-src 'self'; script-src 'none'; style-src 'self'; frame-ancestors *; base-uri 'none'"
EMBEDS = "/embed/"  # the only pages another site may show in a frame


class BodyTooLarge(HTTPException):
    """The client sent more than the limit (an HTTP error, so FastAPI's body parsing passes it on as 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"the request body exceeds {limit} bytes")


class HardeningMiddleware:
    """Adds security headers to every response and answers 413 for bodies over `max_body_bytes`."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, hsts: bool) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:
                raise BodyTooLarge(self.max_body_bytes)
            return message

        path = str(scope.get("path", ""))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                headers += self._security_headers(path)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except BodyTooLarge:
            await self._too_large(send)

    def _security_headers(self, path: str) -> list[tuple[bytes, bytes]]:
        """No sniffing, no framing, no referrer; a strict CSP on the API (the docs load their own assets)."""
        headers = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
        if path.startswith(EMBEDS):
            headers.append((b"content-security-policy", EMBED_CSP.encode()))
            return headers + self._hsts()
        headers.append((b"x-frame-options", b"DENY"))
        if path.startswith("/api/"):
            headers.append((b"content-security-policy", API_CSP.encode()))
        elif not path.startswith(("/docs", "/redoc")):
            headers.append((b"content-security-policy", PAGE_CSP.encode()))
        return headers + self._hsts()

    def _hsts(self) -> list[tuple[bytes, bytes]]:
        """HTTPS only, in production."""
        return [(b"strict-transport-security", b"max-age=31536000; includeSubDomains")] if self.hsts else []

    async def _too_large(self, send: Send) -> None:
        """413 as problem+json."""
        body = json.dumps(problem(413, "Payload too large",
                                  f"the request body exceeds {self.max_body_bytes} bytes")).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", PROBLEM_JSON.encode()),
                                (b"content-length", str(len(body)).encode()), *self._security_headers("/api/")]})
        await send({"type": "http.response.body", "body": body})


class RateLimiter:
    """A sliding one-minute window per client and action, in this process's memory (per worker)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._hits: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, *, action: str, client: str) -> None:
        """Count one request; TooManyRequests (with Retry-After) past the limit."""
        now = self._clock()
        with self._lock:
            window = self._hits[(action, client)]
            while window and window[0] <= now - 60:
                window.popleft()
            if len(window) >= self.per_minute:
                retry = max(1, math.ceil(60 - (now - window[0])))
                raise TooManyRequests(f"too many requests; try again in {retry} seconds",
                                      headers={"Retry-After": str(retry)})
            window.append(now)


def rate_limited(action: str) -> Callable[[Request], None]:
    """A dependency that counts a public POST against the app's limiter, per client address."""

    def check(request: Request) -> None:
        limiter: RateLimiter = request.app.state.rate_limiter
        limiter.hit(action=action, client=request.client.host if request.client else "unknown")

    return check

"""HTTP hardening: security headers everywhere, 413 for large bodies, 429 with Retry-After for bursts."""

from __future__ import annotations

import pytest

from coop.core.errors import TooManyRequests
from coop.core.http import RateLimiter


def test_security_headers_on_api_pages_and_health(client) -> None:
    for path in ("/healthz", "/api/v1/share-classes", "/api/v1/audit"):
        headers = client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert client.get("/api/v1/share-classes").headers["content-security-policy"].startswith("default-src 'none'")
    assert "strict-transport-security" not in client.get("/healthz").headers  # only in production (HTTPS)


def test_a_body_over_the_limit_is_413_whether_declared_or_streamed(client) -> None:
    big = b'{"kind": "person", "name": "' + b"x" * 1_100_000 + b'"}'
    declared = client.post("/api/v1/members", content=big, headers={"content-type": "application/json"})
    assert declared.status_code == 413 and declared.headers["content-type"] == "application/problem+json"

    def chunks():
        for start in range(0, len(big), 65536):
            yield big[start:start + 65536]

    streamed = client.post("/api/v1/members", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413 and streamed.json()["status"] == 413


def test_bursts_of_public_posts_get_429_with_retry_after(client) -> None:
    client.app.state.rate_limiter = RateLimiter(per_minute=3)
    body = {"kind": "person", "name": "Snelle Klikker", "email": "klik@example.org", "consent": False}
    answers = [client.post("/api/v1/members", json=body) for _ in range(4)]
    assert [a.status_code for a in answers] == [422, 422, 422, 429]
    assert answers[-1].headers["content-type"] == "application/problem+json"
    assert 1 <= int(answers[-1].headers["retry-after"]) <= 60


def test_the_window_slides() -> None:
    now = [1000.0]
    limiter = RateLimiter(per_minute=2, clock=lambda: now[0])
    limiter.hit(action="join", client="a")
    limiter.hit(action="join", client="a")
    limiter.hit(action="join", client="b")
    with pytest.raises(TooManyRequests) as refused:
        limiter.hit(action="join", client="a")
    assert refused.value.headers == {"Retry-After": "60"}
    now[0] += 60.5
    limiter.hit(action="join", client="a")


def test_cors_is_off_unless_sites_are_configured(client, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from coop.app import create_app
    from coop.core.settings import get_settings

    asked = {"Origin": "https://gemeente.example", "Access-Control-Request-Method": "GET"}
    assert "access-control-allow-origin" not in client.get("/api/v1/share-classes", headers=asked).headers
    monkeypatch.setenv("KRACHT_CORS_ORIGINS", '["https://gemeente.example"]')
    get_settings.cache_clear()
    try:
        app = create_app()
        app.dependency_overrides.update(client.app.dependency_overrides)  # the test's database
        allowed = TestClient(app)
        assert allowed.options("/api/v1/projects", headers=asked).headers[
            "access-control-allow-origin"] == "https://gemeente.example"
        assert "access-control-allow-origin" not in allowed.get(
            "/api/v1/share-classes", headers={"Origin": "https://elders.example"}).headers
    finally:
        monkeypatch.delenv("KRACHT_CORS_ORIGINS")
        get_settings.cache_clear()

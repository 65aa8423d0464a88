"""Composition root: builds the FastAPI app and mounts every router."""

from __future__ import annotations

import logging
import re

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

from coop.audit.api import router as audit_router
from coop.auth.api import router as auth_router
from coop.core.db import SessionDep
from coop.core.errors import PROBLEM_JSON, install_error_handlers, problem
from coop.core.http import HardeningMiddleware, RateLimiter
from coop.core.microcache import PublicCache
from coop.core.settings import get_settings
from coop.ledger.api import router as ledger_router
from coop.members.api import router as members_router
from coop.notifications import jobs as notification_jobs  # noqa: F401  (registers the notification jobs)
from coop.payments import jobs as payment_jobs  # noqa: F401  (registers the payment jobs)
from coop.payments.api import router as payments_router
from coop.payments.api import sandbox_router, webhooks_router
from coop.shares.api import router as shares_router
from coop.subscriptions import jobs as subscription_jobs  # noqa: F401  (registers the subscription jobs)
from coop.subscriptions.api import router as subscriptions_router
from coop.web.account import router as account_pages
from coop.web.pages import STATIC
from coop.web.pages import router as cooperative_pages
from funding.funds.api import router as funds_router
from funding.pledges import jobs as pledge_jobs  # noqa: F401  (registers the crowdfunding jobs)
from funding.pledges.api import router as pledges_router
from funding.projects.api import router as projects_router
from funding.social_value.api import router as social_value_router
from funding.web.account import router as pledge_account
from funding.web.initiators import router as initiator_pages
from funding.web.pages import router as project_pages

API_PREFIX = "/api/v1"
# The anonymous reads everyone makes at a campaign launch: answered from a per-process copy (coop.core.microcache).
BUSIEST_PUBLIC_READS = re.compile(rf"{API_PREFIX}/projects(/[0-9a-fA-F-]{{36}})?")


def create_app() -> FastAPI:
    """The Kracht API: `/api/v1`, `/healthz`, OpenAPI docs at `/docs`."""
    settings = get_settings()
    logging.basicConfig(level=settings.log_level)
    app = FastAPI(
        title="Kracht",
        version="0.1.0",
        description="Administration and crowdfunding backend of a Dutch cooperative. "
                    "Amounts are integer euro cents; errors are RFC 9457 problem+json.",
    )
    install_error_handlers(app)
    app.add_middleware(PublicCache, paths=BUSIEST_PUBLIC_READS, seconds=settings.public_cache_seconds)
    app.add_middleware(HardeningMiddleware, max_body_bytes=settings.max_body_bytes, hsts=settings.is_production)
    if settings.cors_origins:  # off unless configured: browsers elsewhere may not call the API
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
                           allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "Idempotency-Key"])
    app.state.rate_limiter = RateLimiter(per_minute=settings.public_posts_per_minute)

    api = APIRouter(prefix=API_PREFIX)
    for router in (auth_router, audit_router, ledger_router, payments_router, webhooks_router, members_router,
                   shares_router, subscriptions_router, projects_router, pledges_router,
                   funds_router, social_value_router):
        api.include_router(router)
    app.include_router(api)
    app.include_router(sandbox_router)
    app.include_router(cooperative_pages)
    app.include_router(project_pages)
    app.include_router(account_pages)
    app.include_router(pledge_account)
    app.include_router(initiator_pages)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/healthz", tags=["health"], response_model=None)
    def healthz(session: SessionDep) -> dict[str, str] | JSONResponse:
        """200 when the database answers; 503 otherwise."""
        try:
            session.execute(text("SELECT 1"))
        except Exception:
            return JSONResponse(problem(503, "Service unavailable", "database unreachable"),
                                status_code=503, media_type=PROBLEM_JSON)
        return {"status": "ok", "database": session.get_bind().dialect.name}

    return app

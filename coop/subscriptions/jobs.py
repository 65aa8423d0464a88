"""Background work of subscriptions: the daily renewal pass, Mollie collections, deferred revenue."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlmodel import Session

from coop.core.clock import today_amsterdam
from coop.core.jobs import enqueue, job_handler, periodic
from coop.subscriptions.invoicing import release_deferrals
from coop.subscriptions.renewals import advance, subscriptions_to_advance
from coop.subscriptions.service import start_provider_collection

DAILY_JOB = "subscriptions.daily"
ADVANCE_JOB = "subscriptions.advance"


@job_handler(DAILY_JOB)
def daily(session: Session) -> None:
    """Once a day per subscription: queue its renewal steps (apart, so one failure holds up no other); release
    deferred revenue whose year has come."""
    today = today_amsterdam()
    for subscription_id in subscriptions_to_advance(session, today=today):
        enqueue(session, name=ADVANCE_JOB, args={"subscription_id": str(subscription_id)},
                dedupe_key=f"{ADVANCE_JOB}:{subscription_id}:{today.isoformat()}")
    release_deferrals(session, today=today)


@job_handler(ADVANCE_JOB)
def advance_one(session: Session, *, subscription_id: str) -> None:
    """Notice, billing, reminders and lapse for one subscription (each step once)."""
    advance(session, subscription_id=uuid.UUID(subscription_id), today=today_amsterdam())


@job_handler("subscriptions.start_collection")
def start_collection(session: Session, *, subscription_id: str) -> None:
    """After Mollie's first payment: create the yearly collection on the new mandate."""
    start_provider_collection(session, subscription_id=uuid.UUID(subscription_id))


periodic(DAILY_JOB, every=timedelta(hours=1))  # hourly, so a restart never skips a day; steps are once only

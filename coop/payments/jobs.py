"""Background work of the payments engine."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from coop.core.jobs import job_handler, periodic
from coop.core.settings import get_settings
from coop.payments.service import reconcile

RECONCILE_JOB = "payments.reconcile"


@job_handler(RECONCILE_JOB)
def reconcile_job(session: Session) -> None:
    """Ask the providers about stale open payments and recent refunds, so a lost webhook loses no money."""
    reconcile(session, open_after=timedelta(minutes=get_settings().payment_open_minutes))


periodic(RECONCILE_JOB, every=timedelta(minutes=15))

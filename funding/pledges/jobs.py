"""Background work of crowdfunding: closing campaigns at their deadline, refunding pledges."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlmodel import Session

from coop.core.clock import today_amsterdam
from coop.core.jobs import enqueue, job_handler, periodic
from funding.pledges.closing import close_project, due_for_closing, refund_pledge, refund_stragglers
from funding.pledges.service import REFUND_JOB

CLOSE_DUE_JOB = "projects.close_due"
CLOSE_JOB = "projects.close"


@job_handler(CLOSE_DUE_JOB)
def close_due(session: Session) -> None:
    """Queue the close of every campaign whose deadline has passed (one job each, so none holds up another), and
    the refund of any money that reached a failed project without one."""
    for project_id in due_for_closing(session, today=today_amsterdam()):
        enqueue(session, name=CLOSE_JOB, args={"project_id": str(project_id)}, dedupe_key=f"{CLOSE_JOB}:{project_id}")
    refund_stragglers(session)


@job_handler(CLOSE_JOB)
def close(session: Session, *, project_id: str) -> None:
    """Decide one campaign."""
    close_project(session, project_id=uuid.UUID(project_id), today=today_amsterdam())


@job_handler(REFUND_JOB)
def refund(session: Session, *, pledge_id: str) -> None:
    """Refund one pledge through its provider (retried with backoff while the provider fails)."""
    refund_pledge(session, pledge_id=uuid.UUID(pledge_id))


periodic(CLOSE_DUE_JOB, every=timedelta(minutes=15))

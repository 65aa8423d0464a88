"""Background work of notifications: sending, after the transaction that queued the message has committed."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from coop.core.jobs import job_handler
from coop.core.settings import get_settings
from coop.notifications.service import SEND_JOB, send_notification


@job_handler(SEND_JOB)
def send(session: Session, *, notification_id: str) -> None:
    """Send one queued notification; an SMTP failure raises, so the job is retried with backoff."""
    send_notification(session, notification_id=uuid.UUID(notification_id), settings=get_settings())

"""Read-only views of the notification outbox (the CLI, dashboards)."""

from __future__ import annotations

import uuid

from sqlmodel import Session, col, select

from coop.notifications.models import Notification, NotificationStatus


def list_notifications(
    session: Session, *, status: NotificationStatus | None = None, member_id: uuid.UUID | None = None,
    limit: int = 50,
) -> list[Notification]:
    """The newest notifications first, optionally of one status or one member; at most `limit`."""
    query = select(Notification)
    if status is not None:
        query = query.where(Notification.status == status)
    if member_id is not None:
        query = query.where(Notification.member_id == member_id)
    query = query.order_by(col(Notification.created_at).desc(), col(Notification.id).desc()).limit(limit)
    return list(session.exec(query).all())


def get_notification(session: Session, *, notification_id: uuid.UUID) -> Notification | None:
    """One notification, or None when there is no such id."""
    return session.get(Notification, notification_id)

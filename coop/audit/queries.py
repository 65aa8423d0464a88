"""Reading the audit log."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import Session, col, select

from coop.audit.models import AuditEvent


def list_events(
    session: Session, *, object_type: str | None = None, object_id: str | None = None,
    action: str | None = None, limit: int = 50, offset: int = 0,
) -> tuple[Sequence[AuditEvent], int]:
    """Events matching the filters, newest first, with the total count."""
    query = select(AuditEvent)
    if object_type is not None:
        query = query.where(AuditEvent.object_type == object_type)
    if object_id is not None:
        query = query.where(AuditEvent.object_id == object_id)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    page = session.exec(query.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id)).offset(offset).limit(limit))
    return page.all(), int(total)

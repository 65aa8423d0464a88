"""Writing the audit log, in the same transaction as the change it records."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState
from sqlmodel import Session

from coop.audit.models import AuditEvent
from coop.core.clock import utc_now


class AuditLogIsAppendOnly(RuntimeError):
    """Raised when code tries to change or delete an audit event."""


@event.listens_for(Session, "before_flush")
def _refuse_audit_edits(session: Session, _context: Any, _instances: Any) -> None:
    """History is not rewritten: audit events are only ever added."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditLogIsAppendOnly(f"audit event {obj.id} cannot be changed")


@event.listens_for(Session, "do_orm_execute")
def _refuse_audit_bulk_edits(state: ORMExecuteState) -> None:
    """Nor through `session.execute(update(AuditEvent))` / `delete(AuditEvent)`, which skip the flush."""
    if (state.is_update or state.is_delete) and state.bind_mapper is not None \
            and state.bind_mapper.class_ is AuditEvent:
        raise AuditLogIsAppendOnly("audit events cannot be changed or deleted")


def record(
    session: Session, *, action: str, object_type: str, object_id: str | uuid.UUID,
    actor_id: uuid.UUID | None = None, before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event (`before`/`after` as JSON-safe dicts) to the log."""
    audit_event = AuditEvent(at=utc_now(), actor_id=actor_id, action=action, object_type=object_type,
                             object_id=str(object_id), before=before, after=after)
    session.add(audit_event)
    session.flush()
    return audit_event

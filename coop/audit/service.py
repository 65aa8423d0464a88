"""Writing the audit log, in the same transaction as the change it records."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session

from coop.audit.models import AuditEvent
from coop.core.clock import utc_now
from coop.core.immutable import append_only


class AuditLogIsAppendOnly(RuntimeError):
    """Raised when code tries to change or delete an audit event."""


append_only(AuditEvent, AuditLogIsAppendOnly)


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

"""Audit response shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel


class AuditEventPublic(BaseModel):
    """One audit event as the board sees it."""

    id: uuid.UUID
    at: datetime
    actor_id: uuid.UUID | None
    action: str
    object_type: str
    object_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(BaseModel):
    """A page of audit events, newest first."""

    items: list[AuditEventPublic]
    total: int
    limit: int
    offset: int

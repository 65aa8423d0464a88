"""The audit log for the board and admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from coop.audit.queries import list_events
from coop.audit.schemas import AuditEventPublic, AuditPage
from coop.auth.dependencies import require_roles
from coop.auth.models import Role
from coop.core.db import SessionDep
from coop.core.http import MAX_OFFSET

router = APIRouter(prefix="/audit", tags=["audit"],
                   dependencies=[Depends(require_roles(Role.ADMIN, Role.BOARD))])


@router.get("", response_model=AuditPage)
def audit_log(
    session: SessionDep,
    object_type: Annotated[str | None, Query(max_length=50)] = None,
    object_id: Annotated[str | None, Query(max_length=100)] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> AuditPage:
    """Audit events, newest first, filterable by object and action."""
    events, total = list_events(session, object_type=object_type, object_id=object_id, action=action,
                                limit=limit, offset=offset)
    return AuditPage(items=[AuditEventPublic.model_validate(e, from_attributes=True) for e in events],
                     total=total, limit=limit, offset=offset)

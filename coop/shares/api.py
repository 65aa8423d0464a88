"""Share classes, public: anyone considering joining may read the terms."""

from __future__ import annotations

from fastapi import APIRouter

from coop.core.clock import today_amsterdam
from coop.core.db import SessionDep
from coop.shares.queries import classes_in_force, issued_cents
from coop.shares.schemas import ShareClassPublic

router = APIRouter(tags=["shares"])


@router.get("/share-classes", response_model=list[ShareClassPublic])
def share_classes(session: SessionDep) -> list[ShareClassPublic]:
    """The share classes in force today, with how much of each issue is taken."""
    return [ShareClassPublic.model_validate(
        {**c.model_dump(), "issued_cents": issued_cents(session, class_code=c.code)})
        for c in classes_in_force(session, at=today_amsterdam())]

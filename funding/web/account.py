"""What a resident sees of their own pledges on `/mijn`, and acknowledging the hours an initiator logged."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select

from coop.auth.schemas import CurrentUser
from coop.core.db import SessionDep
from coop.core.errors import KrachtError
from coop.web.account import AccountSection, SignedInPost, add_account_section, add_known_email, signed_in_post
from funding.pledges.models import Pledge, PledgeStatus
from funding.pledges.queries import pledges_by_email
from funding.pledges.service import acknowledge_time

router = APIRouter(include_in_schema=False)
PLEDGE_STATUSES = {"pending": "Wacht op betaling", "paid": "Betaald", "failed": "Niet betaald",
                   "refund_pending": "Wordt terugbetaald", "refunded": "Terugbetaald", "donated": "Naar een fonds",
                   "pledged": "Aangeboden", "confirmed": "Afgesproken", "delivered": "Gegeven",
                   "withdrawn": "Ingetrokken"}


def my_pledges(session: Session, user: CurrentUser) -> dict[str, Any]:
    """The signed-in person's pledges, and the delivered hours still waiting for their agreement."""
    found = pledges_by_email(session, email=user.email)
    return {"pledges": found, "pledge_statuses": PLEDGE_STATUSES, "to_acknowledge": [pledge for pledge, _ in found
                                                 if pledge.status is PledgeStatus.DELIVERED
                                                 and pledge.acknowledged_at is None]}


def _has_pledged(session: Session, email: str) -> bool:
    """Someone who pledged with this e-mail may sign in to see it."""
    return session.exec(select(Pledge.id).where(Pledge.email == email.lower())).first() is not None


add_account_section("pledges", AccountSection(template="account_pledges.html", context=my_pledges))
add_known_email("pledgers", _has_pledged)


@router.post("/mijn/uren/{pledge_id}/bevestigen")
async def acknowledge(request: Request, session: SessionDep, pledge_id: uuid.UUID) -> Response:
    """The volunteer agrees with the hours the initiator logged."""
    posted = await signed_in_post(request, session)
    if not isinstance(posted, SignedInPost):
        return posted
    try:
        with session.begin_nested():
            acknowledge_time(session, pledge_id=pledge_id, user=posted.user)
    except KrachtError:
        return RedirectResponse("/mijn?klaar=niet-bevestigd", status_code=303)
    return RedirectResponse("/mijn?klaar=uren-bevestigd", status_code=303)

"""Tiers (public), a member's subscription and invoices (the member, board, treasurer)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from coop.auth.dependencies import CurrentUserDep, require_roles
from coop.auth.models import Role
from coop.auth.schemas import CurrentUser
from coop.core.clock import today_amsterdam
from coop.core.db import SessionDep
from coop.core.idempotency import IdempotencyDep
from coop.members.service import ensure_member_access
from coop.payments.schemas import PaymentPublic
from coop.subscriptions import service, views
from coop.subscriptions.queries import list_tiers
from coop.subscriptions.schemas import (
    InvoicePublic,
    SubscriptionIn,
    SubscriptionPublic,
    SubscriptionStarted,
    TierChangeIn,
    TierPublic,
)

router = APIRouter(tags=["subscriptions"])
BoardOrTreasurer = Annotated[CurrentUser, Depends(require_roles(Role.BOARD, Role.TREASURER))]
ACTING_STAFF = (Role.BOARD, Role.TREASURER)
READING_STAFF = (Role.BOARD, Role.TREASURER, Role.ADMIN)


@router.get("/tiers", response_model=list[TierPublic])
def tiers(session: SessionDep) -> list[TierPublic]:
    """The price list (public): what a year costs, for whom."""
    return [TierPublic.model_validate(tier, from_attributes=True) for tier in list_tiers(session)]


@router.post("/members/{member_id}/subscription", response_model=SubscriptionStarted,
             status_code=status.HTTP_201_CREATED)
def start(session: SessionDep, user: CurrentUserDep, member_id: uuid.UUID, body: SubscriptionIn,
          idem: IdempotencyDep) -> SubscriptionStarted:
    """Subscribe at the member's tier; returns the payment to complete (the member, board or treasurer)."""
    ensure_member_access(session, member_id=member_id, user=user, staff=ACTING_STAFF)

    def work() -> SubscriptionStarted:
        subscription, payment = service.start_subscription(
            session, member_id=member_id, provider=body.provider, actor_id=user.id, method=body.method,
            return_url=body.return_url)
        return SubscriptionStarted(subscription=views.describe(session, subscription=subscription,
                                                               at=today_amsterdam()),
                                   payment=PaymentPublic.of(payment))

    return idem.run(body, work, SubscriptionStarted)


@router.get("/members/{member_id}/subscription", response_model=SubscriptionPublic)
def show(session: SessionDep, user: CurrentUserDep, member_id: uuid.UUID, at: date | None = None) -> SubscriptionPublic:
    """The member's subscription with its status as of today or `at`."""
    ensure_member_access(session, member_id=member_id, user=user, staff=READING_STAFF)
    return views.member_subscription(session, member_id=member_id, at=at or today_amsterdam())


@router.post("/members/{member_id}/subscription/cancel", response_model=SubscriptionPublic)
def cancel(session: SessionDep, user: CurrentUserDep, member_id: uuid.UUID) -> SubscriptionPublic:
    """Stop renewing; active until the paid period ends."""
    ensure_member_access(session, member_id=member_id, user=user, staff=ACTING_STAFF)
    subscription = service.cancel_subscription(session, member_id=member_id, actor_id=user.id)
    return views.describe(session, subscription=subscription, at=today_amsterdam())


@router.post("/members/{member_id}/subscription/resume", response_model=SubscriptionPublic)
def resume(session: SessionDep, user: CurrentUserDep, member_id: uuid.UUID) -> SubscriptionPublic:
    """Undo a cancellation before it takes effect."""
    ensure_member_access(session, member_id=member_id, user=user, staff=ACTING_STAFF)
    subscription = service.resume_subscription(session, member_id=member_id, actor_id=user.id)
    return views.describe(session, subscription=subscription, at=today_amsterdam())


@router.post("/members/{member_id}/subscription/tier", response_model=SubscriptionPublic)
def change_tier(session: SessionDep, user: BoardOrTreasurer, member_id: uuid.UUID,
                body: TierChangeIn) -> SubscriptionPublic:
    """Another tier from the next renewal, when the member's kind changed (board or treasurer)."""
    subscription = service.change_tier(session, member_id=member_id, tier_code=body.tier, actor_id=user.id)
    return views.describe(session, subscription=subscription, at=today_amsterdam())


@router.get("/members/{member_id}/invoices", response_model=list[InvoicePublic])
def invoices(session: SessionDep, user: CurrentUserDep, member_id: uuid.UUID) -> list[InvoicePublic]:
    """The member's invoices and credit notes."""
    ensure_member_access(session, member_id=member_id, user=user, staff=READING_STAFF)
    return views.member_invoices(session, member_id=member_id)


@router.get("/members/{member_id}/invoices/{number}/pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
def invoice_pdf(session: SessionDep, user: CurrentUserDep, member_id: uuid.UUID, number: str) -> Response:
    """One invoice or credit note as PDF."""
    ensure_member_access(session, member_id=member_id, user=user, staff=READING_STAFF)
    content = views.invoice_document(session, member_id=member_id, number=number)
    return Response(content, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="factuur-{number}.pdf"'})

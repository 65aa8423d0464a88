"""Pledging (public) and what initiators and volunteers do with time pledges."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from coop.auth.dependencies import CurrentUserDep, require_roles
from coop.auth.models import Role
from coop.auth.schemas import CurrentUser
from coop.core.db import SessionDep
from coop.core.http import rate_limited
from coop.core.idempotency import IdempotencyDep
from coop.payments.schemas import PaymentPublic
from funding.pledges import payouts, service
from funding.pledges.models import Pledge
from funding.pledges.schemas import (
    DeliveredIn,
    PledgeCreated,
    PledgeIn,
    PledgePublic,
    ProjectPayoutIn,
    ProjectPayoutOut,
)

router = APIRouter(tags=["pledges"])
Treasurer = Annotated[CurrentUser, Depends(require_roles(Role.TREASURER))]


def _public(pledge: Pledge) -> PledgePublic:
    """The API shape of a pledge."""
    return PledgePublic.model_validate(pledge, from_attributes=True)


@router.post("/projects/{project_id}/pledges", response_model=PledgeCreated, status_code=status.HTTP_201_CREATED,
             dependencies=[Depends(rate_limited("pledge"))])
def pledge(session: SessionDep, project_id: uuid.UUID, body: PledgeIn, idem: IdempotencyDep) -> PledgeCreated:
    """Pledge money, time or materials to a live project (no account needed); money returns its payment."""

    def work() -> PledgeCreated:
        made, payment = service.make_pledge(session, project_id=project_id, data=body)
        return PledgeCreated(pledge=_public(made), payment=PaymentPublic.of(payment) if payment else None)

    return idem.run(body, work, PledgeCreated)


@router.post("/projects/{project_id}/payouts", response_model=ProjectPayoutOut)
def project_payout(session: SessionDep, user: Treasurer, project_id: uuid.UUID,
                   body: ProjectPayoutIn) -> ProjectPayoutOut:
    """The treasurer records that the bank paid a succeeded project (after the SEPA file)."""
    left = payouts.record_project_payout(session, project_id=project_id, amount_cents=body.amount_cents,
                                         paid_on=body.paid_on, reference=body.reference, by=user.id)
    return ProjectPayoutOut(project_id=project_id, owed_cents=left)


@router.post("/pledges/{pledge_id}/confirm", response_model=PledgePublic)
def confirm(session: SessionDep, user: CurrentUserDep, pledge_id: uuid.UUID) -> PledgePublic:
    """The initiator accepts offered hours (or the board)."""
    return _public(service.confirm_time(session, pledge_id=pledge_id, user=user))


@router.post("/pledges/{pledge_id}/deliver", response_model=PledgePublic)
def deliver(session: SessionDep, user: CurrentUserDep, pledge_id: uuid.UUID, body: DeliveredIn) -> PledgePublic:
    """The initiator logs the hours given."""
    return _public(service.deliver_time(session, pledge_id=pledge_id, hours=body.hours, user=user))


@router.post("/pledges/{pledge_id}/acknowledge", response_model=PledgePublic)
def acknowledge(session: SessionDep, user: CurrentUserDep, pledge_id: uuid.UUID) -> PledgePublic:
    """The volunteer agrees with the hours logged."""
    return _public(service.acknowledge_time(session, pledge_id=pledge_id, user=user))


@router.post("/pledges/{pledge_id}/withdraw", response_model=PledgePublic)
def withdraw(session: SessionDep, user: CurrentUserDep, pledge_id: uuid.UUID) -> PledgePublic:
    """The pledger, the initiator or the board withdraws a time or materials pledge."""
    return _public(service.withdraw(session, pledge_id=pledge_id, user=user))

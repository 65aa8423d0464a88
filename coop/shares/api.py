"""Share classes (public); transfers, redemptions and payouts (members ask, the board decides)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from coop.auth.dependencies import CurrentUserDep, require_roles
from coop.auth.models import Role
from coop.auth.schemas import CurrentUser
from coop.core.clock import today_amsterdam
from coop.core.db import SessionDep
from coop.members import service as members
from coop.shares import service
from coop.shares.models import MutationKind, MutationStatus, ShareMutation
from coop.shares.queries import classes_in_force, issued_cents, list_mutations
from coop.shares.schemas import (
    MutationPublic,
    PayoutIn,
    RedemptionIn,
    RejectIn,
    ShareClassPublic,
    TransferIn,
)

router = APIRouter(tags=["shares"])
Board = Annotated[CurrentUser, Depends(require_roles(Role.BOARD))]
BoardOrTreasurer = Annotated[CurrentUser, Depends(require_roles(Role.BOARD, Role.TREASURER))]
Treasurer = Annotated[CurrentUser, Depends(require_roles(Role.TREASURER))]


def _public(mutation: ShareMutation) -> MutationPublic:
    """The API shape of a transfer or redemption."""
    return MutationPublic.model_validate(mutation, from_attributes=True)


def _holder_or_board(session: SessionDep, user: CurrentUser, member_id: uuid.UUID) -> None:
    """Only the member's own user, or the board on their behalf, may ask for their shares to move."""
    members.ensure_may_act(session, member=members.get_member(session, member_id=member_id), user=user,
                           staff=(Role.BOARD,))


@router.get("/share-classes", response_model=list[ShareClassPublic])
def share_classes(session: SessionDep) -> list[ShareClassPublic]:
    """The share classes in force today, with how much of each issue is taken."""
    return [ShareClassPublic.model_validate(
        {**c.model_dump(), "issued_cents": issued_cents(session, class_code=c.code)})
        for c in classes_in_force(session, at=today_amsterdam())]


@router.post("/share-transfers", response_model=MutationPublic, status_code=status.HTTP_201_CREATED)
def request_transfer(session: SessionDep, user: CurrentUserDep, body: TransferIn) -> MutationPublic:
    """Ask to transfer shares to another active member (transferable classes only)."""
    _holder_or_board(session, user, body.from_member_id)
    return _public(members.request_transfer(
        session, from_member_id=body.from_member_id, to_member_id=body.to_member_id, class_code=body.class_code,
        quantity=body.quantity, requested_by=user.id))


@router.post("/redemptions", response_model=MutationPublic, status_code=status.HTTP_201_CREATED)
def request_redemption(session: SessionDep, user: CurrentUserDep, body: RedemptionIn) -> MutationPublic:
    """Ask the cooperative to take shares back."""
    _holder_or_board(session, user, body.member_id)
    return _public(service.request_redemption(session, member_id=body.member_id, class_code=body.class_code,
                                              quantity=body.quantity, requested_by=user.id))


@router.get("/share-mutations", response_model=list[MutationPublic])
def mutations(
    session: SessionDep, _: BoardOrTreasurer, status_: Annotated[MutationStatus | None, Query(alias="status")] = None,
    kind: MutationKind | None = None,
) -> list[MutationPublic]:
    """Transfers and redemptions, newest first."""
    return [_public(m) for m in list_mutations(session, status=status_, kind=kind)]


@router.post("/share-mutations/{mutation_id}/approve", response_model=MutationPublic)
def approve(session: SessionDep, user: Board, mutation_id: uuid.UUID) -> MutationPublic:
    """Approve (four eyes: not the requester): the register and the ledger change on the effective date."""
    return _public(service.approve_mutation(session, mutation_id=mutation_id, approver_id=user.id))


@router.post("/share-mutations/{mutation_id}/reject", response_model=MutationPublic)
def reject(session: SessionDep, user: Board, mutation_id: uuid.UUID, body: RejectIn) -> MutationPublic:
    """Reject with a reason (four eyes: not the requester)."""
    return _public(service.reject_mutation(session, mutation_id=mutation_id, decider_id=user.id, reason=body.reason))


@router.post("/redemptions/{mutation_id}/paid", response_model=MutationPublic)
def paid_out(session: SessionDep, user: Treasurer, mutation_id: uuid.UUID, body: PayoutIn) -> MutationPublic:
    """The bank paid the redemption: books 2100 -> 1200 once."""
    return _public(service.record_payout(session, mutation_id=mutation_id, paid_on=body.paid_on or today_amsterdam(),
                                         by=user.id))

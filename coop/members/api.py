"""Joining (public), members and the registers (board, treasurer)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status

from coop.auth.dependencies import CurrentUserDep, require_roles
from coop.auth.models import Role
from coop.auth.schemas import CurrentUser
from coop.core.clock import today_amsterdam
from coop.core.db import SessionDep
from coop.core.http import MAX_OFFSET, rate_limited
from coop.core.idempotency import IdempotencyDep
from coop.members import documents, privacy, service
from coop.members.models import FactKind, MemberKind, MemberStatus
from coop.members.queries import facts_until, joined_on, members_with_status, search_members, status_from
from coop.members.schemas import (
    EndMembershipIn,
    ErasedMember,
    JoinIn,
    JoinOut,
    MemberListItem,
    MemberPage,
    MemberPublic,
    MemberRegister,
    MemberSummary,
    RegisterEntry,
    RepresentativeIn,
    RepresentativePublic,
    ResignIn,
)
from coop.payments.schemas import PaymentPublic
from coop.shares.queries import holdings_at
from coop.shares.schemas import MutationPublic, ShareRegister
from coop.shares.service import investor_notices

router = APIRouter(tags=["members"])
BoardOrTreasurer = Annotated[CurrentUser, Depends(require_roles(Role.BOARD, Role.TREASURER))]
BoardOrAdmin = Annotated[CurrentUser, Depends(require_roles(Role.BOARD, Role.ADMIN))]
Board = Annotated[CurrentUser, Depends(require_roles(Role.BOARD))]
STAFF = (Role.BOARD, Role.TREASURER, Role.ADMIN)


@router.post("/members", response_model=JoinOut, status_code=status.HTTP_201_CREATED,
             dependencies=[Depends(rate_limited("join"))])
def join(session: SessionDep, body: JoinIn, idem: IdempotencyDep) -> JoinOut:
    """Apply for membership: creates the applicant, the share order and its payment (open)."""

    def work() -> JoinOut:
        member, payment = service.join(session, data=body)
        return JoinOut(member=MemberSummary(id=member.id, status=service.status_at(
            session, member_id=member.id, at=today_amsterdam()), member_number=member.member_number,
            kind=member.kind), payment=PaymentPublic.of(payment),
            investor_notices=investor_notices(session, order_id=payment.purpose_id))

    return idem.run(body, work, JoinOut)


@router.get("/members/{member_id}", response_model=MemberPublic)
def member(session: SessionDep, user: CurrentUserDep, member_id: uuid.UUID, at: date | None = None) -> MemberPublic:
    """A member with status and holdings as of today or `at` (the member themself, board, treasurer, admin)."""
    found = service.get_member(session, member_id=member_id)
    service.ensure_may_act(session, member=found, user=user, staff=STAFF)
    on = at or today_amsterdam()
    facts = facts_until(session, at=on, member_id=found.id)
    holdings = [h for h in holdings_at(session, at=on) if h.member_id == found.id]
    for holding in holdings:
        holding.member_number = found.member_number
    return MemberPublic(
        id=found.id, status=status_from(facts), at=on, member_number=found.member_number, kind=found.kind,
        name=found.name, email=found.email, city=found.city, municipality_code=found.municipality_code,
        kvk_number=found.kvk_number, iban=found.iban,
        joined_on=joined_on(facts), holdings=holdings)


@router.get("/registers/members", response_model=MemberRegister)
def member_register(session: SessionDep, _: BoardOrTreasurer, at: date | None = None) -> MemberRegister:
    """The members' register (ledenregister) as it stood on `at` (default today)."""
    on = at or today_amsterdam()
    return MemberRegister(at=on, members=[
        RegisterEntry(id=m.id, member_number=m.member_number or 0, name=m.name, kind=m.kind, status=state,
                      city=m.city, joined_on=joined)
        for m, state, joined in members_with_status(session, at=on)])


@router.get("/registers/shares", response_model=ShareRegister)
def share_register(session: SessionDep, _: BoardOrTreasurer, at: date | None = None) -> ShareRegister:
    """Holdings by member and class with certificate numbers, as they stood on `at` (default today)."""
    on = at or today_amsterdam()
    holdings = holdings_at(session, at=on)
    numbers = service.member_numbers(session, member_ids={h.member_id for h in holdings})
    for holding in holdings:
        holding.member_number = numbers.get(holding.member_id)
    return ShareRegister(at=on, holdings=holdings,
                         total_nominal_cents=sum(h.quantity * h.nominal_cents for h in holdings))


@router.post("/members/{member_id}/resign", response_model=list[MutationPublic],
             status_code=status.HTTP_201_CREATED)
def resign(session: SessionDep, user: CurrentUserDep, member_id: uuid.UUID, body: ResignIn) -> list[MutationPublic]:
    """Give notice (the member themself or the board): former from the end date, shares asked back by then."""
    found = service.get_member(session, member_id=member_id)
    service.ensure_may_act(session, member=found, user=user, staff=(Role.BOARD,))
    return [MutationPublic.model_validate(m, from_attributes=True)
            for m in service.resign(session, member_id=member_id, requested_by=user.id, effective_on=body.effective_on)]


@router.get("/members", response_model=MemberPage)
def members(
    session: SessionDep, _: BoardOrTreasurer, kind: MemberKind | None = None, status_: Annotated[
        MemberStatus | None, Query(alias="status")] = None, q: Annotated[str | None, Query(max_length=100)] = None,
    joined_from: date | None = None, joined_to: date | None = None, at: date | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50, offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> MemberPage:
    """Search members by kind, status, text (name, e-mail, city) and joining date, as of today or `at`."""
    rows = search_members(session, at=at or today_amsterdam(), kind=kind, status=status_, text=q,
                          joined_from=joined_from, joined_to=joined_to)
    return MemberPage(items=[MemberListItem(id=m.id, member_number=m.member_number, name=m.name, kind=m.kind,
                                            status=state, city=m.city, joined_on=joined)
                             for m, state, joined in rows[offset:offset + limit]],
                      total=len(rows), limit=limit, offset=offset)


AdminOnly = Annotated[CurrentUser, Depends(require_roles(Role.ADMIN))]


@router.get("/members/{member_id}/certificate.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}, "description": "The share certificate as a PDF."}})
def certificate(session: SessionDep, user: CurrentUserDep, member_id: uuid.UUID, at: date | None = None) -> Response:
    """The member's share certificate as of today or `at`, a PDF (the member themself, board, treasurer, admin)."""
    found = service.get_member(session, member_id=member_id)
    service.ensure_may_act(session, member=found, user=user, staff=STAFF)
    document = documents.certificate_pdf(session, member_id=found.id, at=at or today_amsterdam())
    return Response(document.content, media_type=document.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{document.filename}"'})


@router.get("/members/{member_id}/export", response_model=dict[str, Any])
def export(session: SessionDep, user: CurrentUserDep, member_id: uuid.UUID) -> dict[str, Any]:
    """Every piece of personal data kept about a member, as JSON (GDPR access; the member themself or an admin)."""
    found = service.get_member(session, member_id=member_id)
    service.ensure_may_act(session, member=found, user=user, staff=(Role.ADMIN,))
    return privacy.export_member(session, member_id=found.id)


@router.post("/members/{member_id}/erase", response_model=ErasedMember)
def erase(session: SessionDep, user: AdminOnly, member_id: uuid.UUID) -> ErasedMember:
    """Erase a member's personal data by pseudonymisation (GDPR, admin); registers and ledger stay whole."""
    erased = privacy.erase_member(session, member_id=member_id, actor_id=user.id)
    return ErasedMember(id=erased.id, member_number=erased.member_number, kind=erased.kind,
                        status=service.status_at(session, member_id=erased.id, at=today_amsterdam()),
                        name=erased.name, email=erased.email, erased_at=erased.erased_at or erased.created_at)


def _representatives(session: SessionDep, member_id: uuid.UUID) -> list[RepresentativePublic]:
    """The representatives of a member as the API shows them."""
    return [RepresentativePublic(user_id=rep.user_id, email=email, added_at=rep.added_at)
            for rep, email in service.representatives(session, member_id=member_id)]


@router.get("/members/{member_id}/representatives", response_model=list[RepresentativePublic])
def member_representatives(session: SessionDep, user: CurrentUserDep,
                           member_id: uuid.UUID) -> list[RepresentativePublic]:
    """Who acts for an organisation member (the member's own people, board, admin)."""
    found = service.get_member(session, member_id=member_id)
    service.ensure_may_act(session, member=found, user=user, staff=(Role.BOARD, Role.ADMIN))
    return _representatives(session, member_id)


@router.post("/members/{member_id}/representatives", response_model=list[RepresentativePublic],
             status_code=status.HTTP_201_CREATED)
def add_representative(session: SessionDep, user: BoardOrAdmin, member_id: uuid.UUID,
                       body: RepresentativeIn) -> list[RepresentativePublic]:
    """Let a user act for an organisation member (an unknown e-mail gets an account without password)."""
    service.add_representative(session, member_id=member_id, email=str(body.email), actor_id=user.id)
    return _representatives(session, member_id)


@router.delete("/members/{member_id}/representatives/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_representative(session: SessionDep, user: BoardOrAdmin, member_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Stop a user acting for the member."""
    service.remove_representative(session, member_id=member_id, user_id=user_id, actor_id=user.id)


@router.post("/members/{member_id}/end", response_model=list[MutationPublic], status_code=status.HTTP_201_CREATED)
def end_membership(session: SessionDep, user: Board, member_id: uuid.UUID,
                   body: EndMembershipIn) -> list[MutationPublic]:
    """Record an expulsion or a death (board); the shares are asked back for approval by another board member."""
    ended = service.end_membership(session, member_id=member_id, kind=FactKind(body.reason),
                                   effective_on=body.effective_on, note=body.note, recorded_by=user.id)
    return [MutationPublic.model_validate(m, from_attributes=True) for m in ended]

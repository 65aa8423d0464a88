"""Joining (public), members and the registers (board, treasurer)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, status

from coop.auth.dependencies import CurrentUserDep, require_roles
from coop.auth.models import Role
from coop.auth.schemas import CurrentUser
from coop.core.clock import today_amsterdam
from coop.core.db import SessionDep
from coop.core.errors import Forbidden
from coop.core.idempotency import IdempotencyDep
from coop.members import service
from coop.members.queries import facts_until, joined_on, members_with_status, status_from
from coop.members.schemas import JoinIn, JoinOut, MemberPublic, MemberRegister, MemberSummary, RegisterEntry
from coop.payments.api import public as payment_public
from coop.shares.queries import holdings_at
from coop.shares.schemas import ShareRegister

router = APIRouter(tags=["members"])
BoardOrTreasurer = Annotated[CurrentUser, Depends(require_roles(Role.BOARD, Role.TREASURER))]
STAFF = (Role.BOARD, Role.TREASURER, Role.ADMIN)


@router.post("/members", response_model=JoinOut, status_code=status.HTTP_201_CREATED)
def join(session: SessionDep, body: JoinIn, idem: IdempotencyDep) -> JoinOut:
    """Apply for membership: creates the applicant, the share order and its payment (open)."""

    def work() -> JoinOut:
        member, payment = service.join(session, data=body)
        return JoinOut(member=MemberSummary(id=member.id, status=service.status_at(
            session, member_id=member.id, at=today_amsterdam()), member_number=member.member_number,
            kind=member.kind), payment=payment_public(payment))

    return idem.run(body, work, JoinOut)


@router.get("/members/{member_id}", response_model=MemberPublic)
def member(session: SessionDep, user: CurrentUserDep, member_id: uuid.UUID, at: date | None = None) -> MemberPublic:
    """A member with status and holdings as of today or `at` (the member themself, board, treasurer, admin)."""
    found = service.get_member(session, member_id=member_id)
    if not user.has_any(*STAFF) and found.user_id != user.id:
        raise Forbidden("you can only see your own membership")
    on = at or today_amsterdam()
    facts = facts_until(session, at=on, member_id=found.id)
    holdings = [h for h in holdings_at(session, at=on) if h.member_id == found.id]
    for holding in holdings:
        holding.member_number = found.member_number
    return MemberPublic(
        id=found.id, status=status_from(facts), at=on, member_number=found.member_number, kind=found.kind,
        name=found.name, email=found.email, city=found.city, kvk_number=found.kvk_number, iban=found.iban,
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

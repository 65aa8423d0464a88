"""The books for the treasurer and the board."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from coop.auth.dependencies import require_roles
from coop.auth.models import Role
from coop.auth.schemas import CurrentUser
from coop.core.db import SessionDep
from coop.core.errors import InvalidInput
from coop.core.http import MAX_OFFSET
from coop.ledger import queries, service
from coop.ledger.models import JournalEntry
from coop.ledger.schemas import (
    AccountPublic,
    EntryPublic,
    Line,
    ManualEntryIn,
    PostingPublic,
    ReverseIn,
    TrialBalance,
)

router = APIRouter(prefix="/ledger", tags=["ledger"])
Reader = Annotated[CurrentUser, Depends(require_roles(Role.TREASURER, Role.BOARD))]
Treasurer = Annotated[CurrentUser, Depends(require_roles(Role.TREASURER))]


@router.get("/trial-balance", response_model=TrialBalance)
def trial_balance(session: SessionDep, _: Reader, start: date, end: date) -> TrialBalance:
    """Opening, debits, credits and closing per account for a period; total is zero when sound."""
    if end < start:
        raise InvalidInput("end is before start", field="end")
    return queries.trial_balance(session, start=start, end=end)


@router.get("/accounts", response_model=list[AccountPublic])
def accounts(session: SessionDep, _: Reader, at: date | None = None) -> list[AccountPublic]:
    """The chart of accounts with each account's balance (debit positive) at a date."""
    return [AccountPublic(code=a.code, name=a.name, type=a.type, normal_side=a.normal_side,
                          no_overdraft=a.no_overdraft, balance_cents=queries.balance(session, account=a.code, at=at))
            for a in queries.accounts(session)]


def _public(session: SessionDep, entry: JournalEntry) -> EntryPublic:
    """An entry with its postings."""
    return EntryPublic(
        id=entry.id, number=entry.number, booked_on=entry.booked_on, description=entry.description,
        idempotency_key=entry.idempotency_key, source_type=entry.source_type, source_id=entry.source_id,
        reversal_of=entry.reversal_of,
        postings=[PostingPublic(account=ln.account, amount_cents=ln.amount_cents, member_id=ln.member_id,
                                project_id=ln.project_id, fund_id=ln.fund_id, payment_id=ln.payment_id)
                  for ln in queries.entry_lines(session, entry.id)],
    )


@router.get("/entries", response_model=list[EntryPublic])
def entries(
    session: SessionDep, _: Reader, start: date | None = None, end: date | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100, offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[EntryPublic]:
    """Journal entries in booking order."""
    return [_public(session, e) for e in queries.entries(session, start=start, end=end, limit=limit, offset=offset)]


@router.post("/entries", response_model=EntryPublic, status_code=status.HTTP_201_CREATED)
def manual_entry(session: SessionDep, user: Treasurer, body: ManualEntryIn) -> EntryPublic:
    """A memorial booking by the treasurer; repeating the same key and lines returns the same entry."""
    lines = [Line(account=ln.account, amount_cents=ln.amount_cents, member_id=ln.member_id,
                  project_id=ln.project_id, fund_id=ln.fund_id) for ln in body.lines]
    entry = service.post(session, key=f"manual:{body.idempotency_key}", lines=lines, description=body.description,
                         booked_on=body.booked_on, source_type="manual", created_by=user.id)
    service.number_entries(session)
    return _public(session, entry)


@router.post("/entries/{entry_id}/reverse", response_model=EntryPublic, status_code=status.HTTP_201_CREATED)
def reverse_entry(session: SessionDep, user: Treasurer, entry_id: uuid.UUID, body: ReverseIn) -> EntryPublic:
    """Correct a booking by posting its mirror image; the original stays."""
    entry = service.get_entry(session, entry_id=entry_id)
    reversal = service.reverse(session, entry=entry, key=f"manual-reversal:{body.idempotency_key}",
                               booked_on=body.booked_on, created_by=user.id)
    service.number_entries(session)
    return _public(session, reversal)

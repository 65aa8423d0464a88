"""Read-only ledger selects, reused by services, dashboards and exports."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import case, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from coop.ledger.models import Account, JournalEntry, Posting
from coop.ledger.schemas import Line, TrialBalance, TrialBalanceRow

DIMENSIONS = ("member_id", "project_id", "fund_id", "payment_id")


def account_by_code(session: Session, code: str) -> Account | None:
    """The account with this code, or None."""
    return session.exec(select(Account).where(Account.code == code)).first()


def accounts(session: Session) -> Sequence[Account]:
    """The whole chart, ordered by code."""
    return session.exec(select(Account).order_by(col(Account.code))).all()


def balance(session: Session, *, account: str, at: date | None = None, **dimensions: Any) -> int:
    """Signed balance in cents (debit positive) of `account`, up to and including `at`.

    A dimension passed as a keyword filters on it; passed as None it means
    "without that dimension"; not passed, it is summed over.
    """
    unknown = set(dimensions) - set(DIMENSIONS)
    if unknown:
        raise TypeError(f"unknown ledger dimensions: {sorted(unknown)}")
    query = (
        select(func.coalesce(func.sum(Posting.amount_cents), 0))
        .join(Account, col(Account.id) == col(Posting.account_id))
        .where(Account.code == account)
    )
    if at is not None:
        query = query.join(JournalEntry, col(JournalEntry.id) == col(Posting.entry_id)).where(
            col(JournalEntry.booked_on) <= at
        )
    for name, value in dimensions.items():
        column = getattr(Posting, name)
        query = query.where(column.is_(None) if value is None else column == value)
    return int(session.exec(query).one())


def trial_balance(session: Session, *, start: date, end: date) -> TrialBalance:
    """Opening balance before `start`, debits and credits from `start` to `end`, closing at `end`."""
    in_period = (col(JournalEntry.booked_on) >= start) & (col(JournalEntry.booked_on) <= end)
    amount = col(Posting.amount_cents)
    # SQLModel's select() is typed for at most four columns; SQLAlchemy's takes any number.
    query = (
        sa_select(
            col(Account.code), col(Account.name), col(Account.type),
            func.coalesce(func.sum(case((col(JournalEntry.booked_on) < start, amount), else_=0)), 0),
            func.coalesce(func.sum(case((in_period & (amount > 0), amount), else_=0)), 0),
            func.coalesce(func.sum(case((in_period & (amount < 0), -amount), else_=0)), 0),
        )
        .join(Posting, col(Posting.account_id) == col(Account.id))
        .join(JournalEntry, col(JournalEntry.id) == col(Posting.entry_id))
        .where(col(JournalEntry.booked_on) <= end)
        .group_by(col(Account.code), col(Account.name), col(Account.type))
        .order_by(col(Account.code))
    )
    rows = [
        TrialBalanceRow(code=code, name=name, type=str(kind), opening_cents=int(opening),
                        debit_cents=int(debit), credit_cents=int(credit),
                        balance_cents=int(opening) + int(debit) - int(credit))
        for code, name, kind, opening, debit, credit in session.execute(query).all()
    ]
    return TrialBalance(start=start, end=end, accounts=rows, total_cents=sum(r.balance_cents for r in rows))


def entry_by_key(session: Session, key: str) -> JournalEntry | None:
    """The entry booked under this idempotency key, if any."""
    return session.exec(select(JournalEntry).where(JournalEntry.idempotency_key == key)).first()


def entry_lines(session: Session, entry_id: uuid.UUID) -> list[Line]:
    """The postings of one entry as lines (account codes, signed cents, dimensions)."""
    rows = session.exec(
        select(Account.code, Posting)
        .join(Account, col(Account.id) == col(Posting.account_id))
        .where(Posting.entry_id == entry_id)
    ).all()
    return [Line(account=code, amount_cents=p.amount_cents, member_id=p.member_id,
                 project_id=p.project_id, fund_id=p.fund_id, payment_id=p.payment_id)
            for code, p in rows]


def entries(
    session: Session, *, start: date | None = None, end: date | None = None,
    limit: int = 100, offset: int = 0,
) -> Sequence[JournalEntry]:
    """Entries in booking order, optionally within a date range."""
    query = select(JournalEntry)
    if start is not None:
        query = query.where(col(JournalEntry.booked_on) >= start)
    if end is not None:
        query = query.where(col(JournalEntry.booked_on) <= end)
    query = query.order_by(col(JournalEntry.number)).offset(offset).limit(limit)
    return session.exec(query).all()


def global_sums(session: Session) -> tuple[int, int]:
    """(sum of all postings, number of entries whose postings do not sum to zero): both 0 in sound books."""
    total = session.exec(select(func.coalesce(func.sum(Posting.amount_cents), 0))).one()
    per_entry = (
        select(Posting.entry_id)
        .group_by(col(Posting.entry_id))
        .having(func.sum(Posting.amount_cents) != 0)
        .subquery()
    )
    unbalanced = session.exec(select(func.count()).select_from(per_entry)).one()
    return int(total), int(unbalanced)

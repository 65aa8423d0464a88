"""The only writer of ledger rows: balanced, idempotent, immutable entries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import bindparam, event, exc, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from coop.core.clock import today_amsterdam
from coop.core.errors import Conflict, InvalidInput, NotFound
from coop.core.immutable import append_only
from coop.core.sequences import next_number, next_reference
from coop.ledger.chart import CHART
from coop.ledger.models import Account, JournalEntry, Posting, Side
from coop.ledger.queries import account_by_code, balance, entry_by_key, entry_lines
from coop.ledger.schemas import Line

JOURNAL_SERIES = "ledger_entry"
PROVISIONAL_SERIES = "ledger_entry_provisional"
# session.info: this transaction may have booked entries still to be numbered. Kept through rollbacks (a
# savepoint's rollback leaves the transaction's earlier entries); at worst the next commit looks and finds none.
_UNNUMBERED = "kracht.ledger.unnumbered"


class UnbalancedEntry(InvalidInput):
    """The lines of an entry do not sum to zero (or are not proper lines)."""

    title = "Unbalanced entry"


class IdempotencyConflict(Conflict):
    """The key was used before for different lines."""

    title = "Idempotency conflict"


class InsufficientFunds(Conflict):
    """The entry would take a no-overdraft account below zero."""

    title = "Insufficient funds"


class AlreadyReversed(Conflict):
    """An entry can be reversed once."""

    title = "Already reversed"


class ImmutableLedger(RuntimeError):
    """Raised when code tries to change or delete a booked entry or posting."""


append_only(JournalEntry, ImmutableLedger)
append_only(Posting, ImmutableLedger)


@event.listens_for(Session, "before_flush")
def _refuse_postings_on_booked_entries(session: Session, _context: Any, _instances: Any) -> None:
    """A booked entry is complete: postings are only ever flushed together with their new entry."""
    new_entries = {obj.id for obj in session.new if isinstance(obj, JournalEntry)}
    for obj in session.new:
        if isinstance(obj, Posting) and obj.entry_id not in new_entries:
            raise ImmutableLedger(f"entry {obj.entry_id} is booked; post a new entry instead")


def sync_chart(session: Session) -> int:
    """Create the accounts of the chart that are missing (idempotent); returns how many were added."""
    added = 0
    for spec in CHART:
        if account_by_code(session, spec.code) is None:
            session.add(Account(code=spec.code, name=spec.name, type=spec.type,
                                normal_side=spec.normal_side, no_overdraft=spec.no_overdraft))
            added += 1
    session.flush()
    return added


def _validate(lines: Sequence[Line]) -> None:
    """At least two non-zero integer lines that sum to exactly zero."""
    if len(lines) < 2:
        raise UnbalancedEntry("an entry needs at least two lines", field="lines")
    for index, line in enumerate(lines):
        if isinstance(line.amount_cents, bool) or not isinstance(line.amount_cents, int):
            raise UnbalancedEntry("amounts are integer cents", field=f"lines.{index}.amount_cents")
        if line.amount_cents == 0:
            raise UnbalancedEntry("a posting of zero moves nothing", field=f"lines.{index}.amount_cents")
    total = sum(line.amount_cents for line in lines)
    if total != 0:
        raise UnbalancedEntry(f"lines sum to {total} cents instead of 0", field="lines")


def _same_lines(a: Sequence[Line], b: Sequence[Line]) -> bool:
    """Equal as multisets: the order of lines does not matter."""
    return sorted(x.sort_key() for x in a) == sorted(y.sort_key() for y in b)


def _existing(session: Session, key: str, lines: Sequence[Line]) -> JournalEntry | None:
    """The entry already booked under `key` with these lines; a different one is a conflict."""
    entry = entry_by_key(session, key)
    if entry is None:
        return None
    if not _same_lines(entry_lines(session, entry.id), lines):
        raise IdempotencyConflict(f"key {key!r} was already used for different lines", field="idempotency_key")
    return entry


def _lock_accounts(session: Session, codes: set[str]) -> dict[str, Account]:
    """Load the accounts; the no-overdraft ones row-locked in code order on PostgreSQL (SQLite holds BEGIN
    IMMEDIATE already), so their balance checks queue. Other accounts are not locked: every booking of the
    cooperative goes through a few of them (the bank, a provider's clearing), and a lock there would queue them
    all; their postings refer to them by foreign key only."""
    query = select(Account).where(col(Account.code).in_(sorted(codes))).order_by(col(Account.code))
    found = {account.code: account for account in session.exec(query).all()}
    guarded = sorted(code for code, account in found.items() if account.no_overdraft)
    if guarded and session.get_bind().dialect.name == "postgresql":
        session.exec(select(Account.id).where(col(Account.code).in_(guarded)).order_by(col(Account.code))
                     .with_for_update(key_share=True)).all()
    for code in sorted(codes - set(found)):
        raise InvalidInput(f"unknown account {code}", field="lines")
    for account in found.values():
        if not account.active:
            raise InvalidInput(f"account {account.code} is closed", field="lines")
    return found


def _check_overdraft(session: Session, accounts: dict[str, Account], lines: Sequence[Line]) -> None:
    """No no-overdraft account (per member/project/fund) may end below zero on its normal side."""
    movement: dict[tuple[str, uuid.UUID | None, uuid.UUID | None, uuid.UUID | None], int] = {}
    for line in lines:
        if accounts[line.account].no_overdraft:
            bucket = (line.account, line.member_id, line.project_id, line.fund_id)
            movement[bucket] = movement.get(bucket, 0) + line.amount_cents
    for (code, member_id, project_id, fund_id), delta in sorted(movement.items(), key=str):
        after = delta + balance(session, account=code, member_id=member_id, project_id=project_id, fund_id=fund_id)
        on_normal_side = after if accounts[code].normal_side is Side.DEBIT else -after
        if on_normal_side < 0:
            raise InsufficientFunds(
                f"account {code} would be overdrawn by {-on_normal_side} cents", field="amount_cents"
            )


def post(
    session: Session, *, key: str, lines: Sequence[Line], description: str,
    booked_on: date | None = None, source_type: str | None = None, source_id: str | None = None,
    created_by: uuid.UUID | None = None, reversal_of: uuid.UUID | None = None,
) -> JournalEntry:
    """Book `lines` (signed cents, summing to zero) once under `key`.

    The same key with the same lines returns the existing entry; with other lines
    it raises IdempotencyConflict. No-overdraft accounts are checked under a lock.
    A new entry's number is provisional (negative) until `number_entries` runs, at the
    latest just before the transaction commits.
    """
    if not key:
        raise InvalidInput("an entry needs an idempotency key", field="idempotency_key")
    _validate(lines)
    found = _existing(session, key, lines)
    if found is not None:
        return found
    accounts = _lock_accounts(session, {line.account for line in lines})
    if any(account.no_overdraft for account in accounts.values()):
        # Look again under the lock: a concurrent booking of this key may have committed while we waited,
        # and its money must not be counted a second time by the overdraft check. (Without a lock there is
        # no check to protect: a concurrent booking of the key meets the unique key below.)
        found = _existing(session, key, lines)
        if found is not None:
            return found
    _check_overdraft(session, accounts, lines)
    try:
        with session.begin_nested():
            entry = JournalEntry(
                number=-next_reference(session, series=PROVISIONAL_SERIES), booked_on=booked_on or today_amsterdam(),
                description=description, idempotency_key=key, source_type=source_type, source_id=source_id,
                created_by=created_by, reversal_of=reversal_of,
            )
            session.add(entry)
            session.add_all(
                Posting(entry_id=entry.id, account_id=accounts[line.account].id, amount_cents=line.amount_cents,
                        member_id=line.member_id, project_id=line.project_id, fund_id=line.fund_id,
                        payment_id=line.payment_id)
                for line in lines
            )
            session.flush()
        session.info[_UNNUMBERED] = True
    except exc.IntegrityError:
        # A concurrent transaction booked the same key (or reversal) first: answer as if we were second.
        raced = _existing(session, key, lines)
        if raced is not None:
            return raced
        if reversal_of is not None:
            raise AlreadyReversed("this entry has already been reversed", field="entry_id") from None
        raise
    return entry


def number_entries(session: Session) -> None:
    """Give the entries this transaction booked their gap-free numbers, in booking order, in one step.

    The journal's number series is one row that every booking transaction locks until it commits.
    Taken at the commit (`_number_at_commit`), it is held for these statements and the commit only,
    not for all the work a payment does after its booking; and it is then always the transaction's
    last lock, so it cannot take part in a deadlock. Call it earlier only to show the numbers (the ledger API).
    The provisional numbers are negative: on PostgreSQL other transactions' uncommitted rows are invisible,
    on SQLite there is one writer, so the negative rows seen here are this transaction's own.
    """
    if not session.info.pop(_UNNUMBERED, False):
        return
    session.flush()
    table = JournalEntry.__table__  # type: ignore[attr-defined]  # SQLModel declares it at runtime
    provisional = session.execute(select(table.c.id).where(table.c.number < 0)
                                  .order_by(table.c.number.desc())).scalars().all()
    if not provisional:
        return
    first = next_number(session, series=JOURNAL_SERIES, count=len(provisional)) - len(provisional) + 1
    numbers = {entry_id: first + offset for offset, entry_id in enumerate(provisional)}
    # Plain table SQL: the ORM refuses every change to a booked entry (append_only); this is its one completion.
    session.execute(update(table).where(table.c.id == bindparam("entry")).values(number=bindparam("final")),
                    [{"entry": entry_id, "final": number} for entry_id, number in numbers.items()])
    for entry in session.identity_map.values():
        if isinstance(entry, JournalEntry) and entry.id in numbers:
            set_committed_value(entry, "number", numbers[entry.id])


@event.listens_for(Session, "before_commit")
def _number_at_commit(session: Session) -> None:
    """No entry is committed without its final number (a savepoint's release is not the commit)."""
    if not session.in_nested_transaction():
        number_entries(session)


def reverse(
    session: Session, *, entry: JournalEntry, key: str, booked_on: date | None = None,
    created_by: uuid.UUID | None = None,
) -> JournalEntry:
    """Book the mirror image of `entry` (once); the original stays as it was."""
    if entry.reversal_of is not None:
        raise Conflict("a reversal cannot itself be reversed; post a new entry", field="entry_id")
    if entry.number < 0:  # booked in this transaction: the description names its final number
        number_entries(session)
    lines = [Line(account=ln.account, amount_cents=-ln.amount_cents, member_id=ln.member_id,
                  project_id=ln.project_id, fund_id=ln.fund_id, payment_id=ln.payment_id)
             for ln in entry_lines(session, entry.id)]
    earlier = session.exec(select(JournalEntry).where(JournalEntry.reversal_of == entry.id)).first()
    if earlier is not None and earlier.idempotency_key != key:
        raise AlreadyReversed(f"entry {entry.number} was already reversed by entry {earlier.number}",
                              field="entry_id")
    return post(session, key=key, lines=lines, description=f"Reversal of entry {entry.number}: {entry.description}",
                booked_on=booked_on, source_type="reversal", source_id=str(entry.id),
                created_by=created_by, reversal_of=entry.id)


def get_entry(session: Session, *, entry_id: uuid.UUID) -> JournalEntry:
    """One entry by id, or NotFound."""
    entry = session.get(JournalEntry, entry_id)
    if entry is None:
        raise NotFound("no such journal entry", field="entry_id")
    return entry

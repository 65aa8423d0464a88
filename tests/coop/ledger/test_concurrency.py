"""Real concurrency on PostgreSQL: committed transactions in 20 threads released together.

These tests commit rows to the shared per-run database, so each one removes its
entries (by a unique key prefix) and gives the entry numbers back when it ends.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from coop.core.db import unit_of_work
from coop.core.sequences import number_series, peek_last_number
from coop.ledger import queries, service
from coop.ledger.models import JournalEntry, Posting
from coop.ledger.schemas import Line
from coop.ledger.service import JOURNAL_SERIES, AlreadyReversed, InsufficientFunds
from tests.coop.ledger.support import BANK, REVENUE, available, deposit, withdraw

pytestmark = pytest.mark.postgres_only

THREADS = 20
T = TypeVar("T")
entries_t = JournalEntry.__table__  # type: ignore[attr-defined]
postings_t = Posting.__table__  # type: ignore[attr-defined]


@pytest.fixture
def prefix(database: Engine) -> Iterator[str]:
    """A key prefix for this test's committed entries; they are deleted (Core DELETE) afterwards."""
    key_prefix = f"concurrency:{uuid.uuid4().hex}:"
    with unit_of_work(database) as session:
        last_number = peek_last_number(session, series=JOURNAL_SERIES)
    try:
        yield key_prefix
    finally:
        ours = select(entries_t.c.id).where(entries_t.c.idempotency_key.like(f"{key_prefix}%"))
        with database.begin() as connection:
            connection.execute(delete(postings_t).where(postings_t.c.entry_id.in_(ours)))
            connection.execute(delete(entries_t).where(entries_t.c.idempotency_key.like(f"{key_prefix}%")))
            # Give the numbers back, so the series stays gap-free for the tests that follow.
            highest = connection.execute(select(func.max(entries_t.c.number))).scalar_one_or_none() or 0
            if highest <= last_number:
                connection.execute(update(number_series).where(number_series.c.name == JOURNAL_SERIES)
                                   .values(last_value=last_number))
        with unit_of_work(database) as session:
            assert queries.global_sums(session) == (0, 0)


def run_together(engine: Engine, work: Callable[[Session, int], T], n: int = THREADS) -> list[T | Exception]:
    """Run `work` in `n` threads, each in its own committed unit of work, all released at once."""
    barrier = threading.Barrier(n)
    results: list[T | Exception | None] = [None] * n

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            with unit_of_work(engine) as session:
                value = work(session, index)
            results[index] = value  # only once the transaction has committed
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=worker, args=(i,), name=f"ledger-{i}") for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a worker hung (deadlock?)"
    assert all(result is not None for result in results)
    return results  # type: ignore[return-value]


def committed_entries(engine: Engine, prefix: str) -> list[tuple[str, int]]:
    """(key, number) of this test's committed entries, in number order."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(entries_t.c.idempotency_key, entries_t.c.number)
            .where(entries_t.c.idempotency_key.like(f"{prefix}%")).order_by(entries_t.c.number)
        ).all()
    return [(key, number) for key, number in rows]


def test_the_same_key_posted_by_20_threads_books_one_entry(database: Engine, prefix: str) -> None:
    key = f"{prefix}same"
    lines = [Line(BANK, 1_234), Line(REVENUE, -1_234)]
    with unit_of_work(database) as session:
        start = peek_last_number(session, series=JOURNAL_SERIES)

    def book(session: Session, index: int) -> JournalEntry:
        return service.post(session, key=key, lines=lines if index % 2 else lines[::-1], description=f"t{index}")

    # Read once committed: a new entry's number is final at its commit.
    results = [r if isinstance(r, Exception) else (r.id, r.number) for r in run_together(database, book)]
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    assert len(set(results)) == 1, f"threads saw different entries: {Counter(results)}"
    assert committed_entries(database, prefix) == [(key, start + 1)]
    with unit_of_work(database) as session:
        assert peek_last_number(session, series=JOURNAL_SERIES) == start + 1  # no number was burnt
        entry = queries.entry_by_key(session, key)
        assert entry is not None
        assert (entry.id, entry.number) == results[0]
        assert len(queries.entry_lines(session, entry.id)) == 2


def test_20_withdrawals_of_10_from_a_fund_of_100_let_exactly_10_through(database: Engine, prefix: str) -> None:
    fund = uuid.uuid4()
    with unit_of_work(database) as session:
        start = peek_last_number(session, series=JOURNAL_SERIES)
        service.post(session, key=f"{prefix}deposit", lines=deposit(fund, 10_000), description="EUR 100 in")

    def spend(session: Session, index: int) -> JournalEntry:
        return service.post(session, key=f"{prefix}grant:{index}", lines=withdraw(fund, 1_000),
                            description=f"EUR 10 out, thread {index}")

    results = run_together(database, spend)
    booked = [r.number for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(booked) == 10, results
    assert all(isinstance(r, InsufficientFunds) for r in refused), refused
    assert len(refused) == 10

    with unit_of_work(database) as session:
        assert available(session, fund) == 0
        assert peek_last_number(session, series=JOURNAL_SERIES) == start + 11
    entries = committed_entries(database, prefix)
    assert [number for _, number in entries] == list(range(start + 1, start + 12))  # gap-free
    assert sorted(booked) == list(range(start + 2, start + 12))
    # Never negative, not even in between: the running available after each entry in booking order.
    with database.connect() as connection:
        moves = connection.execute(
            select(postings_t.c.amount_cents)
            .join(entries_t, entries_t.c.id == postings_t.c.entry_id)
            .where(postings_t.c.fund_id == fund).order_by(entries_t.c.number)
        ).scalars().all()
    running = 0
    for amount in moves:
        running -= amount
        assert running >= 0
    assert running == 0


def test_the_same_withdrawal_retried_by_20_threads_is_booked_once_and_never_refused(
    database: Engine, prefix: str
) -> None:
    """A retry racing the original must get the original back, not InsufficientFunds for the spent money."""
    fund = uuid.uuid4()
    key = f"{prefix}grant"
    with unit_of_work(database) as session:
        service.post(session, key=f"{prefix}deposit", lines=deposit(fund, 1_000), description="EUR 10 in")

    def spend(session: Session, _index: int) -> uuid.UUID:
        return service.post(session, key=key, lines=withdraw(fund, 1_000), description="EUR 10 out").id

    results = run_together(database, spend)
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == [], Counter(type(e).__name__ for e in errors)
    assert len(set(results)) == 1
    assert [k for k, _ in committed_entries(database, prefix)] == [f"{prefix}deposit", key]
    with unit_of_work(database) as session:
        assert available(session, fund) == 0


def test_20_threads_reversing_one_entry_book_one_reversal(database: Engine, prefix: str) -> None:
    with unit_of_work(database) as session:
        original = service.post(session, key=f"{prefix}sale", lines=[Line(BANK, 500), Line(REVENUE, -500)],
                                description="sale")

    def undo(session: Session, index: int) -> uuid.UUID:
        entry = service.get_entry(session, entry_id=original.id)
        return service.reverse(session, entry=entry, key=f"{prefix}reversal:{index}").id

    results = run_together(database, undo)
    booked = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(booked) == 1, results
    assert all(isinstance(r, AlreadyReversed) for r in refused), refused
    assert len(committed_entries(database, prefix)) == 2
    with unit_of_work(database) as session:
        reversal = session.get(JournalEntry, booked[0])
        assert reversal is not None
        assert reversal.reversal_of == original.id


def test_deposits_and_withdrawals_racing_on_one_fund_keep_it_consistent(database: Engine, prefix: str) -> None:
    fund = uuid.uuid4()
    with unit_of_work(database) as session:
        service.post(session, key=f"{prefix}seed", lines=deposit(fund, 3_000), description="seed")

    def move(session: Session, index: int) -> int:
        lines = deposit(fund, 1_000) if index % 2 else withdraw(fund, 1_000)
        return service.post(session, key=f"{prefix}move:{index}", lines=lines, description="race").number

    results = run_together(database, move)
    ok_deposits = sum(1 for i, r in enumerate(results) if i % 2 and not isinstance(r, Exception))
    ok_withdrawals = sum(1 for i, r in enumerate(results) if not i % 2 and not isinstance(r, Exception))
    assert ok_deposits == 10
    assert all(isinstance(r, InsufficientFunds) for r in results if isinstance(r, Exception))
    with unit_of_work(database) as session:
        assert available(session, fund) == 3_000 + 1_000 * (ok_deposits - ok_withdrawals) >= 0
    assert ok_withdrawals >= 3  # at least the seed could always be spent

"""A stateful property test of the ledger against a simple model, on SQLite and PostgreSQL.

Each Hypothesis example runs inside a savepoint of the test's session and is rolled
back in teardown, so examples never see each other's bookings.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from coop.core.errors import Conflict
from coop.core.sequences import peek_last_number
from coop.ledger import queries, service
from coop.ledger.models import Account, JournalEntry, Posting
from coop.ledger.schemas import Line
from coop.ledger.service import (
    JOURNAL_SERIES,
    AlreadyReversed,
    IdempotencyConflict,
    InsufficientFunds,
    number_entries,
)
from tests.coop.ledger.support import BANK, FUNDS, PAYABLE, REVENUE, multiset

ACCOUNTS = (BANK, FUNDS, PAYABLE, REVENUE)
NO_OVERDRAFT = {FUNDS}  # credit-normal: the available amount is -balance
MEMBERS = (None, uuid.uuid4())
FUND_IDS = (None, uuid.uuid4(), uuid.uuid4())
Bucket = tuple[str, uuid.UUID | None, uuid.UUID | None]  # (account, member_id, fund_id); project_id stays None

BUCKETS: list[Bucket] = [(a, m, f) for a in ACCOUNTS for m in MEMBERS for f in FUND_IDS]


def bucket_of(line: Line) -> Bucket:
    return (line.account, line.member_id, line.fund_id)


def balance_of(session: Session, bucket: Bucket) -> int:
    account, member_id, fund_id = bucket
    return queries.balance(session, account=account, member_id=member_id, project_id=None, fund_id=fund_id)


# A balanced entry: one to three transfers of `cents` from one bucket (credit) to another (debit).
transfer = st.tuples(st.sampled_from(BUCKETS), st.sampled_from(BUCKETS), st.integers(1, 5_000))


@st.composite
def balanced_lines(draw: st.DrawFn) -> list[Line]:
    lines: list[Line] = []
    for (debit, credit, cents) in draw(st.lists(transfer, min_size=1, max_size=3)):
        lines.append(Line(debit[0], cents, member_id=debit[1], fund_id=debit[2]))
        lines.append(Line(credit[0], -cents, member_id=credit[1], fund_id=credit[2]))
    return draw(st.permutations(lines))


@dataclass
class ModelEntry:
    """What the model knows of one booked entry."""

    id: uuid.UUID
    number: int
    lines: list[Line]
    reversal_of: str | None = None  # key of the reversed entry
    reversed_by: str | None = None  # key of its reversal


class LedgerMachine(RuleBasedStateMachine):
    """Random bookings, retries, conflicting retries and reversals against an in-memory model."""

    keys = Bundle("keys")

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.savepoint = session.begin_nested()
        self.tag = uuid.uuid4().hex[:8]
        self.counter = 0
        self.entries: dict[str, ModelEntry] = {}
        self.expected: Counter[Bucket] = Counter()
        self.baseline = {bucket: balance_of(session, bucket) for bucket in BUCKETS}
        self.baseline_accounts = {a: queries.balance(session, account=a) for a in ACCOUNTS}
        self.baseline_entries = self._entry_count()
        self.last_number = peek_last_number(session, series=JOURNAL_SERIES)

    def teardown(self) -> None:
        if self.savepoint.is_active:
            self.savepoint.rollback()

    # --- helpers ---

    def _entry_count(self) -> int:
        return int(self.session.exec(select(func.count()).select_from(JournalEntry)).one())

    def _fresh_key(self, kind: str) -> str:
        self.counter += 1
        return f"prop:{self.tag}:{kind}:{self.counter}"

    def _overdraws(self, lines: list[Line]) -> bool:
        movement: Counter[Bucket] = Counter()
        for line in lines:
            if line.account in NO_OVERDRAFT:
                movement[bucket_of(line)] += line.amount_cents
        return any(-(self.baseline[b] + self.expected[b] + delta) < 0 for b, delta in movement.items())

    def _book(self, key: str, entry: JournalEntry, lines: list[Line], reversal_of: str | None = None) -> None:
        assert entry.number < 0, "numbered only when asked, or at the commit"
        number_entries(self.session)
        assert entry.number == self.last_number + 1, "entry numbers must have no gaps"
        assert entry.idempotency_key == key
        assert multiset(queries.entry_lines(self.session, entry.id)) == multiset(lines)
        self.last_number = entry.number
        self.entries[key] = ModelEntry(id=entry.id, number=entry.number, lines=lines, reversal_of=reversal_of)
        for line in lines:
            self.expected[bucket_of(line)] += line.amount_cents

    def _state(self) -> tuple[int, int]:
        """(entries, last entry number): what a refused or repeated booking must leave as it was."""
        return self._entry_count(), peek_last_number(self.session, series=JOURNAL_SERIES)

    def _unchanged(self, before: tuple[int, int]) -> None:
        assert self._state() == before

    # --- rules ---

    @rule(target=keys, lines=balanced_lines())
    def post_new(self, lines: list[Line]):  # type: ignore[no-untyped-def]
        key = self._fresh_key("entry")
        if self._overdraws(lines):
            before = self._state()
            with pytest.raises(InsufficientFunds):
                service.post(self.session, key=key, lines=lines, description="random")
            self._unchanged(before)
            event("post: refused, insufficient funds")
            return multiple()
        entry = service.post(self.session, key=key, lines=lines, description="random")
        event("post: booked")
        self._book(key, entry, lines)
        return key

    @rule(key=keys, rnd=st.randoms(use_true_random=False))
    def repost_same_key_and_lines(self, key: str, rnd: random.Random) -> None:
        known = self.entries[key]
        lines = list(known.lines)
        rnd.shuffle(lines)
        before = self._state()
        again = service.post(self.session, key=key, lines=lines, description="retry")
        assert (again.id, again.number) == (known.id, known.number)
        self._unchanged(before)

    @rule(key=keys, change=st.sampled_from(["double", "negate", "extra-line", "drop-transfer", "move-dimension"]),
          extra=balanced_lines())
    def repost_key_with_other_lines(self, key: str, change: str, extra: list[Line]) -> None:
        known = self.entries[key]
        if change == "double":
            lines = [Line(ln.account, 2 * ln.amount_cents, ln.member_id, None, ln.fund_id) for ln in known.lines]
        elif change == "negate":
            lines = [Line(ln.account, -ln.amount_cents, ln.member_id, None, ln.fund_id) for ln in known.lines]
        elif change == "extra-line":
            lines = known.lines + extra
        elif change == "drop-transfer" and len(known.lines) > 2:
            lines = known.lines[:-2] if sum(ln.amount_cents for ln in known.lines[:-2]) == 0 else known.lines + extra
        else:
            first = known.lines[0]
            other_fund = next(f for f in FUND_IDS if f != first.fund_id)
            lines = [Line(first.account, first.amount_cents, first.member_id, None, other_fund), *known.lines[1:]]
        before = self._state()
        if multiset(lines) == multiset(known.lines):  # e.g. negating [A +5, A -5]: the same lines after all
            assert service.post(self.session, key=key, lines=lines, description="retry").id == known.id
        else:
            with pytest.raises(IdempotencyConflict):
                service.post(self.session, key=key, lines=lines, description="conflicting retry")
            event(f"repost: conflict ({change})")
        self._unchanged(before)
        assert multiset(queries.entry_lines(self.session, known.id)) == multiset(known.lines)

    @rule(target=keys, key=keys, reuse_key=st.booleans())
    def reverse(self, key: str, reuse_key: bool):  # type: ignore[no-untyped-def]
        known = self.entries[key]
        entry = self.session.get(JournalEntry, known.id)
        assert entry is not None
        before = self._state()
        if known.reversal_of is not None:
            with pytest.raises(Conflict):
                service.reverse(self.session, entry=entry, key=self._fresh_key("reversal"))
            self._unchanged(before)
            event("reverse: a reversal, refused")
            return multiple()
        if known.reversed_by is not None:
            reversal = self.entries[known.reversed_by]
            if reuse_key:
                again = service.reverse(self.session, entry=entry, key=known.reversed_by)
                assert (again.id, again.number) == (reversal.id, reversal.number)
            else:
                with pytest.raises(AlreadyReversed):
                    service.reverse(self.session, entry=entry, key=self._fresh_key("reversal"))
            event(f"reverse: already reversed (same key: {reuse_key})")
            self._unchanged(before)
            return multiple()
        mirrored = [Line(ln.account, -ln.amount_cents, ln.member_id, None, ln.fund_id) for ln in known.lines]
        new_key = self._fresh_key("reversal")
        if self._overdraws(mirrored):
            with pytest.raises(InsufficientFunds):
                service.reverse(self.session, entry=entry, key=new_key)
            self._unchanged(before)
            event("reverse: refused, insufficient funds")
            return multiple()
        reversal = service.reverse(self.session, entry=entry, key=new_key)
        assert reversal.reversal_of == known.id
        self._book(new_key, reversal, mirrored, reversal_of=key)
        known.reversed_by = new_key
        event("reverse: booked")
        return new_key

    # --- invariants ---

    @invariant()
    def books_balance(self) -> None:
        total, unbalanced = queries.global_sums(self.session)
        assert total == 0
        assert unbalanced == 0

    @invariant()
    def balances_match_the_model(self) -> None:
        for account in ACCOUNTS:
            expected = sum(v for b, v in self.expected.items() if b[0] == account)
            assert queries.balance(self.session, account=account) == self.baseline_accounts[account] + expected
        for bucket, moved in self.expected.items():
            assert balance_of(self.session, bucket) == self.baseline[bucket] + moved, bucket

    @invariant()
    def funds_are_never_overdrawn(self) -> None:
        """Straight from the postings (not through balance()): no fund bucket is below zero."""
        per_bucket = self.session.execute(
            sa_select(Account.code, Posting.member_id, Posting.project_id, Posting.fund_id,
                      func.sum(Posting.amount_cents))
            .join(Account, col(Account.id) == col(Posting.account_id))
            .where(col(Account.no_overdraft).is_(True))
            .group_by(col(Account.code), col(Posting.member_id), col(Posting.project_id), col(Posting.fund_id))
        ).all()
        for code, member_id, project_id, fund_id, total in per_bucket:
            assert total <= 0, f"{code} bucket {(member_id, project_id, fund_id)} overdrawn: {total}"

    @invariant()
    def every_entry_is_booked_once_without_gaps(self) -> None:
        assert self._state() == (self.baseline_entries + len(self.entries), self.last_number)


LEDGER_SETTINGS = settings(
    max_examples=25,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_ledger_state_machine(session: Session) -> None:
    run_state_machine_as_test(lambda: LedgerMachine(session), settings=LEDGER_SETTINGS)  # type: ignore[arg-type]

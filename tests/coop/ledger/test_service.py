"""service.post, service.reverse and the ledger queries, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from coop.core.clock import frozen_clock
from coop.core.errors import Conflict, InvalidInput
from coop.ledger import queries, service
from coop.ledger.models import Account, JournalEntry, Posting, Side
from coop.ledger.schemas import Line
from coop.ledger.service import (
    AlreadyReversed,
    IdempotencyConflict,
    ImmutableLedger,
    InsufficientFunds,
    UnbalancedEntry,
)
from tests.coop.ledger.support import (
    BANK,
    FEES,
    FUNDS,
    PAYABLE,
    RESERVED,
    REVENUE,
    VAT,
    available,
    deposit,
    multiset,
    new_key,
    row_counts,
    withdraw,
)


def post(session: Session, lines: list[Line], *, key: str | None = None, **kwargs: object) -> JournalEntry:
    """service.post with a fresh key and a description unless given, numbered at once (as the ledger API shows it)."""
    kwargs.setdefault("description", "test booking")
    entry = service.post(session, key=key or new_key(), lines=lines, **kwargs)  # type: ignore[arg-type]
    service.number_entries(session)
    return entry


def sale(cents: int = 1000, **dims: uuid.UUID | None) -> list[Line]:
    """Money in at the bank against revenue."""
    return [Line(BANK, cents, **dims), Line(REVENUE, -cents, **dims)]


# --- validation -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        pytest.param([Line(BANK, 1000), Line(REVENUE, -999)], "lines", id="sum-is-not-zero"),
        pytest.param([Line(BANK, 1000), Line(REVENUE, -1000), Line(FEES, 1)], "lines", id="three-lines-off-by-one"),
        pytest.param([Line(BANK, 1000)], "lines", id="one-line"),
        pytest.param([], "lines", id="no-lines"),
        pytest.param([Line(BANK, 0), Line(REVENUE, 0)], "lines.0.amount_cents", id="zero-amounts"),
        pytest.param([Line(BANK, 500), Line(REVENUE, -500), Line(FEES, 0)], "lines.2.amount_cents",
                     id="balanced-but-a-zero-line"),
        pytest.param([Line(BANK, True), Line(REVENUE, -1)], "lines.0.amount_cents", id="bool-that-balances"),
        pytest.param([Line(BANK, 1), Line(REVENUE, -True)], None, id="negated-bool-is-an-int"),
        pytest.param([Line(BANK, 10.0), Line(REVENUE, -10.0)], "lines.0.amount_cents", id="whole-float"),
        pytest.param([Line(BANK, 10.5), Line(REVENUE, -10.5)], "lines.0.amount_cents", id="fractional-float"),
        pytest.param([Line(BANK, 100), Line(REVENUE, -100.0)], "lines.1.amount_cents", id="float-in-second-line"),
        pytest.param([Line(BANK, Decimal(10)), Line(REVENUE, Decimal(-10))], "lines.0.amount_cents",
                     id="decimal"),
    ],
)
def test_improper_lines_raise_unbalanced_entry_and_write_nothing(
    session: Session, lines: list[Line], field: str | None
) -> None:
    before = row_counts(session)
    if field is None:
        # -True is the int -1, not a bool: this one is a proper entry, kept as a control.
        post(session, lines)
        assert row_counts(session)[0] == before[0] + 1
        return
    with pytest.raises(UnbalancedEntry) as refused:
        post(session, lines)
    assert refused.value.status == 422
    assert refused.value.field == field
    assert row_counts(session) == before


def test_an_unbalanced_repeat_of_a_known_key_is_still_refused_as_unbalanced(session: Session) -> None:
    key = new_key()
    post(session, sale(700), key=key)
    before = row_counts(session)
    with pytest.raises(UnbalancedEntry):
        post(session, [Line(BANK, 700), Line(REVENUE, -699)], key=key)
    assert row_counts(session) == before


def test_an_empty_key_is_refused(session: Session) -> None:
    before = row_counts(session)
    with pytest.raises(InvalidInput) as refused:
        service.post(session, key="", lines=sale(), description="no key")
    assert refused.value.field == "idempotency_key"
    assert row_counts(session) == before


def test_unknown_account_code_is_invalid_input_and_writes_nothing(session: Session) -> None:
    before = row_counts(session)
    with pytest.raises(InvalidInput) as refused:
        post(session, [Line(BANK, 100), Line("9999", -100)])
    assert not isinstance(refused.value, UnbalancedEntry)
    assert refused.value.status == 422
    assert refused.value.field == "lines"
    assert "9999" in refused.value.message
    assert row_counts(session) == before


def test_a_closed_account_cannot_be_posted_to(session: Session) -> None:
    fees = queries.account_by_code(session, FEES)
    assert fees is not None
    fees.active = False
    session.add(fees)
    session.flush()
    before = row_counts(session)
    with pytest.raises(InvalidInput, match="closed"):
        post(session, [Line(FEES, 100), Line(BANK, -100)])
    assert row_counts(session) == before


def test_a_balanced_entry_is_written_with_its_lines_and_metadata(session: Session) -> None:
    member, payment = uuid.uuid4(), uuid.uuid4()
    creator = uuid.uuid4()
    lines = [Line(BANK, 1210, member_id=member, payment_id=payment), Line(REVENUE, -1000, member_id=member),
             Line(VAT, -210)]
    before = row_counts(session)
    entry = post(session, lines, key="sub:42:paid", description="Subscription 42", booked_on=date(2024, 3, 1),
                 source_type="subscription", source_id="42", created_by=creator)
    assert row_counts(session) == (before[0] + 1, before[1] + 3, before[2] + 1)
    stored = session.get(JournalEntry, entry.id)
    assert stored is not None
    assert (stored.idempotency_key, stored.description, stored.booked_on) == (
        "sub:42:paid", "Subscription 42", date(2024, 3, 1))
    assert (stored.source_type, stored.source_id, stored.created_by, stored.reversal_of) == (
        "subscription", "42", creator, None)
    assert multiset(queries.entry_lines(session, entry.id)) == multiset(lines)
    assert queries.entry_by_key(session, "sub:42:paid") == stored


def test_booked_on_defaults_to_the_date_in_amsterdam(session: Session) -> None:
    # 22:30 UTC on 30 June is already 1 July in Amsterdam (CEST, UTC+2).
    with frozen_clock(datetime(2024, 6, 30, 22, 30, tzinfo=UTC)):
        entry = post(session, sale())
    assert entry.booked_on == date(2024, 7, 1)


# --- idempotency ------------------------------------------------------------------------------------------


def test_same_key_and_same_lines_in_any_order_return_the_same_entry(session: Session) -> None:
    fund, member = uuid.uuid4(), uuid.uuid4()
    lines = [Line(BANK, 2500), Line(REVENUE, -1500, member_id=member), Line(FUNDS, -1000, fund_id=fund)]
    key = new_key()
    first = post(session, lines, key=key, description="original")
    after_first = row_counts(session)
    for reordered in (lines, lines[::-1], [lines[1], lines[2], lines[0]]):
        again = post(session, list(reordered), key=key, description="a retry may say anything")
        assert again.id == first.id
        assert again.number == first.number
        assert again.description == "original"
    assert row_counts(session) == after_first
    assert multiset(queries.entry_lines(session, first.id)) == multiset(lines)


def test_repeating_a_key_does_not_re_check_funds(session: Session) -> None:
    """A retried withdrawal is the same booking, not a second withdrawal that could now bounce."""
    fund = uuid.uuid4()
    post(session, deposit(fund, 1000))
    key = new_key()
    first = post(session, withdraw(fund, 1000), key=key)
    assert available(session, fund) == 0
    assert post(session, withdraw(fund, 1000), key=key).id == first.id
    assert available(session, fund) == 0


@pytest.mark.parametrize(
    "other",
    [
        pytest.param([Line(BANK, 1001), Line(REVENUE, -1001)], id="other-amount"),
        pytest.param([Line(BANK, 1000), Line(VAT, -1000)], id="other-account"),
        pytest.param([Line(BANK, 1000, member_id=uuid.UUID(int=7)), Line(REVENUE, -1000)], id="other-dimension"),
        pytest.param([Line(BANK, -1000), Line(REVENUE, 1000)], id="mirrored"),
        pytest.param([Line(BANK, 500), Line(BANK, 500), Line(REVENUE, -1000)], id="split-line"),
        pytest.param([Line(BANK, 1000), Line(REVENUE, -1000), Line(FEES, 1), Line(BANK, -1)], id="extra-lines"),
    ],
)
def test_same_key_with_different_lines_is_an_idempotency_conflict(session: Session, other: list[Line]) -> None:
    key = new_key()
    original = [Line(BANK, 1000), Line(REVENUE, -1000)]
    first = post(session, original, key=key)
    before = row_counts(session)
    with pytest.raises(IdempotencyConflict) as refused:
        post(session, other, key=key)
    assert refused.value.status == 409
    assert refused.value.field == "idempotency_key"
    assert row_counts(session) == before
    assert multiset(queries.entry_lines(session, first.id)) == multiset(original)


def test_lines_are_compared_as_a_multiset_not_a_set(session: Session) -> None:
    key = new_key()
    post(session, [Line(BANK, 500), Line(BANK, 500), Line(REVENUE, -500), Line(REVENUE, -500)], key=key)
    before = row_counts(session)
    with pytest.raises(IdempotencyConflict):
        post(session, [Line(BANK, 500), Line(REVENUE, -500)], key=key)  # the same set of lines, once each
    assert row_counts(session) == before


# --- numbering --------------------------------------------------------------------------------------------


def test_entry_numbers_increase_by_one_without_gaps_even_around_refusals(session: Session) -> None:
    fund = uuid.uuid4()
    start = row_counts(session)[2]
    numbers = [post(session, sale(100)).number, post(session, deposit(fund, 300)).number]

    with pytest.raises(UnbalancedEntry):
        post(session, [Line(BANK, 1), Line(REVENUE, -2)])
    with pytest.raises(InsufficientFunds):
        post(session, withdraw(fund, 301))
    with pytest.raises(InvalidInput):
        post(session, [Line(BANK, 1), Line("0000", -1)])
    repeated_key = new_key()
    numbers.append(post(session, sale(5), key=repeated_key).number)
    assert post(session, sale(5), key=repeated_key).number == numbers[-1]
    with pytest.raises(IdempotencyConflict):
        post(session, sale(6), key=repeated_key)

    # A failed insert (a second reversal of one entry, straight through post) rolls its number back.
    target = post(session, sale(40))
    numbers.append(target.number)
    numbers.append(post(session, sale(-40)[::-1], reversal_of=target.id).number)
    with pytest.raises(AlreadyReversed):
        post(session, [Line(BANK, -40), Line(REVENUE, 40)], reversal_of=target.id)
    numbers.append(post(session, sale(7)).number)

    assert numbers == list(range(start + 1, start + 1 + len(numbers)))
    assert row_counts(session)[2] == numbers[-1]
    stored = session.exec(select(JournalEntry.number).where(col(JournalEntry.number) > start)
                          .order_by(col(JournalEntry.number))).all()
    assert list(stored) == numbers


def test_entries_get_their_numbers_at_the_commit_in_booking_order(session: Session) -> None:
    start = row_counts(session)[2]
    booked = [service.post(session, key=new_key(), lines=sale(cents), description="later numbered")
              for cents in (100, 200, 300)]
    assert all(entry.number < 0 for entry in booked), "provisional until the commit"
    assert row_counts(session)[2] == start, "the series is not touched (nor locked) before the commit"

    session.commit()
    assert [entry.number for entry in booked] == [start + 1, start + 2, start + 3]
    stored = session.exec(select(JournalEntry.number).where(col(JournalEntry.id).in_([e.id for e in booked]))
                          .order_by(col(JournalEntry.number))).all()
    assert list(stored) == [start + 1, start + 2, start + 3]
    assert session.exec(select(func.count()).select_from(JournalEntry).where(col(JournalEntry.number) < 0)).one() == 0


def test_a_savepoint_rolled_back_after_a_booking_leaves_it_to_be_numbered(session: Session) -> None:
    start = row_counts(session)[2]
    kept = service.post(session, key=new_key(), lines=sale(100), description="kept")
    with pytest.raises(AlreadyReversed):  # its insert fails in a savepoint, which is rolled back
        service.post(session, key=new_key(), lines=sale(-100)[::-1], description="twice", reversal_of=kept.id)
        service.post(session, key=new_key(), lines=sale(-100)[::-1], description="twice", reversal_of=kept.id)
    outer = session.begin_nested()
    service.post(session, key=new_key(), lines=sale(5), description="rolled back with its savepoint")
    outer.rollback()
    session.commit()
    assert kept.number == start + 1
    assert session.exec(select(func.count()).select_from(JournalEntry).where(col(JournalEntry.number) < 0)).one() == 0
    assert row_counts(session)[2] == start + 2  # the one reversal that was booked


def test_a_rolled_back_booking_uses_no_number(session: Session) -> None:
    start = row_counts(session)[2]
    service.post(session, key=new_key(), lines=sale(100), description="rolled back")
    session.rollback()
    kept = service.post(session, key=new_key(), lines=sale(100), description="kept")
    session.commit()
    assert kept.number == start + 1


# --- no overdraft -----------------------------------------------------------------------------------------


def test_funds_available_is_a_credit_normal_no_overdraft_account(session: Session) -> None:
    account = queries.account_by_code(session, FUNDS)
    assert account is not None
    assert account.no_overdraft is True
    assert account.normal_side is Side.CREDIT


def test_a_fund_can_be_spent_down_to_zero_and_not_below(session: Session) -> None:
    fund = uuid.uuid4()
    post(session, deposit(fund, 10_000))
    assert available(session, fund) == 10_000
    post(session, withdraw(fund, 6_000))
    assert available(session, fund) == 4_000

    before = row_counts(session)
    with pytest.raises(InsufficientFunds) as refused:
        post(session, withdraw(fund, 4_001))
    assert refused.value.status == 409
    assert "1 cents" in refused.value.message
    assert row_counts(session) == before
    assert available(session, fund) == 4_000

    post(session, withdraw(fund, 4_000))
    assert available(session, fund) == 0
    with pytest.raises(InsufficientFunds):
        post(session, withdraw(fund, 1))
    assert available(session, fund) == 0


def test_an_empty_fund_cannot_be_spent_at_all(session: Session) -> None:
    with pytest.raises(InsufficientFunds):
        post(session, withdraw(uuid.uuid4(), 1))


def test_one_funds_money_cannot_be_spent_for_another_fund(session: Session) -> None:
    fund_a, fund_b = uuid.uuid4(), uuid.uuid4()
    post(session, deposit(fund_a, 10_000))
    before = row_counts(session)
    with pytest.raises(InsufficientFunds):
        post(session, withdraw(fund_b, 1_000))
    with pytest.raises(InsufficientFunds):
        post(session, withdraw(None, 1_000))  # nor as money without a fund
    with pytest.raises(InsufficientFunds):
        post(session, withdraw(fund_a, 1_000, member_id=uuid.uuid4()))  # nor under another member dimension
    assert row_counts(session) == before
    assert available(session, fund_a) == 10_000
    assert available(session, fund_b) == 0
    # The account as a whole has money: the check is per dimension, not per account.
    assert queries.balance(session, account=FUNDS, fund_id=fund_a) == -10_000


def test_moving_money_between_funds_in_one_entry_is_checked_per_fund(session: Session) -> None:
    fund_a, fund_b = uuid.uuid4(), uuid.uuid4()
    post(session, deposit(fund_a, 5_000))
    with pytest.raises(InsufficientFunds):
        post(session, [Line(FUNDS, 5_001, fund_id=fund_a), Line(FUNDS, -5_001, fund_id=fund_b)])
    post(session, [Line(FUNDS, 5_000, fund_id=fund_a), Line(FUNDS, -5_000, fund_id=fund_b)])
    assert (available(session, fund_a), available(session, fund_b)) == (0, 5_000)
    # Several lines on one bucket in one entry are netted before the check.
    post(session, [Line(FUNDS, 3_000, fund_id=fund_b), Line(FUNDS, 3_000, fund_id=fund_b),
                   Line(FUNDS, -1_000, fund_id=fund_b), Line(PAYABLE, -5_000)])
    assert available(session, fund_b) == 0


def test_reservations_cannot_release_more_than_was_reserved(session: Session) -> None:
    fund, project = uuid.uuid4(), uuid.uuid4()
    post(session, deposit(fund, 3_000))
    post(session, [Line(FUNDS, 3_000, fund_id=fund), Line(RESERVED, -3_000, fund_id=fund, project_id=project)])
    assert available(session, fund) == 0
    release = [Line(RESERVED, 3_000, fund_id=fund, project_id=project), Line(PAYABLE, -3_000)]
    post(session, release)
    with pytest.raises(InsufficientFunds):
        post(session, release)


def test_a_debit_normal_no_overdraft_account_cannot_go_below_zero(session: Session) -> None:
    bank = session.exec(select(Account).where(Account.code == BANK)).one()
    bank.no_overdraft = True
    session.add(bank)
    session.flush()
    member = uuid.uuid4()
    post(session, [Line(BANK, 500, member_id=member), Line(REVENUE, -500)])
    with pytest.raises(InsufficientFunds):
        post(session, [Line(BANK, -501, member_id=member), Line(REVENUE, 501)])
    post(session, [Line(BANK, -500, member_id=member), Line(REVENUE, 500)])
    assert queries.balance(session, account=BANK, member_id=member) == 0


# --- reversal ---------------------------------------------------------------------------------------------


def test_reverse_posts_the_mirror_image_and_leaves_the_original(session: Session) -> None:
    member, fund, payment = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    lines = [Line(BANK, 1500, member_id=member, payment_id=payment), Line(REVENUE, -500, member_id=member),
             Line(FUNDS, -1000, fund_id=fund)]
    original = post(session, lines, description="gift", booked_on=date(2024, 1, 5))
    before = row_counts(session)
    reversal = service.reverse(session, entry=original, key=new_key("rev"), booked_on=date(2024, 1, 9))
    service.number_entries(session)

    assert row_counts(session) == (before[0] + 1, before[1] + 3, before[2] + 1)
    assert reversal.id != original.id
    assert reversal.number == original.number + 1
    assert reversal.reversal_of == original.id
    assert (reversal.source_type, reversal.source_id) == ("reversal", str(original.id))
    assert reversal.booked_on == date(2024, 1, 9)
    assert f"entry {original.number}" in reversal.description
    mirrored = [Line(ln.account, -ln.amount_cents, ln.member_id, ln.project_id, ln.fund_id, ln.payment_id)
                for ln in lines]
    assert multiset(queries.entry_lines(session, reversal.id)) == multiset(mirrored)
    assert multiset(queries.entry_lines(session, original.id)) == multiset(lines)
    for dims in ({"member_id": member}, {"fund_id": fund}, {"payment_id": payment}):
        for code in (BANK, REVENUE, FUNDS):
            assert queries.balance(session, account=code, **dims) == 0


def test_an_entry_reversed_in_the_transaction_that_booked_it_is_named_by_its_final_number(session: Session) -> None:
    original = service.post(session, key=new_key(), lines=sale(250), description="sale")
    reversal = service.reverse(session, entry=original, key=new_key("rev"))
    session.commit()
    assert original.number > 0
    assert reversal.number == original.number + 1
    assert reversal.description.startswith(f"Reversal of entry {original.number}: ")


def test_an_entry_is_reversed_once(session: Session) -> None:
    original = post(session, sale(800))
    key = new_key("rev")
    reversal = service.reverse(session, entry=original, key=key)
    service.number_entries(session)
    before = row_counts(session)

    again = service.reverse(session, entry=original, key=key)
    assert again.id == reversal.id
    with pytest.raises(AlreadyReversed) as refused:
        service.reverse(session, entry=original, key=new_key("rev"))
    assert refused.value.status == 409
    assert str(reversal.number) in refused.value.message
    assert row_counts(session) == before


def test_a_reversal_cannot_be_reversed(session: Session) -> None:
    reversal = service.reverse(session, entry=post(session, sale(300)), key=new_key("rev"))
    before = row_counts(session)
    with pytest.raises(Conflict) as refused:
        service.reverse(session, entry=reversal, key=new_key("rev"))
    assert refused.value.status == 409
    assert row_counts(session) == before


def test_a_reversal_key_used_for_another_booking_is_a_conflict(session: Session) -> None:
    key = new_key()
    post(session, sale(100), key=key)
    other = post(session, sale(200))
    with pytest.raises(IdempotencyConflict):
        service.reverse(session, entry=other, key=key)
    assert service.reverse(session, entry=other, key=new_key("rev")).reversal_of == other.id


def test_reversing_a_deposit_that_was_spent_would_overdraw_the_fund(session: Session) -> None:
    fund = uuid.uuid4()
    gift = post(session, deposit(fund, 2_000))
    grant = post(session, withdraw(fund, 1_500))
    with pytest.raises(InsufficientFunds):
        service.reverse(session, entry=gift, key=new_key("rev"))
    service.reverse(session, entry=grant, key=new_key("rev"))
    service.reverse(session, entry=gift, key=new_key("rev"))
    assert available(session, fund) == 0


def test_get_entry_of_an_unknown_id_is_not_found(session: Session) -> None:
    from coop.core.errors import NotFound

    with pytest.raises(NotFound):
        service.get_entry(session, entry_id=uuid.uuid4())


# --- balances ---------------------------------------------------------------------------------------------


def test_balance_at_a_date_counts_entries_booked_on_or_before_it(session: Session) -> None:
    fund = uuid.uuid4()  # a dimension no other booking uses
    for day, cents in ((date(2001, 1, 10), 100), (date(2001, 2, 10), 200), (date(2001, 3, 10), 400)):
        post(session, [Line(BANK, cents, fund_id=fund), Line(REVENUE, -cents, fund_id=fund)], booked_on=day)
    # Booked later than it was created: the booking date counts, not the insert order.
    post(session, [Line(BANK, 800, fund_id=fund), Line(REVENUE, -800, fund_id=fund)], booked_on=date(2000, 12, 31))

    def bank_at(at: date | None) -> int:
        return queries.balance(session, account=BANK, at=at, fund_id=fund)

    assert bank_at(date(2000, 12, 30)) == 0
    assert bank_at(date(2000, 12, 31)) == 800
    assert bank_at(date(2001, 1, 9)) == 800
    assert bank_at(date(2001, 1, 10)) == 900
    assert bank_at(date(2001, 2, 9)) == 900
    assert bank_at(date(2001, 2, 10)) == 1100
    assert bank_at(date(2001, 3, 10)) == 1500
    assert bank_at(None) == 1500
    assert queries.balance(session, account=REVENUE, at=date(2001, 2, 10), fund_id=fund) == -1100


def test_balance_filters_on_passed_dimensions_and_sums_over_the_rest(session: Session) -> None:
    project, member, fund, payment = (uuid.uuid4() for _ in range(4))
    # Every line carries `project` so that nothing outside this test is counted.
    rows = [
        ({"member_id": member}, 1),
        ({"member_id": member, "fund_id": fund}, 2),
        ({"fund_id": fund}, 4),
        ({}, 8),
        ({"payment_id": payment}, 16),
    ]
    for dims, cents in rows:
        post(session, [Line(BANK, cents, project_id=project, **dims), Line(REVENUE, -cents, project_id=project)])

    def bank(**dims: uuid.UUID | None) -> int:
        return queries.balance(session, account=BANK, project_id=project, **dims)

    assert bank() == 31
    assert bank(member_id=member) == 3
    assert bank(member_id=None) == 28
    assert bank(fund_id=fund) == 6
    assert bank(fund_id=None) == 25
    assert bank(member_id=member, fund_id=None) == 1
    assert bank(member_id=None, fund_id=None) == 24
    assert bank(member_id=None, fund_id=None, payment_id=None) == 8
    assert bank(payment_id=payment) == 16
    assert bank(member_id=uuid.uuid4()) == 0
    assert queries.balance(session, account=REVENUE, project_id=project) == -31
    assert queries.balance(session, account=REVENUE, project_id=project, member_id=member) == 0


def test_balance_refuses_unknown_dimensions_and_is_zero_for_unknown_accounts(session: Session) -> None:
    with pytest.raises(TypeError):
        queries.balance(session, account=BANK, colour=None)
    assert queries.balance(session, account="9999") == 0


# --- trial balance ----------------------------------------------------------------------------------------


def test_trial_balance_reports_opening_movements_and_closing_per_account(session: Session) -> None:
    start, end = date(1999, 1, 1), date(1999, 1, 31)
    post(session, sale(1_000), booked_on=date(1998, 12, 31))  # opening only
    post(session, sale(500), booked_on=start)  # first day counts
    post(session, [Line(FEES, 30), Line(BANK, -30)], booked_on=end)  # last day counts
    refund = post(session, sale(200), booked_on=date(1999, 1, 10))
    service.reverse(session, entry=refund, key=new_key("rev"), booked_on=date(1999, 1, 20))
    post(session, [Line(BANK, 7), Line(VAT, -7)], booked_on=date(1999, 2, 1))  # after the period: left out

    report = queries.trial_balance(session, start=start, end=end)
    assert (report.start, report.end) == (start, end)
    rows = {row.code: row for row in report.accounts}
    assert list(rows) == [BANK, FEES, REVENUE]  # ordered by code; VAT only moves after `end`
    bank, fees, revenue = rows[BANK], rows[FEES], rows[REVENUE]
    assert (bank.opening_cents, bank.debit_cents, bank.credit_cents, bank.balance_cents) == (1_000, 700, 230, 1_470)
    assert (fees.opening_cents, fees.debit_cents, fees.credit_cents, fees.balance_cents) == (0, 30, 0, 30)
    assert (revenue.opening_cents, revenue.debit_cents, revenue.credit_cents, revenue.balance_cents) == (
        -1_000, 200, 700, -1_500)
    assert (bank.name, bank.type) == ("Bank", "asset")
    assert (revenue.name, revenue.type) == ("Subscription revenue", "revenue")
    assert report.total_cents == 0
    for row in report.accounts:
        assert row.balance_cents == row.opening_cents + row.debit_cents - row.credit_cents
        assert row.balance_cents == queries.balance(session, account=row.code, at=end)


def test_trial_balance_of_a_quiet_period_carries_the_opening_balances(session: Session) -> None:
    post(session, sale(250), booked_on=date(1997, 5, 5))
    report = queries.trial_balance(session, start=date(1997, 6, 1), end=date(1997, 6, 30))
    assert [(r.code, r.opening_cents, r.debit_cents, r.credit_cents, r.balance_cents) for r in report.accounts] == [
        (BANK, 250, 0, 0, 250), (REVENUE, -250, 0, 0, -250)]
    assert report.total_cents == 0
    empty = queries.trial_balance(session, start=date(1990, 1, 1), end=date(1990, 12, 31))
    assert (empty.accounts, empty.total_cents) == ([], 0)


# --- immutability -----------------------------------------------------------------------------------------


def _stored_entry(session: Session, entry_id: uuid.UUID) -> tuple[object, ...]:
    table = JournalEntry.__table__  # type: ignore[attr-defined]
    return tuple(session.execute(sa_select(table).where(table.c.id == entry_id)).one())


def _stored_postings(session: Session, entry_id: uuid.UUID) -> set[tuple[object, ...]]:
    table = Posting.__table__  # type: ignore[attr-defined]
    return {tuple(row) for row in session.execute(sa_select(table).where(table.c.entry_id == entry_id)).all()}


def test_editing_an_entry_through_the_orm_is_refused(session: Session) -> None:
    entry = post(session, sale(123), description="as booked")
    stored = _stored_entry(session, entry.id)
    entry.description = "tampered"
    session.add(entry)
    with pytest.raises(ImmutableLedger):
        session.flush()
    session.expire(entry)  # drop the refused change so the test can go on
    assert _stored_entry(session, entry.id) == stored
    assert entry.description == "as booked"


def test_editing_a_posting_through_the_orm_is_refused(session: Session) -> None:
    entry = post(session, sale(123))
    stored = _stored_postings(session, entry.id)
    posting = session.exec(select(Posting).where(Posting.entry_id == entry.id)).first()
    assert posting is not None
    posting.amount_cents += 1
    with pytest.raises(ImmutableLedger):
        session.commit()
    session.expire(posting)
    assert _stored_postings(session, entry.id) == stored


@pytest.mark.parametrize("kind", ["entry", "posting"])
def test_deleting_ledger_rows_through_the_orm_is_refused(session: Session, kind: str) -> None:
    entry = post(session, sale(321))
    stored = (_stored_entry(session, entry.id), _stored_postings(session, entry.id))
    victim: JournalEntry | Posting
    if kind == "entry":
        victim = entry
    else:
        found = session.exec(select(Posting).where(Posting.entry_id == entry.id)).first()
        assert found is not None
        victim = found
    session.delete(victim)
    with pytest.raises(ImmutableLedger):
        session.flush()
    session.expunge(victim)  # forget the pending delete
    assert (_stored_entry(session, entry.id), _stored_postings(session, entry.id)) == stored


@pytest.mark.parametrize("statement", ["update-entry", "delete-posting"])
def test_bulk_statements_on_ledger_rows_are_refused(session: Session, statement: str) -> None:
    from sqlalchemy import delete, update

    entry = post(session, sale(555))
    stored = (_stored_entry(session, entry.id), _stored_postings(session, entry.id))
    bulk = (update(JournalEntry).where(JournalEntry.id == entry.id).values(description="tampered")
            if statement == "update-entry" else delete(Posting).where(Posting.entry_id == entry.id))
    with pytest.raises(ImmutableLedger):
        session.execute(bulk)
    assert (_stored_entry(session, entry.id), _stored_postings(session, entry.id)) == stored


def test_a_posting_cannot_be_added_to_a_booked_entry(session: Session) -> None:
    entry = post(session, sale(700))
    stored = _stored_postings(session, entry.id)
    account = session.exec(select(Posting.account_id).where(Posting.entry_id == entry.id)).first()
    session.add(Posting(entry_id=entry.id, account_id=account, amount_cents=1))
    with pytest.raises(ImmutableLedger):
        session.flush()
    session.expunge_all()
    assert _stored_postings(session, entry.id) == stored

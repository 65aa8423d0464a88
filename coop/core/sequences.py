"""Gap-free number series (member numbers, certificates, invoices, journal entries), and references.

A counter row is incremented inside the caller's transaction: the UPDATE takes a
row lock, so concurrent callers queue, and a rollback gives the number back.
That is what makes the series gap-free, unlike a database SEQUENCE.

A reference only has to be unique (a payment's `KR...`): on PostgreSQL it comes from
a SEQUENCE, which holds no lock until the transaction ends, so payments being made
at the same moment do not queue on one row; a rollback leaves a gap there.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, String, Table, exc, insert, text, update
from sqlmodel import Session, SQLModel

number_series = Table(
    "number_series",
    SQLModel.metadata,
    Column("name", String(64), primary_key=True),
    Column("last_value", BigInteger, nullable=False),
)


def next_number(session: Session, *, series: str, count: int = 1) -> int:
    """The next number of `series` (1, 2, 3, ...), never skipped and never reused; with `count`, the last of
    the next `count` numbers (a block taken in one statement)."""
    bump = (
        update(number_series)
        .where(number_series.c.name == series)
        .values(last_value=number_series.c.last_value + count)
        .returning(number_series.c.last_value)
    )
    value = session.execute(bump).scalar_one_or_none()
    if value is not None:
        return int(value)
    try:
        with session.begin_nested():
            session.execute(insert(number_series).values(name=series, last_value=count))
        return count
    except exc.IntegrityError:
        # Another transaction created the series first; now the row exists to lock.
        return int(session.execute(bump).scalar_one())


REFERENCE_SEQUENCES = {"payment_reference": "payment_reference_seq",
                       "ledger_entry_provisional": "ledger_entry_provisional_seq"}
"""The series that are references, not gap-free numbers, and their PostgreSQL sequence (see the migration)."""


def next_reference(session: Session, *, series: str) -> int:
    """The next number of a reference series: unique and increasing, not gap-free (SQLite: as `next_number`)."""
    if session.get_bind().dialect.name != "postgresql":
        return next_number(session, series=series)
    return int(session.execute(text(f"SELECT nextval('{REFERENCE_SEQUENCES[series]}')")).scalar_one())


def peek_last_number(session: Session, *, series: str) -> int:
    """The last number handed out in `series` (0 when none yet)."""
    value = session.execute(
        number_series.select().with_only_columns(number_series.c.last_value)
        .where(number_series.c.name == series)
    ).scalar_one_or_none()
    return int(value or 0)

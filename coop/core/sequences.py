"""Gap-free number series (member numbers, certificates, invoices, journal entries).

A counter row is incremented inside the caller's transaction: the UPDATE takes a
row lock, so concurrent callers queue, and a rollback gives the number back.
That is what makes the series gap-free, unlike a database SEQUENCE.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, String, Table, exc, insert, update
from sqlmodel import Session, SQLModel

number_series = Table(
    "number_series",
    SQLModel.metadata,
    Column("name", String(64), primary_key=True),
    Column("last_value", BigInteger, nullable=False),
)


def next_number(session: Session, *, series: str) -> int:
    """The next number of `series` (1, 2, 3, ...), never skipped and never reused."""
    bump = (
        update(number_series)
        .where(number_series.c.name == series)
        .values(last_value=number_series.c.last_value + 1)
        .returning(number_series.c.last_value)
    )
    value = session.execute(bump).scalar_one_or_none()
    if value is not None:
        return int(value)
    try:
        with session.begin_nested():
            session.execute(insert(number_series).values(name=series, last_value=1))
        return 1
    except exc.IntegrityError:
        # Another transaction created the series first; now the row exists to lock.
        return int(session.execute(bump).scalar_one())


def peek_last_number(session: Session, *, series: str) -> int:
    """The last number handed out in `series` (0 when none yet)."""
    value = session.execute(
        number_series.select().with_only_columns(number_series.c.last_value)
        .where(number_series.c.name == series)
    ).scalar_one_or_none()
    return int(value or 0)

"""The clock: aware UTC now, overridable for simulations outside production."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

_frozen_now: ContextVar[datetime | None] = ContextVar("kracht_frozen_now", default=None)


def utc_now() -> datetime:
    """Aware UTC now, or the frozen instant set by `frozen_clock`."""
    frozen = _frozen_now.get()
    return frozen if frozen is not None else datetime.now(UTC)


def today_amsterdam() -> date:
    """The booking date as people in the Netherlands see it."""
    return utc_now().astimezone(AMSTERDAM).date()


def ensure_aware(moment: datetime) -> datetime:
    """Refuse naive datetimes: they silently shift by an hour twice a year."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: give a timezone (UTC in storage)")
    return moment.astimezone(UTC)


@contextmanager
def frozen_clock(moment: datetime) -> Iterator[datetime]:
    """Run a block as if it were `moment` (simulations, `kracht jobs run --now`)."""
    token = _frozen_now.set(ensure_aware(moment))
    try:
        yield ensure_aware(moment)
    finally:
        _frozen_now.reset(token)

"""The clock is aware UTC and overridable; UTCDateTime stores UTC and gives back aware UTC on both databases."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, text
from sqlmodel import Session, select

from coop.core.clock import AMSTERDAM, ensure_aware, frozen_clock, today_amsterdam, utc_now
from coop.core.jobs import Job

NEW_YORK = ZoneInfo("America/New_York")


def test_utc_now_is_aware_utc_and_current() -> None:
    now = utc_now()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)


def test_frozen_clock_overrides_and_restores() -> None:
    moment = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    with frozen_clock(moment) as frozen:
        assert frozen == moment
        assert utc_now() == moment
        assert utc_now() == moment  # it does not tick
    after = utc_now()
    assert after != moment
    assert abs(after - datetime.now(UTC)) < timedelta(seconds=5)


def test_frozen_clock_restores_after_an_exception() -> None:
    moment = datetime(2030, 1, 1, tzinfo=UTC)
    with pytest.raises(RuntimeError), frozen_clock(moment):
        raise RuntimeError("inside")
    assert utc_now().year != 2030


def test_frozen_clock_nests() -> None:
    outer = datetime(2030, 1, 1, tzinfo=UTC)
    inner = datetime(2031, 6, 1, tzinfo=UTC)
    with frozen_clock(outer):
        with frozen_clock(inner):
            assert utc_now() == inner
        assert utc_now() == outer


def test_frozen_clock_converts_to_utc() -> None:
    moment = datetime(2030, 7, 1, 14, 0, tzinfo=AMSTERDAM)  # CEST, UTC+2
    with frozen_clock(moment) as frozen:
        assert frozen.utcoffset() == timedelta(0)
        assert utc_now() == datetime(2030, 7, 1, 12, 0, tzinfo=UTC)
        assert utc_now().utcoffset() == timedelta(0)


def test_frozen_clock_refuses_naive() -> None:
    with pytest.raises(ValueError, match="naive"), frozen_clock(datetime(2030, 1, 1)):
        pass  # pragma: no cover


def test_frozen_clock_is_per_thread() -> None:
    seen: list[datetime] = []
    with frozen_clock(datetime(2030, 1, 1, tzinfo=UTC)):
        worker = threading.Thread(target=lambda: seen.append(utc_now()))
        worker.start()
        worker.join()
    assert seen[0].year != 2030


@pytest.mark.parametrize(
    ("moment", "day"),
    [
        (datetime(2024, 12, 31, 23, 30, tzinfo=UTC), date(2025, 1, 1)),  # already new year in Amsterdam
        (datetime(2024, 6, 30, 22, 30, tzinfo=UTC), date(2024, 7, 1)),  # summer time, UTC+2
        (datetime(2024, 6, 30, 21, 30, tzinfo=UTC), date(2024, 6, 30)),
        (datetime(2024, 1, 15, 22, 59, tzinfo=UTC), date(2024, 1, 15)),  # winter time, UTC+1
        (datetime(2024, 1, 15, 23, 0, tzinfo=UTC), date(2024, 1, 16)),
    ],
)
def test_today_amsterdam_follows_the_dutch_calendar(moment: datetime, day: date) -> None:
    with frozen_clock(moment):
        assert today_amsterdam() == day


def test_ensure_aware() -> None:
    with pytest.raises(ValueError, match="naive"):
        ensure_aware(datetime(2024, 1, 1, 12, 0))
    converted = ensure_aware(datetime(2024, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=5))))
    assert converted == datetime(2024, 1, 1, 7, 0, tzinfo=UTC)
    assert converted.utcoffset() == timedelta(0)


# --- UTCDateTime through Job.run_after, on both databases -----------------------------------------------


def _raw_run_after(session: Session, name: str) -> object:
    """The stored value, bypassing the column type."""
    return session.execute(text("SELECT run_after FROM job WHERE name = :name"), {"name": name}).scalar_one()


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2024, 7, 1, 14, 0, 0, 123456, tzinfo=AMSTERDAM),  # summer, UTC+2
        datetime(2024, 1, 15, 7, 0, tzinfo=NEW_YORK),  # winter, UTC-5
        datetime(2024, 3, 31, 3, 30, tzinfo=timezone(timedelta(hours=13, minutes=45))),
    ],
)
def test_utc_datetime_round_trips_aware_utc(session: Session, moment: datetime) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # A non-UTC session zone: the driver then returns local times that must come back as UTC.
        session.execute(text("SET LOCAL TIME ZONE 'Asia/Kolkata'"))
    name = f"tests.types.{uuid.uuid4().hex}"
    job = Job(name=name, run_after=moment)
    session.add(job)
    session.flush()
    job_id = job.id
    session.expire_all()

    loaded = session.get(Job, job_id)
    assert loaded is not None
    assert loaded.run_after == moment
    assert loaded.run_after.utcoffset() == timedelta(0)
    assert loaded.run_after.replace(tzinfo=None) == moment.astimezone(UTC).replace(tzinfo=None)
    assert loaded.run_after.microsecond == moment.microsecond

    # The column stores UTC itself, not the local wall time.
    raw = _raw_run_after(session, name)
    utc_wall = moment.astimezone(UTC).replace(tzinfo=None)
    if isinstance(raw, str):  # SQLite keeps text without an offset
        assert datetime.fromisoformat(raw) == utc_wall
    else:
        assert isinstance(raw, datetime)
        assert raw.tzinfo is not None
        assert raw.utcoffset() == timedelta(hours=5, minutes=30)  # the session zone is really in effect
        assert raw == moment

    # Comparisons in SQL happen in UTC: the job is due one microsecond after, not before.
    due = session.exec(select(func.count()).select_from(Job).where(
        Job.name == name, Job.run_after <= moment.astimezone(UTC))).one()
    assert due == 1
    not_due = session.exec(select(func.count()).select_from(Job).where(
        Job.name == name, Job.run_after <= moment - timedelta(microseconds=1))).one()
    assert not_due == 0


def test_utc_datetime_null_stays_null(session: Session) -> None:
    job = Job(name=f"tests.types.{uuid.uuid4().hex}")
    session.add(job)
    session.flush()
    session.expire_all()
    loaded = session.get(Job, job.id)
    assert loaded is not None
    assert loaded.finished_at is None
    assert loaded.created_at.utcoffset() == timedelta(0)


def test_utc_datetime_refuses_naive_and_writes_nothing(session: Session) -> None:
    name = f"tests.types.{uuid.uuid4().hex}"
    session.add(Job(name=name, run_after=datetime(2024, 7, 1, 14, 0)))
    with pytest.raises(sa_exc.StatementError) as raised:
        session.flush()
    assert isinstance(raised.value.orig, ValueError)
    assert "naive" in str(raised.value.orig)
    session.rollback()

    count = session.exec(select(func.count()).select_from(Job).where(Job.name == name)).one()
    assert count == 0

"""Background jobs: enqueued in the caller's transaction, run once, retried with backoff, shared by workers.

`run_one`/`run_due` open their own transactions, so the tests that run jobs commit their
rows through `unit_of_work(database)` (never the rolled-back `session` fixture) and delete
them afterwards.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from coop.core.clock import frozen_clock, utc_now
from coop.core.db import unit_of_work
from coop.core.jobs import Job, JobStatus, enqueue, job_handler, run_due, run_one, worker_loop
from coop.core.sequences import next_number, number_series, peek_last_number

BUMP = "tests.core_jobs.bump"
BUMP_THEN_FAIL = "tests.core_jobs.bump_then_fail"
RECORD = "tests.core_jobs.record"

_recorded: list[tuple[str, float, float]] = []  # (marker, started, ended)
_recorded_lock = threading.Lock()


@job_handler(BUMP)
def _bump(session: Session, *, series: str) -> None:
    """A side effect in the job's transaction: the next number of `series`."""
    next_number(session, series=series)


@job_handler(BUMP_THEN_FAIL)
def _bump_then_fail(session: Session, *, series: str) -> None:
    """Write something, then fail: the write must be rolled back."""
    next_number(session, series=series)
    raise RuntimeError("boom")


@job_handler(RECORD)
def _record(session: Session, *, marker: str, pause: float = 0.0) -> None:
    """Note that the job ran, and when (slowly, so that concurrent workers overlap)."""
    started = time.monotonic()
    time.sleep(pause)
    with _recorded_lock:
        _recorded.append((marker, started, time.monotonic()))


class CommittedJobs:
    """Jobs and series committed to the test database, removed when the test ends."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.job_ids: list[uuid.UUID] = []
        self.series_names: list[str] = []

    def enqueue(self, name: str, args: dict[str, Any] | None = None, **kwargs: Any) -> uuid.UUID:
        with unit_of_work(self.engine) as session:
            job_id = enqueue(session, name=name, args=args, **kwargs).id
        self.job_ids.append(job_id)
        return job_id

    def get(self, job_id: uuid.UUID) -> Job:
        with Session(self.engine) as session:
            job = session.get(Job, job_id)
            assert job is not None
            return job

    def series(self) -> str:
        name = f"tests-jobs-{uuid.uuid4().hex[:12]}"
        self.series_names.append(name)
        return name

    def last_number(self, series: str) -> int:
        with Session(self.engine) as session:
            return peek_last_number(session, series=series)


def _all_job_ids(engine: Engine) -> set[uuid.UUID]:
    with engine.connect() as connection:
        return set(connection.execute(select(Job.__table__.c.id)).scalars())


@pytest.fixture
def jobs(database: Engine) -> Iterator[CommittedJobs]:
    """Committed jobs; afterwards every job row this test created is deleted.

    That includes rows `run_due` enqueued on the test's behalf (scheduled jobs), which
    is why the ids are compared before and after rather than only tracked.
    """
    before = _all_job_ids(database)
    committed = CommittedJobs(database)
    yield committed
    created = (_all_job_ids(database) - before) | set(committed.job_ids)
    with database.begin() as connection:
        if created:
            connection.execute(delete(Job.__table__).where(Job.__table__.c.id.in_(created)))
        if committed.series_names:
            connection.execute(delete(number_series).where(number_series.c.name.in_(committed.series_names)))


def _ids(ran: list[Job]) -> list[uuid.UUID]:
    return [job.id for job in ran]


def _whole_second_now() -> datetime:
    return utc_now().replace(microsecond=0)


# --- enqueue, in the caller's transaction --------------------------------------------------------------


def test_enqueue_adds_a_queued_job(session: Session) -> None:
    moment = datetime(2031, 5, 4, 3, 2, 1, tzinfo=utc_now().tzinfo)
    with frozen_clock(moment):
        job = enqueue(session, name=BUMP, args={"series": "x"})
    session.expire_all()
    stored = session.get(Job, job.id)
    assert stored is not None
    assert stored.name == BUMP
    assert stored.args == {"series": "x"}
    assert stored.status is JobStatus.QUEUED
    assert stored.attempts == 0
    assert stored.run_after == moment
    assert stored.created_at == moment
    assert stored.finished_at is None
    assert stored.last_error is None


def test_enqueue_keeps_an_explicit_run_after(session: Session) -> None:
    later = utc_now() + timedelta(days=3)
    job = enqueue(session, name=BUMP, args={"series": "x"}, run_after=later)
    session.expire_all()
    stored = session.get(Job, job.id)
    assert stored is not None
    assert stored.run_after == later
    assert stored.args == {"series": "x"}


def test_enqueue_without_args_stores_an_empty_dict(session: Session) -> None:
    job = enqueue(session, name=BUMP)
    session.expire_all()
    stored = session.get(Job, job.id)
    assert stored is not None
    assert stored.args == {}


def test_dedupe_key_enqueues_once(session: Session) -> None:
    key = f"tests:{uuid.uuid4().hex}"
    first = enqueue(session, name=BUMP, args={"series": "a"}, dedupe_key=key)
    second = enqueue(session, name=BUMP, args={"series": "b"}, dedupe_key=key)
    assert second.id == first.id
    assert second.args == {"series": "a"}
    count = session.exec(select(func.count()).select_from(Job).where(Job.dedupe_key == key)).one()
    assert count == 1
    other = enqueue(session, name=BUMP, args={"series": "a"}, dedupe_key=f"{key}:other")
    assert other.id != first.id


def test_enqueue_is_rolled_back_with_the_change_that_needed_it(session: Session) -> None:
    nested = session.begin_nested()
    job_id = enqueue(session, name=BUMP, args={"series": "x"}).id
    nested.rollback()
    assert session.exec(select(Job).where(Job.id == job_id)).first() is None


def test_a_name_has_one_handler() -> None:
    def another(session: Session, **_: Any) -> None:
        raise AssertionError("must never be registered")

    with pytest.raises(ValueError, match="registered twice"):
        job_handler(BUMP)(another)
    assert job_handler(BUMP)(_bump) is _bump  # registering the same function again is harmless


# --- running jobs (committed rows) ------------------------------------------------------------------------


def test_successful_job_runs_once_and_is_done(jobs: CommittedJobs) -> None:
    series = jobs.series()
    job_id = jobs.enqueue(BUMP, {"series": series})

    ran = run_due(jobs.engine, max_attempts=3)
    assert _ids(ran).count(job_id) == 1
    job = jobs.get(job_id)
    assert job.status is JobStatus.DONE
    assert job.attempts == 1
    assert job.finished_at is not None
    assert job.finished_at.utcoffset() == timedelta(0)
    assert job.last_error is None
    assert jobs.last_number(series) == 1  # the handler's write was committed

    again = run_due(jobs.engine, max_attempts=3)
    assert job_id not in _ids(again)
    assert jobs.get(job_id).attempts == 1
    assert jobs.last_number(series) == 1


def test_run_one_returns_the_job_it_ran(jobs: CommittedJobs) -> None:
    series = jobs.series()
    start = _whole_second_now() - timedelta(days=3650)  # older than anything else queued
    job_id = jobs.enqueue(BUMP, {"series": series}, run_after=start)
    with frozen_clock(start):
        job = run_one(jobs.engine, max_attempts=3)
    assert job is not None
    assert job.id == job_id
    assert job.status is JobStatus.DONE
    assert jobs.last_number(series) == 1


def test_nothing_due_returns_none(database: Engine) -> None:
    with frozen_clock(datetime(1971, 1, 1, tzinfo=utc_now().tzinfo)):  # before any job
        assert run_one(database, max_attempts=3) is None


def test_failing_job_is_retried_with_backoff_then_failed(jobs: CommittedJobs) -> None:
    series = jobs.series()
    start = _whole_second_now()
    job_id = jobs.enqueue(BUMP_THEN_FAIL, {"series": series}, run_after=start)

    with frozen_clock(start):
        ran = run_due(jobs.engine, max_attempts=3)
    assert _ids(ran).count(job_id) == 1  # not due again within the same pass
    job = jobs.get(job_id)
    assert job.status is JobStatus.QUEUED
    assert job.attempts == 1
    assert job.run_after == start + timedelta(seconds=30)
    assert job.last_error is not None
    assert job.last_error.startswith("RuntimeError: boom")
    assert job.finished_at is None
    assert jobs.last_number(series) == 0  # the handler's write was rolled back

    with frozen_clock(start + timedelta(seconds=29)):
        assert job_id not in _ids(run_due(jobs.engine, max_attempts=3))
    assert jobs.get(job_id).attempts == 1

    second_try = start + timedelta(seconds=30)
    with frozen_clock(second_try):
        assert _ids(run_due(jobs.engine, max_attempts=3)).count(job_id) == 1
    job = jobs.get(job_id)
    assert job.status is JobStatus.QUEUED
    assert job.attempts == 2
    assert job.run_after == second_try + timedelta(seconds=60)  # the wait doubles
    assert jobs.last_number(series) == 0

    third_try = second_try + timedelta(seconds=60)
    with frozen_clock(third_try):
        assert _ids(run_due(jobs.engine, max_attempts=3)).count(job_id) == 1
    job = jobs.get(job_id)
    assert job.status is JobStatus.FAILED
    assert job.attempts == 3
    assert job.finished_at == third_try
    assert job.last_error is not None
    assert "boom" in job.last_error
    assert jobs.last_number(series) == 0

    with frozen_clock(third_try + timedelta(days=30)):
        assert job_id not in _ids(run_due(jobs.engine, max_attempts=3))
    assert jobs.get(job_id).attempts == 3


def test_backoff_is_capped_at_six_hours(jobs: CommittedJobs) -> None:
    series = jobs.series()
    start = _whole_second_now()
    job_id = jobs.enqueue(BUMP_THEN_FAIL, {"series": series}, run_after=start)
    moment = start
    for attempt in range(1, 12):
        with frozen_clock(moment):
            run_due(jobs.engine, max_attempts=100)
        job = jobs.get(job_id)
        assert job.attempts == attempt
        wait = job.run_after - moment
        assert wait == timedelta(seconds=min(30 * 2 ** (attempt - 1), 6 * 3600))
        moment = job.run_after
    assert wait == timedelta(hours=6)


def test_unknown_job_name_fails_without_stopping_the_loop(jobs: CommittedJobs) -> None:
    series = jobs.series()
    start = _whole_second_now() - timedelta(days=3650)
    unknown = f"tests.core_jobs.nobody_handles_{uuid.uuid4().hex[:8]}"
    unknown_id = jobs.enqueue(unknown, run_after=start)
    good_id = jobs.enqueue(BUMP, {"series": series}, run_after=start + timedelta(seconds=1))

    ran = run_due(jobs.engine, max_attempts=1)
    assert unknown_id in _ids(ran)
    assert good_id in _ids(ran)
    assert _ids(ran).index(unknown_id) < _ids(ran).index(good_id)
    failed = jobs.get(unknown_id)
    assert failed.status is JobStatus.FAILED
    assert failed.last_error is not None
    assert "LookupError" in failed.last_error
    assert unknown in failed.last_error
    assert jobs.get(good_id).status is JobStatus.DONE
    assert jobs.last_number(series) == 1


def test_bad_arguments_fail_the_job_not_the_worker(jobs: CommittedJobs) -> None:
    start = _whole_second_now() - timedelta(days=3650)
    job_id = jobs.enqueue(BUMP, {"no_such_argument": 1}, run_after=start)
    with frozen_clock(start):
        job = run_one(jobs.engine, max_attempts=1)
    assert job is not None
    assert job.id == job_id
    assert jobs.get(job_id).status is JobStatus.FAILED
    assert "TypeError" in (jobs.get(job_id).last_error or "")


def test_frozen_clock_makes_a_future_job_due(jobs: CommittedJobs) -> None:
    series = jobs.series()
    later = _whole_second_now() + timedelta(days=2)
    job_id = jobs.enqueue(BUMP, {"series": series}, run_after=later)

    assert job_id not in _ids(run_due(jobs.engine, max_attempts=3))
    assert jobs.get(job_id).status is JobStatus.QUEUED
    assert jobs.get(job_id).attempts == 0

    with frozen_clock(later - timedelta(seconds=1)):
        assert job_id not in _ids(run_due(jobs.engine, max_attempts=3))
    with frozen_clock(later):
        assert job_id in _ids(run_due(jobs.engine, max_attempts=3))
    job = jobs.get(job_id)
    assert job.status is JobStatus.DONE
    assert job.finished_at == later
    assert jobs.last_number(series) == 1


def test_run_due_stops_at_the_limit(jobs: CommittedJobs) -> None:
    start = _whole_second_now() - timedelta(days=3650)
    series = jobs.series()
    ids = [jobs.enqueue(BUMP, {"series": series}, run_after=start + timedelta(seconds=i)) for i in range(3)]
    with frozen_clock(start + timedelta(seconds=10)):
        ran = run_due(jobs.engine, max_attempts=3, limit=2)
    assert _ids(ran) == ids[:2]
    assert jobs.get(ids[2]).status is JobStatus.QUEUED
    assert jobs.last_number(series) == 2


def test_worker_loop_runs_jobs_until_stopped(jobs: CommittedJobs) -> None:
    series = jobs.series()
    stop = threading.Event()
    worker = threading.Thread(
        target=worker_loop, args=(jobs.engine,), kwargs={"stop": stop, "poll_seconds": 0.05, "max_attempts": 3},
    )
    worker.start()
    try:
        job_id = jobs.enqueue(BUMP, {"series": series})
        deadline = time.monotonic() + 20
        while jobs.get(job_id).status is JobStatus.QUEUED and time.monotonic() < deadline:
            time.sleep(0.05)
        assert jobs.get(job_id).status is JobStatus.DONE
    finally:
        stop.set()
        worker.join(timeout=20)
    assert not worker.is_alive()
    assert jobs.last_number(series) == 1


# --- several workers, PostgreSQL only -------------------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.postgres_only
def test_concurrent_workers_run_each_job_exactly_once(jobs: CommittedJobs) -> None:
    prefix = f"tests-{uuid.uuid4().hex[:8]}"
    markers = [f"{prefix}-{i}" for i in range(10)]
    start = _whole_second_now() - timedelta(days=3650)
    ids = [jobs.enqueue(RECORD, {"marker": m, "pause": 0.05}, run_after=start + timedelta(seconds=i))
           for i, m in enumerate(markers)]

    barrier = threading.Barrier(2)
    results: dict[int, list[uuid.UUID]] = {}
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = _ids(run_due(jobs.engine, max_attempts=3))
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not any(worker.is_alive() for worker in workers)
    assert errors == []

    with _recorded_lock:
        runs = [(start, end) for marker, start, end in _recorded if marker.startswith(prefix)]
        counts = Counter(marker for marker, _, _ in _recorded if marker.startswith(prefix))
    assert counts == Counter(markers)  # every job ran, none twice
    # Skipping (not waiting on) the locked job lets the two workers run handlers at the same time;
    # a plain FOR UPDATE would serialise them.
    assert any(a_start < b_end and b_start < a_end
               for i, (a_start, a_end) in enumerate(runs) for b_start, b_end in runs[i + 1:])
    mine = set(ids)
    per_worker = [[job_id for job_id in results[i] if job_id in mine] for i in range(2)]
    assert sorted(per_worker[0] + per_worker[1]) == sorted(ids)
    assert all(per_worker), "both workers should have taken jobs"
    with Session(jobs.engine) as session:
        rows = session.exec(select(Job).where(col(Job.id).in_(ids))).all()
    assert {row.status for row in rows} == {JobStatus.DONE}
    assert {row.attempts for row in rows} == {1}

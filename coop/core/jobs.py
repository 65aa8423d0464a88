"""Background jobs as rows (transactional outbox): enqueued with the change that needs them.

Handlers are idempotent and receive ids only. A job runs in its own transaction;
a failure is rolled back and retried with exponential backoff. On PostgreSQL,
`FOR UPDATE SKIP LOCKED` lets several workers share the table.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, exc
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from coop.core.clock import utc_now
from coop.core.db import unit_of_work
from coop.core.types import UTCDateTime, str_enum

log = logging.getLogger("kracht.jobs")

JobHandler = Callable[..., None]
_HANDLERS: dict[str, JobHandler] = {}


class JobStatus(StrEnum):
    """Where a job is in its life."""

    QUEUED = "queued"
    DONE = "done"
    FAILED = "failed"


class Job(SQLModel, table=True):
    """A unit of background work, written in the transaction that needs it."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_due", "status", "run_after"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=100)
    args: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: JobStatus = Field(default=JobStatus.QUEUED, sa_type=str_enum(JobStatus))
    attempts: int = 0
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)
    run_after: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_column=Column(Text))


def job_handler(name: str) -> Callable[[JobHandler], JobHandler]:
    """Register `fn(session, **args)` as the handler of jobs called `name` (dotted, e.g. payments.reconcile)."""

    def register(fn: JobHandler) -> JobHandler:
        if name in _HANDLERS and _HANDLERS[name] is not fn:
            raise ValueError(f"job handler {name!r} registered twice")
        _HANDLERS[name] = fn
        return fn

    return register


_PERIODIC: dict[str, timedelta] = {}


def periodic(name: str, *, every: timedelta) -> None:
    """Run the job `name` (no arguments) once per `every`; the worker enqueues it when a slot starts."""
    if every.total_seconds() < 60:
        raise ValueError("periodic jobs run at most once a minute")
    _PERIODIC[name] = every


def schedule_periodic(session: Session, *, now: datetime) -> int:
    """Enqueue each periodic job once for the current slot (dedupe key name@slot); returns how many were new."""
    added = 0
    for name, every in sorted(_PERIODIC.items()):
        slot = int(now.timestamp() // every.total_seconds())
        key = f"{name}@{slot}"
        if session.exec(select(Job.id).where(Job.dedupe_key == key)).first() is None:
            enqueue(session, name=name, dedupe_key=key, run_after=now)
            added += 1
    return added


def enqueue(
    session: Session, *, name: str, args: dict[str, Any] | None = None,
    run_after: datetime | None = None, dedupe_key: str | None = None,
) -> Job:
    """Add a job in the caller's transaction; with `dedupe_key`, enqueueing twice adds it once."""
    if dedupe_key is not None:
        existing = session.exec(select(Job).where(Job.dedupe_key == dedupe_key)).first()
        if existing is not None:
            return existing
    job = Job(name=name, args=args or {}, run_after=run_after or utc_now(), dedupe_key=dedupe_key)
    try:
        with session.begin_nested():
            session.add(job)
            session.flush()
    except exc.IntegrityError:
        # Another transaction enqueued the same dedupe key first.
        return session.exec(select(Job).where(Job.dedupe_key == dedupe_key)).one()
    return job


def _backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at 6 hours."""
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 6 * 3600))


def _claim_next(session: Session, now: datetime) -> Job | None:
    """Lock the oldest due job; other workers skip it."""
    query = (
        select(Job)
        .where(Job.status == JobStatus.QUEUED, col(Job.run_after) <= now)
        .order_by(col(Job.run_after), col(Job.created_at))
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.exec(query).first()


def run_one(engine: Engine, *, max_attempts: int) -> Job | None:
    """Run the next due job, if any; returns it (done, retried or failed)."""
    now = utc_now()
    failure: str | None = None
    with unit_of_work(engine) as session:
        job = _claim_next(session, now)
        if job is None:
            return None
        handler = _HANDLERS.get(job.name)
        try:
            if handler is None:
                raise LookupError(f"no handler registered for job {job.name!r}")
            with session.begin_nested():
                handler(session, **job.args)
            job.status = JobStatus.DONE
            job.finished_at = utc_now()
            job.attempts += 1
        except Exception as exc:  # a failing job must not stop the worker
            log.exception("job %s (%s) failed", job.id, job.name)
            failure = f"{type(exc).__name__}: {exc}"
            job.attempts += 1
            job.last_error = failure[:2000]
            if job.attempts >= max_attempts:
                job.status = JobStatus.FAILED
                job.finished_at = utc_now()
            else:
                job.run_after = now + _backoff(job.attempts)
        session.add(job)
        return job


def run_due(engine: Engine, *, max_attempts: int, limit: int = 10_000) -> list[Job]:
    """Run jobs until none is due (or `limit` ran); returns what ran."""
    with unit_of_work(engine) as session:
        schedule_periodic(session, now=utc_now())
    ran: list[Job] = []
    while len(ran) < limit:
        job = run_one(engine, max_attempts=max_attempts)
        if job is None:
            break
        ran.append(job)
    return ran


def worker_loop(engine: Engine, *, stop: threading.Event, poll_seconds: float, max_attempts: int) -> None:
    """Keep running due jobs until `stop` is set (the thread under `kracht serve`, or `kracht worker`)."""
    while not stop.is_set():
        try:
            ran = run_due(engine, max_attempts=max_attempts, limit=100)
        except Exception:  # the database may be briefly away; try again next poll
            log.exception("worker pass failed")
            ran = []
        if not ran:
            stop.wait(poll_seconds)

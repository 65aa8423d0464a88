"""Gap-free number series: 1, 2, 3 per series; a rollback gives the number back; concurrent callers queue."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session

from coop.core.db import unit_of_work
from coop.core.sequences import next_number, number_series, peek_last_number


def _series() -> str:
    return f"tests-{uuid.uuid4().hex[:16]}"


def test_numbers_count_up_per_series(session: Session) -> None:
    first, second = _series(), _series()
    assert peek_last_number(session, series=first) == 0
    assert [next_number(session, series=first) for _ in range(3)] == [1, 2, 3]
    assert peek_last_number(session, series=first) == 3
    assert next_number(session, series=second) == 1
    assert next_number(session, series=first) == 4
    assert next_number(session, series=second) == 2
    assert peek_last_number(session, series=first) == 4
    assert peek_last_number(session, series=second) == 2


def test_rolled_back_savepoint_gives_the_number_back(session: Session) -> None:
    series = _series()
    assert next_number(session, series=series) == 1
    assert next_number(session, series=series) == 2

    nested = session.begin_nested()
    assert next_number(session, series=series) == 3
    nested.rollback()

    assert peek_last_number(session, series=series) == 2
    assert next_number(session, series=series) == 3


def test_rolled_back_first_number_removes_the_series(session: Session) -> None:
    series = _series()
    nested = session.begin_nested()
    assert next_number(session, series=series) == 1
    nested.rollback()
    assert peek_last_number(session, series=series) == 0
    assert next_number(session, series=series) == 1


def test_an_exception_in_a_savepoint_gives_the_number_back(session: Session) -> None:
    series = _series()
    next_number(session, series=series)
    with pytest.raises(RuntimeError), session.begin_nested():
        assert next_number(session, series=series) == 2
        raise RuntimeError("the invoice could not be written")
    assert next_number(session, series=series) == 2


# --- real concurrency, PostgreSQL only --------------------------------------------------------------------


@pytest.fixture
def committed_series(database: Engine) -> Iterator[str]:
    """A series name for committed transactions; its row is deleted afterwards."""
    series = _series()
    yield series
    with database.begin() as connection:
        connection.execute(delete(number_series).where(number_series.c.name == series))


def _take_numbers_concurrently(database: Engine, series: str, threads: int) -> list[int]:
    barrier = threading.Barrier(threads)
    taken: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def take() -> None:
        try:
            barrier.wait(timeout=30)
            with unit_of_work(database) as session:
                number = next_number(session, series=series)
            with lock:
                taken.append(number)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    workers = [threading.Thread(target=take) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not any(worker.is_alive() for worker in workers), "a thread hung"
    assert errors == []
    return taken


@pytest.mark.postgres_only
@pytest.mark.postgres_only
def test_concurrent_first_use_of_a_series_is_gap_free(database: Engine, committed_series: str) -> None:
    taken = _take_numbers_concurrently(database, committed_series, threads=20)
    assert sorted(taken) == list(range(1, 21))
    with Session(database) as session:
        assert peek_last_number(session, series=committed_series) == 20


@pytest.mark.postgres_only
@pytest.mark.postgres_only
def test_concurrent_numbers_of_an_existing_series_are_gap_free(database: Engine, committed_series: str) -> None:
    with unit_of_work(database) as session:
        assert next_number(session, series=committed_series) == 1
    taken = _take_numbers_concurrently(database, committed_series, threads=20)
    assert sorted(taken) == list(range(2, 22))
    with Session(database) as session:
        assert peek_last_number(session, series=committed_series) == 21


def test_rolled_back_transaction_gives_the_number_back(database: Engine, committed_series: str) -> None:
    with unit_of_work(database) as session:
        assert next_number(session, series=committed_series) == 1
    with pytest.raises(RuntimeError), unit_of_work(database) as session:
        assert next_number(session, series=committed_series) == 2
        raise RuntimeError("rolled back")
    with unit_of_work(database) as session:
        assert next_number(session, series=committed_series) == 2

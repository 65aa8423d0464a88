"""Benchmarks: each figure is a ratio against a baseline measured in the same run (medians of 3).

`python benchmarks/run.py [--smoke] [--database-url URL]` writes var/bench/results.json and prints a table.
So far: booking a two-line journal entry through `coop.ledger.service.post` versus inserting the same
rows with plain SQL, and the year-end export of a generated year (about 1,000,000 postings; with --smoke a few
thousand) versus a plain SELECT of its postings. Later issues add the pledge path, webhooks and dashboards.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path

from alembic import command
from rich.console import Console
from rich.table import Table
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from large_data import generate  # noqa: E402

from coop.core.clock import utc_now  # noqa: E402
from coop.core.db import (  # noqa: E402
    make_engine,
    make_reader_engine,
    unit_of_work,
)
from coop.core.settings import get_settings  # noqa: E402
from coop.exports.reports import Year  # noqa: E402
from coop.exports.service import export_year_end  # noqa: E402
from coop.ledger.chart import AccountCode  # noqa: E402
from coop.ledger.models import Account, JournalEntry, Posting  # noqa: E402
from coop.ledger.queries import account_by_code  # noqa: E402
from coop.ledger.schemas import Line  # noqa: E402
from coop.ledger.service import post, sync_chart  # noqa: E402
from coop.migrations import alembic_config  # noqa: E402
from coop.reference_data import seed_reference_data  # noqa: E402
from funding import exports as funding_exports  # noqa: E402, F401  (projects and funds in the pack)

RUNS = 3


def _median_rate(work: Callable[[], int]) -> float:
    """Operations per second, the median of RUNS timed runs."""
    rates = []
    for _ in range(RUNS):
        start = time.perf_counter()
        done = work()
        rates.append(done / (time.perf_counter() - start))
    return statistics.median(rates)


def bench_ledger_post(engine: Engine, entries: int) -> dict[str, float]:
    """Entries/s through the ledger service (idempotency check, locks, numbering) vs bare inserts."""

    def through_service() -> int:
        tag = uuid.uuid4().hex
        for i in range(entries):
            with unit_of_work(engine) as session:
                post(session, key=f"bench:{tag}:{i}", description="bench", lines=[
                    Line(account=AccountCode.BANK, amount_cents=1000),
                    Line(account=AccountCode.PLEDGES_HELD, amount_cents=-1000)])
        return entries

    with unit_of_work(engine) as session:
        bank = account_by_code(session, AccountCode.BANK)
        held = account_by_code(session, AccountCode.PLEDGES_HELD)
        assert isinstance(bank, Account) and isinstance(held, Account)
        bank_id, held_id = bank.id, held.id

    numbers = iter(range(10**12, 10**13))

    def bare_inserts() -> int:
        tag = uuid.uuid4().hex
        for i in range(entries):
            with engine.begin() as conn:
                entry_id = uuid.uuid4()
                conn.execute(insert(JournalEntry).values(
                    id=entry_id, number=next(numbers), booked_on=date.today(), description="bench",
                    idempotency_key=f"bare:{tag}:{i}", created_at=utc_now()))
                conn.execute(insert(Posting), [
                    {"id": uuid.uuid4(), "entry_id": entry_id, "account_id": bank_id, "amount_cents": 1000},
                    {"id": uuid.uuid4(), "entry_id": entry_id, "account_id": held_id, "amount_cents": -1000}])
        return entries

    service_rate = _median_rate(through_service)
    baseline_rate = _median_rate(bare_inserts)
    return {"ledger_post_per_s": round(service_rate, 1), "ledger_post_baseline_per_s": round(baseline_rate, 1),
            "ledger_post_ratio": round(service_rate / baseline_rate, 3)}


def bench_year_end_export(folder: Path, *, database_url: str | None, members: int, pledges: int) -> dict[str, float]:
    """The year-end export of a generated year against a plain SELECT of the same postings: wall time (median of
    RUNS), the ratio, and the export's peak Python memory."""
    url = database_url or f"sqlite:///{folder / 'year.db'}"
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    with unit_of_work(engine) as session:
        seed_reference_data(session)  # the chart, share classes and tiers the generated rows refer to
    today = date.today()
    this_year = (today - date(today.year, 1, 1)).days  # every generated booking falls in the exported year
    generate(engine, members_count=members, pledges_count=pledges, today=today, days=this_year)
    year = Year(today.year)
    reader = make_reader_engine(url)

    def plain_select() -> int:
        with reader.connect() as connection:
            result = connection.execution_options(yield_per=5_000).execute(
                select(JournalEntry.number, JournalEntry.booked_on, JournalEntry.description, Account.code,
                       Account.name, Posting.amount_cents, Posting.member_id, Posting.project_id, Posting.fund_id,
                       Posting.payment_id, JournalEntry.source_type, JournalEntry.idempotency_key)
                .join(JournalEntry, JournalEntry.id == Posting.entry_id).join(Account, Account.id == Posting.account_id)
                .where(JournalEntry.booked_on.between(year.start, year.end)))
            return sum(1 for _ in result)

    def export() -> int:
        with Session(reader) as session:
            pack = export_year_end(session, year=year.year, folder=folder / "pack", settings=get_settings(),
                                   database="bench", force=True)
        return next(f.rows for f in pack.files if f.name == "journal.csv")

    postings = plain_select()
    select_seconds = _median_seconds(plain_select)
    export_seconds = _median_seconds(export)
    tracemalloc.start()
    export()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    engine.dispose()
    reader.dispose()
    return {"export_postings": postings, "export_s": round(export_seconds, 4),
            "export_baseline_select_s": round(select_seconds, 4),
            "export_ratio": round(export_seconds / select_seconds, 2), "export_peak_mb": round(peak / 2**20, 1)}


def _median_seconds(work: Callable[[], int]) -> float:
    """Seconds of the median of RUNS timed runs."""
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Run every benchmark and write var/bench/results.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, only to prove the scripts run")
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary folder")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "bench" / "results.json")
    args = parser.parse_args()
    entries = 20 if args.smoke else 1000
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        command.upgrade(alembic_config(url), "head")
        engine = make_engine(url)
        with unit_of_work(engine) as session:
            sync_chart(session)
        results = {"database": engine.dialect.name, "smoke": args.smoke, **bench_ledger_post(engine, entries)}
        engine.dispose()
        year_db = None if args.database_url is None else args.database_url  # a second, empty database is needed
        if year_db is None:
            results |= bench_year_end_export(Path(tmp), database_url=None, members=200 if args.smoke else 25_000,
                                             pledges=2_000 if args.smoke else 520_000)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    table = Table(title=f"Kracht benchmarks ({results['database']}, medians of {RUNS})")
    table.add_column("key")
    table.add_column("value", justify="right")
    for key, value in results.items():
        table.add_row(key, str(value))
    Console().print(table)


if __name__ == "__main__":
    main()

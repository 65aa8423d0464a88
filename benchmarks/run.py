"""Benchmarks on PostgreSQL: each figure is a ratio against a baseline measured in the same run (medians of 3).

`python benchmarks/run.py [--smoke] [--only NAME,...] [--workers N] [--postgres-url URL]` creates fresh bench
databases on the server, runs the benchmarks, and writes var/bench/results.json plus a table:

- pledge: pledges paid per second over HTTP (wrk) vs pgbench running the same SQL, at 16 and 32 connections;
- reads: the public project listing and detail vs a bare FastAPI endpoint on the same server settings;
- ledger: booking a journal entry through the ledger service vs inserting the same rows;
- export: the year-end export vs a plain SELECT of the same postings, and its peak memory.

`--smoke` uses tiny sizes and one-second loads, only to prove the scripts run (tests/benchmarks).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from alembic import command
from rich.console import Console
from rich.table import Table
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from large_data import generate  # noqa: E402

from coop.core.clock import utc_now  # noqa: E402
from coop.core.db import make_engine, make_reader_engine, unit_of_work  # noqa: E402
from coop.core.settings import get_settings  # noqa: E402
from coop.exports.reports import JOURNAL, Year  # noqa: E402
from coop.exports.service import export_year_end, write_report  # noqa: E402
from coop.ledger.chart import AccountCode  # noqa: E402
from coop.ledger.models import Account, JournalEntry, Posting  # noqa: E402
from coop.ledger.queries import account_by_code  # noqa: E402
from coop.ledger.schemas import Line  # noqa: E402
from coop.ledger.service import post  # noqa: E402
from coop.migrations import alembic_config  # noqa: E402
from coop.reference_data import seed_reference_data  # noqa: E402
from funding import exports as funding_exports  # noqa: E402, F401  (projects and funds in the pack)

RUNS = 3
DEFAULT_POSTGRES = "postgresql://root@127.0.0.1:5432/postgres"
BENCHMARKS = ("ledger", "pledge", "reads", "webhook", "dashboards", "export")


def _median_rate(work: Callable[[], int]) -> float:
    """Operations per second, the median of RUNS timed runs."""
    done, seconds = _counted_median(work)
    return done / seconds


def _counted_median(work: Callable[[], int]) -> tuple[int, float]:
    """What `work()` counted, and the seconds of the median of RUNS timed runs."""
    counted, times = 0, []
    for _ in range(RUNS):
        start = time.perf_counter()
        counted = work()
        times.append(time.perf_counter() - start)
    return counted, statistics.median(times)


@contextmanager
def fresh_database(admin_url: str, name: str) -> Iterator[str]:
    """A new database called `name` on the server (dropped first if a run left it), migrated; dropped after."""

    def drop() -> None:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    drop()
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        command.upgrade(alembic_config(url), "head")
        yield url
    finally:
        drop()


@contextmanager
def app_settings(database_url: str) -> Iterator[Engine]:
    """This process's settings pointed at `database_url` (for in-process app calls); the app's engine."""
    from http_load import process_settings

    from coop.core.db import get_engine

    with process_settings({"KRACHT_DATABASE_URL": database_url, "KRACHT_PUBLIC_POSTS_PER_MINUTE": "100000000"}):
        get_engine.cache_clear()  # the app's engine for this database, and none other after the block
        try:
            yield get_engine()
        finally:
            get_engine().dispose()
            get_engine.cache_clear()


def seed_demo_cooperative(engine: Engine, *, members: int) -> None:
    """The demo's cooperative (members, funds with match rules, live projects with pledges), as `make run` has."""
    from coop.core.clock import today_amsterdam
    from coop.demo import DEMO_SEED, seed_demo
    from funding.demo import seed_demo_projects

    settings = get_settings()
    with unit_of_work(engine) as session:
        seed_demo(session, settings=settings, members=members)
        seed_demo_projects(session, today=today_amsterdam(), seed=DEMO_SEED, public_url=settings.public_url)


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


def bench_year_end_export(url: str, folder: Path, *, members: int, pledges: int, size: str,
                          whole_pack: bool) -> dict[str, float]:
    """The year-end journal (journal.csv: every posting of the year, streamed) against a plain SELECT of the same
    postings: wall time (medians of RUNS), the ratio, and the export's peak Python memory; keys end in `size`.
    With `whole_pack`, also the time of the whole pack once (checks, every report as CSV and XLSX, the XAF file
    and its validation), whose XLSX and XAF writing cost far more than reading the rows."""
    engine = make_engine(url)
    with unit_of_work(engine) as session:
        seed_reference_data(session)  # the chart, share classes and tiers the generated rows refer to
    today = date.today()
    this_year = (today - date(today.year, 1, 1)).days  # every generated booking falls in the exported year
    generate(engine, members_count=members, pledges_count=pledges, today=today, days=this_year)
    year = Year(today.year)
    reader = make_reader_engine(url)
    folder.mkdir(parents=True, exist_ok=True)

    def plain_select() -> int:
        with reader.connect() as connection:
            result = connection.execution_options(yield_per=5_000).execute(
                select(JournalEntry.number, JournalEntry.booked_on, JournalEntry.description, Account.code,
                       Account.name, Posting.amount_cents, Posting.member_id, Posting.project_id, Posting.fund_id,
                       Posting.payment_id, JournalEntry.source_type, JournalEntry.idempotency_key)
                .join(JournalEntry, JournalEntry.id == Posting.entry_id).join(Account, Account.id == Posting.account_id)
                .where(JournalEntry.booked_on.between(year.start, year.end)))
            return sum(1 for _ in result)

    def journal() -> int:
        with Session(reader) as session:
            return write_report(JOURNAL, session, year, folder).rows

    postings, select_seconds = _counted_median(plain_select)
    _, journal_seconds = _counted_median(journal)
    tracemalloc.start()
    journal()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    results = {f"export_postings_{size}": postings, f"export_s_{size}": round(journal_seconds, 3),
               f"export_baseline_select_s_{size}": round(select_seconds, 3),
               f"export_ratio_{size}": round(journal_seconds / select_seconds, 2),
               f"export_peak_mb_{size}": round(peak / 2**20, 1)}
    if whole_pack:
        began = time.perf_counter()
        with Session(reader) as session:
            export_year_end(session, year=year.year, folder=folder / "pack", settings=get_settings(),
                            database="bench", force=True)
        results[f"export_pack_s_{size}"] = round(time.perf_counter() - began, 2)
    engine.dispose()
    reader.dispose()
    return results


def bench_dashboards(url: str, folder: Path, *, members: int, pledges: int, smoke: bool) -> dict[str, Any]:
    """Every dashboard query on a generated cooperative (five years), then Voilà's time to the first chart and
    its floor."""
    from dashboards_bench import SPARE_READY_S, bench_dashboard_queries, bench_first_chart, bench_voila_floor

    engine = make_engine(url)
    with unit_of_work(engine) as session:
        seed_reference_data(session)
    began = time.perf_counter()
    generate(engine, members_count=members, pledges_count=pledges)
    engine.dispose()
    results: dict[str, Any] = {"dashboard_members": members, "dashboard_pledges": pledges,
                               "dashboard_data_generated_s": round(time.perf_counter() - began, 1)}
    with app_settings(url):
        reader = make_reader_engine(url)
        results |= bench_dashboard_queries(reader, url, today=date.today())
        reader.dispose()
    visits = {"visits": 1 if smoke else RUNS, "pause_s": 1 if smoke else SPARE_READY_S}
    return results | bench_first_chart(url, **visits) | bench_voila_floor(url, folder / "floor", **visits)


def run(args: argparse.Namespace, only: set[str]) -> dict[str, Any]:
    """Every chosen benchmark, each in its own fresh database; the figures by key."""
    from http_paths import bench_pledge_path, bench_public_reads, live_project
    from webhooks_bench import bench_webhooks

    seconds = args.seconds or (1 if args.smoke else 7)
    runs_note = "smoke" if args.smoke else f"medians of {RUNS}"
    results: dict[str, Any] = {"database": "postgresql", "smoke": args.smoke, "runs": runs_note,
                               "workers": args.workers, "cpus": os.cpu_count(), "python": platform.python_version(),
                               "measured_at": utc_now().isoformat(timespec="seconds")}
    out = args.out.parent
    if "ledger" in only:
        with fresh_database(args.postgres_url, f"{args.prefix}_ledger") as url:
            engine = make_engine(url)
            with unit_of_work(engine) as session:
                seed_reference_data(session)
            results |= bench_ledger_post(engine, 20 if args.smoke else 1000)
            engine.dispose()
    if only & {"pledge", "reads", "webhook"}:
        with fresh_database(args.postgres_url, f"{args.prefix}_http") as url, app_settings(url) as engine:
            seed_demo_cooperative(engine, members=5 if args.smoke else 100)
            if "pledge" in only:
                results |= bench_pledge_path(engine, url, out, workers=args.workers, seconds=seconds, runs=RUNS)
            if "reads" in only:
                results |= bench_public_reads(engine, url, workers=args.workers, seconds=seconds, runs=RUNS)
            if "webhook" in only:
                results |= bench_webhooks(engine, url, out, project_id=live_project(engine), workers=args.workers,
                                          seconds=seconds, runs=RUNS, per_run=500 if args.smoke else 4_000,
                                          pool=5_000 if args.smoke else 15_000)
    if "dashboards" in only:
        with fresh_database(args.postgres_url, f"{args.prefix}_dashboards") as url:
            results |= bench_dashboards(url, out, members=1_000 if args.smoke else 100_000,
                                        pledges=10_000 if args.smoke else 1_000_000, smoke=args.smoke)
    if "export" in only:
        sizes = {"100k": (100, 1_000), "1m": (1_000, 10_000)} if args.smoke else {
            "100k": (2_500, 50_000), "1m": (25_000, 500_000)}  # members, pledges: about 100k and 1M postings
        for size, (members, pledges) in sizes.items():
            with fresh_database(args.postgres_url, f"{args.prefix}_export_{size}") as url:
                results |= bench_year_end_export(url, out / "export", members=members, pledges=pledges, size=size,
                                                 whole_pack=size == "100k")
        results["export_ratio"] = results["export_ratio_1m"]
        results["export_peak_ratio_1m_to_100k"] = round(
            results["export_peak_mb_1m"] / results["export_peak_mb_100k"], 2)
    return results


def main() -> None:
    """Run the benchmarks and write var/bench/results.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes and 1 s loads, only to prove the scripts run")
    parser.add_argument("--only", default=",".join(BENCHMARKS), help=f"comma-separated, of {', '.join(BENCHMARKS)}")
    parser.add_argument("--postgres-url", default=os.environ.get("KRACHT_BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
                        help="a server where the bench may create and drop its own databases")
    parser.add_argument("--prefix", default="kracht_bench", help="the bench databases' names start with this")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (kracht serve --workers)")
    parser.add_argument("--seconds", type=int, help="length of each load run (default 7; 1 with --smoke)")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "bench" / "results.json")
    args = parser.parse_args()
    only = set(args.only.split(","))
    if unknown := only - set(BENCHMARKS):
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    results = run(args, only)
    results["total_s"] = round(time.perf_counter() - began, 1)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    table = Table(title=f"Kracht benchmarks (PostgreSQL, {results['runs']})")
    table.add_column("key")
    table.add_column("value", justify="right")
    for key, value in results.items():
        if not isinstance(value, dict):  # per-query figures are in the JSON
            table.add_row(key, str(value))
    Console().print(table)


if __name__ == "__main__":
    main()

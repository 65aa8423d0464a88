"""A large cooperative for the benchmarks, written straight into the tables with bulk inserts.

`python benchmarks/large_data.py --database-url URL [--members 100000] [--pledges 1000000]` fills a migrated,
empty database with members who joined over five years (with their facts, shares and capital in the ledger,
some of them gone again), yearly subscriptions with invoices and their bookings, projects across the
municipalities and themes, and paid money pledges booked on the projects, plus time pledges. The services
would take hours for this; the rows are the ones they would have written, every journal entry balances, and
the share register equals the share capital in the ledger, so the dashboards' queries read a true history.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import Table, event, insert, select
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coop.core.db import make_engine  # noqa: E402
from coop.core.municipalities import MUNICIPALITIES  # noqa: E402
from coop.ledger.chart import AccountCode  # noqa: E402
from coop.ledger.models import Account, JournalEntry, Posting  # noqa: E402
from coop.members.models import FactKind, Member, MemberKind, MembershipFact  # noqa: E402
from coop.shares.models import OperationKind, ShareOperation  # noqa: E402
from coop.subscriptions.billing import add_years, split_vat  # noqa: E402
from coop.subscriptions.models import Invoice, InvoiceKind, Subscription, SubscriptionPeriod  # noqa: E402
from funding.pledges.models import Pledge, PledgeKind, PledgeStatus  # noqa: E402
from funding.projects.models import FundingModel, Project, ProjectStatus, Theme  # noqa: E402

CHUNK = 50_000  # rows queued (all tables) per transaction
KINDS = ((MemberKind.PERSON, 80), (MemberKind.INITIATIVE, 5), (MemberKind.SOCIAL_ENTERPRISE, 4),
         (MemberKind.COMPANY, 7), (MemberKind.GOVERNMENT, 1), (MemberKind.ORGANISATION, 3))
PERSON_TIER = (MemberKind.PERSON, MemberKind.INITIATIVE, MemberKind.SOCIAL_ENTERPRISE)
SHARE_CENTS = 5_000
VAT_BP = 2_100


def table(model: Any) -> Table:
    """The Core table of a model."""
    return model.__table__  # type: ignore[no-any-return]


@dataclass
class Writer:
    """Buffers rows per table and inserts them in chunks, in dependency order."""

    engine: Engine
    order: tuple[Table, ...]

    def __post_init__(self) -> None:
        self.rows: dict[Table, list[dict[str, Any]]] = {t: [] for t in self.order}
        self.written: dict[str, int] = {}
        self.queued = 0
        if self.engine.dialect.name == "sqlite":  # test data that can be made again: no waiting for the disk
            event.listen(self.engine, "connect", lambda connection, _: connection.execute("PRAGMA synchronous=OFF"))
            self.engine.dispose()

    def add(self, model: Any, **row: Any) -> None:
        """Queue one row; a full chunk is written in one transaction."""
        self.rows[table(model)].append(row)
        self.queued += 1
        if self.queued >= CHUNK:
            self.flush()

    def flush(self) -> None:
        """Write everything queued, parents before children."""
        with self.engine.begin() as connection:
            if self.engine.dialect.name == "postgresql":
                connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            for target in self.order:
                rows = self.rows[target]
                if rows:
                    keys = sorted({key for row in rows for key in row})  # every row names every column
                    if self.engine.dialect.name == "postgresql":
                        _copy(connection, target, keys, rows)
                    else:
                        connection.execute(insert(target), [dict.fromkeys(keys) | row for row in rows])
                    self.written[target.name] = self.written.get(target.name, 0) + len(rows)
                    rows.clear()
        self.queued = 0


def _copy(connection: Any, target: Table, keys: list[str], rows: list[dict[str, Any]]) -> None:
    """PostgreSQL's COPY: some hundred thousand rows a second instead of some thousands (column defaults too)."""
    cursor = connection.connection.driver_connection.cursor()
    defaults = {column.name: _default(column) for column in target.columns if column.name not in keys}
    defaults = {name: value for name, value in defaults.items() if value is not None}
    names = [*keys, *defaults]
    columns = ", ".join(f'"{name}"' for name in names)
    with cursor.copy(f'COPY "{target.name}" ({columns}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([_plain(row.get(key)) for key in keys] + [_plain(v) for v in defaults.values()])


def _default(column: Any) -> Any:
    """A column's Python-side default (what SQLAlchemy's insert would have filled in), or None."""
    default = column.default
    if default is None:
        return None
    return default.arg(None) if default.is_callable else default.arg


def _plain(value: Any) -> Any:
    """What COPY takes: enums by value, JSON as text."""
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return value.value if isinstance(value, StrEnum) else value


@dataclass
class Ledger:
    """Balanced entries with their own numbers and keys."""

    writer: Writer
    accounts: dict[str, uuid.UUID]
    number: int = 10**9  # far above what the services numbered

    def post(self, *, key: str, on: date, source: str, lines: Iterable[tuple[str, int, dict[str, Any]]],
             description: str) -> None:
        """One journal entry: (account code, signed cents, dimensions) lines summing to zero."""
        lines = list(lines)
        if sum(cents for _, cents, _ in lines) != 0:
            raise ValueError(f"unbalanced entry {key}")
        self.number += 1
        entry_id = uuid.uuid4()
        self.writer.add(JournalEntry, id=entry_id, number=self.number, booked_on=on, description=description,
                        idempotency_key=key, source_type=source, source_id=None, reversal_of=None, created_by=None,
                        created_at=datetime.combine(on, datetime.min.time(), UTC))
        for code, cents, dims in lines:
            self.writer.add(Posting, id=uuid.uuid4(), entry_id=entry_id, account_id=self.accounts[code],
                            amount_cents=cents, member_id=dims.get("member_id"), project_id=dims.get("project_id"),
                            fund_id=None, payment_id=None)


def _moment(day: date, pick: random.Random) -> datetime:
    """Some time during `day`, in UTC."""
    return datetime.combine(day, datetime.min.time(), UTC) + timedelta(seconds=pick.randint(8 * 3600, 22 * 3600))


def members(writer: Writer, ledger: Ledger, pick: random.Random, *, count: int, today: date, days: int) -> None:
    """Members who joined over the last `days`, each with its membership share booked; one in twenty left again."""
    codes = sorted(MUNICIPALITIES)
    certificate = 10**9
    for n in range(count):
        kind = pick.choices([k for k, _ in KINDS], weights=[w for _, w in KINDS])[0]
        member_id = uuid.uuid4()
        joined = today - timedelta(days=pick.randint(0, days))
        writer.add(Member, id=member_id, kind=kind, name=f"Lid {n}", email=f"lid{n}@large.example.org",
                   municipality_code=pick.choice(codes), city=None, member_number=10**7 + n,
                   created_at=_moment(joined, pick))
        applied = _moment(joined, pick)
        for fact, recorded in ((FactKind.APPLIED, applied), (FactKind.ACTIVATED, applied + timedelta(minutes=5))):
            writer.add(MembershipFact, id=uuid.uuid4(), member_id=member_id, kind=fact, effective_on=joined,
                       recorded_at=recorded)
        certificate += 1
        writer.add(ShareOperation, id=uuid.uuid4(), number=certificate, kind=OperationKind.ISSUE,
                   class_code="lidmaatschap", nominal_cents=SHARE_CENTS, quantity=1, certificates=[certificate],
                   from_member_id=None, to_member_id=member_id, effective_on=joined,
                   recorded_at=_moment(joined, pick))
        ledger.post(key=f"large:member:{member_id}", on=joined, source="member_import", description="Lidmaatschap",
                    lines=[(AccountCode.BANK, SHARE_CENTS, {"member_id": member_id}),
                           (AccountCode.SHARE_CAPITAL, -SHARE_CENTS, {"member_id": member_id})])
        left = joined + timedelta(days=pick.randint(60, 900))
        if pick.random() < 0.05 and left < today:
            writer.add(MembershipFact, id=uuid.uuid4(), member_id=member_id, kind=FactKind.RESIGNED,
                       effective_on=left, recorded_at=_moment(left, pick))
            writer.add(ShareOperation, id=uuid.uuid4(), number=10**9 + count + n, kind=OperationKind.REDEMPTION,
                       class_code="lidmaatschap", nominal_cents=SHARE_CENTS, quantity=1, certificates=[certificate],
                       from_member_id=member_id, to_member_id=None, effective_on=left,
                       recorded_at=_moment(left, pick))
            ledger.post(key=f"large:redemption:{member_id}", on=left, source="share_mutation",
                        description="Aflossing", lines=[
                            (AccountCode.SHARE_CAPITAL, SHARE_CENTS, {"member_id": member_id}),
                            (AccountCode.REDEMPTIONS_PAYABLE, -SHARE_CENTS, {"member_id": member_id})])
        else:
            subscription(writer, ledger, pick, member_id=member_id, kind=kind, joined=joined, today=today)


def subscription(writer: Writer, ledger: Ledger, pick: random.Random, *, member_id: uuid.UUID, kind: MemberKind,
                 joined: date, today: date) -> None:
    """Yearly periods from joining until today, paid (one in twelve renewals is not), each invoiced and booked."""
    tier, price = ("person", 9_900) if kind in PERSON_TIER else ("organisation", 100_000)
    subscription_id = uuid.uuid4()
    provider = pick.choice(("sandbox", "sandbox", "bank_transfer"))
    writer.add(Subscription, id=subscription_id, member_id=member_id, tier_code=tier, provider=provider,
               started_on=joined, created_at=_moment(joined, pick))
    start = joined
    while start <= today:
        end = add_years(start, 1)
        paid = start == joined or pick.random() > 1 / 12
        period_id = uuid.uuid4()
        writer.add(SubscriptionPeriod, id=period_id, subscription_id=subscription_id, tier_code=tier,
                   period_start=start, period_end=end, amount_cents=price, paid_on=start if paid else None,
                   created_at=_moment(start, pick))
        if not paid:
            return
        split = split_vat(price, vat_rate_bp=VAT_BP, prices_include_vat=True)
        invoice_id = uuid.uuid4()
        writer.add(Invoice, id=invoice_id, number=f"L{invoice_id.hex[:18]}", kind=InvoiceKind.INVOICE,
                   issued_on=start, member_id=member_id, subscription_id=subscription_id, period_id=period_id,
                   supplier={}, customer={}, description="Contributie", supply_from=start,
                   supply_until=end - timedelta(days=1), net_cents=split.net_cents, vat_rate_bp=VAT_BP,
                   vat_cents=split.vat_cents, gross_cents=split.gross_cents, created_at=_moment(start, pick))
        ledger.post(key=f"large:invoice:{invoice_id}", on=start, source="payment", description="Contributie", lines=[
            (AccountCode.SANDBOX_CLEARING, price, {}), (AccountCode.SUBSCRIPTION_REVENUE, -split.net_cents, {}),
            (AccountCode.VAT_PAYABLE, -split.vat_cents, {})])
        start = end


def projects(writer: Writer, pick: random.Random, *, count: int, today: date,
             days: int) -> list[tuple[uuid.UUID, date, date]]:
    """Projects across the municipalities and themes: live ones and closed ones; (id, start, deadline) each."""
    made = []
    codes, themes = sorted(MUNICIPALITIES), list(Theme)
    for n in range(count):
        starts_on = today - timedelta(days=pick.randint(0, days))
        deadline = starts_on + timedelta(days=pick.choice((30, 60, 90)))
        status = ProjectStatus.LIVE if deadline >= today else pick.choice(
            (ProjectStatus.SUCCEEDED, ProjectStatus.SUCCEEDED, ProjectStatus.FAILED))
        project_id = uuid.uuid4()
        writer.add(Project, id=project_id, initiator_id=uuid.uuid4(), title=f"Project {n}", summary="Een buurtproject",
                   story="", municipality_code=pick.choice(codes), neighbourhood=f"Wijk {n % 40}",
                   theme=themes[n % len(themes)], goal_cents=pick.choice((50_000, 250_000, 1_000_000)),
                   goal_minutes=pick.choice((0, 1_200, 6_000)), wishlist=[], starts_on=starts_on, deadline=deadline,
                   funding_model=FundingModel.ALL_OR_NOTHING, status=status, created_at=_moment(starts_on, pick))
        made.append((project_id, starts_on, min(deadline, today)))
    return made


def pledges(writer: Writer, ledger: Ledger, pick: random.Random, *, count: int,
            on: list[tuple[uuid.UUID, date, date]]) -> None:
    """Paid money pledges (held for the project in the ledger) and, one in five, time pledges."""
    for n in range(count):
        project_id, starts_on, last_day = pick.choice(on)
        day = starts_on + timedelta(days=pick.randint(0, max((last_day - starts_on).days, 0)))
        moment = _moment(day, pick)
        if n % 5 == 4:
            minutes = pick.choice((60, 120, 240))
            writer.add(Pledge, id=uuid.uuid4(), project_id=project_id, kind=PledgeKind.TIME,
                       status=PledgeStatus.DELIVERED, name=f"Buur {n}", email=f"buur{n % 50_000}@large.example.org",
                       minutes=minutes, delivered_minutes=minutes, created_at=moment, delivered_at=moment)
            continue
        cents = pick.choice((500, 1_000, 2_500, 5_000, 10_000))
        pledge_id = uuid.uuid4()
        writer.add(Pledge, id=pledge_id, project_id=project_id, kind=PledgeKind.MONEY, status=PledgeStatus.PAID,
                   name=f"Buur {n}", email=f"buur{n % 50_000}@large.example.org", amount_cents=cents,
                   created_at=moment, paid_at=moment)
        ledger.post(key=f"large:pledge:{pledge_id}", on=day, source="payment", description="Bijdrage", lines=[
            (AccountCode.SANDBOX_CLEARING, cents, {}), (AccountCode.PLEDGES_HELD, -cents, {"project_id": project_id})])


def generate(engine: Engine, *, members_count: int, pledges_count: int, seed: int = 2026, today: date | None = None,
             days: int = 5 * 365) -> dict[str, int]:
    """Fill a migrated database (chart of accounts in place) with `days` of history up to `today`; returns rows
    written per table."""
    pick = random.Random(seed)  # noqa: S311  (test data)
    day = today or date.today()
    with engine.connect() as connection:
        accounts = dict(connection.execute(select(table(Account).c.code, table(Account).c.id)).all())
    writer = Writer(engine, order=tuple(table(m) for m in (
        Member, MembershipFact, ShareOperation, Subscription, SubscriptionPeriod, Invoice, Project, Pledge,
        JournalEntry, Posting)))
    ledger = Ledger(writer, accounts)
    members(writer, ledger, pick, count=members_count, today=day, days=days)
    made = projects(writer, pick, count=max(20, pledges_count // 500), today=day, days=days)
    pledges(writer, ledger, pick, count=pledges_count, on=made)
    writer.flush()
    if engine.dialect.name == "postgresql":  # what autovacuum reaches in time (statistics, visibility map), now,
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:  # not mid-measurement
            connection.exec_driver_sql("VACUUM (ANALYZE)")
    return writer.written


def main() -> None:
    """Command line: generate into a migrated database and report what was written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a migrated database (kracht db upgrade)")
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--pledges", type=int, default=1_000_000)
    arguments = parser.parse_args()
    began = time.perf_counter()
    written = generate(make_engine(arguments.database_url), members_count=arguments.members,
                       pledges_count=arguments.pledges)
    for name, rows in sorted(written.items()):
        print(f"{name:24} {rows:>10,}")
    print(f"in {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()

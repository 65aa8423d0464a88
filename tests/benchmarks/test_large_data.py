"""The benchmarks' large cooperative is a true history: balanced books, and a register that equals them."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from sqlmodel import Session

from coop.core.db import make_reader_engine
from coop.ledger.chart import AccountCode
from coop.ledger.queries import balance, global_sums
from coop.shares.queries import holdings_at
from dashboards import queries
from tests.conftest import migrate

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from large_data import generate

TODAY = date(2026, 12, 1)


def test_the_generated_cooperative_balances_and_the_dashboards_read_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'large.db'}"
    written = generate(migrate(url), members_count=300, pledges_count=3_000, today=TODAY)

    assert written["member"] == 300 and written["pledge"] == 3_000
    with Session(make_reader_engine(url)) as session:
        assert global_sums(session) == (0, 0)
        assert sum(h.quantity * h.nominal_cents for h in holdings_at(session, at=TODAY)) == -balance(
            session, account=AccountCode.SHARE_CAPITAL, at=TODAY) > 0
        period = queries.Period(date(2021, 1, 1), TODAY)  # five years of history
        assert queries.pledges_per_week(session, period).total("money") == 2_400
        members = queries.members_by_status(session, TODAY)
        assert members["active"] + members.get("former", 0) == 300 and members.get("former", 0) > 0
        assert queries.subscriptions_by_status(session, TODAY, grace_days=30)

"""Small helpers shared by the ledger tests (no fixtures: those live in tests/conftest.py)."""

from __future__ import annotations

import uuid
from collections import Counter

from sqlalchemy import func
from sqlmodel import Session, select

from coop.core.sequences import peek_last_number
from coop.ledger import queries
from coop.ledger.chart import AccountCode
from coop.ledger.models import JournalEntry, Posting
from coop.ledger.schemas import Line
from coop.ledger.service import JOURNAL_SERIES

BANK = AccountCode.BANK.value  # asset, debit-normal
FUNDS = AccountCode.FUNDS_AVAILABLE.value  # liability, credit-normal, no_overdraft
RESERVED = AccountCode.FUNDS_RESERVED.value  # liability, credit-normal, no_overdraft
PAYABLE = AccountCode.PAYABLE_TO_PROJECTS.value  # liability, credit-normal
REVENUE = AccountCode.SUBSCRIPTION_REVENUE.value  # revenue, credit-normal
FEES = AccountCode.PROVIDER_FEES.value  # expense, debit-normal
VAT = AccountCode.VAT_PAYABLE.value  # liability


def new_key(prefix: str = "test") -> str:
    """An idempotency key no other test uses."""
    return f"{prefix}:{uuid.uuid4().hex}"


def row_counts(session: Session) -> tuple[int, int, int]:
    """(entries, postings, last entry number): what a refused post must leave as it was."""
    session.flush()
    entries = session.exec(select(func.count()).select_from(JournalEntry)).one()
    postings = session.exec(select(func.count()).select_from(Posting)).one()
    return int(entries), int(postings), peek_last_number(session, series=JOURNAL_SERIES)


def multiset(lines: list[Line]) -> Counter[tuple[str, int, str, str, str, str]]:
    """Lines as an order-free multiset."""
    return Counter(line.sort_key() for line in lines)


def deposit(fund_id: uuid.UUID | None, cents: int, **dims: uuid.UUID | None) -> list[Line]:
    """Gift money arrives at the bank and becomes available in a fund (2300 credit)."""
    return [Line(BANK, cents), Line(FUNDS, -cents, fund_id=fund_id, **dims)]


def withdraw(fund_id: uuid.UUID | None, cents: int, **dims: uuid.UUID | None) -> list[Line]:
    """A fund's available money is granted to a project (2300 debit, 2400 credit)."""
    return [Line(FUNDS, cents, fund_id=fund_id, **dims), Line(PAYABLE, -cents)]


def available(session: Session, fund_id: uuid.UUID | None, **dims: uuid.UUID | None) -> int:
    """What the fund can still spend: 2300 is credit-normal, so available = -balance (one exact bucket)."""
    exact: dict[str, uuid.UUID | None] = {"member_id": None, "project_id": None, **dims}
    return -queries.balance(session, account=FUNDS, fund_id=fund_id, **exact)

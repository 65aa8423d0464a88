"""Reference data every installation needs: the chart of accounts and the standard share classes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from coop.ledger.service import sync_chart
from coop.shares.service import seed_share_classes
from coop.subscriptions.service import seed_tiers


@dataclass(frozen=True)
class ReferenceDataReport:
    """How much was missing and added."""

    accounts: int
    share_classes: int
    tiers: int


def seed_reference_data(session: Session) -> ReferenceDataReport:
    """Add what is missing (idempotent); the board's later edits are kept."""
    return ReferenceDataReport(accounts=sync_chart(session), share_classes=seed_share_classes(session),
                               tiers=seed_tiers(session))

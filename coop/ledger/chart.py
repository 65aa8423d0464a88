"""The chart of accounts (codes reused by the XAF export). The code is the source; `sync_chart` applies it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from coop.ledger.models import AccountType, Side


class AccountCode(StrEnum):
    """Codes that services refer to; never a bare string literal elsewhere."""

    STRIPE_CLEARING = "1100"
    MOLLIE_CLEARING = "1110"
    SANDBOX_CLEARING = "1120"
    BANK = "1200"
    MEMBER_RECEIVABLES = "1300"
    PROJECT_RECEIVABLES = "1310"
    SHARE_CAPITAL = "0500"
    REDEMPTIONS_PAYABLE = "2100"
    PLEDGES_HELD = "2200"
    FUNDS_AVAILABLE = "2300"
    FUNDS_RESERVED = "2310"
    PAYABLE_TO_PROJECTS = "2400"
    VAT_PAYABLE = "2500"
    DEFERRED_SUBSCRIPTIONS = "2600"
    SUBSCRIPTION_REVENUE = "8000"
    PROVIDER_FEES = "4500"


@dataclass(frozen=True)
class AccountSpec:
    """How one account is defined in the chart."""

    code: AccountCode
    name: str
    type: AccountType
    no_overdraft: bool = False

    @property
    def normal_side(self) -> Side:
        """Assets and expenses grow on the debit side; the rest on the credit side."""
        return Side.DEBIT if self.type in (AccountType.ASSET, AccountType.EXPENSE) else Side.CREDIT


CHART: tuple[AccountSpec, ...] = (
    AccountSpec(AccountCode.SHARE_CAPITAL, "Member share capital", AccountType.EQUITY),
    AccountSpec(AccountCode.STRIPE_CLEARING, "Stripe clearing", AccountType.ASSET),
    AccountSpec(AccountCode.MOLLIE_CLEARING, "Mollie clearing", AccountType.ASSET),
    AccountSpec(AccountCode.SANDBOX_CLEARING, "Sandbox clearing", AccountType.ASSET),
    AccountSpec(AccountCode.BANK, "Bank", AccountType.ASSET),
    AccountSpec(AccountCode.MEMBER_RECEIVABLES, "Receivable from members", AccountType.ASSET),
    AccountSpec(AccountCode.PROJECT_RECEIVABLES, "Receivable from projects (paid out, then charged back)",
                AccountType.ASSET),
    AccountSpec(AccountCode.REDEMPTIONS_PAYABLE, "Redemptions payable", AccountType.LIABILITY),
    AccountSpec(AccountCode.PLEDGES_HELD, "Pledges held for projects", AccountType.LIABILITY),
    AccountSpec(AccountCode.FUNDS_AVAILABLE, "Gift funds available", AccountType.LIABILITY, no_overdraft=True),
    AccountSpec(AccountCode.FUNDS_RESERVED, "Gift funds reserved", AccountType.LIABILITY, no_overdraft=True),
    AccountSpec(AccountCode.PAYABLE_TO_PROJECTS, "Payable to projects", AccountType.LIABILITY),
    AccountSpec(AccountCode.VAT_PAYABLE, "VAT payable", AccountType.LIABILITY),
    AccountSpec(AccountCode.DEFERRED_SUBSCRIPTIONS, "Deferred subscription revenue", AccountType.LIABILITY),
    AccountSpec(AccountCode.PROVIDER_FEES, "Payment provider fees", AccountType.EXPENSE),
    AccountSpec(AccountCode.SUBSCRIPTION_REVENUE, "Subscription revenue", AccountType.REVENUE),
)

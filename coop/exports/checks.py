"""Cross-checks that must hold before the year-end pack is written; each failure names what does not add up.

A check reads the books and the registers and returns its problems as sentences (an empty list when all is
well). Crowdfunding and gift funds add theirs with `register_check`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import func, select
from sqlmodel import Session, col

from coop.core.clock import AMSTERDAM
from coop.core.money import format_eur
from coop.core.registry import Registry
from coop.exports.reports import Year, series_gaps, subscription_rows, year_balance
from coop.ledger.chart import AccountCode
from coop.ledger.models import Account, JournalEntry, Posting
from coop.ledger.queries import balance
from coop.payments.models import Payment, PaymentStatus
from coop.shares.queries import holdings_at
from coop.subscriptions.models import InvoiceKind

MONEY_RECEIVED = (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED,
                  PaymentStatus.CHARGED_BACK)
SERIES_NAMES = {InvoiceKind.INVOICE.value: "invoices", InvoiceKind.CREDIT_NOTE.value: "credit notes"}


@dataclass(frozen=True)
class Check:
    """One cross-check: a name for the summary and what it finds wrong."""

    name: str
    run: Callable[[Session, Year], list[str]]


_CHECKS: Registry[Check] = Registry("year-end check")


def register_check(check: Check) -> None:
    """Add a cross-check."""
    _CHECKS.add(check.name, check)


def checks() -> list[Check]:
    """Every registered check, in registration order."""
    return list(_CHECKS)


def entries_balance(session: Session, year: Year) -> list[str]:
    """Every entry up to 31 December has postings summing to zero; name each one that does not, and its accounts."""
    unbalanced = (select(col(Posting.entry_id), func.sum(Posting.amount_cents).label("total"))
                  .join(JournalEntry, col(JournalEntry.id) == col(Posting.entry_id))
                  .where(col(JournalEntry.booked_on) <= year.end)
                  .group_by(col(Posting.entry_id)).having(func.sum(Posting.amount_cents) != 0).subquery())
    problems = []
    for number, booked_on, key, total in session.execute(
            select(col(JournalEntry.number), col(JournalEntry.booked_on), col(JournalEntry.idempotency_key),
                   unbalanced.c.total).join(unbalanced, unbalanced.c.entry_id == col(JournalEntry.id))
            .order_by(col(JournalEntry.number)).limit(20)):
        accounts = sorted(set(session.execute(
            select(col(Account.code)).join(Posting, col(Posting.account_id) == col(Account.id))
            .join(JournalEntry, col(JournalEntry.id) == col(Posting.entry_id))
            .where(JournalEntry.number == number)).scalars()))
        problems.append(f"journal entry {number} of {booked_on} ({key}) does not balance: its postings on "
                        f"accounts {', '.join(accounts)} sum to {int(total)} cents")
    return problems


def trial_balance_is_zero(session: Session, year: Year) -> list[str]:
    """The trial balance on 31 December sums to zero."""
    books = year_balance(session, year)
    if books.total_cents == 0:
        return []
    return [f"the trial balance on {year.end} sums to {books.total_cents} cents, not zero"]


def capital_is_the_register(session: Session, year: Year) -> list[str]:
    """Share capital (0500) on 31 December equals the share register at nominal value."""
    ledger = -balance(session, account=AccountCode.SHARE_CAPITAL, at=year.end)
    register = sum(h.quantity * h.nominal_cents for h in holdings_at(session, at=year.end))
    if ledger == register:
        return []
    return [f"share capital on account {AccountCode.SHARE_CAPITAL} is {format_eur(ledger)} on {year.end}, "
            f"but the share register holds {format_eur(register)} at nominal value"]


def invoices_are_gap_free(session: Session, year: Year) -> list[str]:
    """The year's invoice and credit-note series run from 1 without a missing number."""
    problems = []
    for kind, (first, last, missing) in series_gaps(session, year).items():
        if first != 1 or missing:
            shown = ", ".join(str(n) for n in missing[:10])
            problems.append(f"the {year.year} series of {SERIES_NAMES[kind]} runs {first}..{last} with "
                            f"{len(missing)} number(s) missing: {shown}")
    return problems


def paid_payments_are_booked_once(session: Session, year: Year) -> list[str]:
    """Every payment received before the new year has exactly one receipt entry (`payment:{id}:paid`)."""
    receipts = (select(col(Posting.payment_id), func.count(func.distinct(Posting.entry_id)).label("entries"))
                .join(JournalEntry, col(JournalEntry.id) == col(Posting.entry_id))
                .where(col(JournalEntry.idempotency_key).like("payment:%:paid"))
                .group_by(col(Posting.payment_id)).subquery())
    new_year = datetime.combine(year.end + timedelta(days=1), time(), AMSTERDAM)
    rows = session.execute(
        select(col(Payment.reference), col(Payment.amount_cents), receipts.c.entries)
        .outerjoin(receipts, receipts.c.payment_id == col(Payment.id))
        .where(col(Payment.status).in_(MONEY_RECEIVED), col(Payment.paid_at) < new_year,
               func.coalesce(receipts.c.entries, 0) != 1)
        .order_by(col(Payment.reference)).limit(20)).all()
    return [f"payment {reference} ({format_eur(cents)}) was received but has {entries or 0} receipt entries in "
            "the ledger instead of one" for reference, cents, entries in rows]


def revenue_is_the_invoices(session: Session, year: Year) -> list[str]:
    """Subscription revenue booked on 8000 in the year equals what the invoices and deferrals say it is."""
    books = {row.code: row for row in year_balance(session, year).accounts}
    row = books.get(AccountCode.SUBSCRIPTION_REVENUE)
    booked = (row.credit_cents - row.debit_cents) if row else 0
    invoiced = sum(line[-1] for line in subscription_rows(session, year))
    if booked == invoiced:
        return []
    return [f"subscription revenue on account {AccountCode.SUBSCRIPTION_REVENUE} is {format_eur(booked)} in "
            f"{year.year}, but the invoices and deferrals of the year come to {format_eur(invoiced)}"]


for _check in (Check("every journal entry balances", entries_balance),
               Check("the trial balance sums to zero", trial_balance_is_zero),
               Check("share capital equals the share register", capital_is_the_register),
               Check("invoice numbers have no gaps", invoices_are_gap_free),
               Check("every paid payment is booked once", paid_payments_are_booked_once),
               Check("subscription revenue equals the invoices", revenue_is_the_invoices)):
    register_check(_check)

"""The year-end reports: each a named table whose rows stream from the database in a stable order.

A report says what its columns hold (text, whole numbers, cents, dates) so the CSV, the workbook and
the checks all read the same rows. Domains outside coop (crowdfunding, gift funds) add theirs with
`register_report`, as they add their GDPR export sections.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, TypeVarTuple

from sqlalchemy import Row, Select, case, func, literal, or_, select
from sqlmodel import Session, col

from coop.core.registry import Registry
from coop.core.sql import month_key
from coop.ledger.chart import AccountCode
from coop.ledger.models import Account, AccountType, JournalEntry, Posting
from coop.ledger.queries import trial_balance
from coop.ledger.schemas import TrialBalance
from coop.members.models import Member
from coop.members.queries import members_with_status
from coop.payments.models import Payment
from coop.shares.models import MutationKind, MutationStatus, ShareMutation, ShareOperation
from coop.shares.queries import holdings_at
from coop.subscriptions.models import Invoice, InvoiceKind, RevenueDeferral, SubscriptionPeriod

STREAM_ROWS = 5_000  # rows fetched at a time from a long result
Columns = TypeVarTuple("Columns")


def streamed(session: Session, query: Select[*Columns]) -> Iterator[Row[*Columns]]:
    """The rows of a long query of plain columns, STREAM_ROWS at a time from a server-side cursor, through Core:
    the ORM's row processing would cost seconds over a million postings and adds nothing to plain columns."""
    yield from session.connection().execute(query.execution_options(yield_per=STREAM_ROWS))


class Kind(StrEnum):
    """What a column holds, so every writer formats it the same way."""

    TEXT = "text"
    INT = "int"
    CENTS = "cents"
    DATE = "date"


@dataclass(frozen=True)
class Column:
    """One column of a report."""

    name: str
    kind: Kind = Kind.TEXT


@dataclass(frozen=True)
class Year:
    """The financial year being closed (a calendar year)."""

    year: int

    @property
    def start(self) -> date:
        """1 January."""
        return date(self.year, 1, 1)

    @property
    def end(self) -> date:
        """31 December."""
        return date(self.year, 12, 31)


Rows = Callable[[Session, Year], Iterable[Sequence[Any]]]


@dataclass(frozen=True)
class Report:
    """A table of the year-end pack: written as `name`.csv and as a sheet called `title`."""

    name: str
    title: str
    columns: tuple[Column, ...]
    rows: Rows


_REPORTS: Registry[Report] = Registry("year-end report")


def register_report(report: Report) -> None:
    """Add a report to the pack (the order of registration is the order of the sheets)."""
    _REPORTS.add(report.name, report)


def reports() -> list[Report]:
    """Every registered report, in registration order."""
    return list(_REPORTS)


def columns(*spec: str) -> tuple[Column, ...]:
    """`"name:kind"` strings (kind defaults to text) as columns."""
    return tuple(Column(name, Kind(kind or "text")) for name, _, kind in (item.partition(":") for item in spec))


def certificate_ranges(numbers: Sequence[int]) -> str:
    """[1, 2, 3, 7, 9, 10] -> `1-3, 7, 9-10`: how certificate numbers are written in a register."""
    ranges: list[str] = []
    for number in sorted(numbers):
        if ranges and ranges[-1].split("-")[-1] == str(number - 1):
            first = ranges[-1].split("-")[0]
            ranges[-1] = f"{first}-{number}"
        else:
            ranges.append(str(number))
    return ", ".join(ranges)


# -- the ledger -------------------------------------------------------------------------------------------


def journal_rows(session: Session, year: Year) -> Iterator[Sequence[Any]]:
    """Every posting of every entry booked in the year, entry by entry, debits first."""
    query = (select(col(JournalEntry.number), col(JournalEntry.booked_on), col(JournalEntry.description),
                    col(Account.code), col(Account.name), col(Posting.amount_cents), col(Member.member_number),
                    col(Posting.project_id), col(Posting.fund_id), col(Payment.reference),
                    col(JournalEntry.source_type), col(JournalEntry.source_id), col(JournalEntry.idempotency_key))
             .join(JournalEntry, col(JournalEntry.id) == col(Posting.entry_id))
             .join(Account, col(Account.id) == col(Posting.account_id))
             .outerjoin(Member, col(Member.id) == col(Posting.member_id))
             .outerjoin(Payment, col(Payment.id) == col(Posting.payment_id))
             .where(col(JournalEntry.booked_on).between(year.start, year.end))
             .order_by(col(JournalEntry.number), col(Posting.amount_cents).desc(), col(Account.code),
                       col(Posting.id)))
    for (number, booked_on, description, code, name, cents, member_number, project_id, fund_id, payment, source,
         source_id, key) in streamed(session, query):
        yield (number, booked_on, description, code, name, max(cents, 0), max(-cents, 0), member_number,
               str(project_id or ""), str(fund_id or ""), payment or "", source or "manual", source_id or "", key)


JOURNAL = Report("journal", "Journaal", columns(
    "entry:int", "date:date", "description", "account", "account_name", "debit:cents", "credit:cents",
    "member_number:int", "project_id", "fund_id", "payment", "source", "source_id", "key"), journal_rows)


def year_balance(session: Session, year: Year) -> TrialBalance:
    """The trial balance of the year: opening on 1 January, the year's movements, closing on 31 December."""
    return trial_balance(session, start=year.start, end=year.end)


def trial_balance_rows(session: Session, year: Year) -> Iterator[Sequence[Any]]:
    """Every account with its opening, debits, credits and closing, then the total (zero in sound books)."""
    books = year_balance(session, year)
    for row in books.accounts:
        yield row.code, row.name, row.type, row.opening_cents, row.debit_cents, row.credit_cents, row.balance_cents
    yield ("", "Totaal", "", sum(r.opening_cents for r in books.accounts), sum(r.debit_cents for r in books.accounts),
           sum(r.credit_cents for r in books.accounts), books.total_cents)


TRIAL_BALANCE = Report("trial_balance", "Proefbalans", columns(
    "account", "name", "type", "opening:cents", "debit:cents", "credit:cents", "closing:cents"), trial_balance_rows)

SECTIONS = {AccountType.ASSET: "Activa", AccountType.LIABILITY: "Vreemd vermogen", AccountType.EQUITY: "Eigen vermogen"}


def balance_sheet_rows(session: Session, year: Year) -> Iterator[Sequence[Any]]:
    """Assets, liabilities and equity on 31 December (each on its normal side), the result, and the totals."""
    books = year_balance(session, year)
    totals = {"Activa": 0, "Passiva": 0}
    for kind, section in SECTIONS.items():
        for row in books.accounts:
            if row.type == kind.value and row.balance_cents:
                amount = row.balance_cents if kind is AccountType.ASSET else -row.balance_cents
                totals["Activa" if kind is AccountType.ASSET else "Passiva"] += amount
                yield section, row.code, row.name, amount
    retained = -sum(r.balance_cents for r in books.accounts if r.type in ("revenue", "expense"))
    totals["Passiva"] += retained
    yield "Eigen vermogen", "", "Resultaat (opbrengsten min kosten, niet bestemd)", retained
    yield "Totaal", "", "Activa", totals["Activa"]
    yield "Totaal", "", "Passiva", totals["Passiva"]


BALANCE_SHEET = Report("balance_sheet", "Balans", columns("section", "account", "name", "amount:cents"),
                       balance_sheet_rows)


def income_statement_rows(session: Session, year: Year) -> Iterator[Sequence[Any]]:
    """Revenue and expenses of the year (revenue positive, expenses negative) and the result."""
    books = year_balance(session, year)
    result = 0
    for kind, section in ((AccountType.REVENUE, "Opbrengsten"), (AccountType.EXPENSE, "Kosten")):
        for row in books.accounts:
            if row.type == kind.value and (row.debit_cents or row.credit_cents):
                amount = row.credit_cents - row.debit_cents
                result += amount
                yield section, row.code, row.name, amount
    yield "Resultaat", "", "Opbrengsten min kosten", result


INCOME_STATEMENT = Report("income_statement", "Resultatenrekening",
                          columns("section", "account", "name", "amount:cents"), income_statement_rows)


# -- members and shares -----------------------------------------------------------------------------------


def member_register_rows(session: Session, year: Year) -> Iterator[Sequence[Any]]:
    """The members' register (ledenregister) on 31 December: everyone admitted by then, with their status."""
    for member, status, joined in members_with_status(session, at=year.end):
        yield (member.member_number, member.name, member.kind.value, status.value, joined, member.city or "",
               member.municipality_code or "", member.kvk_number or "")


MEMBER_REGISTER = Report("member_register", "Ledenregister", columns(
    "member_number:int", "name", "kind", "status", "joined_on:date", "city", "municipality_code", "kvk_number"),
    member_register_rows)


def _member_numbers(session: Session) -> dict[Any, int | None]:
    """Member id -> member number, for the registers."""
    return dict(session.execute(select(col(Member.id), col(Member.member_number))).all())


def share_register_rows(session: Session, year: Year) -> Iterator[Sequence[Any]]:
    """The share register on 31 December: who holds which certificates of which class, at nominal value."""
    numbers = _member_numbers(session)
    holdings = sorted(holdings_at(session, at=year.end), key=lambda h: (numbers.get(h.member_id) or 0, h.class_code))
    for holding in holdings:
        yield (numbers.get(holding.member_id), holding.class_code, holding.quantity, holding.nominal_cents,
               holding.quantity * holding.nominal_cents, certificate_ranges(holding.certificates))


SHARE_REGISTER = Report("share_register", "Aandelenregister", columns(
    "member_number:int", "class", "quantity:int", "nominal:cents", "value:cents", "certificates"),
    share_register_rows)


def capital_movements_rows(session: Session, year: Year) -> Iterator[Sequence[Any]]:
    """Issues, transfers, redemptions and cancellations of the year, then redemptions approved and not yet paid."""
    numbers = _member_numbers(session)
    operations = session.scalars(select(ShareOperation).where(col(ShareOperation.effective_on).between(
        year.start, year.end)).order_by(col(ShareOperation.effective_on), col(ShareOperation.number))).all()
    for op in operations:
        yield (op.kind.value, op.effective_on, op.number, op.class_code, op.quantity, op.nominal_cents,
               op.quantity * op.nominal_cents, numbers.get(op.from_member_id), numbers.get(op.to_member_id),
               certificate_ranges(op.certificates), None)
    due = session.scalars(select(ShareMutation).where(
        col(ShareMutation.kind) == MutationKind.REDEMPTION, col(ShareMutation.status) == MutationStatus.APPROVED,
        col(ShareMutation.effective_on) <= year.end).order_by(col(ShareMutation.payout_due_on),
                                                              col(ShareMutation.effective_on))).all()
    for mutation in due:
        yield ("redemption_due", mutation.effective_on, None, mutation.class_code, mutation.quantity, None,
               mutation.amount_cents, numbers.get(mutation.from_member_id), None, "", mutation.payout_due_on)


CAPITAL_MOVEMENTS = Report("capital_movements", "Kapitaalmutaties", columns(
    "kind", "effective_on:date", "operation:int", "class", "quantity:int", "nominal:cents", "amount:cents",
    "from_member:int", "to_member:int", "certificates", "payout_due_on:date"), capital_movements_rows)


# -- subscriptions and invoices ---------------------------------------------------------------------------


def subscription_rows(session: Session, year: Year) -> Iterator[Sequence[Any]]:
    """Per tier: invoiced in the year (net, VAT, gross), deferred into later years, released from earlier
    years, and the revenue of the year that follows (which the checks compare with account 8000)."""
    tier = col(SubscriptionPeriod.tier_code)
    in_year = col(Invoice.issued_on).between(year.start, year.end)
    invoiced = {code: (int(n), int(v), int(g)) for code, n, v, g in session.execute(
        select(tier, func.sum(Invoice.net_cents), func.sum(Invoice.vat_cents), func.sum(Invoice.gross_cents))
        .join(SubscriptionPeriod, col(SubscriptionPeriod.id) == col(Invoice.period_id)).where(in_year)
        .group_by(tier))}
    deferral = (select(tier, func.sum(RevenueDeferral.amount_cents))
                .join(Invoice, col(Invoice.id) == col(RevenueDeferral.invoice_id))
                .join(SubscriptionPeriod, col(SubscriptionPeriod.id) == col(Invoice.period_id)).group_by(tier))
    deferred = dict(session.execute(deferral.where(in_year, col(RevenueDeferral.release_on) > year.end))
                    .all())
    released = dict(session.execute(deferral.where(col(RevenueDeferral.release_on).between(year.start, year.end),
                                                   col(Invoice.issued_on) < year.start)).all())
    for code in sorted(set(invoiced) | set(released)):
        net, vat, gross = invoiced.get(code, (0, 0, 0))
        later, earlier = int(deferred.get(code) or 0), int(released.get(code) or 0)
        yield code, net, vat, gross, later, earlier, net - later + earlier


SUBSCRIPTIONS = Report("subscriptions", "Contributie", columns(
    "tier", "invoiced_net:cents", "vat:cents", "invoiced_gross:cents", "deferred_to_later_years:cents",
    "released_from_earlier_years:cents", "revenue:cents"), subscription_rows)


def invoice_rows(session: Session, year: Year) -> Iterator[Sequence[Any]]:
    """Every invoice and credit note issued in the year, by series and number."""
    numbers = _member_numbers(session)
    credited = dict(session.execute(
        select(col(Invoice.id), col(Invoice.number))).all())
    invoices = session.scalars(select(Invoice).where(col(Invoice.issued_on).between(year.start, year.end))
                            .order_by(col(Invoice.kind), col(Invoice.number))).all()
    for invoice in invoices:
        yield (invoice.number, invoice.kind.value, invoice.issued_on, numbers.get(invoice.member_id),
               invoice.customer.get("name", ""), invoice.description, invoice.supply_from, invoice.supply_until,
               invoice.net_cents, invoice.vat_rate_bp, invoice.vat_cents, invoice.gross_cents,
               invoice.payment_reference or "", credited.get(invoice.credits_invoice_id, ""))


INVOICES = Report("invoices", "Facturen", columns(
    "number", "kind", "issued_on:date", "member_number:int", "customer", "description", "supply_from:date",
    "supply_until:date", "net:cents", "vat_rate_bp:int", "vat:cents", "gross:cents", "payment_reference",
    "credits_invoice"), invoice_rows)


def series_gaps(session: Session, year: Year) -> dict[str, tuple[int, int, list[int]]]:
    """Per number series of the year (invoices, credit notes): (first, last, missing numbers)."""
    found: dict[str, list[int]] = {InvoiceKind.INVOICE.value: [], InvoiceKind.CREDIT_NOTE.value: []}
    for kind, number in session.execute(select(col(Invoice.kind), col(Invoice.number))
                                        .where(col(Invoice.number).like(f"%{year.year}-%"))):
        found[InvoiceKind(kind).value].append(int(number.rsplit("-", 1)[1]))
    gaps = {}
    for kind, numbers in found.items():
        if numbers:
            missing = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
            gaps[kind] = (min(numbers), max(numbers), missing)
    return gaps


# -- payments ---------------------------------------------------------------------------------------------


def payments_rows(session: Session, year: Year) -> Iterator[Sequence[Any]]:
    """Per provider and month of booking: money received, refunded, charged back and provider fees, as booked."""
    key = col(JournalEntry.idempotency_key)
    what = case((key.like("payment:%:paid"), literal("paid")),
                (key.like("payment:%:refunded_cents:%"), literal("refunded")),
                (key.like("payment:%:charged_back_cents:%"), literal("charged_back")), else_=literal("other"))
    month = month_key(col(JournalEntry.booked_on))
    clearing = col(Account.code).in_([AccountCode.STRIPE_CLEARING, AccountCode.MOLLIE_CLEARING,
                                      AccountCode.SANDBOX_CLEARING, AccountCode.BANK])
    fees = col(Account.code) == AccountCode.PROVIDER_FEES
    rows = session.execute(
        select(col(Payment.provider), month, what, fees, func.sum(Posting.amount_cents), func.count())
        .join(Posting, col(Posting.payment_id) == col(Payment.id))
        .join(JournalEntry, col(JournalEntry.id) == col(Posting.entry_id))
        .join(Account, col(Account.id) == col(Posting.account_id))
        .where(col(JournalEntry.booked_on).between(year.start, year.end), or_(clearing, fees))
        .group_by(col(Payment.provider), month, what, fees)).all()
    table: dict[tuple[str, str], dict[str, int]] = {}
    for provider, in_month, kind, is_fee, cents, count in rows:
        line = table.setdefault((str(getattr(provider, "value", provider)), in_month),
                                {"paid": 0, "payments": 0, "refunded": 0, "charged_back": 0, "fees": 0})
        if is_fee:
            line["fees"] += int(cents)
        elif kind == "paid":
            line["paid"] += int(cents)
            line["payments"] += int(count)
        elif kind in ("refunded", "charged_back"):
            line[kind] += -int(cents)
    for (provider, in_month), line in sorted(table.items()):
        yield (provider, in_month, line["payments"], line["paid"], line["refunded"], line["charged_back"],
               line["fees"], line["paid"] - line["refunded"] - line["charged_back"] - line["fees"])


PAYMENTS_BY_PROVIDER = Report("payments_by_provider", "Betalingen per provider", columns(
    "provider", "month", "payments:int", "paid:cents", "refunded:cents", "charged_back:cents", "fees:cents",
    "net:cents"), payments_rows)


for _report in (JOURNAL, TRIAL_BALANCE, BALANCE_SHEET, INCOME_STATEMENT, MEMBER_REGISTER, SHARE_REGISTER,
                CAPITAL_MOVEMENTS, SUBSCRIPTIONS, INVOICES, PAYMENTS_BY_PROVIDER):
    register_report(_report)

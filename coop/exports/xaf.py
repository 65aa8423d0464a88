"""The XML Auditfile Financieel 3.2 of a year: header, company, members as customers, chart of accounts,
VAT code, periods, opening balance and every transaction by journal, streamed to disk.

Elements follow the schema's order (`schemas/XmlAuditfileFinancieel3.2.xsd`); the file is written with
lxml's incremental writer, so a year of a million postings never sits in memory, and validated the same
way (`validate`). Amounts are positive with a D/C indicator, two decimals.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import case, func, literal, select
from sqlmodel import Session, col

from coop.core.money import cents_to_decimal
from coop.core.settings import Settings
from coop.exports.reports import Year, streamed, year_balance
from coop.ledger.models import Account, AccountType, JournalEntry, Posting
from coop.members.queries import members_with_status

NAMESPACE = "http://www.auditfiles.nl/XAF/3.2"
SCHEMA = Path(__file__).with_name("schemas") / "XmlAuditfileFinancieel3.2.xsd"
# Journals by what booked the entry: receipts and refunds through the providers and the bank, invoices, the rest.
JOURNALS = (("B", "BANK", "Ontvangsten en terugbetalingen (betaaldiensten en bank)", ("payment",)),
            ("S", "VERK", "Facturen en creditnota's contributie", ("invoice", "revenue_deferral")),
            ("M", "MEM", "Memoriaal (aandelen, fondsen, projecten, correcties)", ()))


class InvalidAuditfile(ValueError):
    """The written auditfile does not satisfy the XAF 3.2 schema."""


def _amount(cents: int) -> tuple[str, str]:
    """Signed cents as the positive amount and its D/C indicator."""
    return f"{cents_to_decimal(abs(cents)):.2f}", "D" if cents >= 0 else "C"


def _cut(text: str | None, length: int) -> str:
    """Text fitted to a schema field's maximum length."""
    return (text or "")[:length]


@dataclass
class _Writer:
    """A thin helper over lxml's incremental writer: elements with text, in the namespace."""

    xf: Any

    def leaf(self, name: str, value: Any) -> None:
        """`<name>value</name>`; nothing for None."""
        if value is None:
            return
        element = etree.Element(f"{{{NAMESPACE}}}{name}", nsmap={None: NAMESPACE})
        element.text = value.isoformat() if isinstance(value, date) else str(value)
        self.xf.write(element)

    def node(self, name: str) -> Any:
        """An element whose children follow."""
        return self.xf.element(f"{{{NAMESPACE}}}{name}")


def _journal_of() -> Any:
    """The XAF journal an entry belongs to, as SQL (so transactions can be streamed journal by journal)."""
    whens = [(col(JournalEntry.source_type).in_(sources), literal(journal_id))
             for _, journal_id, _, sources in JOURNALS if sources]
    return case(*whens, else_=literal("MEM"))


def _transactions(session: Session, year: Year) -> Iterator[tuple[Any, ...]]:
    """Postings of the year with their entries, journal by journal, entry by entry."""
    journal = _journal_of()
    order = case({journal_id: index for index, (_, journal_id, _, _) in enumerate(JOURNALS)}, value=journal)
    query = (select(journal, col(JournalEntry.number), col(JournalEntry.booked_on), col(JournalEntry.description),
                    col(JournalEntry.source_type), col(JournalEntry.idempotency_key), col(Account.code),
                    col(Posting.amount_cents), col(Posting.member_id), col(Posting.project_id))
             .join(JournalEntry, col(JournalEntry.id) == col(Posting.entry_id))
             .join(Account, col(Account.id) == col(Posting.account_id))
             .where(col(JournalEntry.booked_on).between(year.start, year.end))
             .order_by(order, col(JournalEntry.number), col(Posting.amount_cents).desc(), col(Account.code),
                       col(Posting.id)))
    yield from streamed(session, query)


def write_auditfile(session: Session, *, year: Year, path: Path, settings: Settings, created_on: date,
                    software_version: str) -> int:
    """Write the year's auditfile to `path`; returns the number of transaction lines."""
    books = year_balance(session, year)
    accounts = session.scalars(select(Account).order_by(col(Account.code))).all()
    members = members_with_status(session, at=year.end)
    numbers = {member.id: member.member_number for member, _, _ in members}
    lines, debit, credit = session.execute(
        select(func.count(), func.coalesce(func.sum(case((col(Posting.amount_cents) > 0, Posting.amount_cents),
                                                         else_=0)), 0),
               func.coalesce(func.sum(case((col(Posting.amount_cents) < 0, -col(Posting.amount_cents)), else_=0)), 0))
        .join(JournalEntry, col(JournalEntry.id) == col(Posting.entry_id))
        .where(col(JournalEntry.booked_on).between(year.start, year.end))).one()
    opening = [row for row in books.accounts if row.opening_cents]
    with etree.xmlfile(str(path), encoding="UTF-8") as xf:
        xf.write_declaration()
        out = _Writer(xf)
        with xf.element(f"{{{NAMESPACE}}}auditfile", nsmap={None: NAMESPACE}):
            with out.node("header"):
                out.leaf("fiscalYear", year.year)
                out.leaf("startDate", year.start)
                out.leaf("endDate", year.end)
                out.leaf("curCode", "EUR")
                out.leaf("dateCreated", created_on)
                out.leaf("softwareDesc", "Kracht")
                out.leaf("softwareVersion", _cut(software_version, 20))
            with out.node("company"):
                out.leaf("companyIdent", _cut(settings.coop_kvk, 35) or None)
                out.leaf("companyName", _cut(settings.coop_name, 999))
                out.leaf("taxRegistrationCountry", "NL")
                out.leaf("taxRegIdent", _cut(settings.coop_vat_id, 30))
                with out.node("customersSuppliers"):
                    for member, _, _ in members:
                        with out.node("customerSupplier"):
                            out.leaf("custSupID", member.member_number)
                            out.leaf("custSupName", _cut(member.name, 50))
                            out.leaf("commerceNr", member.kvk_number)
                            out.leaf("custSupTp", "C")
                with out.node("generalLedger"):
                    for account in accounts:
                        with out.node("ledgerAccount"):
                            out.leaf("accID", account.code)
                            out.leaf("accDesc", _cut(account.name, 999))
                            out.leaf("accTp", "B" if account.type in (AccountType.ASSET, AccountType.LIABILITY,
                                                                      AccountType.EQUITY) else "P")
                with out.node("vatCodes"), out.node("vatCode"):
                    out.leaf("vatID", "HOOG")
                    out.leaf("vatDesc", "Btw hoog tarief (21%)")
                    out.leaf("vatToPayAccID", "2500")
                with out.node("periods"):
                    for month in range(1, 13):
                        with out.node("period"):
                            out.leaf("periodNumber", month)
                            out.leaf("startDatePeriod", date(year.year, month, 1))
                            out.leaf("endDatePeriod", date(year.year + month // 12, month % 12 + 1, 1)
                                     - timedelta(days=1))
                with out.node("openingBalance"):
                    out.leaf("opBalDate", year.start)
                    out.leaf("opBalDesc", f"Beginbalans {year.year}")
                    out.leaf("linesCount", len(opening))
                    out.leaf("totalDebit", _amount(sum(r.opening_cents for r in opening if r.opening_cents > 0))[0])
                    out.leaf("totalCredit", _amount(sum(r.opening_cents for r in opening if r.opening_cents < 0))[0])
                    for index, row in enumerate(opening, start=1):
                        with out.node("obLine"):
                            amount, side = _amount(row.opening_cents)
                            out.leaf("nr", index)
                            out.leaf("accID", row.code)
                            out.leaf("amnt", amount)
                            out.leaf("amntTp", side)
                with out.node("transactions"):
                    out.leaf("linesCount", int(lines))
                    out.leaf("totalDebit", _amount(int(debit))[0])
                    out.leaf("totalCredit", _amount(int(credit))[0])
                    _write_journals(out, _transactions(session, year), numbers)
    return int(lines)


def _write_journals(out: _Writer, rows: Iterator[tuple[Any, ...]], numbers: dict[Any, int | None]) -> None:
    """Journal, transaction and line elements from rows ordered by journal, then entry."""
    titles = {journal_id: (kind, title) for kind, journal_id, title, _ in JOURNALS}
    for journal_id, in_journal in groupby(rows, key=itemgetter(0)):
        with out.node("journal"):
            kind, title = titles[journal_id]
            out.leaf("jrnID", journal_id)
            out.leaf("desc", title)
            out.leaf("jrnTp", kind)
            for _, postings in groupby(in_journal, key=itemgetter(1)):
                _write_transaction(out, list(postings), numbers)


def _write_transaction(out: _Writer, postings: list[tuple[Any, ...]], numbers: dict[Any, int | None]) -> None:
    """One journal entry with its lines."""
    _, number, booked_on, description, source, key, *_ = postings[0]
    with out.node("transaction"):
        out.leaf("nr", number)
        out.leaf("desc", _cut(description, 9999))
        out.leaf("periodNumber", booked_on.month)
        out.leaf("trDt", booked_on)
        out.leaf("sourceID", _cut(source or "manual", 35))
        for line, (*_, code, cents, member_id, project_id) in enumerate(postings, start=1):
            amount, side = _amount(cents)
            with out.node("trLine"):
                out.leaf("nr", line)
                out.leaf("accID", code)
                out.leaf("docRef", _cut(key, 999))
                out.leaf("effDate", booked_on)
                out.leaf("desc", _cut(description, 9999))
                out.leaf("amnt", amount)
                out.leaf("amntTp", side)
                if member_id is not None and numbers.get(member_id) is not None:
                    out.leaf("custSupID", numbers[member_id])
                if project_id is not None:
                    out.leaf("projID", project_id.hex)


def validate(path: Path) -> None:
    """Check the file against the XAF 3.2 schema while reading it piece by piece; raise on the first error."""
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    try:
        for _, element in etree.iterparse(str(path), events=("end",), schema=schema, huge_tree=True):
            if element.tag == f"{{{NAMESPACE}}}transaction":
                element.clear()
    except etree.XMLSyntaxError as error:
        raise InvalidAuditfile(f"{path.name} does not match the XAF 3.2 schema: {error}") from error

"""Importing members from a spreadsheet (CSV saved from Excel): every row is checked first, then all or nothing.

A cooperative that moves to Kracht brings its members' list. Each row becomes an active member as of the
day they joined: the facts APPLIED and ACTIVATED on `joined_on`, their shares issued on `joined_on`, and the
capital booked as an opening balance (1200 Bank / 0500 share capital, member dimension) on `joined_on`, so the
share register on any date equals minus the balance of 0500 on that date. Running the same file again
changes nothing: rows whose e-mail address is already a member are skipped.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import NamedTuple, TextIO, TypeVar

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import exc, func, insert, update
from sqlmodel import Session, col, select

from coop.core.clock import today_amsterdam
from coop.core.errors import KrachtError
from coop.core.municipalities import CODE_PATTERN
from coop.core.sequences import next_number, number_series
from coop.ledger.chart import AccountCode
from coop.ledger.schemas import Line
from coop.ledger.service import post
from coop.members.models import FactKind, Member, MemberKind
from coop.members.service import MEMBER_NUMBER_SERIES, add_fact, normalise_iban, normalise_kvk
from coop.shares import service as shares
from coop.shares.models import ShareClass, ShareOrder
from coop.shares.queries import class_version, issued_cents

COLUMNS = ("member_number", "kind", "name", "email", "joined_on", "street", "postcode", "city",
           "municipality_code", "iban", "kvk_number", "membership_shares", "social_shares")
REQUIRED_COLUMNS = ("kind", "name", "email", "joined_on")
SHARE_COLUMNS = {shares.ORDINARY: "membership_shares", shares.SOCIAL: "social_shares"}
HEADER_ROW = 1
SOURCE_TYPE = "member_import"
_POSTCODE = re.compile(r"^([1-9][0-9]{3})\s*([A-Za-z]{2})\Z")
_LIMITS = {"name": 200, "street": 200, "postcode": 10, "city": 100}
T = TypeVar("T")


class RowError(NamedTuple):
    """What is wrong, where: the spreadsheet's row number (the header is row 1) and the column."""

    row: int
    field: str
    message: str


@dataclass
class ImportReport:
    """What an import did (or, on a dry run or with errors, would do / refused to do)."""

    imported: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    renumbered: list[tuple[int, int, int]] = field(default_factory=list)
    """(row, old number, new number) where the old member number was already taken."""
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        """True when no row was refused."""
        return not self.errors


@dataclass(frozen=True)
class ImportRow:
    """One valid row, normalised."""

    row: int
    member_number: int | None
    kind: MemberKind
    name: str
    email: str
    joined_on: date
    street: str | None
    postcode: str | None
    city: str | None
    municipality_code: str | None
    iban: str | None
    kvk_number: str | None
    quantities: dict[str, int]


def import_members(session: Session, *, rows_source: TextIO | Path, dry_run: bool) -> ImportReport:
    """Check every row, then create the members who are not yet members (all or nothing; flushes, never commits).

    Each new member is active from `joined_on`, keeps its old member number when free (else the next one),
    holds its shares from `joined_on`, and has its capital in cents booked on `joined_on` under the key
    `import:member:{id}`. Everything happens in a savepoint, rolled back on any error and on a dry run.
    """
    report = ImportReport(dry_run=dry_run)
    records, report.errors = read_rows(rows_source)
    if any(error.row == HEADER_ROW for error in report.errors):
        return report
    savepoint = session.begin_nested()
    try:
        _import(session, records=records, label=_source_label(rows_source), report=report)
    except BaseException:
        savepoint.rollback()
        raise
    if report.errors or dry_run:
        savepoint.rollback()
        if report.errors:
            report.imported, report.skipped, report.renumbered = 0, 0, []
    else:
        savepoint.commit()
    return report


def _import(session: Session, *, records: list[tuple[int, dict[str, str]]], label: str,
            report: ImportReport) -> None:
    """Validate, find who is new, check the caps, and write, recording refusals in the report."""
    rows, row_errors = validate_rows(session, records)
    report.errors += row_errors
    # Two imports of one file at once must not both find its members new: they queue on the member number
    # series (a row lock on PostgreSQL; SQLite's BEGIN IMMEDIATE serialises writers anyway) before looking.
    lock_series(session, series=MEMBER_NUMBER_SERIES)
    existing = _existing_emails(session, {row.email for row in rows})
    new_rows = sorted((row for row in rows if row.email not in existing), key=lambda row: (row.joined_on, row.row))
    report.errors += _check_caps(session, new_rows)
    report.errors.sort()
    if report.errors:
        return
    report.skipped = len(rows) - len(new_rows)
    refused = _write(session, rows=new_rows, label=label, report=report)
    if refused is not None:
        report.errors = [refused]


# --- reading -------------------------------------------------------------------------------------------


def read_rows(source: TextIO | Path) -> tuple[list[tuple[int, dict[str, str]]], list[RowError]]:
    """The non-empty data rows as (spreadsheet row, {column: text}); `;` or `,` separated, BOM or not."""
    if isinstance(source, Path):
        try:
            text = source.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as error:
            return [], [RowError(HEADER_ROW, "file", f"not UTF-8 text ({error.reason}); save as 'CSV UTF-8'")]
    else:
        text = source.read()
    text = text.removeprefix("\ufeff")
    header_line = text.split("\n", 1)[0]
    # The header holds only known column names, so the separator is whichever of the two it contains.
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [_column(name) for name in next(reader, [])]
    errors = _check_header(header)
    if errors:
        return [], errors
    records = []
    for number, cells in enumerate(reader, start=HEADER_ROW + 1):
        if not any(cell.strip() for cell in cells):
            continue  # Excel leaves blank rows (";;;;") at the end
        # Cells beyond the header, or under a column without a name (Excel's trailing `;`), must be empty.
        stray = [i for i, cell in enumerate(cells) if cell.strip() and (i >= len(header) or not header[i])]
        if stray:
            errors.append(RowError(number, "row", f"a value in column {stray[0] + 1}, which has no name"))
            continue
        records.append((number, {name: cells[i].strip() if i < len(cells) else ""
                                 for i, name in enumerate(header) if name}))
    return records, errors


def _column(name: str) -> str:
    """`Member number ` -> `member_number`."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _check_header(header: list[str]) -> list[RowError]:
    """Known columns only (unnamed ones must stay empty), each once, and the required ones present."""
    errors = [RowError(HEADER_ROW, name, f"unknown column; expected some of {', '.join(COLUMNS)}")
              for name in header if name and name not in COLUMNS]
    errors += [RowError(HEADER_ROW, name, "column appears twice") for name in sorted(set(header))
               if name in COLUMNS and header.count(name) > 1]
    errors += [RowError(HEADER_ROW, name, "missing column") for name in REQUIRED_COLUMNS if name not in header]
    return errors


def _source_label(source: TextIO | Path) -> str:
    """The file's name for notes and ledger descriptions."""
    name = source.name if isinstance(source, Path) else getattr(source, "name", None)
    return Path(str(name)).name[:100] if isinstance(name, str | Path) and str(name) else "spreadsheet"


# --- validating ----------------------------------------------------------------------------------------


def validate_rows(session: Session, records: list[tuple[int, dict[str, str]]]) -> tuple[list[ImportRow],
                                                                                          list[RowError]]:
    """Every row checked on its own and against the others (duplicate e-mails and member numbers)."""
    versions = _VersionCache(session)
    today = today_amsterdam()
    rows: list[ImportRow] = []
    errors: list[RowError] = []
    for number, values in records:
        row, row_errors = _validate_row(number, values, versions=versions, today=today)
        errors += row_errors
        if row is not None:
            rows.append(row)
    errors += _duplicates(rows, "email", lambda row: row.email)
    errors += _duplicates(rows, "member_number", lambda row: row.member_number)
    return rows, errors


class _VersionCache:
    """`class_version` looked up once per class and date."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.found: dict[tuple[str, date], ShareClass | None] = {}

    def at(self, code: str, on: date) -> ShareClass | None:
        """The version of `code` in force on `on`."""
        if (code, on) not in self.found:
            self.found[(code, on)] = class_version(self.session, code=code, at=on)
        return self.found[(code, on)]


def _validate_row(number: int, values: dict[str, str], *, versions: _VersionCache,
                  today: date) -> tuple[ImportRow | None, list[RowError]]:
    """One row normalised, or the reasons it is not acceptable (all of them)."""
    errors: list[RowError] = []

    def check(name: str, convert: Callable[[str], T]) -> T | None:
        try:
            return convert(values.get(name, ""))
        except KrachtError as error:
            errors.append(RowError(number, error.field or name, error.message))
        except ValueError as error:
            errors.append(RowError(number, name, str(error)))
        return None

    member_number = check("member_number", _member_number)
    kind = check("kind", _kind)
    name = check("name", lambda text: _text(text, "name", required=True))
    email = check("email", _email)
    joined = check("joined_on", lambda text: _date(text, today))
    street = check("street", lambda text: _text(text, "street"))
    postcode = check("postcode", _postcode)
    city = check("city", lambda text: _text(text, "city"))
    municipality = check("municipality_code", _municipality_code)
    iban = check("iban", normalise_iban)
    kvk = None
    if kind is not None:
        of_kind = kind
        kvk = check("kvk_number", lambda text: normalise_kvk(of_kind, text))
    quantities = {code: check(column, _count_or(1 if code == shares.ORDINARY else 0))
                  for code, column in SHARE_COLUMNS.items()}
    if kind is not None and joined is not None:
        counted = {code: quantity for code, quantity in quantities.items() if quantity is not None}
        errors += _share_rules(number, kind, joined, today, counted, versions)
    if errors or kind is None or name is None or email is None or joined is None:
        return None, errors
    return ImportRow(row=number, member_number=member_number, kind=kind, name=name, email=email, joined_on=joined,
                     street=street, postcode=postcode, city=city, municipality_code=municipality,
                     iban=iban, kvk_number=kvk,
                     quantities={code: q for code, q in quantities.items() if q}), []


def _member_number(text: str) -> int | None:
    """The old member number, if any: a whole number of at least 1."""
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise ValueError("a member number is a whole number of at least 1")
    return int(text)


def _kind(text: str) -> MemberKind:
    """One of the member kinds."""
    try:
        return MemberKind(text.lower())
    except ValueError:
        raise ValueError(f"{text!r} is not a kind of member; use one of "
                         f"{', '.join(k.value for k in MemberKind)}") from None


def _text(text: str, name: str, *, required: bool = False) -> str | None:
    """Free text within the column's length."""
    if not text:
        if required:
            raise ValueError("required")
        return None
    if name == "name" and len(text) < 2:
        raise ValueError("a name has at least 2 characters")
    if len(text) > _LIMITS[name]:
        raise ValueError(f"at most {_LIMITS[name]} characters")
    return text


def _postcode(text: str) -> str | None:
    """A Dutch postcode as `1234 AB`; other postcodes as written (at most 10 characters)."""
    match = _POSTCODE.match(text)
    return f"{match[1]} {match[2].upper()}" if match else _text(text, "postcode")


def _municipality_code(text: str) -> str | None:
    """A CBS municipality code such as `GM0344` (upper case), if given."""
    code = text.strip().upper()
    if not code:
        return None
    if not re.match(CODE_PATTERN, code):
        raise ValueError("a CBS municipality code is GM followed by four digits, such as GM0344")
    return code


def _email(text: str) -> str:
    """A syntactically valid address (no DNS lookup), stored in lower case."""
    if not text:
        raise ValueError("required")
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise ValueError(str(error)) from None


def _date(text: str, today: date) -> date:
    """YYYY-MM-DD or DD-MM-YYYY (also with slashes), not after today."""
    if not text:
        raise ValueError("required")
    for pattern in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"):
        try:
            day = datetime.strptime(text, pattern).date()
            break
        except ValueError:
            continue
    else:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD or DD-MM-YYYY)")
    if day > today:
        raise ValueError(f"{day.isoformat()} is in the future")
    return day


def _count_or(default: int) -> Callable[[str], int]:
    """A whole number of shares (an empty cell means `default`)."""

    def count(text: str) -> int:
        if not text:
            return default
        if not text.isdigit():
            raise ValueError("a number of shares is a whole number of at least 0")
        return int(text)

    return count


def _share_rules(number: int, kind: MemberKind, joined: date, today: date, quantities: dict[str, int],
                 versions: _VersionCache) -> list[RowError]:
    """Kinds, minimum and maximum per member of each class, as they were on `joined` and as they are today.

    The shares service orders at today's terms while the register must show what was paid then, so a class
    whose nominal value changed in between cannot be imported (the row says so).
    """
    errors: list[RowError] = []
    for code, quantity in quantities.items():
        column = SHARE_COLUMNS[code]
        then, now = versions.at(code, joined), versions.at(code, today)
        if then is None or now is None:
            if quantity:
                errors.append(RowError(number, "joined_on", f"share class {code} was not in force on {joined}"))
            continue
        broken = _breaks(then, kind, quantity) or (_breaks(now, kind, quantity) if now.id != then.id else None)
        if broken:
            errors.append(RowError(number, column, broken))
        elif quantity and then.nominal_cents != now.nominal_cents:
            errors.append(RowError(number, column, f"{then.name} was {then.nominal_cents} cents on {joined} but "
                                                   f"is {now.nominal_cents} now; import this member by hand"))
    return errors


def _breaks(version: ShareClass, kind: MemberKind, quantity: int) -> str | None:
    """Why `quantity` shares of this class version are not allowed for this kind of member, if they are not."""
    if kind.value not in version.member_kinds:
        return f"a {kind.value} cannot hold {version.name}" if quantity else None
    if quantity < version.min_per_member:
        return f"at least {version.min_per_member} of {version.name} per member"
    if version.max_per_member is not None and quantity > version.max_per_member:
        return f"at most {version.max_per_member} of {version.name} per member"
    return None


def _duplicates(rows: list[ImportRow], name: str, key: Callable[[ImportRow], object]) -> list[RowError]:
    """Later rows repeating an e-mail address or old member number of an earlier row."""
    first: dict[object, int] = {}
    errors = []
    for row in rows:
        value = key(row)
        if value is None:
            continue
        if value in first:
            errors.append(RowError(row.row, name, f"{value} is also on row {first[value]}"))
        else:
            first[value] = row.row
    return errors


def _existing_emails(session: Session, emails: Iterable[str]) -> set[str]:
    """Which of these addresses already belong to a member (any status), in lower case."""
    wanted = sorted(emails)
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        found.update(session.exec(select(func.lower(Member.email)).where(func.lower(Member.email).in_(chunk))).all())
    return found


def _check_caps(session: Session, rows: list[ImportRow]) -> list[RowError]:
    """A class with a cap on its issue: the row at which the new shares would go over it."""
    errors = []
    versions = _VersionCache(session)
    today = today_amsterdam()
    totals: dict[str, int] = {}
    for row in rows:
        for code, quantity in row.quantities.items():
            version = versions.at(code, today)
            if version is None or version.cap_cents is None:
                continue
            if code not in totals:
                totals[code] = issued_cents(session, class_code=code)
            totals[code] += quantity * version.nominal_cents
            if totals[code] > version.cap_cents:
                errors.append(RowError(row.row, SHARE_COLUMNS[code], f"the issue of {version.name} would go over "
                                                                     f"its cap of {version.cap_cents} cents"))
                totals[code] -= quantity * version.nominal_cents
    return errors


# --- writing -------------------------------------------------------------------------------------------


def _write(session: Session, *, rows: list[ImportRow], label: str, report: ImportReport) -> RowError | None:
    """Create the members in joining order; the first refusal stops it (the caller rolls back).

    Three passes, each in joining order: members with their facts and share orders; then the issues (so the
    certificate numbers follow the joining dates); then the opening balances. The orders all come before the
    first issue because `create_order` replays the whole register to check a member's holding: ordering
    against the register as it was before the import keeps the import linear, and the new members hold
    nothing yet either way (the caps were checked for the whole file beforehand).
    """
    wanted = {row.member_number for row in rows if row.member_number is not None}
    taken = set(session.exec(select(Member.member_number).where(col(Member.member_number).in_(wanted))).all()
                ) if wanted else set()
    kept = {row.row: row.member_number for row in rows
            if row.member_number is not None and row.member_number not in taken}
    if kept:
        move_series_past(session, series=MEMBER_NUMBER_SERIES, number=max(kept.values()))
    created: list[tuple[ImportRow, Member, ShareOrder]] = []
    for row in rows:
        number = kept.get(row.row) or next_number(session, series=MEMBER_NUMBER_SERIES)
        if row.member_number is not None and row.member_number != number:
            report.renumbered.append((row.row, row.member_number, number))
        try:
            created.append((row, *_create_member(session, row=row, member_number=number, label=label)))
        except KrachtError as error:
            return RowError(row.row, error.field or "row", error.message)
    for step in (_issue, _book):
        for row, member, order in created:
            try:
                step(session, row=row, member=member, order=order, label=label)
            except KrachtError as error:
                return RowError(row.row, error.field or "row", error.message)
    report.imported = len(created)
    return None


def _create_member(session: Session, *, row: ImportRow, member_number: int,
                   label: str) -> tuple[Member, ShareOrder]:
    """An active member since `joined_on` (facts APPLIED and ACTIVATED on that day) with its share order."""
    member = Member(kind=row.kind, name=row.name, email=row.email, street=row.street, postcode=row.postcode,
                    city=row.city, municipality_code=row.municipality_code, iban=row.iban,
                    kvk_number=row.kvk_number, member_number=member_number)
    session.add(member)
    session.flush()
    note = f"imported from {label}, row {row.row}"
    add_fact(session, member=member, kind=FactKind.APPLIED, effective_on=row.joined_on, note=note)
    add_fact(session, member=member, kind=FactKind.ACTIVATED, effective_on=row.joined_on, note=note)
    order = shares.create_order(session, member_id=member.id, member_kind=row.kind.value, requests=[
        shares.ShareRequest(class_code=code, quantity=quantity) for code, quantity in sorted(row.quantities.items())])
    return member, order


def _issue(session: Session, *, row: ImportRow, member: Member, order: ShareOrder, label: str) -> None:
    """The member's shares enter the register on `joined_on`."""
    shares.issue_order(session, order_id=order.id, effective_on=row.joined_on)


def _book(session: Session, *, row: ImportRow, member: Member, order: ShareOrder, label: str) -> None:
    """The capital paid in, as an opening balance on `joined_on`: 1200 Bank / 0500 share capital of the member."""
    post(session, key=f"import:member:{member.id}", booked_on=row.joined_on, source_type=SOURCE_TYPE,
         source_id=str(member.id), description=f"Opening balance from member import {label}: share capital of "
                                               f"member {member.member_number} {row.name}"[:500],
         lines=[Line(account=AccountCode.BANK, amount_cents=order.amount_cents, member_id=member.id),
                Line(account=AccountCode.SHARE_CAPITAL, amount_cents=-order.amount_cents, member_id=member.id)])


def move_series_past(session: Session, *, series: str, number: int) -> None:
    """Make the next number of `series` larger than `number` (kept old numbers are never handed out again).

    Never moves a series back. Used when old member numbers are kept: the series continues above the highest
    one instead of handing out numbers one by one (which `next_number` would do, gap-free, up to `number`).
    """
    session.execute(update(number_series).where(number_series.c.name == series,
                                                number_series.c.last_value < number).values(last_value=number))
    if session.execute(select(number_series.c.name).where(number_series.c.name == series)).first() is not None:
        return
    try:
        with session.begin_nested():
            session.execute(insert(number_series).values(name=series, last_value=number))
    except exc.IntegrityError:
        # Another transaction created the series meanwhile: the row exists now, so the update applies.
        move_series_past(session, series=series, number=number)


def lock_series(session: Session, *, series: str) -> None:
    """Hold the counter row of `series` until the transaction ends (created at 0 if missing): writers queue here."""
    locked = session.execute(update(number_series).where(number_series.c.name == series)
                             .values(last_value=number_series.c.last_value).returning(number_series.c.name)).first()
    if locked is not None:
        return
    try:
        with session.begin_nested():
            session.execute(insert(number_series).values(name=series, last_value=0))
    except exc.IntegrityError:
        # Another transaction created it meanwhile and has committed: now there is a row to lock.
        lock_series(session, series=series)

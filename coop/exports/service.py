"""The year-end pack: cross-checks first, then every report as CSV and as a sheet, the XAF auditfile, a manifest.

One pass over each report's rows writes its CSV and its sheet together, so nothing of the year is held in
memory. The same database gives byte-identical files; only the manifest's last line says when it was made.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from importlib.metadata import version
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from coop.core.clock import AMSTERDAM, utc_now
from coop.core.errors import Conflict
from coop.core.money import euros_text
from coop.core.settings import Settings
from coop.exports.checks import checks
from coop.exports.reports import Kind, Report, Year, reports, series_gaps
from coop.exports.workbook import YearWorkbook
from coop.exports.xaf import validate, write_auditfile
from coop.ledger.models import JournalEntry

Progress = Callable[[str, bool], None]  # (what is happening, whether a step of `steps()` just finished)


class ChecksFailed(Conflict):
    """The books and the registers disagree: nothing is written; `problems` names each mismatch."""

    title = "Year-end checks failed"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ExportedFile:
    """A file of the pack with its size in rows and its checksum."""

    name: str
    rows: int
    sha256: str


@dataclass
class YearEndPack:
    """What the export wrote and what it checked."""

    year: int
    folder: Path
    files: list[ExportedFile] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    numbering: list[str] = field(default_factory=list)


def _date_text(value: Any) -> str:
    """An ISO date."""
    return value.isoformat() if isinstance(value, date) else str(value)


_FORMATS: dict[Kind, Callable[[Any], str]] = {Kind.CENTS: euros_text, Kind.DATE: _date_text}


def _csv_cells(report: Report) -> Callable[[Sequence[Any]], list[Any]]:
    """How a row of `report` is written: euros with two decimals and ISO dates; the csv module writes the rest as
    str() does, and None as empty. Only those columns are touched, chosen once: the journal has a million rows."""
    width = len(report.columns)
    formatted = [(index, _FORMATS[column.kind]) for index, column in enumerate(report.columns)
                 if column.kind in _FORMATS]

    def cells(values: Sequence[Any]) -> list[Any]:
        if len(values) != width:
            raise ValueError(f"{report.name}: a row of {len(values)} values for {width} columns")
        row = list(values)
        for index, form in formatted:
            value = row[index]
            if value is not None and value != "":
                row[index] = form(value)
        return row

    return cells


def _digest(path: Path) -> str:
    """SHA-256 of a file, read in blocks."""
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def _refuse_to_overwrite(folder: Path, force: bool) -> None:
    """An existing pack is never silently replaced."""
    if folder.exists() and not folder.is_dir():
        raise Conflict(f"{folder} is a file, not a folder", field="out")
    if folder.exists() and any(folder.iterdir()) and not force:
        raise Conflict(f"{folder} is not empty; use --force to write over what is in it", field="out")


def run_checks(session: Session, year: Year, progress: Progress) -> list[str]:
    """Every cross-check; raises ChecksFailed naming each mismatch, else returns the names of those that passed."""
    passed, problems = [], []
    for check in checks():
        progress(f"checking: {check.name}", False)
        found = check.run(session, year)
        progress(f"checked: {check.name}", True)
        problems += found
        if not found:
            passed.append(check.name)
    if problems:
        raise ChecksFailed(problems)
    return passed


def write_report(report: Report, session: Session, year: Year, folder: Path, workbook: YearWorkbook | None = None,
                 progress: Progress | None = None) -> ExportedFile:
    """One report as `name`.csv and (given a workbook) as a sheet, from a single pass over its rows."""
    say = progress or (lambda _message, _done: None)
    path = folder / f"{report.name}.csv"
    sheet = workbook.sheet(report) if workbook is not None else None
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([column.name for column in report.columns])
        cells = _csv_cells(report)
        for values in report.rows(session, year):
            writer.writerow(cells(values))
            if workbook is not None and sheet is not None:
                sheet = workbook.row(sheet, report, values)
            rows += 1
            if rows % 100_000 == 0:
                say(f"{report.name}: {rows:,} rows", False)
    say(f"{report.name}.csv: {rows:,} rows", True)
    return ExportedFile(path.name, rows, _digest(path))


def _created_on(session: Session, year: Year) -> date:
    """When the books of the year were last written to (the auditfile's creation date, the same on every run)."""
    last = session.execute(select(func.max(JournalEntry.created_at))
                           .where(col(JournalEntry.booked_on).between(year.start, year.end))).scalar()
    if last is None:
        return year.end
    moment = last if isinstance(last, datetime) else datetime.fromisoformat(str(last))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(AMSTERDAM).date()


def numbering(session: Session, year: Year) -> list[str]:
    """What the manifest says about the invoice series of the year (gap-free, or the export would have failed)."""
    names = {"invoice": "invoices", "credit_note": "credit notes"}
    return [f"{names[kind]} {year.year}: numbers {first} to {last}, no gaps"
            for kind, (first, last, _) in sorted(series_gaps(session, year).items())]


def steps() -> int:
    """How many steps an export reports as finished (for a progress bar)."""
    return len(checks()) + len(reports()) + 2


def export_year_end(session: Session, *, year: int, folder: Path, settings: Settings, database: str,
                    force: bool = False, progress: Progress | None = None) -> YearEndPack:
    """Check the books, then write the year-end pack into `folder` (created if missing; never over a filled one
    unless `force`). Raises ChecksFailed, naming every mismatch, before anything is written."""
    say = progress or (lambda _message, _done: None)
    closing = Year(year)
    _refuse_to_overwrite(folder, force)
    pack = YearEndPack(year=year, folder=folder, checks=run_checks(session, closing, say),
                       numbering=numbering(session, closing))
    folder.mkdir(parents=True, exist_ok=True)
    created_on = _created_on(session, closing)
    workbook_path = folder / f"kracht-{year}.xlsx"
    workbook = YearWorkbook(workbook_path, stamped=datetime.combine(created_on, time()))
    for report in reports():
        pack.files.append(write_report(report, session, closing, folder, workbook, say))
    workbook.save()
    pack.files.append(ExportedFile(workbook_path.name, sum(f.rows for f in pack.files), _digest(workbook_path)))
    say(f"{workbook_path.name} written", True)
    auditfile = folder / f"auditfile-{year}.xaf"
    lines = write_auditfile(session, year=closing, path=auditfile, settings=settings, created_on=created_on,
                            software_version=version("kracht"))
    say(f"{auditfile.name} written; validating it against the XAF 3.2 schema", False)
    validate(auditfile)
    say(f"{auditfile.name} is valid XAF 3.2", True)
    pack.files.append(ExportedFile(auditfile.name, lines, _digest(auditfile)))
    _write_manifest(pack, database=database)
    return pack


def _write_manifest(pack: YearEndPack, *, database: str) -> None:
    """Each file with its checksum and rows, what was checked, where it came from; the time of making last."""
    lines = [f"Kracht year-end export {pack.year}", f"software: kracht {version('kracht')}", f"database: {database}",
             "", "files (sha256, rows, name):"]
    lines += [f"{f.sha256}  {f.rows:>10}  {f.name}" for f in pack.files]
    lines += ["", "checks passed:"] + [f"- {name}" for name in pack.checks]
    lines += ["", "numbering:"] + [f"- {line}" for line in pack.numbering]
    lines += ["", f"created: {utc_now().astimezone(AMSTERDAM).isoformat(timespec='seconds')}"]
    (pack.folder / "MANIFEST.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")

"""The year-end pack on the demo cooperative: every file, every check, a valid XAF, byte-identical twice."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import uuid
from collections import Counter
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree
from openpyxl import load_workbook
from sqlalchemy import text
from sqlmodel import Session, col, func, select
from typer.testing import CliRunner

from coop.cli import app
from coop.core.clock import today_amsterdam
from coop.core.errors import Conflict
from coop.core.settings import get_settings
from coop.exports.reports import Year
from coop.exports.service import ChecksFailed, export_year_end
from coop.exports.xaf import NAMESPACE, SCHEMA
from coop.ledger.models import JournalEntry, Posting
from coop.members.queries import members_with_status
from funding.social_value.views import project_social_value
from tests.demo_db import Demo

ROOT = Path(__file__).resolve().parents[3]
THIS_YEAR = today_amsterdam().year
FILES = {"journal.csv", "trial_balance.csv", "balance_sheet.csv", "income_statement.csv", "member_register.csv",
         "share_register.csv", "capital_movements.csv", "subscriptions.csv", "invoices.csv", "projects.csv",
         "funds.csv", "social_value.csv", "payments_by_provider.csv", f"kracht-{THIS_YEAR}.xlsx",
         f"auditfile-{THIS_YEAR}.xaf", "MANIFEST.txt"}


def export(demo: Demo, folder: Path, year: int = THIS_YEAR, **options: bool) -> None:
    """The year-end pack of the demo into `folder`, read as the CLI reads it."""
    with Session(demo.reader) as session:
        export_year_end(session, year=year, folder=folder, settings=get_settings(), database="demo", **options)


def rows(path: Path) -> list[dict[str, str]]:
    """A CSV of the pack as dictionaries."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def checksums(folder: Path) -> list[str]:
    """The manifest without its last (creation time) line."""
    return (folder / "MANIFEST.txt").read_text(encoding="utf-8").splitlines()[:-1]


def test_the_pack_has_every_file_its_checks_and_the_numbers_of_the_books(demo: Demo, tmp_path: Path) -> None:
    export(demo, tmp_path / "pack")

    pack = tmp_path / "pack"
    assert {path.name for path in pack.iterdir()} == FILES
    balance = rows(pack / "trial_balance.csv")
    total = balance[-1]
    assert total["name"] == "Totaal" and total["closing"] == "0.00" and total["debit"] == total["credit"]
    with Session(demo.reader) as session:
        year = Year(THIS_YEAR)
        postings = session.exec(select(func.count()).select_from(Posting).join(
            JournalEntry, col(JournalEntry.id) == col(Posting.entry_id))
            .where(col(JournalEntry.booked_on).between(year.start, year.end))).one()
        members = members_with_status(session, at=year.end)
    journal = rows(pack / "journal.csv")
    assert len(journal) == postings > 0
    assert sum(Decimal(r["debit"]) for r in journal) == sum(Decimal(r["credit"]) for r in journal) == Decimal(
        total["debit"])
    assert len(rows(pack / "member_register.csv")) == len(members)
    sheet = rows(pack / "balance_sheet.csv")
    sides = {r["name"]: Decimal(r["amount"]) for r in sheet if r["section"] == "Totaal"}
    assert sides["Activa"] == sides["Passiva"] > 0
    manifest = (pack / "MANIFEST.txt").read_text()
    assert "share capital equals the share register" in manifest and "no gaps" in manifest
    assert f"{len(journal):>10}  journal.csv" in manifest


def test_social_value_has_every_verified_line_with_its_assumptions_as_the_api_shows_it(demo: Demo,
                                                                                      tmp_path: Path) -> None:
    export(demo, tmp_path / "pack")

    lines = rows(tmp_path / "pack" / "social_value.csv")
    assert lines, "the demo has verified outcomes"
    by_project: dict[str, list[dict[str, str]]] = {}
    for line in lines:
        by_project.setdefault(line["project_id"], []).append(line)
    with Session(demo.reader) as session:
        for project_id, found in by_project.items():
            api = project_social_value(session, project_id=uuid.UUID(project_id), at=Year(THIS_YEAR).end,
                                       viewer=None)
            assert [line["outcome_id"] for line in found] == [str(line.outcome_id) for line in api.lines]
            assert sum(Decimal(line["present_value"]) for line in found) * 100 == api.present_value_cents
            assert {Decimal(line["project_present_value"]) * 100 for line in found} == {api.present_value_cents}
            assert {line["sroi_ratio"] for line in found} == {f"{api.sroi_ratio:.2f}"}
            for line, shown in zip(found, api.lines, strict=True):
                used = shown.assumptions
                assert (line["source"], int(line["deadweight_bp"]), int(line["attribution_bp"]),
                        int(line["duration_years"]), int(line["discount_rate_bp"]), line["valuation_valid_from"]) == (
                    used.source, used.deadweight_bp, used.attribution_bp, used.duration_years,
                    used.discount_rate_bp, used.valid_from.isoformat())


def test_the_auditfile_is_valid_xaf_and_adds_up(demo: Demo, tmp_path: Path) -> None:
    export(demo, tmp_path / "pack")

    auditfile = tmp_path / "pack" / f"auditfile-{THIS_YEAR}.xaf"
    tree = etree.parse(str(auditfile))
    etree.XMLSchema(etree.parse(str(SCHEMA))).assertValid(tree)
    ns = {"x": NAMESPACE}
    lines = tree.findall(".//x:trLine", ns)
    assert int(tree.findtext(".//x:transactions/x:linesCount", namespaces=ns)) == len(lines) > 0
    debit = sum(Decimal(line.findtext("x:amnt", namespaces=ns)) for line in lines
                if line.findtext("x:amntTp", namespaces=ns) == "D")
    credit = sum(Decimal(line.findtext("x:amnt", namespaces=ns)) for line in lines
                 if line.findtext("x:amntTp", namespaces=ns) == "C")
    assert debit == credit == Decimal(tree.findtext(".//x:transactions/x:totalDebit", namespaces=ns))
    opening = tree.find(".//x:openingBalance", ns)
    assert opening.findtext("x:totalDebit", namespaces=ns) == opening.findtext("x:totalCredit", namespaces=ns)
    journals = [j.findtext("x:jrnID", namespaces=ns) for j in tree.findall(".//x:journal", ns)]
    assert journals == sorted(set(journals), key=journals.index) and "BANK" in journals  # each journal once
    for transaction in tree.findall(".//x:transaction", ns):
        amounts = Counter()
        for line in transaction.findall("x:trLine", ns):
            amounts[line.findtext("x:amntTp", namespaces=ns)] += Decimal(line.findtext("x:amnt", namespaces=ns))
        assert amounts["D"] == amounts["C"], transaction.findtext("x:nr", namespaces=ns)
    assert tree.findtext(".//x:header/x:fiscalYear", namespaces=ns) == str(THIS_YEAR)


def test_the_workbook_has_a_sheet_per_report_with_numbers_dates_and_a_frozen_header(demo: Demo,
                                                                                    tmp_path: Path) -> None:
    export(demo, tmp_path / "pack")

    book = load_workbook(tmp_path / "pack" / f"kracht-{THIS_YEAR}.xlsx")
    assert book.sheetnames[:4] == ["Journaal", "Proefbalans", "Balans", "Resultatenrekening"]
    assert {"Projecten", "Fondsen", "Facturen", "Ledenregister"} <= set(book.sheetnames)
    journal = book["Journaal"]
    assert journal.freeze_panes == "A2" and journal["A1"].value == "entry" and journal["A1"].font.bold
    first = [cell.value for cell in journal[2]]
    csv_first = rows(tmp_path / "pack" / "journal.csv")[0]
    assert journal["F2"].number_format == "#,##0.00" and journal["B2"].number_format == "yyyy-mm-dd"
    assert Decimal(str(first[5])) == Decimal(csv_first["debit"]) and first[1].date().isoformat() == csv_first["date"]
    assert journal.max_row == len(rows(tmp_path / "pack" / "journal.csv")) + 1


def test_a_second_export_is_byte_for_byte_the_same(demo: Demo, tmp_path: Path) -> None:
    export(demo, tmp_path / "first")
    export(demo, tmp_path / "second")

    assert checksums(tmp_path / "first") == checksums(tmp_path / "second")
    for path in (tmp_path / "first").iterdir():
        if path.name != "MANIFEST.txt":
            assert path.read_bytes() == (tmp_path / "second" / path.name).read_bytes(), path.name


def test_a_filled_folder_is_not_written_over_without_force(demo: Demo, tmp_path: Path) -> None:
    folder = tmp_path / "pack"
    folder.mkdir()
    (folder / "notes.txt").write_text("van de penningmeester")

    with pytest.raises(Conflict, match="not empty"):
        export(demo, folder)
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    export(demo, folder, force=True)
    assert {p.name for p in folder.iterdir()} >= FILES


def test_a_corrupted_posting_stops_the_export_and_names_its_entry_and_account(
        sqlite_copy: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with sqlite_copy.engine.connect() as connection:  # behind the ledger's back, as a bad restore would
        number, code = connection.execute(text(
            "SELECT e.number, a.code FROM ledger_posting p JOIN ledger_entry e ON e.id = p.entry_id "
            "JOIN ledger_account a ON a.id = p.account_id "
            f"WHERE e.booked_on >= '{THIS_YEAR}-01-01' ORDER BY e.number, a.code LIMIT 1")).one()
        connection.exec_driver_sql(
            "UPDATE ledger_posting SET amount_cents = amount_cents + 1 WHERE id = (SELECT p.id FROM ledger_posting p "
            f"JOIN ledger_entry e ON e.id = p.entry_id JOIN ledger_account a ON a.id = p.account_id "
            f"WHERE e.number = {number} AND a.code = '{code}')")
        connection.commit()

    with pytest.raises(ChecksFailed) as failure:
        export(sqlite_copy, tmp_path / "pack")

    assert f"journal entry {number} " in failure.value.problems[0] and code in failure.value.problems[0]
    assert any("trial balance" in problem for problem in failure.value.problems)
    assert not (tmp_path / "pack").exists()
    monkeypatch.setenv("KRACHT_DATABASE_URL", sqlite_copy.url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["export", "year-end", "--year", str(THIS_YEAR), "--out",
                                          str(tmp_path / "pack")])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1 and "nothing was written" in result.output
    assert f"journal entry {number} " in result.output and not (tmp_path / "pack").exists()


def test_a_gap_in_the_invoice_numbers_is_named(sqlite_copy: Demo, tmp_path: Path) -> None:
    with sqlite_copy.engine.connect() as connection:
        connection.exec_driver_sql(f"UPDATE invoice SET number = '{THIS_YEAR}-09999' "
                                   f"WHERE number = '{THIS_YEAR}-00002'")
        connection.commit()

    with pytest.raises(ChecksFailed, match=r"invoices runs 1\.\.9999 with 9.* missing: 2, ") as failure:
        export(sqlite_copy, tmp_path / "pack")
    assert "share capital" not in failure.value.message


def test_the_command_and_the_script_write_the_same_pack(sqlite_demo: Demo, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRACHT_DATABASE_URL", sqlite_demo.url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["export", "year-end", "--year", str(THIS_YEAR), "--out",
                                          str(tmp_path / "cli")])
        assert result.exit_code == 0, result.output
        assert "every paid payment is booked once" in result.output and "journal.csv" in result.output
        script = subprocess.run([sys.executable, str(ROOT / "scripts" / "year_end_export.py"), "--year",
                                 str(THIS_YEAR), "--out", str(tmp_path / "script")], capture_output=True, text=True,
                                env={**os.environ, "KRACHT_DATABASE_URL": sqlite_demo.url},
                                timeout=300)
        assert script.returncode == 0, script.stderr[-2000:]
        assert checksums(tmp_path / "cli")[3:] == checksums(tmp_path / "script")[3:]
        again = CliRunner().invoke(app, ["export", "year-end", "--year", str(THIS_YEAR), "--out",
                                         str(tmp_path / "cli")])
        assert again.exit_code == 1 and "--force" in again.output
    finally:
        get_settings.cache_clear()


def test_a_report_longer_than_a_sheet_continues_on_the_next(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from coop.exports import workbook
    from coop.exports.reports import JOURNAL

    monkeypatch.setattr(workbook, "MAX_ROW", 3)  # a sheet of three rows under its header, to keep the test small
    book = workbook.YearWorkbook(tmp_path / "long.xlsx", stamped=datetime(2026, 12, 31))
    sheet = book.sheet(JOURNAL)
    row = (1, date(2026, 1, 2), "Bijdrage", "1120", "Sandbox", 500, 0, None, "", "", "", "payment", "", "k")
    for _ in range(7):
        sheet = book.row(sheet, JOURNAL, row)
    book.save()

    read = load_workbook(tmp_path / "long.xlsx")
    assert read.sheetnames == ["Journaal", "Journaal (2)", "Journaal (3)"]
    assert [read[name].max_row for name in read.sheetnames] == [4, 4, 2]  # header + 3, header + 3, header + 1
    assert read["Journaal (3)"]["A1"].value == "entry" and read["Journaal (2)"]["F2"].value == 5

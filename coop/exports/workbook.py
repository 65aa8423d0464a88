"""The year-end workbook: one sheet per report, amounts as numbers in euros, dates as dates, header frozen.

XlsxWriter in constant-memory mode writes each row to disk as it comes (a million journal lines stay
out of memory, several times faster than openpyxl here); the file carries the books' date, not the
time of export, so the same books give a byte-identical workbook.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from coop.core.money import cents_to_decimal
from coop.exports.reports import Kind, Report

FORMATS = {Kind.CENTS: "#,##0.00", Kind.DATE: "yyyy-mm-dd", Kind.INT: "0"}
WIDTHS = {Kind.CENTS: 14, Kind.DATE: 12, Kind.INT: 10, Kind.TEXT: 24}
MAX_ROW = 1_048_575  # the last row index of an Excel sheet (the header takes row 0)


class YearWorkbook:
    """A workbook being filled sheet by sheet (each sheet's rows in order)."""

    def __init__(self, path: Path, *, stamped: datetime) -> None:
        self.book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                                    "strings_to_formulas": False, "strings_to_urls": False})
        self.book.set_properties({"author": "Kracht", "created": stamped})
        self.header = self.book.add_format({"bold": True})
        self.formats = {kind: self.book.add_format({"num_format": pattern}) for kind, pattern in FORMATS.items()}
        self.next_row: dict[str, int] = {}
        self.parts: dict[str, tuple[Report, int]] = {}

    def sheet(self, report: Report, part: int = 1) -> Worksheet:
        """A new sheet for a report (its `part`-th when it overflows a sheet), header row written and frozen."""
        sheet = self.book.add_worksheet(report.title[:31] if part == 1 else f"{report.title[:25]} ({part})")
        self.parts[sheet.name] = (report, part)
        sheet.freeze_panes(1, 0)
        for index, column in enumerate(report.columns):
            sheet.set_column(index, index, max(WIDTHS[column.kind], len(column.name) + 2))
            sheet.write_string(0, index, column.name, self.header)
        self.next_row[sheet.name] = 1
        return sheet

    def row(self, sheet: Worksheet, report: Report, values: Sequence[Any]) -> Worksheet:
        """One row of a report, each value in its column's form; returns the sheet to write the next row to (a
        report longer than a sheet's 1,048,576 rows continues on a new one)."""
        row = self.next_row[sheet.name]
        if row > MAX_ROW:
            sheet = self.sheet(report, part=self.parts[sheet.name][1] + 1)
            row = self.next_row[sheet.name]
        for index, (column, value) in enumerate(zip(report.columns, values, strict=True)):
            if value is None or value == "":
                continue
            if column.kind is Kind.CENTS:
                sheet.write_number(row, index, cents_to_decimal(value), self.formats[Kind.CENTS])
            elif column.kind is Kind.DATE:
                sheet.write_datetime(row, index, value, self.formats[Kind.DATE])
            elif column.kind is Kind.INT:
                sheet.write_number(row, index, value, self.formats[Kind.INT])
            else:
                sheet.write_string(row, index, str(value))
        self.next_row[sheet.name] = row + 1
        return sheet

    def save(self) -> None:
        """Finish the file."""
        self.book.close()

"""The year-end workbook: one sheet per report, amounts as numbers in euros, dates as dates, header frozen.

openpyxl's write-only mode streams rows to disk; the saved file is then re-packed with fixed timestamps,
so the same books give a byte-identical workbook.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.xml.functions import tostring

from coop.core.money import cents_to_decimal
from coop.exports.reports import Kind, Report

FORMATS = {Kind.CENTS: "#,##0.00", Kind.DATE: "yyyy-mm-dd", Kind.INT: "0"}
WIDTHS = {Kind.CENTS: 14, Kind.DATE: 12, Kind.INT: 10, Kind.TEXT: 24}
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
CORE_PROPERTIES = "docProps/core.xml"  # the earliest time a zip entry can carry: the same for every run


class YearWorkbook:
    """A workbook being filled sheet by sheet."""

    def __init__(self, *, stamped: datetime) -> None:
        self.book = Workbook(write_only=True)
        self.book.properties.creator = "Kracht"
        self.stamped = stamped
        self.book.properties.created = self.book.properties.modified = stamped
        self.bold = Font(bold=True)

    def sheet(self, report: Report) -> WriteOnlyWorksheet:
        """A new sheet for a report, with its header row written and frozen."""
        sheet = self.book.create_sheet(report.title[:31])
        sheet.freeze_panes = "A2"
        for index, column in enumerate(report.columns):
            sheet.column_dimensions[get_column_letter(index + 1)].width = max(WIDTHS[column.kind], len(column.name) + 2)
        header = []
        for column in report.columns:
            cell = WriteOnlyCell(sheet, value=column.name)
            cell.font = self.bold
            header.append(cell)
        sheet.append(header)
        return sheet

    def row(self, sheet: WriteOnlyWorksheet, report: Report, values: Sequence[Any]) -> None:
        """One row of a report, each value in its column's form."""
        cells: list[WriteOnlyCell | None] = []
        for column, value in zip(report.columns, values, strict=True):
            if value is None or value == "":
                cells.append(None)
                continue
            cell = WriteOnlyCell(sheet, value=cents_to_decimal(value) if column.kind is Kind.CENTS else value)
            if column.kind in FORMATS:
                cell.number_format = FORMATS[column.kind]
            cells.append(cell)
        sheet.append(cells)

    def save(self, path: Path) -> None:
        """Write the workbook, then re-pack it with fixed times (byte-identical for the same books).

        openpyxl stamps the file's properties with the moment of saving; they get the books' date back.
        """
        draft = path.with_suffix(".draft.xlsx")
        self.book.save(draft)
        self.book.properties.modified = self.stamped
        properties = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + tostring(
            self.book.properties.to_tree())
        with zipfile.ZipFile(draft) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
            for entry in source.infolist():
                fixed = zipfile.ZipInfo(entry.filename, date_time=ZIP_EPOCH)
                fixed.compress_type = zipfile.ZIP_DEFLATED
                fixed.external_attr = entry.external_attr
                data = properties if entry.filename == CORE_PROPERTIES else source.read(entry.filename)
                target.writestr(fixed, data)
        draft.unlink()

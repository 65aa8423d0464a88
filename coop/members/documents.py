"""Share certificates: a member's holdings on a date as a PDF extract from the share register (fpdf2)."""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from babel.dates import format_date
from fpdf import FPDF
from sqlmodel import Session

from coop.core.clock import today_amsterdam
from coop.core.errors import NotFound
from coop.core.money import format_eur
from coop.core.settings import get_settings
from coop.members.service import get_member
from coop.shares.queries import class_version, holdings_at

# Deflated content streams are the normal PDF; tests can read them back with zlib.
COMPRESS = True
# The 14 standard PDF fonts need no embedding; fpdf2 declares them WinAnsiEncoding, so text encoded as
# cp1252 shows "ö" and "€" (which latin-1 lacks) with the real glyphs.
PDF_ENCODING = "cp1252"
# Letters with no decomposition that NFKD cannot reduce to a cp1252 letter.
_FALLBACK = {"ı": "i", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ħ": "h", "Ħ": "H", "ŋ": "n", "Ŋ": "N",
             "\u2212": "-", "\u2010": "-", "\u2011": "-", "\u00a0": " ", "\u202f": " "}


@dataclass(frozen=True)
class CertificateLine:
    """One class on the certificate: how many shares, their nominal value and certificate numbers."""

    class_code: str
    class_name: str
    quantity: int
    nominal_cents: int
    certificates: list[int]

    @property
    def total_cents(self) -> int:
        """Quantity times nominal value, in cents."""
        return self.quantity * self.nominal_cents


@dataclass(frozen=True)
class Certificate:
    """What a member held on `at`, ready to print."""

    member_id: uuid.UUID
    member_name: str
    member_number: int | None
    at: date
    made_on: date
    lines: list[CertificateLine]

    @property
    def filename(self) -> str:
        """An ASCII file name: aandelenbewijs-<member number>-<date>.pdf."""
        who = str(self.member_number) if self.member_number is not None else self.member_id.hex[:8]
        return f"aandelenbewijs-{who}-{self.at.isoformat()}.pdf"

    @property
    def total_cents(self) -> int:
        """The nominal value of all shares on the certificate, in cents."""
        return sum(line.total_cents for line in self.lines)


@dataclass(frozen=True)
class Document:
    """A rendered file: its name and bytes."""

    filename: str
    content: bytes
    media_type: str = "application/pdf"


def certificate_ranges(numbers: Iterable[int]) -> str:
    """Certificate numbers compressed into ranges: [12..21, 30] -> "12-21, 30"."""
    ordered = sorted(set(numbers))
    parts: list[str] = []
    start = previous = None
    for number in [*ordered, None]:
        if number is not None and previous is not None and number == previous + 1:
            previous = number
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = number
    return ", ".join(parts)


def member_certificate(session: Session, *, member_id: uuid.UUID, at: date) -> Certificate:
    """The member's holdings per class on `at` from the replayed register; NotFound when nothing is held."""
    member = get_member(session, member_id=member_id)
    holdings = [h for h in holdings_at(session, at=at) if h.member_id == member.id]
    if not holdings:
        raise NotFound(f"the member held no shares on {at.isoformat()}: there is nothing to certify",
                       field="member_id")
    lines = []
    for holding in sorted(holdings, key=lambda h: h.class_code):
        share_class = class_version(session, code=holding.class_code, at=at)
        lines.append(CertificateLine(
            class_code=holding.class_code, class_name=share_class.name if share_class else holding.class_code,
            quantity=holding.quantity, nominal_cents=holding.nominal_cents, certificates=holding.certificates))
    return Certificate(member_id=member.id, member_name=member.name, member_number=member.member_number, at=at,
                       made_on=today_amsterdam(), lines=lines)


def certificate_pdf(session: Session, *, member_id: uuid.UUID, at: date) -> Document:
    """The share certificate of a member on `at` as a PDF (NotFound when nothing is held)."""
    certificate = member_certificate(session, member_id=member_id, at=at)
    return Document(filename=certificate.filename, content=render_certificate(certificate))


def pdf_text(text: str) -> str:
    """Text the core fonts can show: cp1252 kept, other letters without their accents, else "?"."""
    out = []
    for char in text:
        char = _FALLBACK.get(char, char)
        try:
            char.encode(PDF_ENCODING)
        except UnicodeEncodeError:
            base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
            try:
                base.encode(PDF_ENCODING)
            except UnicodeEncodeError:
                base = "?"
            char = base or "?"
        out.append(char)
    return "".join(out)


def _long_date(day: date) -> str:
    """12 maart 2026."""
    return format_date(day, format="long", locale="nl_NL")


def render_certificate(certificate: Certificate) -> bytes:
    """Lay out the certificate on one A4 page (more when the certificate numbers run long)."""
    pdf = FPDF(format="A4")
    pdf.core_fonts_encoding = PDF_ENCODING
    pdf.set_compression(COMPRESS)
    pdf.set_title(pdf_text(f"Aandelenbewijs {certificate.member_name}"))
    pdf.set_author(pdf_text(get_settings().coop_name))
    pdf.set_margins(20, 20, 20)
    pdf.add_page()

    pdf.set_font("Helvetica", style="B", size=18)
    pdf.cell(0, 10, pdf_text(get_settings().coop_name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=14)
    pdf.cell(0, 9, "Aandelenbewijs", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    pdf.set_font("Helvetica", size=11)
    number = str(certificate.member_number) if certificate.member_number is not None else "-"
    for label, value in (("Naam", certificate.member_name), ("Lidnummer", number),
                         ("Stand per", _long_date(certificate.at))):
        pdf.set_font("Helvetica", style="B", size=11)
        pdf.cell(35, 7, label)
        pdf.set_font("Helvetica", size=11)
        pdf.cell(0, 7, pdf_text(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    pdf.set_font("Helvetica", size=10)
    with pdf.table(col_widths=(46, 16, 30, 30, 48), text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "LEFT"),
                   first_row_as_headings=True) as table:
        table.row(["Soort aandeel", "Aantal", "Nominaal per aandeel", "Totaal", "Aandeelnummers"])
        for line in certificate.lines:
            table.row([pdf_text(line.class_name), str(line.quantity), pdf_text(format_eur(line.nominal_cents)),
                       pdf_text(format_eur(line.total_cents)), certificate_ranges(line.certificates)])
    pdf.ln(3)
    pdf.set_font("Helvetica", style="B", size=11)
    pdf.cell(0, 7, pdf_text(f"Totaal nominaal: {format_eur(certificate.total_cents)}"), new_x="LMARGIN",
             new_y="NEXT")
    pdf.ln(6)

    pdf.set_font("Helvetica", size=9)
    pdf.multi_cell(0, 5, pdf_text(
        f"Dit is een uittreksel uit het register van aandeelhouders van {get_settings().coop_name}, naar de stand "
        f"van {_long_date(certificate.at)}, opgemaakt op {_long_date(certificate.made_on)}. Bij verschil is het "
        "register bepalend."))
    return bytes(pdf.output())

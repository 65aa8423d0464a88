"""Invoices and credit notes as PDF (fpdf2), with an EPC QR code for members who pay by bank transfer."""

from __future__ import annotations

import io
import re
from datetime import date, datetime, time

import segno
from fpdf import FPDF
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from coop.core.clock import AMSTERDAM
from coop.core.money import format_eur, to_provider_string
from coop.members.documents import COMPRESS, PDF_ENCODING, pdf_text
from coop.subscriptions.models import Invoice, InvoiceKind

# EPC069-12: version 002 (BIC optional in the EEA), character set 1 (UTF-8), SEPA credit transfer.
EPC_MAX_NAME = 70
EPC_MAX_REMITTANCE = 140
EPC_MAX_BYTES = 331  # QR version 13 at error correction level M
EPC_MIN_CENTS = 1
EPC_MAX_CENTS = 99_999_999_999  # EUR 999999999.99
_BIC = re.compile(r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?\Z")

PAYMENT_TERM_DAYS = 14
QR_SIZE_MM = 38
_LABEL_WIDTH = 45
_BP_PER_PERCENT = 100


def epc_qr_payload(*, name: str, iban: str, bic: str | None, amount_cents: int, remittance: str) -> str:
    """The text of an EPC ("GiroCode") QR code, so a banking app fills in the transfer without typing errors."""
    name = _epc_text(name, field="name", limit=EPC_MAX_NAME)
    remittance = _epc_text(remittance, field="remittance", limit=EPC_MAX_REMITTANCE)
    if not iban or not iban.strip():
        raise ValueError("an EPC QR code needs the beneficiary's IBAN")
    try:
        compact_iban = str(IBAN(iban).compact)
    except SchwiftyException as error:
        raise ValueError(f"not a valid IBAN for an EPC QR code: {error}") from None
    compact_bic = (bic or "").replace(" ", "").upper()
    if compact_bic and not _BIC.match(compact_bic):
        raise ValueError(f"not a valid BIC for an EPC QR code (8 or 11 letters and digits): {bic!r}")
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int):
        raise ValueError(f"an EPC amount is integer cents, not {type(amount_cents).__name__}")
    if not EPC_MIN_CENTS <= amount_cents <= EPC_MAX_CENTS:
        raise ValueError(f"an EPC amount must be from EUR 0.01 to EUR 999999999.99, not {amount_cents} cents")
    lines = ["BCD", "002", "1", "SCT", compact_bic, name, compact_iban, f"EUR{to_provider_string(amount_cents)}",
             "", "", remittance]
    payload = "\n".join(lines)
    if len(payload.encode("utf-8")) > EPC_MAX_BYTES:
        raise ValueError(f"the EPC QR payload exceeds {EPC_MAX_BYTES} bytes in UTF-8")
    return payload


def _epc_text(value: str, *, field: str, limit: int) -> str:
    """One EPC text line: refused when empty, too long or broken over lines (a line break would shift the fields)."""
    value = value.strip()
    if not value:
        raise ValueError(f"the EPC {field} must not be empty")
    if "\n" in value or "\r" in value:
        raise ValueError(f"the EPC {field} must be a single line")
    if len(value) > limit:
        raise ValueError(f"the EPC {field} is at most {limit} characters, got {len(value)}: {value!r}")
    return value


def epc_qr_png(payload: str) -> bytes:
    """The payload as a QR code PNG at error correction level M, as EPC069-12 requires."""
    # Bytes, not str: segno would otherwise encode "ö" as ISO 8859-1 while the payload declares UTF-8.
    qr = segno.make_qr(payload.encode("utf-8"), error="m", boost_error=False)
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=10, border=4)
    return buffer.getvalue()


def invoice_pdf(invoice: Invoice, *, credited_number: str | None = None) -> bytes:
    """The invoice or credit note on A4 with what art. 35a Wet OB asks, so it can be sent and archived as is."""
    credit_note = invoice.kind == InvoiceKind.CREDIT_NOTE
    if credit_note and not credited_number:
        raise ValueError("a credit note must name the invoice it credits")
    if not credit_note and credited_number:
        raise ValueError("only a credit note credits an invoice")
    title = "Creditnota" if credit_note else "Factuur"
    supplier, customer = invoice.supplier, invoice.customer

    pdf = FPDF(format="A4")
    pdf.core_fonts_encoding = PDF_ENCODING
    pdf.set_compression(COMPRESS)
    # The date of issue instead of now: the same invoice renders to the same bytes.
    pdf.set_creation_date(datetime.combine(invoice.issued_on, time(), tzinfo=AMSTERDAM))
    pdf.set_title(pdf_text(f"{title} {invoice.number}"))
    pdf.set_author(pdf_text(supplier.get("name", "")))
    pdf.set_margins(20, 20, 20)
    pdf.add_page()

    pdf.set_font("Helvetica", style="B", size=16)
    pdf.cell(0, 9, pdf_text(supplier.get("name", "")), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    supplier_lines = [*_lines(supplier.get("address", "")),
                      " | ".join(f"{label} {supplier[key]}" for label, key in
                                 (("KvK", "kvk"), ("Btw-id", "vat_id"), ("IBAN", "iban"), ("BIC", "bic"))
                                 if supplier.get(key)),
                      supplier.get("email", "")]
    for line in supplier_lines:
        if line:
            pdf.cell(0, 4.5, pdf_text(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)

    pdf.set_font("Helvetica", style="B", size=20)
    pdf.cell(0, 11, title, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    _field(pdf, "Creditnotanummer" if credit_note else "Factuurnummer", invoice.number)
    _field(pdf, "Creditnotadatum" if credit_note else "Factuurdatum", _day(invoice.issued_on))
    if credited_number:
        _field(pdf, "Crediteert factuur", credited_number)
    pdf.ln(5)

    pdf.set_font("Helvetica", style="B", size=10)
    pdf.cell(0, 6, "Aan", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    for line in [customer.get("name", ""), *_lines(customer.get("address", "")), customer.get("email", "")]:
        if line:
            pdf.cell(0, 5, pdf_text(line), new_x="LMARGIN", new_y="NEXT")
    for label, key in (("KvK-nummer", "kvk"), ("Lidnummer", "member_number")):
        if customer.get(key):
            pdf.cell(0, 5, pdf_text(f"{label}: {customer[key]}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)

    pdf.set_font("Helvetica", size=10)
    with pdf.table(col_widths=(80, 55, 35), text_align=("LEFT", "LEFT", "RIGHT"),
                   first_row_as_headings=True) as table:
        table.row(["Omschrijving", "Periode", "Bedrag excl. btw"])
        table.row([pdf_text(invoice.description),
                   f"{_day(invoice.supply_from)} t/m {_day(invoice.supply_until)}",
                   pdf_text(format_eur(invoice.net_cents))])
    pdf.ln(4)
    for label, cents, style in (("Totaal excl. btw", invoice.net_cents, ""),
                                (f"Btw {_percentage(invoice.vat_rate_bp)}", invoice.vat_cents, ""),
                                ("Totaal incl. btw", invoice.gross_cents, "B")):
        pdf.set_font("Helvetica", style=style, size=10)
        pdf.cell(135, 6, pdf_text(label), align="R")
        pdf.cell(35, 6, pdf_text(format_eur(cents)), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)

    if not credit_note and invoice.payment_reference and supplier.get("iban") and invoice.gross_cents > 0:
        _payment_instructions(pdf, invoice)
    return bytes(pdf.output())


def _payment_instructions(pdf: FPDF, invoice: Invoice) -> None:
    """What a member who pays by bank transfer needs: account, reference and a QR code their bank app can read."""
    supplier = invoice.supplier
    reference = invoice.payment_reference or ""
    payload = epc_qr_payload(name=supplier["name"], iban=supplier["iban"], bic=supplier.get("bic"),
                             amount_cents=invoice.gross_cents, remittance=reference)
    top = pdf.get_y()
    text_width = pdf.epw - QR_SIZE_MM - 8
    pdf.set_font("Helvetica", style="B", size=10)
    pdf.cell(text_width, 6, f"Graag binnen {PAYMENT_TERM_DAYS} dagen overmaken:", new_x="LMARGIN", new_y="NEXT")
    _field(pdf, "Bedrag", format_eur(invoice.gross_cents), width=text_width)
    _field(pdf, "IBAN", IBAN(supplier["iban"]).formatted, width=text_width)
    if supplier.get("bic"):
        _field(pdf, "BIC", supplier["bic"], width=text_width)
    _field(pdf, "t.n.v.", supplier["name"], width=text_width)
    _field(pdf, "Onder vermelding van", reference, width=text_width)
    pdf.set_font("Helvetica", size=10)
    pdf.multi_cell(text_width, 5, "Of scan de QR-code met uw bankapp.", new_x="LMARGIN", new_y="NEXT")
    pdf.image(io.BytesIO(epc_qr_png(payload)), x=pdf.l_margin + pdf.epw - QR_SIZE_MM, y=top, w=QR_SIZE_MM,
              h=QR_SIZE_MM)


def _field(pdf: FPDF, label: str, value: str, *, width: float = 0) -> None:
    """A bold label and its value, wrapped within `width` (0: up to the right margin)."""
    pdf.set_font("Helvetica", style="B", size=10)
    pdf.cell(_LABEL_WIDTH, 6, label)
    pdf.set_font("Helvetica", size=10)
    pdf.multi_cell(width and width - _LABEL_WIDTH, 6, pdf_text(value), new_x="LMARGIN", new_y="NEXT")


def _lines(text: str) -> list[str]:
    """An address as stored (lines separated by newlines) as non-empty printed lines."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def _day(day: date) -> str:
    """Dutch numeric date: 29-11-2026."""
    return day.strftime("%d-%m-%Y")


def _percentage(rate_bp: int) -> str:
    """Basis points as a Dutch percentage: 2100 -> "21%", 550 -> "5,5%"."""
    whole, rest = divmod(rate_bp, _BP_PER_PERCENT)
    return f"{whole},{rest:02d}".rstrip("0") + "%" if rest else f"{whole}%"

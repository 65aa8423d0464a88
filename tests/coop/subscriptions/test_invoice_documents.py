"""Invoice PDFs and the EPC QR code on them: what art. 35a Wet OB asks, read back from the PDF, and a QR a bank reads.

Pure functions on in-memory invoices: no database fixtures here.
"""

from __future__ import annotations

import io
import uuid
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from pypdf import DocumentInformation, PdfReader

from coop.subscriptions.documents import epc_qr_payload, epc_qr_png, invoice_pdf
from coop.subscriptions.models import Invoice, InvoiceKind

SUPPLIER = {"name": "Coöperatie Kracht in NL U.A.", "address": "Oudegracht 1\n3511 AA Utrecht", "kvk": "90000001",
            "vat_id": "NL004495445B01", "iban": "NL91ABNA0417164300", "bic": "ABNANL2A",
            "email": "administratie@kracht.example"}
CUSTOMER = {"name": "Jeroen Köster", "address": "Dorpsstraat 3\n1234 AB Ergens", "email": "jeroen@example.org",
            "member_number": "1042"}
REFERENCE = "KR2026000017"
PAYLOAD = "\n".join(["BCD", "002", "1", "SCT", "ABNANL2A", "Coöperatie Kracht in NL U.A.", "NL91ABNA0417164300",
                     "EUR99.00", "", "", REFERENCE])


def make_invoice(**overrides: Any) -> Invoice:
    """A yearly subscription invoice of EUR 99 incl. 21% VAT, as issued to a member paying by bank transfer."""
    fields: dict[str, Any] = {
        "number": "2026-00001", "kind": InvoiceKind.INVOICE, "issued_on": date(2026, 11, 29),
        "member_id": uuid.uuid4(), "subscription_id": uuid.uuid4(), "period_id": uuid.uuid4(),
        "supplier": dict(SUPPLIER), "customer": dict(CUSTOMER), "description": "Jaarabonnement Kracht",
        "supply_from": date(2026, 11, 29), "supply_until": date(2027, 11, 28),
        "net_cents": 8182, "vat_rate_bp": 2100, "vat_cents": 1718, "gross_cents": 9900,
        "payment_reference": REFERENCE}
    fields.update(overrides)
    return Invoice(**fields)


def make_credit_note(**overrides: Any) -> Invoice:
    """The credit note that cancels `make_invoice()` in full: negative amounts, its own number series."""
    fields: dict[str, Any] = {"number": "C2026-00001", "kind": InvoiceKind.CREDIT_NOTE,
                              "issued_on": date(2026, 12, 5), "credits_invoice_id": uuid.uuid4(),
                              "net_cents": -8182, "vat_cents": -1718, "gross_cents": -9900}
    fields.update(overrides)
    return make_invoice(**fields)


def read(pdf: bytes) -> PdfReader:
    """The PDF parsed back."""
    assert pdf.startswith(b"%PDF")
    return PdfReader(io.BytesIO(pdf))


def text_lines(pdf: bytes) -> list[str]:
    """Every line of text on every page, as a reader (or a tax inspector's tool) extracts it."""
    return [line.strip() for page in read(pdf).pages for line in page.extract_text().splitlines()]


def metadata(pdf: bytes) -> DocumentInformation:
    """The document information dictionary (title, creation date)."""
    info = read(pdf).metadata
    assert info is not None
    return info


def decode_qr(image: Image.Image | None) -> tuple[str, str]:
    """The payload of the one QR code in the image, as UTF-8 text, and its error correction level."""
    zxingcpp = pytest.importorskip("zxingcpp")
    assert image is not None
    barcodes = zxingcpp.read_barcodes(image)
    assert len(barcodes) == 1
    assert barcodes[0].format == zxingcpp.BarcodeFormat.QRCode
    return barcodes[0].bytes.decode("utf-8"), barcodes[0].ec_level


# --- epc_qr_payload ------------------------------------------------------------------------------------


def test_the_payload_is_the_eleven_lines_of_epc069_12_version_002() -> None:
    payload = epc_qr_payload(name="Coöperatie Kracht in NL U.A.", iban="NL91ABNA0417164300", bic="ABNANL2A",
                             amount_cents=9900, remittance=REFERENCE)

    assert payload == PAYLOAD
    assert payload == ("BCD\n002\n1\nSCT\nABNANL2A\nCoöperatie Kracht in NL U.A.\nNL91ABNA0417164300\nEUR99.00"
                       "\n\n\nKR2026000017")
    assert not payload.endswith("\n")


def test_the_bic_may_be_left_empty_and_the_iban_and_bic_are_compacted() -> None:
    lines = epc_qr_payload(name=" Kracht ", iban="nl91 abna 0417 1643 00", bic=None, amount_cents=1,
                           remittance=" KR1 ").split("\n")

    assert lines == ["BCD", "002", "1", "SCT", "", "Kracht", "NL91ABNA0417164300", "EUR0.01", "", "", "KR1"]
    assert epc_qr_payload(name="Kracht", iban="NL91ABNA0417164300", bic="abna nl2a xxx", amount_cents=1,
                          remittance="KR1").split("\n")[4] == "ABNANL2AXXX"


@pytest.mark.parametrize(("cents", "line"), [(1, "EUR0.01"), (10, "EUR0.10"), (9900, "EUR99.00"),
                                             (123456, "EUR1234.56"), (99_999_999_999, "EUR999999999.99")])
def test_the_amount_is_euro_with_two_decimals_and_a_point(cents: int, line: str) -> None:
    payload = epc_qr_payload(name="Kracht", iban="NL91ABNA0417164300", bic=None, amount_cents=cents,
                             remittance="KR1")

    assert payload.split("\n")[7] == line


@given(st.integers(min_value=1, max_value=99_999_999_999))
def test_any_amount_in_range_is_written_exactly(cents: int) -> None:
    line = epc_qr_payload(name="Kracht", iban="NL91ABNA0417164300", bic=None, amount_cents=cents,
                          remittance="KR1").split("\n")[7]

    assert line == f"EUR{cents // 100}.{cents % 100:02d}"


@pytest.mark.parametrize("cents", [0, -1, -9900, 100_000_000_000, True, 99.0, "9900"])
def test_amounts_outside_the_epc_range_or_not_integer_cents_are_refused(cents: Any) -> None:
    with pytest.raises(ValueError, match="EPC amount"):
        epc_qr_payload(name="Kracht", iban="NL91ABNA0417164300", bic=None, amount_cents=cents, remittance="KR1")


def test_the_name_may_be_70_characters_and_the_remittance_140_but_no_more() -> None:
    payload = epc_qr_payload(name="N" * 70, iban="NL91ABNA0417164300", bic=None, amount_cents=1,
                             remittance="R" * 140)
    assert payload.split("\n")[5] == "N" * 70
    assert payload.split("\n")[10] == "R" * 140

    with pytest.raises(ValueError, match="name is at most 70 characters, got 71"):
        epc_qr_payload(name="N" * 71, iban="NL91ABNA0417164300", bic=None, amount_cents=1, remittance="KR1")
    with pytest.raises(ValueError, match="remittance is at most 140 characters, got 141"):
        epc_qr_payload(name="Kracht", iban="NL91ABNA0417164300", bic=None, amount_cents=1, remittance="R" * 141)


def test_a_payload_over_331_bytes_in_utf8_is_refused() -> None:
    with pytest.raises(ValueError, match="331 bytes"):
        epc_qr_payload(name="€" * 70, iban="NL91ABNA0417164300", bic=None, amount_cents=1, remittance="€" * 140)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"iban": ""}, "needs the beneficiary's IBAN"),
        ({"iban": "   "}, "needs the beneficiary's IBAN"),
        ({"iban": "NL91ABNA0417164301"}, "not a valid IBAN"),
        ({"bic": "ABNA"}, "not a valid BIC"),
        ({"bic": "ABNANL2A!"}, "not a valid BIC"),
        ({"name": "  "}, "name must not be empty"),
        ({"remittance": ""}, "remittance must not be empty"),
        ({"name": "Kracht\nEvil"}, "name must be a single line"),
        ({"remittance": "KR1\r\nNL00"}, "remittance must be a single line"),
    ],
)
def test_inputs_that_would_make_a_wrong_transfer_are_refused(fields: dict[str, str], message: str) -> None:
    arguments: dict[str, Any] = {"name": "Kracht", "iban": "NL91ABNA0417164300", "bic": None, "amount_cents": 9900,
                                 "remittance": "KR1"}
    with pytest.raises(ValueError, match=message):
        epc_qr_payload(**{**arguments, **fields})


def test_the_qr_png_reads_back_as_the_payload_at_error_correction_level_m() -> None:
    decoded, level = decode_qr(Image.open(io.BytesIO(epc_qr_png(PAYLOAD))))

    assert decoded == PAYLOAD  # the "ö" as UTF-8 bytes, as character set 1 declares
    assert level == "M"


# --- invoice_pdf ---------------------------------------------------------------------------------------


def test_an_invoice_shows_everything_art_35a_wet_ob_asks() -> None:
    lines = text_lines(invoice_pdf(make_invoice()))

    assert lines[0] == "Coöperatie Kracht in NL U.A."
    assert lines.index("Factuur") < lines.index("Factuurnummer 2026-00001")
    for expected in ["Oudegracht 1", "3511 AA Utrecht", "administratie@kracht.example", "Factuurdatum 29-11-2026",
                     "Jeroen Köster", "Dorpsstraat 3", "1234 AB Ergens", "jeroen@example.org", "Lidnummer: 1042",
                     "Jaarabonnement Kracht 29-11-2026 t/m 28-11-2027 € 81,82", "Totaal excl. btw € 81,82",
                     "Btw 21% € 17,18", "Totaal incl. btw € 99,00"]:
        assert expected in lines
    supplier_ids = next(line for line in lines if line.startswith("KvK "))
    assert "KvK 90000001" in supplier_ids
    assert "Btw-id NL004495445B01" in supplier_ids


def test_a_bank_transfer_invoice_says_where_to_pay_and_carries_the_epc_qr_code() -> None:
    pdf = invoice_pdf(make_invoice())
    lines = text_lines(pdf)

    assert "Graag binnen 14 dagen overmaken:" in lines
    for expected in ["Bedrag € 99,00", "IBAN NL91 ABNA 0417 1643 00", "BIC ABNANL2A",
                     "t.n.v. Coöperatie Kracht in NL U.A.", f"Onder vermelding van {REFERENCE}"]:
        assert expected in lines
    images = read(pdf).pages[0].images
    assert len(images) == 1
    decoded, level = decode_qr(images[0].image)
    assert decoded == PAYLOAD
    assert level == "M"


def test_the_qr_code_on_the_invoice_matches_the_invoice_amount_and_the_supplier_without_bic() -> None:
    supplier = {key: value for key, value in SUPPLIER.items() if key != "bic"}
    invoice = make_invoice(supplier=supplier, net_cents=100, vat_cents=21, gross_cents=121,
                           payment_reference="KR2026000099")
    pdf = invoice_pdf(invoice)

    decoded, _ = decode_qr(read(pdf).pages[0].images[0].image)
    assert decoded == epc_qr_payload(name=SUPPLIER["name"], iban=SUPPLIER["iban"], bic=None, amount_cents=121,
                                     remittance="KR2026000099")
    assert "Bedrag € 1,21" in text_lines(pdf)


@pytest.mark.parametrize(
    "invoice",
    [
        make_invoice(payment_reference=None),  # paid through Stripe or Mollie
        make_invoice(supplier={key: value for key, value in SUPPLIER.items() if key != "iban"}),
    ],
    ids=["no payment reference", "no supplier IBAN"],
)
def test_an_invoice_without_a_bank_transfer_has_no_payment_instructions_and_no_qr(invoice: Invoice) -> None:
    pdf = invoice_pdf(invoice)
    text = "\n".join(text_lines(pdf))

    assert len(read(pdf).pages[0].images) == 0
    assert "overmaken" not in text
    assert "Onder vermelding van" not in text
    assert "Totaal incl. btw € 99,00" in text


def test_a_credit_note_names_the_invoice_it_credits_and_has_negative_amounts() -> None:
    pdf = invoice_pdf(make_credit_note(), credited_number="2026-00001")
    lines = text_lines(pdf)

    assert "Creditnota" in lines
    assert "Factuur" not in lines
    for expected in ["Creditnotanummer C2026-00001", "Creditnotadatum 05-12-2026", "Crediteert factuur 2026-00001",
                     "Jaarabonnement Kracht 29-11-2026 t/m 28-11-2027 € -81,82", "Btw 21% € -17,18",
                     "Totaal incl. btw € -99,00", "Jeroen Köster"]:
        assert expected in lines
    assert "KvK 90000001" in "\n".join(lines)
    assert metadata(pdf).title == "Creditnota C2026-00001"


def test_a_credit_note_never_asks_for_payment_even_with_a_payment_reference() -> None:
    pdf = invoice_pdf(make_credit_note(payment_reference=REFERENCE), credited_number="2026-00001")

    assert len(read(pdf).pages[0].images) == 0
    assert REFERENCE not in "\n".join(text_lines(pdf))


def test_a_credit_note_without_the_credited_invoice_and_an_invoice_crediting_one_are_refused() -> None:
    with pytest.raises(ValueError, match="must name the invoice it credits"):
        invoice_pdf(make_credit_note())
    with pytest.raises(ValueError, match="only a credit note"):
        invoice_pdf(make_invoice(), credited_number="2025-00007")


def test_a_company_customer_shows_its_kvk_number() -> None:
    customer = {"name": "Bouwbedrijf Köster BV", "address": "Industrieweg 9\n5000 AA Tilburg", "kvk": "69599084",
                "email": "info@koster.example.org", "member_number": "7"}
    lines = text_lines(invoice_pdf(make_invoice(customer=customer)))

    assert "Bouwbedrijf Köster BV" in lines
    assert "KvK-nummer: 69599084" in lines
    assert "Industrieweg 9" in lines


@pytest.mark.parametrize(("rate_bp", "shown"), [(2100, "21%"), (900, "9%"), (550, "5,5%"), (1225, "12,25%")])
def test_the_vat_rate_is_a_dutch_percentage(rate_bp: int, shown: str) -> None:
    lines = text_lines(invoice_pdf(make_invoice(vat_rate_bp=rate_bp)))

    assert f"Btw {shown} € 17,18" in lines


def test_the_same_invoice_renders_to_the_same_bytes_dated_on_its_day_of_issue() -> None:
    invoice = make_invoice()

    first = invoice_pdf(invoice)
    assert invoice_pdf(invoice) == first
    info = metadata(first)
    assert info.creation_date is not None
    assert info.creation_date.date() == date(2026, 11, 29)
    assert info.title == "Factuur 2026-00001"

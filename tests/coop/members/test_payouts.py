"""The SEPA payout file: due redemptions only, valid pain.001, members without IBAN reported."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sepaxml
import xmlschema

from coop.auth.models import Role
from coop.core.errors import InvalidInput
from coop.core.settings import Settings
from coop.members.payouts import PAIN_SCHEMA, write_payout_file
from tests.coop.members.support import COMPANY, PERSON, join_and_pay, on

XSD = Path(sepaxml.__file__).parent / "schemas" / f"{PAIN_SCHEMA}.xsd"
NS = {"p": f"urn:iso:std:iso:20022:tech:xsd:{PAIN_SCHEMA}"}


def coop_settings(**values) -> Settings:
    return Settings(_env_file=None, coop_iban="NL91ABNA0417164300", coop_bic="ABNANL2A", **values)


def redeem(client, board_pair, member_id: str, class_code: str, quantity: int) -> dict:
    requester, approver = board_pair
    asked = client.post("/api/v1/redemptions", headers=requester, json={
        "member_id": member_id, "class_code": class_code, "quantity": quantity}).json()
    return client.post(f"/api/v1/share-mutations/{asked['id']}/approve", headers=approver).json()


def test_due_redemptions_become_a_valid_pain001_file(client, session, auth_headers, tmp_path) -> None:
    board_pair = (auth_headers(Role.BOARD), auth_headers(Role.BOARD))
    with on(date(2025, 3, 1)):
        company = join_and_pay(client, COMPANY)["member"]["id"]
        without_iban = join_and_pay(client, {**COMPANY, "email": "geen-iban@example.org", "iban": None})
        due = redeem(client, board_pair, company, "maatschappelijk", 4)
        no_account = redeem(client, board_pair, without_iban["member"]["id"], "maatschappelijk", 1)
    with on(date(2026, 3, 1)):
        later = join_and_pay(client, {**COMPANY, "email": "later@example.org"})["member"]["id"]
        not_yet = redeem(client, board_pair, later, "maatschappelijk", 2)
    assert due["payout_due_on"] == "2027-12-31" and not_yet["payout_due_on"] == "2028-12-31"

    result = write_payout_file(session, on=date(2028, 1, 3), out=tmp_path / "payouts.xml", settings=coop_settings())
    assert [line.reference for line in result.included] == [due["id"]]
    assert [line.problem for line in result.left_out] == ["no IBAN known for this member"]
    assert result.total_cents == 4 * 25000

    schema = xmlschema.XMLSchema(str(XSD))
    schema.validate(str(result.path))
    document = schema.to_dict(str(result.path))
    header = document["CstmrCdtTrfInitn"]["GrpHdr"]
    assert header["NbOfTxs"] == "1" and float(header["CtrlSum"]) == 1000.00
    xml = result.path.read_text()
    assert "NL91ABNA0417164300" in xml and "NL91ABNA0417164300" in xml.split("<CdtTrfTxInf>")[0]
    assert "<ReqdExctnDt>2028-01-03</ReqdExctnDt>" in xml
    assert xml.count("<CdtTrfTxInf>") == 1
    assert f"RED{due['id'].replace('-', '')[:20].upper()}" in xml
    assert f"RED{no_account['id'].replace('-', '')[:20].upper()}" not in xml
    assert f"RED{not_yet['id'].replace('-', '')[:20].upper()}" not in xml


def test_nothing_due_writes_no_file_and_a_missing_own_iban_is_refused(session, tmp_path) -> None:
    result = write_payout_file(session, on=date(2026, 1, 1), out=tmp_path / "none.xml", settings=coop_settings())
    assert result.path is None and not (tmp_path / "none.xml").exists()
    with pytest.raises(InvalidInput) as refused:
        write_payout_file(session, on=date(2026, 1, 1), out=tmp_path / "x.xml",
                          settings=Settings(_env_file=None, coop_iban=None))
    assert refused.value.field == "coop_iban"


def test_paying_out_empties_the_file(client, session, auth_headers, tmp_path) -> None:
    board_pair = (auth_headers(Role.BOARD), auth_headers(Role.BOARD))
    with on(date(2025, 3, 1)):
        member = join_and_pay(client, {**PERSON, "iban": "NL20INGB0001234567"})["member"]["id"]
        redemption = redeem(client, board_pair, member, "lidmaatschap", 1)
    first = write_payout_file(session, on=date(2027, 1, 1), out=tmp_path / "a.xml", settings=coop_settings())
    assert len(first.included) == 1
    client.post(f"/api/v1/redemptions/{redemption['id']}/paid", headers=auth_headers(Role.TREASURER),
                json={"paid_on": "2027-01-02"})
    second = write_payout_file(session, on=date(2027, 1, 3), out=tmp_path / "b.xml", settings=coop_settings())
    assert second.included == [] and second.path is None

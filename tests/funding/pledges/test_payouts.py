"""Succeeded projects are paid out through the SEPA file; the treasurer's record moves 2400 to the bank."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from coop.auth.models import Role
from coop.core.settings import Settings
from coop.ledger.chart import AccountCode
from coop.ledger.queries import balance
from coop.members.payouts import write_payout_file
from funding.pledges.payouts import project_payout_lines
from tests.coop.members.support import on
from tests.funding.pledges.support import live_project, pledge, run_closing
from tests.support import pay

START = date(2027, 6, 1)


def test_a_succeeded_project_is_in_the_sepa_file_and_its_payout_is_booked_once(client, session, auth_headers,
                                                                               tmp_path) -> None:
    initiator, board, treasurer = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD), auth_headers(Role.TREASURER)
    with on(START):
        paid = live_project(client, initiator, board, START, goal_cents=5_000, goal_hours=0,
                            payee_name="Stichting Buurtmoestuin", payee_iban="NL02 ABNA 0123 4567 89")["id"]
        unpaid = live_project(client, initiator, board, START, goal_cents=1_000, goal_hours=0)["id"]
        for project_id, cents in ((paid, 6_000), (unpaid, 1_000)):
            pay(client, pledge(client, project_id, kind="money", amount_cents=cents, name="Buur",
                               email="buur@example.org")["payment"]["id"])
    run_closing(session, START + timedelta(days=31))

    lines = {line.reference: line for line in project_payout_lines(session)}
    assert lines[paid].amount_cents == 6_000 and lines[paid].problem is None
    assert lines[unpaid].problem == "no payee IBAN known for this project"
    settings = Settings(_env_file=None, coop_iban="NL91ABNA0417164300", coop_bic="ABNANL2A")
    written = write_payout_file(session, on=START + timedelta(days=35), out=tmp_path / "payouts.xml",
                                settings=settings, others=list(lines.values()))
    assert [line.reference for line in written.included] == [paid] and written.total_cents == 6_000
    assert "NL02ABNA0123456789" in (tmp_path / "payouts.xml").read_text()

    url = f"/api/v1/projects/{paid}/payouts"
    body = {"amount_cents": 6_000, "paid_on": "2027-07-06", "reference": "NL-BANK-2027-07-06-001"}
    assert client.post(url, json=body, headers=board).status_code == 403
    first = client.post(url, json=body, headers=treasurer)
    assert first.status_code == 200 and first.json()["owed_cents"] == 0
    again = client.post(url, json={**body, "reference": "NL-BANK-2027-07-06-002"}, headers=treasurer)
    assert again.status_code == 422 and again.json()["field"] == "amount_cents"  # nothing is owed any more
    assert balance(session, account=AccountCode.PAYABLE_TO_PROJECTS, project_id=uuid.UUID(paid)) == 0
    assert paid not in {line.reference for line in project_payout_lines(session)}

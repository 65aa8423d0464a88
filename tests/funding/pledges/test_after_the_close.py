"""What happens to money after a campaign closes: payouts, late and partial refunds, chargebacks, late hours."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import date, timedelta

import pytest

from coop.auth.models import Role
from coop.core.clock import today_amsterdam
from coop.core.db import unit_of_work
from coop.core.settings import get_settings
from coop.ledger.chart import AccountCode
from coop.ledger.queries import balance
from coop.payments.models import PaymentStatus, SandboxCheckout
from coop.payments.providers.sandbox import SandboxProvider
from coop.payments.service import get_payment, receive_notification
from funding.pledges.closing import close_project
from funding.pledges.models import PledgeKind, PledgeStatus
from funding.pledges.schemas import PledgeIn
from funding.pledges.service import get_pledge, make_pledge
from funding.projects.models import FundingModel, Project, ProjectStatus, Theme
from tests.conftest import empty_postgres_database, migrate
from tests.coop.members.support import on
from tests.funding.pledges.support import live_project, pledge, run_closing
from tests.support import pay

START = date(2027, 3, 1)
AFTER = START + timedelta(days=31)


def on_account(session, code: str, project_id: str) -> int:
    """The project's balance on an account (debit positive)."""
    return balance(session, account=code, project_id=uuid.UUID(project_id))


def succeeded_project(client, session, auth_headers, cents: int = 5_000,
                      initiator: dict[str, str] | None = None) -> tuple[str, dict]:
    """A project (of `initiator`) that reached its goal with one paid pledge of `cents`."""
    initiator, board = initiator or auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    with on(START):
        pid = live_project(client, initiator, board, START, goal_cents=5_000, goal_hours=0)["id"]
        made = pledge(client, pid, kind="money", amount_cents=cents, name="Buur", email="buur@example.org")
        pay(client, made["payment"]["id"])
    run_closing(session, AFTER)
    return pid, made


def test_every_payout_with_its_own_bank_reference_is_booked_and_a_repeat_is_refused(client, session,
                                                                                      auth_headers) -> None:
    treasurer = auth_headers(Role.TREASURER)
    pid, _ = succeeded_project(client, session, auth_headers, cents=6_000)
    url = f"/api/v1/projects/{pid}/payouts"
    first = client.post(url, json={"amount_cents": 3_000, "paid_on": "2027-04-05", "reference": "B-1"},
                        headers=treasurer)
    second = client.post(url, json={"amount_cents": 3_000, "paid_on": "2027-04-20", "reference": "B-2"},
                         headers=treasurer)
    repeat = client.post(url, json={"amount_cents": 3_000, "paid_on": "2027-04-20", "reference": "B-2"},
                         headers=treasurer)
    assert (first.json()["owed_cents"], second.json()["owed_cents"]) == (3_000, 0)
    assert repeat.status_code == 409 and repeat.json()["field"] == "reference"
    assert on_account(session, AccountCode.PAYABLE_TO_PROJECTS, pid) == 0


def test_a_pledge_is_refunded_in_full_or_not_at_all(client, session, auth_headers) -> None:
    initiator, board = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    with on(START):
        pid = live_project(client, initiator, board, START)["id"]
        made = pledge(client, pid, kind="money", amount_cents=10_000, name="Buur", email="buur@example.org")
        pay(client, made["payment"]["id"])
        partial = client.post(f"/api/v1/payments/{made['payment']['id']}/refund", json={"amount_cents": 6_000},
                              headers=auth_headers(Role.TREASURER))
    assert partial.status_code == 422 and partial.json()["field"] == "amount_cents"
    assert -on_account(session, AccountCode.PLEDGES_HELD, pid) == 10_000


def test_a_chargeback_after_the_payout_becomes_a_receivable_from_the_project(client, session, auth_headers) -> None:
    pid, made = succeeded_project(client, session, auth_headers)
    assert client.post(f"/api/v1/projects/{pid}/payouts", headers=auth_headers(Role.TREASURER),
                       json={"amount_cents": 5_000, "paid_on": "2027-04-05", "reference": "B-1"}).status_code == 200
    payment = get_payment(session, payment_id=uuid.UUID(made["payment"]["id"]))
    sandbox = SandboxProvider(session, get_settings().public_url)
    sandbox.charge_back(payment.provider_reference)
    receive_notification(session, provider=sandbox, provider_reference=payment.provider_reference, raw="chargeback")
    assert on_account(session, AccountCode.PAYABLE_TO_PROJECTS, pid) == 0
    assert on_account(session, AccountCode.PROJECT_RECEIVABLES, pid) == 5_000
    refund = client.post(f"/api/v1/payments/{payment.id}/refund", json={}, headers=auth_headers(Role.TREASURER))
    assert refund.status_code == 409  # nothing left to refund, and paid out anyway


def test_hours_confirmed_after_the_deadline_are_refused(client, session, auth_headers) -> None:
    initiator, board = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    with on(START):
        pid = live_project(client, initiator, board, START, goal_cents=1_000, goal_hours=5)["id"]
        offered = pledge(client, pid, kind="time", hours=8, name="Mo", email="mo@example.org")
    with on(AFTER):  # the deadline passed; the close job has not run yet
        late = client.post(f"/api/v1/pledges/{offered['pledge']['id']}/confirm", headers=initiator)
    assert late.status_code == 409 and late.json()["field"] == "pledge_id"
    run_closing(session, AFTER)
    assert client.get(f"/api/v1/projects/{pid}").json()["status"] == "failed"


def test_a_succeeded_project_can_still_be_given_the_account_it_is_paid_to(client, session, auth_headers) -> None:
    initiator = auth_headers(Role.INITIATOR)
    pid, _ = succeeded_project(client, session, auth_headers, initiator=initiator)
    with on(AFTER):
        patched = client.patch(f"/api/v1/projects/{pid}", headers=initiator,
                               json={"payee_name": "Stichting Tuin", "payee_iban": "NL02ABNA0123456789"})
        title = client.patch(f"/api/v1/projects/{pid}", headers=initiator, json={"title": "Iets anders"})
    assert patched.status_code == 200, patched.text
    assert title.status_code == 409


@pytest.mark.postgres_only
def test_a_pledge_paid_while_a_failing_campaign_closes_is_refunded(database) -> None:
    with empty_postgres_database("kracht_close_race") as url:
        engine = migrate(url)
        try:
            today = today_amsterdam()
            with unit_of_work(engine) as setup:
                project = Project(initiator_id=uuid.uuid4(), title="Speeltuin", summary="Een speeltuin",
                                  municipality_code="GM0363", neighbourhood="Jordaan",
                                  theme=Theme.SPORT_EN_RECREATIE, goal_cents=1_000_000,
                                  starts_on=today - timedelta(days=10), deadline=today,
                                  funding_model=FundingModel.ALL_OR_NOTHING, status=ProjectStatus.LIVE)
                setup.add(project)
                setup.flush()
                made, payment = make_pledge(setup, project_id=project.id, data=PledgeIn(
                    kind=PledgeKind.MONEY, amount_cents=1_000, name="Buur", email="b@example.org"))
                assert payment is not None
                setup.get(SandboxCheckout, payment.provider_reference).status = PaymentStatus.PAID
                project_id, pledge_id, reference = project.id, made.id, payment.provider_reference
            closing = threading.Event()

            def closer() -> None:
                with unit_of_work(engine) as session:
                    close_project(session, project_id=project_id, today=today + timedelta(days=1))
                    closing.set()
                    time.sleep(1)  # the webhook arrives while the close is still open

            thread = threading.Thread(target=closer)
            thread.start()
            assert closing.wait(timeout=30)
            with unit_of_work(engine) as session:  # waits for the close: the project row is locked
                receive_notification(session, provider=SandboxProvider(session, get_settings().public_url),
                                     provider_reference=reference, raw="paid")
            thread.join(timeout=30)
            with unit_of_work(engine) as session:
                assert session.get(Project, project_id).status is ProjectStatus.FAILED
                assert get_pledge(session, pledge_id=pledge_id).status is PledgeStatus.REFUND_PENDING
        finally:
            engine.dispose()

"""A campaign through the HTTP API with the sandbox: pledges of money, time and materials, then the close."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from coop.auth.models import Role
from coop.auth.service import create_token
from coop.ledger.chart import AccountCode
from coop.ledger.queries import balance
from coop.payments.service import ProviderUnavailable, get_payment
from funding.pledges.closing import close_project, refund_pledge
from funding.pledges.models import PledgeStatus
from funding.pledges.queries import pledges_of
from funding.pledges.service import get_pledge
from tests.coop.members.support import on
from tests.funding.pledges.support import live_project, pledge, project_body, run_closing
from tests.support import pay

START = date(2027, 3, 1)
DEADLINE = START + timedelta(days=30)
AFTER = DEADLINE + timedelta(days=1)


def held(session, project_id: str) -> int:
    """Pledges held for the project (2200), as a positive amount."""
    return -balance(session, account=AccountCode.PLEDGES_HELD, project_id=uuid.UUID(project_id))


def payable(session, project_id: str) -> int:
    """What the cooperative owes the project (2400), as a positive amount."""
    return -balance(session, account=AccountCode.PAYABLE_TO_PROJECTS, project_id=uuid.UUID(project_id))


def test_a_project_that_reaches_its_goals_succeeds_and_its_money_becomes_payable(client, session,
                                                                                 auth_headers) -> None:
    initiator, board = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    with on(START):
        project = live_project(client, initiator, board, START, goal_cents=30_000, goal_hours=4)
        pid = project["id"]
        first = pledge(client, pid, kind="money", amount_cents=20_000, name="Bakkerij Jansen",
                       email="info@bakkerij.example.org")
        anonymous = pledge(client, pid, kind="money", amount="100,00", name="Els de Wit", email="els@example.org",
                           anonymous=True, message="Succes!")
        unpaid = pledge(client, pid, kind="money", amount_cents=5_000, name="Piet", email="piet@example.org")
        hours = pledge(client, pid, kind="time", hours="2.5", skill="timmeren", name="Ahmed", email="a@example.org")
        more = pledge(client, pid, kind="time", hours=2, skill="tuinieren", name="Sanne", email="s@example.org")
        tools = pledge(client, pid, kind="materials", description="Kruiwagen en schoppen", quantity=3,
                       value_cents=15_000, name="Gemeentewerf", email="werf@example.org")
        assert first["payment"]["amount_cents"] == 20_000 and hours["payment"] is None
        assert tools["pledge"]["status"] == "pledged"
        pay(client, first["payment"]["id"])
        pay(client, anonymous["payment"]["id"])
        for offered in (hours, more):
            confirmed = client.post(f"/api/v1/pledges/{offered['pledge']['id']}/confirm", headers=initiator)
            assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
        delivered = client.post(f"/api/v1/pledges/{hours['pledge']['id']}/deliver", json={"hours": "3"},
                                headers=initiator)
        assert delivered.status_code == 200 and delivered.json()["delivered_minutes"] == 180

    shown = client.get(f"/api/v1/projects/{pid}").json()
    assert (shown["paid_cents"], shown["pending_cents"], shown["backers"]) == (30_000, 5_000, 5)
    assert (shown["minutes_pledged"], shown["minutes_confirmed"], shown["minutes_delivered"]) == (270, 270, 180)
    assert shown["materials_value_cents"] == 15_000
    names = {p["name"] for p in shown["recent_pledges"]}
    assert "Anoniem" in names and "Els de Wit" not in names
    assert "els@example.org" not in str(shown)
    assert held(session, pid) == 30_000

    run_closing(session, DEADLINE)  # the last day still belongs to the campaign
    assert client.get(f"/api/v1/projects/{pid}").json()["status"] == "live"
    run_closing(session, AFTER)
    assert client.get(f"/api/v1/projects/{pid}").json()["status"] == "succeeded"
    assert (held(session, pid), payable(session, pid)) == (0, 30_000)

    # A pledge paid after the close follows the outcome: payable too.
    with on(AFTER):
        pay(client, unpaid["payment"]["id"])
    assert (held(session, pid), payable(session, pid)) == (0, 35_000)
    run_closing(session, AFTER + timedelta(days=1))  # closing again changes nothing
    assert payable(session, pid) == 35_000


def test_an_all_or_nothing_project_that_misses_its_goal_refunds_every_paid_pledge(client, session,
                                                                                  auth_headers) -> None:
    initiator, board = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    with on(START):
        pid = live_project(client, initiator, board, START, goal_cents=100_000, goal_hours=0)["id"]
        paid = [pledge(client, pid, kind="money", amount_cents=cents, name=f"Buur {cents}",
                       email=f"buur{cents}@example.org") for cents in (2_500, 10_000, 7_550)]
        for made in paid:
            pay(client, made["payment"]["id"])
        failed = pledge(client, pid, kind="money", amount_cents=1_000, name="Kees", email="kees@example.org")
        pay(client, failed["payment"]["id"], outcome="failed")
    assert held(session, pid) == 20_050

    run_closing(session, AFTER)

    assert client.get(f"/api/v1/projects/{pid}").json()["status"] == "failed"
    assert held(session, pid) == 0 and payable(session, pid) == 0
    statuses = {p.amount_cents: p.status for p in pledges_of(session, project_id=uuid.UUID(pid))}
    assert statuses == {2_500: PledgeStatus.REFUNDED, 10_000: PledgeStatus.REFUNDED, 7_550: PledgeStatus.REFUNDED,
                        1_000: PledgeStatus.FAILED}
    for made in paid:
        payment = client.get(f"/api/v1/payments/{made['payment']['id']}", headers=auth_headers(Role.TREASURER))
        assert payment.json()["status"] == "refunded"


def test_an_hours_goal_that_is_not_confirmed_fails_an_all_or_nothing_project(client, session, auth_headers) -> None:
    initiator, board = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    with on(START):
        pid = live_project(client, initiator, board, START, goal_cents=1_000, goal_hours=5)["id"]
        pay(client, pledge(client, pid, kind="money", amount_cents=1_000, name="Jan",
                           email="jan@example.org")["payment"]["id"])
        pledge(client, pid, kind="time", hours=8, name="Mo", email="mo@example.org")  # offered, never confirmed
    run_closing(session, AFTER)
    assert client.get(f"/api/v1/projects/{pid}").json()["status"] == "failed"
    assert held(session, pid) == 0


def test_keep_it_all_keeps_what_came_in(client, session, auth_headers) -> None:
    initiator, board = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    with on(START):
        pid = live_project(client, initiator, board, START, goal_cents=100_000, funding_model="keep_it_all")["id"]
        pay(client, pledge(client, pid, kind="money", amount_cents=4_000, name="Jan",
                           email="jan@example.org")["payment"]["id"])
    run_closing(session, AFTER)
    assert client.get(f"/api/v1/projects/{pid}").json()["status"] == "succeeded"
    assert payable(session, pid) == 4_000


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "money", "amount_cents": 0}, "amount_cents"),
    ({"kind": "money", "amount_cents": -500}, "amount_cents"),
    ({"kind": "money", "amount_cents": 10.5}, "amount_cents"),
    ({"kind": "money", "amount": "10,555"}, "amount"),
    ({"kind": "money", "amount": "0,50"}, "amount"),
    ({"kind": "money", "amount_cents": 2_000_000}, "amount_cents"),
    ({"kind": "money"}, "amount_cents"),
    ({"kind": "time", "hours": "1.33"}, "hours"),
    ({"kind": "time"}, "hours"),
    ({"kind": "materials"}, "description"),
    ({"kind": "gold", "amount_cents": 100}, "kind"),
    ({"kind": "money", "amount_cents": 100, "email": "not-an-address"}, "email"),
])
def test_bad_pledges_are_problems_naming_the_field_and_write_nothing(client, session, auth_headers, body,
                                                                     field) -> None:
    initiator, board = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    with on(START):
        pid = live_project(client, initiator, board, START)["id"]
        response = client.post(f"/api/v1/projects/{pid}/pledges",
                               json={"name": "Buur", "email": "buur@example.org", **body})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field
    assert pledges_of(session, project_id=uuid.UUID(pid)) == []


def test_a_pledge_on_a_closed_project_or_a_deadline_200_days_out_is_refused(client, session, auth_headers) -> None:
    initiator, board = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    with on(START):
        pid = live_project(client, initiator, board, START)["id"]
        too_long = client.post("/api/v1/projects", headers=initiator,
                               json=project_body(START, deadline=(START + timedelta(days=200)).isoformat()))
        assert too_long.status_code == 422 and too_long.json()["field"] == "deadline"
    run_closing(session, AFTER)
    with on(AFTER):
        late = client.post(f"/api/v1/projects/{pid}/pledges",
                           json={"kind": "money", "amount_cents": 1_000, "name": "Buur", "email": "b@example.org"})
    assert late.status_code == 409 and late.json()["field"] == "project_id"
    assert pledges_of(session, project_id=uuid.UUID(pid)) == []


def test_only_the_initiator_confirms_hours_and_only_the_volunteer_acknowledges_them(client, session, auth_headers,
                                                                                    make_user) -> None:
    initiator, board = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    with on(START):
        pid = live_project(client, initiator, board, START)["id"]
        offered = pledge(client, pid, kind="time", hours=3, name="Mo", email="mo@example.org")["pledge"]["id"]
        assert client.post(f"/api/v1/pledges/{offered}/confirm").status_code == 401
        assert client.post(f"/api/v1/pledges/{offered}/confirm",
                           headers=auth_headers(Role.INITIATOR)).status_code == 403
        assert client.post(f"/api/v1/pledges/{offered}/confirm", headers=initiator).status_code == 200
        assert client.post(f"/api/v1/pledges/{offered}/deliver", json={"hours": 2},
                           headers=initiator).status_code == 200
        assert client.post(f"/api/v1/pledges/{offered}/acknowledge", headers=initiator).status_code == 403
        volunteer = make_user(Role.MEMBER, email="mo@example.org")
        token, _ = create_token(session, user_id=volunteer.id, ttl=timedelta(days=1))
        acknowledged = client.post(f"/api/v1/pledges/{offered}/acknowledge",
                                   headers={"Authorization": f"Bearer {token}"})
        assert acknowledged.status_code == 200 and acknowledged.json()["acknowledged_at"]


def test_the_board_cancels_a_live_project_and_every_paid_pledge_is_refunded(client, session, auth_headers) -> None:
    initiator, board = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    with on(START):
        pid = live_project(client, initiator, board, START)["id"]
        for cents in (1_500, 3_000):
            pay(client, pledge(client, pid, kind="money", amount_cents=cents, name="Buur",
                               email=f"b{cents}@example.org")["payment"]["id"])
        canceled = client.post(f"/api/v1/projects/{pid}/cancel", json={"reason": "De grond is verkocht"},
                               headers=board)
        assert canceled.status_code == 200, canceled.text
        run_closing(session, START)  # the refund jobs the cancellation queued
    assert client.get(f"/api/v1/projects/{pid}", headers=board).json()["status"] == "canceled"
    assert held(session, pid) == 0
    assert {p.status for p in pledges_of(session, project_id=uuid.UUID(pid))} == {PledgeStatus.REFUNDED}


def test_an_anonymous_gift_stays_anonymous_to_the_initiator_but_not_to_the_board(client, session,
                                                                                 auth_headers) -> None:
    initiator, board = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    with on(START):
        pid = live_project(client, initiator, board, START)["id"]
        pledge(client, pid, kind="money", amount_cents=5_000, name="Els de Wit", email="els@example.org",
               anonymous=True)
        pledge(client, pid, kind="time", hours=2, name="Mo", email="mo@example.org", anonymous=True)
        seen_by_initiator = client.get(f"/api/v1/projects/{pid}/pledgers", headers=initiator).json()
        seen_by_board = client.get(f"/api/v1/projects/{pid}/pledgers", headers=board).json()
    money = next(p for p in seen_by_initiator if p["kind"] == "money")
    assert (money["name"], money["email"]) == ("Anoniem", None)
    assert next(p for p in seen_by_initiator if p["kind"] == "time")["email"] == "mo@example.org"  # to arrange hours
    assert {p["email"] for p in seen_by_board} == {"els@example.org", "mo@example.org"}


def test_a_refund_the_provider_refuses_is_retried_and_counts_as_refunded_only_when_the_provider_says_so(
        client, session, auth_headers, mollie_api) -> None:
    initiator, board = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    with on(START):
        pid = live_project(client, initiator, board, START, goal_cents=100_000, goal_hours=0)["id"]
        made = pledge(client, pid, kind="money", amount_cents=2_500, name="Jan", email="jan@example.org",
                      provider="mollie")
        reference = get_payment(session, payment_id=uuid.UUID(made["payment"]["id"])).provider_reference
        mollie_api.set_payment(reference, "paid")
        assert client.post("/api/v1/webhooks/mollie", data={"id": reference}).status_code == 200
    mollie_api.fail("POST", f"/v2/payments/{reference}/refunds", 503)
    pledge_id = uuid.UUID(made["pledge"]["id"])

    with on(AFTER):
        close_project(session, project_id=uuid.UUID(pid), today=AFTER)
        with pytest.raises(ProviderUnavailable), session.begin_nested():  # the job's savepoint rolls back
            refund_pledge(session, pledge_id=pledge_id)  # and the job is retried with backoff
    shown = client.get(f"/api/v1/projects/{pid}").json()
    assert (shown["status"], shown["paid_cents"], shown["refunding_cents"]) == ("failed", 0, 2_500)
    assert held(session, pid) == 2_500  # nothing left the books yet

    mollie_api.heal()
    with on(AFTER + timedelta(days=1)):
        refund_pledge(session, pledge_id=pledge_id)  # the retry: Mollie accepts, the refund is pending there
        refund_pledge(session, pledge_id=pledge_id)  # a second run asks nothing again
    assert len(mollie_api.requests_to("POST", f"/v2/payments/{reference}/refunds")) == 2  # the refused one + one
    assert get_pledge(session, pledge_id=pledge_id).status is PledgeStatus.REFUND_PENDING and held(session, pid)

    mollie_api.set_payment(reference, "paid", refunded="25.00")
    assert client.post("/api/v1/webhooks/mollie", data={"id": reference}).status_code == 200
    assert get_pledge(session, pledge_id=pledge_id).status is PledgeStatus.REFUNDED
    assert held(session, pid) == 0

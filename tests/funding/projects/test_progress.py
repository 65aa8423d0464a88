"""The project page's figures: money, hours and materials from the pledges, and who gave them (never e-mails)."""

from __future__ import annotations

from datetime import timedelta

from coop.auth.models import Role
from funding.pledges.models import PledgeKind, PledgeStatus
from tests.coop.members.support import on
from tests.funding.pledges.support import live_project
from tests.funding.projects.support import API, START, add_pledge

MONEY, TIME, MATERIALS = PledgeKind.MONEY, PledgeKind.TIME, PledgeKind.MATERIALS


def test_progress_counts_paid_money_standing_hours_and_materials(client, session, auth_headers) -> None:
    with on(START):
        project = live_project(client, auth_headers(Role.INITIATOR), auth_headers(Role.BOARD), START,
                               goal_cents=30_000, goal_hours=12)
    pid = project["id"]
    add_pledge(session, pid, MONEY, PledgeStatus.PAID, amount_cents=12_345, name="Bakkerij Jansen",
               email="info@bakkerij.example.org")
    add_pledge(session, pid, MONEY, PledgeStatus.PAID, amount_cents=7_655, name="Els de Wit", email="els@example.org",
               anonymous=True, message="Succes!")
    add_pledge(session, pid, MONEY, PledgeStatus.PENDING, amount_cents=5_000, email="piet@example.org")
    add_pledge(session, pid, MONEY, PledgeStatus.FAILED, amount_cents=9_000)
    add_pledge(session, pid, MONEY, PledgeStatus.REFUNDED, amount_cents=4_000)
    add_pledge(session, pid, TIME, PledgeStatus.PLEDGED, minutes=90, name="Ahmed", skill="timmeren")
    add_pledge(session, pid, TIME, PledgeStatus.CONFIRMED, minutes=120)
    add_pledge(session, pid, TIME, PledgeStatus.DELIVERED, minutes=60, delivered_minutes=75)
    add_pledge(session, pid, TIME, PledgeStatus.WITHDRAWN, minutes=600)
    add_pledge(session, pid, MATERIALS, PledgeStatus.PLEDGED, description="Kruiwagen", quantity=2, value_cents=15_000,
               name="Gemeentewerf")

    with on(START + timedelta(days=10)):
        shown = client.get(f"{API}/{pid}").json()
    money = ("goal_cents", "paid_cents", "pending_cents", "matched_cents", "granted_cents", "raised_cents",
             "percentage")
    assert tuple(shown[k] for k in money) == (30_000, 20_000, 5_000, 0, 0, 20_000, 66)
    assert (shown["goal_hours"], shown["hours_pledged"], shown["hours_confirmed"], shown["hours_delivered"]) == (
        12, 4.5, 3, 1.25)
    assert (shown["goal_minutes"], shown["minutes_pledged"], shown["minutes_confirmed"],
            shown["minutes_delivered"]) == (720, 270, 180, 75)
    assert (shown["materials"], shown["materials_value_cents"], shown["backers"]) == (1, 15_000, 6)
    assert shown["days_left"] == 21

    recent = {p["name"]: p for p in shown["recent_pledges"]}
    assert "Els de Wit" not in recent and recent["Anoniem"]["message"] == "Succes!"
    assert recent["Bakkerij Jansen"]["amount_cents"] == 12_345 and recent["Bakkerij Jansen"]["hours"] is None
    assert recent["Ahmed"]["hours"] == 1.5 and recent["Ahmed"]["amount_cents"] is None
    assert recent["Gemeentewerf"]["description"] == "Kruiwagen"
    assert len(shown["recent_pledges"]) == 6  # paid money, standing time and materials; never pending or withdrawn
    assert "@" not in str(shown)  # no e-mail address of anyone


def test_a_time_only_project_has_no_percentage_and_the_deadline_day_still_counts(client, auth_headers) -> None:
    with on(START):
        pid = live_project(client, auth_headers(Role.INITIATOR), auth_headers(Role.BOARD), START, goal_cents=0,
                           goal_hours=8)["id"]
    for day, left in ((29, 2), (30, 1), (31, 0), (300, 0)):
        with on(START + timedelta(days=day)):
            shown = client.get(f"{API}/{pid}").json()
        assert (shown["percentage"], shown["days_left"]) == (None, left)


def test_the_percentage_is_floored_and_may_pass_100(client, session, auth_headers) -> None:
    with on(START):
        pid = live_project(client, auth_headers(Role.INITIATOR), auth_headers(Role.BOARD), START,
                           goal_cents=3_000)["id"]
    add_pledge(session, pid, MONEY, PledgeStatus.PAID, amount_cents=2_999)
    with on(START):
        assert client.get(f"{API}/{pid}").json()["percentage"] == 99
    add_pledge(session, pid, MONEY, PledgeStatus.PAID, amount_cents=3_001)
    with on(START):
        assert client.get(f"{API}/{pid}").json()["percentage"] == 200

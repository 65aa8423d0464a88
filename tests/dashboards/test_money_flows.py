"""The Sankey's links for a history made step by step through the API: every euro where it went."""

from __future__ import annotations

from datetime import date, timedelta

from coop.auth.models import Role
from dashboards.queries import Link, Period, Selection, money_flows
from funding.projects.models import Theme
from tests.coop.members.support import COMPANY, PERSON, join_and_pay, on
from tests.funding.pledges.support import live_project, pledge, run_closing
from tests.support import pay

START = date(2027, 9, 1)
PERIOD = Period(START, START + timedelta(days=90))


def a_fund_doubling_utrecht(client, board: dict[str, str], treasurer: dict[str, str]) -> str:
    """A municipality's fund with EUR 1,000 that doubles pledges in Utrecht up to EUR 100 each."""
    fund = client.post("/api/v1/funds", headers=board, json={
        "name": "Initiatievenfonds Utrecht", "kind": "municipality", "municipality_codes": ["GM0344"]}).json()
    assert client.post(f"/api/v1/funds/{fund['id']}/deposits", headers=treasurer,
                       json={"amount_cents": 100_000, "reference": "subsidie 2027"}).status_code == 201
    assert client.post(f"/api/v1/funds/{fund['id']}/match-rules", headers=board, json={
        "ratio_bp": 10_000, "cap_per_pledge_cents": 10_000, "cap_per_project_cents": 50_000,
        "budget_cents": 100_000}).status_code == 201
    return str(fund["id"])


def test_members_residents_and_a_fund_flow_to_capital_revenue_and_back_to_the_payers(client, session,
                                                                                       auth_headers) -> None:
    board, treasurer, initiator = auth_headers(Role.BOARD), auth_headers(Role.TREASURER), auth_headers(
        Role.INITIATOR)
    with on(START):
        person = join_and_pay(client, PERSON)
        company = join_and_pay(client, COMPANY)
        dues = client.post(f"/api/v1/members/{person['member']['id']}/subscription", headers=board,
                           json={"provider": "sandbox"})
        assert dues.status_code == 201, dues.text
        pay(client, dues.json()["payment"]["id"])
        a_fund_doubling_utrecht(client, board, treasurer)
        project = live_project(client, initiator, board, START)["id"]  # groen en duurzaamheid, Utrecht
        pay(client, pledge(client, project, kind="money", amount_cents=3_000, name="Buur",
                           email="buur@example.org")["payment"]["id"])
        assert client.post(f"/api/v1/projects/{project}/cancel", json={"reason": "De grond is verkocht"},
                           headers=board).status_code == 200
        run_closing(session, START)  # the refund the cancellation queued

    shares = company["payment"]["amount_cents"]
    assert sorted(money_flows(session, PERIOD), key=lambda link: (link.source, link.target)) == sorted([
        Link("Leden", "Aandelen", person["payment"]["amount_cents"]),
        Link("Bedrijven en organisaties", "Aandelen", shares),
        Link("Aandelen", "Ledenkapitaal", person["payment"]["amount_cents"] + shares),
        Link("Leden", "Contributie", 9_900), Link("Contributie", "Opbrengst", 9_900),
        Link("Fondsen", "Fondsinleg", 100_000), Link("Fondsinleg", "Fondsvermogen", 100_000),
        Link("Bewoners", "Bijdragen", 3_000), Link("Bijdragen", "Terugbetaald", 3_000),
        Link("Fondsen", "Verdubbeling", 3_000), Link("Verdubbeling", "Terug naar fonds", 3_000),
    ], key=lambda link: (link.source, link.target))
    themed = money_flows(session, PERIOD, Selection(theme=Theme.GROEN_EN_DUURZAAMHEID))
    assert {(link.source, link.target) for link in themed} == {
        ("Bewoners", "Bijdragen"), ("Bijdragen", "Terugbetaald"), ("Fondsen", "Verdubbeling"),
        ("Verdubbeling", "Terug naar fonds")}
    assert money_flows(session, PERIOD, Selection(theme=Theme.ENERGIE)) == []
    assert money_flows(session, Period(START - timedelta(days=30), START - timedelta(days=1))) == []


def test_a_succeeded_campaign_sends_pledges_matches_and_grants_to_the_project(client, session, auth_headers,
                                                                             make_user) -> None:
    board, treasurer, initiator = auth_headers(Role.BOARD), auth_headers(Role.TREASURER), auth_headers(
        Role.INITIATOR)
    with on(START):
        fund = a_fund_doubling_utrecht(client, board, treasurer)
        project = live_project(client, initiator, board, START, goal_cents=10_000, goal_hours=0,
                               funding_model="keep_it_all")["id"]
        grant = client.post(f"/api/v1/funds/{fund}/grants", headers=board,
                            json={"project_id": project, "amount_cents": 2_500, "note": "Voor de zaden"})
        assert grant.status_code == 201, grant.text
        assert client.post(f"/api/v1/grants/{grant.json()['id']}/approve",
                           headers=auth_headers(Role.BOARD)).status_code == 200
        pay(client, pledge(client, project, kind="money", amount_cents=4_000, name="Buur",
                           email="buur@example.org")["payment"]["id"])
    run_closing(session, START + timedelta(days=31))

    links = {(link.source, link.target): link.cents for link in money_flows(session, PERIOD)}

    assert links[("Bewoners", "Bijdragen")] == links[("Bijdragen", "Projecten")] == 4_000
    assert links[("Fondsen", "Verdubbeling")] == links[("Verdubbeling", "Projecten")] == 4_000
    assert links[("Fondsen", "Giften")] == links[("Giften", "Projecten")] == 2_500
    assert ("Bijdragen", "Terugbetaald") not in links and ("Giften", "Terug naar fonds") not in links

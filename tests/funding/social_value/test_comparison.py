"""Comparing and following social value through the HTTP API: peers, the index, avoided public cost, and the share
of a project's value that a fund's or a pledger's money paid for."""

from __future__ import annotations

from datetime import date, timedelta

from coop.auth.models import Role
from coop.auth.service import create_token
from tests.coop.members.support import on
from tests.funding.social_value.support import (
    OUTCOME_TYPES,
    START,
    VERIFIED,
    board_pair,
    funded_project,
    outcome_type,
    report,
    set_rates,
    statement,
    verified,
    verify,
)

AMSTERDAM, ROTTERDAM, DEN_HAAG, UTRECHT, EINDHOVEN = "GM0363", "GM0599", "GM0518", "GM0344", "GM0772"


def test_peers_are_the_same_theme_elsewhere_with_quartiles_and_a_percentile(client, auth_headers) -> None:
    initiator, board = board_pair(auth_headers)
    set_rates(client, board)
    outcome_type(client, board)  # 10 units are worth 3,600 at present value
    food = {"theme": "voedsel"}
    project_id = funded_project(client, initiator, board, paid_cents=200_000, municipality_code=UTRECHT, **food)
    for paid, code in ((100_000, AMSTERDAM), (200_000, ROTTERDAM), (400_000, DEN_HAAG), (300_000, EINDHOVEN)):
        verified(client, initiator, board, funded_project(client, initiator, board, paid_cents=paid,
                                                          municipality_code=code, **food))
    # not peers: the same municipality, another theme, and a project without a verified outcome
    verified(client, initiator, board, funded_project(client, initiator, board, municipality_code=UTRECHT, **food))
    verified(client, initiator, board, funded_project(client, initiator, board, municipality_code=AMSTERDAM,
                                                      theme="cultuur"))
    funded_project(client, initiator, board, municipality_code=ROTTERDAM, **food)
    verified(client, initiator, board, project_id)

    peers = statement(client, project_id)["peers"]
    # ratios 3.6, 1.8, 0.9 and 1.2: sorted 0.9, 1.2, 1.8, 3.6; this project's 1.8 has two below and one equal
    assert peers == {"theme": "voedsel", "count": 4, "median_ratio": 1.5, "p25_ratio": 1.12, "p75_ratio": 2.25,
                     "percentile": 62.5}


def test_a_project_without_peers_says_so(client, auth_headers) -> None:
    initiator, board = board_pair(auth_headers)
    set_rates(client, board)
    outcome_type(client, board)
    project_id = funded_project(client, initiator, board)
    verified(client, initiator, board, project_id)
    assert statement(client, project_id)["peers"] == {"theme": "groen_en_duurzaamheid", "count": 0,
                                                      "median_ratio": None, "p25_ratio": None, "p75_ratio": None,
                                                      "percentile": None}


def index(client, **params) -> dict:
    """GET the index on 1 June 2027."""
    with on(date(2027, 6, 1)):
        response = client.get("/api/v1/social-value/index", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_index_starts_at_100_and_is_not_rewritten_by_a_later_proxy(client, auth_headers) -> None:
    initiator, board = board_pair(auth_headers)
    set_rates(client, board)
    outcome_type(client, board)
    food = funded_project(client, initiator, board, theme="voedsel")
    culture = funded_project(client, initiator, board, theme="cultuur", municipality_code=AMSTERDAM)
    verified(client, initiator, board, food)  # 27 March: 3,600
    with on(date(2027, 4, 20)):
        assert client.post(f"{OUTCOME_TYPES}/buurtmaaltijd/versions", headers=board, json={
            "value_cents": 60_000, "source": "aanname", "valid_from": "2027-05-01", "deadweight_bp": 2000,
            "attribution_bp": 1000}).status_code == 201
    may = date(2027, 5, 12)
    verify(client, board, report(client, initiator, food, quantity=5, day=date(2027, 5, 10))["id"], may)  # 2,160
    verify(client, board, report(client, initiator, culture, quantity=1, day=date(2027, 5, 10))["id"], may)  # 432

    food_index = index(client, theme="voedsel")
    assert food_index["base_month"] == "2027-03"
    assert [(point["month"], point["social_value_cents"], point["level"]) for point in food_index["points"]] == [
        ("2027-03", 360_000, 100.0), ("2027-04", 0, 100.0), ("2027-05", 216_000, 160.0), ("2027-06", 0, 160.0)]
    overall = index(client)
    assert [point["social_value_cents"] for point in overall["points"]] == [360_000, 0, 216_000 + 43_200, 0]
    assert overall["points"][2]["level"] == 172.0
    assert index(client, theme="cultuur")["points"][0] == {"month": "2027-05", "social_value_cents": 43_200,
                                                           "level": 100.0}
    window = index(client, theme="voedsel", **{"from": "2027-04-01", "to": "2027-05-31"})
    assert [(point["month"], point["level"]) for point in window["points"]] == [("2027-04", 100.0),
                                                                                ("2027-05", 160.0)]
    assert index(client, theme="energie") == {"theme": "energie", "base_month": None,
                                              "method": food_index["method"], "points": []}
    with on(date(2027, 6, 1)):
        assert client.get("/api/v1/social-value/index", params={"theme": "geen_thema"}).status_code == 422
        backwards = client.get("/api/v1/social-value/index", params={"from": "2027-05-01", "to": "2027-04-01"})
        assert backwards.status_code == 422 and backwards.json()["field"] == "to"


def test_avoided_public_cost_per_municipality_counts_the_year_it_was_verified(client, auth_headers) -> None:
    initiator, board = board_pair(auth_headers)
    set_rates(client, board)
    outcome_type(client, board, code="zorgkosten_vermeden", avoided_public_cost=True, value_cents=100_000,
                 deadweight_bp=0, attribution_bp=0)
    outcome_type(client, board)  # not an avoided public cost
    utrecht = funded_project(client, initiator, board)
    amsterdam = funded_project(client, initiator, board, municipality_code=AMSTERDAM)
    verified(client, initiator, board, utrecht, code="zorgkosten_vermeden", quantity=2)
    verified(client, initiator, board, utrecht, code="buurtmaaltijd")
    verified(client, initiator, board, amsterdam, code="zorgkosten_vermeden", quantity=5)
    next_year = date(2028, 1, 5)
    verified(client, initiator, board, amsterdam, code="zorgkosten_vermeden", quantity=1, verified_on=next_year)

    with on(next_year):
        found = client.get("/api/v1/social-value/avoided-public-costs", params={"year": 2027}).json()
        later = client.get("/api/v1/social-value/avoided-public-costs", params={"year": 2028}).json()
    assert found == {"year": 2027, "total_cents": 700_000, "municipalities": [
        {"municipality_code": AMSTERDAM, "municipality": "Amsterdam", "present_value_cents": 500_000, "outcomes": 1},
        {"municipality_code": UTRECHT, "municipality": "Utrecht", "present_value_cents": 200_000, "outcomes": 1}]}
    assert later["total_cents"] == 100_000


def test_a_fund_and_a_pledger_see_the_value_of_their_share(client, session, make_user, auth_headers) -> None:
    initiator, board = board_pair(auth_headers)
    set_rates(client, board)
    outcome_type(client, board)
    managers = []
    for email in ("anna@wijkfonds.example.org", "bram@wijkfonds.example.org"):
        token, _ = create_token(session, user_id=make_user(Role.FUND_MANAGER, email=email).id,
                                ttl=timedelta(days=3650))
        managers.append({"Authorization": f"Bearer {token}"})
    anna, bram = managers
    project_id = funded_project(client, initiator, board, paid_cents=100_000)  # buur@example.org paid 1,000
    with on(START + timedelta(days=1)):
        fund_id = client.post("/api/v1/funds", headers=anna, json={
            "name": "Wijkfonds Lombok", "kind": "community_fund",
            "manager_emails": ["bram@wijkfonds.example.org"]}).json()["id"]
        assert client.post(f"/api/v1/funds/{fund_id}/deposits", headers=auth_headers(Role.TREASURER),
                           json={"amount_cents": 300_000, "reference": "Wijkfonds 2027"}).status_code == 201
        grant = client.post(f"/api/v1/funds/{fund_id}/grants", headers=anna,
                            json={"project_id": project_id, "amount_cents": 300_000, "note": "Goed plan"}).json()
        assert client.post(f"/api/v1/grants/{grant['id']}/approve", headers=bram).status_code == 200
    verified(client, initiator, board, project_id)  # PV 3,600 on 4,000 of money

    with on(VERIFIED):
        fund = client.get(f"/api/v1/funds/{fund_id}/social-value", headers=anna)
        assert client.get(f"/api/v1/funds/{fund_id}/social-value", headers=initiator).status_code == 403
        assert client.get(f"/api/v1/funds/{fund_id}/social-value").status_code == 401
        buur_token, _ = create_token(session, user_id=make_user(Role.MEMBER, email="buur@example.org").id,
                                     ttl=timedelta(days=3650))
        mine = client.get("/api/v1/me/social-value", headers={"Authorization": f"Bearer {buur_token}"})
    assert fund.status_code == 200, fund.text
    (funded,) = fund.json()["projects"]
    assert (funded["contributed_cents"], funded["project_money_cents"], funded["share"],
            funded["present_value_cents"], funded["outcome_types"]) == (300_000, 400_000, 0.75, 270_000,
                                                                        ["buurtmaaltijd"])
    assert fund.json()["present_value_cents"] == 270_000
    (paid,) = mine.json()["projects"]
    assert (paid["contributed_cents"], paid["share"], paid["present_value_cents"]) == (100_000, 0.25, 90_000)
    assert statement(client, project_id)["inputs"]["granted_cents"] == 300_000

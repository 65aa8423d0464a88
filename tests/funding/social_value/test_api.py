"""Social value through the HTTP API: the issue's acceptance, step by step, and the refusals that write nothing."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

import pytest
from sqlmodel import func, select

from coop.audit.models import AuditEvent
from coop.auth.models import Role
from funding.social_value.models import OutcomeReport, OutcomeType, OutcomeValuation, SocialValueRates
from tests.coop.members.support import on
from tests.funding.social_value.support import (
    OUTCOME_TYPES,
    RATES,
    REPORTED,
    START,
    VERIFIED,
    board_pair,
    funded_project,
    outcome_type,
    present_value,
    report,
    set_rates,
    statement,
    verified,
    verify,
)


def rows(session) -> dict[str, int]:
    """How many rows the social value tables and the audit log hold."""
    return {model.__name__: session.exec(select(func.count()).select_from(model)).one()
            for model in (OutcomeType, OutcomeValuation, SocialValueRates, OutcomeReport, AuditEvent)}


def test_one_verified_outcome_over_one_year_is_worth_3600_on_2000_in(client, auth_headers) -> None:
    initiator, board = board_pair(auth_headers)
    set_rates(client, board)
    outcome_type(client, board)
    project_id = funded_project(client, initiator, board)
    before = statement(client, project_id)
    assert (before["inputs_cents"], before["present_value_cents"], before["sroi_ratio"]) == (200_000, 0, 0.0)

    made = report(client, initiator, project_id)
    assert made["status"] == "reported"
    assert statement(client, project_id)["present_value_cents"] == 0  # reported is not verified
    verify(client, auth_headers(Role.BOARD), made["id"])

    found = statement(client, project_id)
    assert (found["inputs_cents"], found["present_value_cents"], found["sroi_ratio"]) == (200_000, 360_000, 1.8)
    assert found["at"] == VERIFIED.isoformat()
    (line,) = found["lines"]
    assert (line["outcome_type"], line["quantity"], line["value_cents"], line["net_cents"],
            line["present_value_cents"], line["years_cents"]) == ("buurtmaaltijd", 10, 500_000, 360_000, 360_000,
                                                                  [360_000])
    assumptions = line["assumptions"]
    assert {key: assumptions[key] for key in ("value_cents", "source", "valid_from", "deadweight_bp",
                                              "attribution_bp", "displacement_bp", "duration_years", "drop_off_bp",
                                              "discount_rate_bp", "rates_valid_from")} == {
        "value_cents": 50_000, "source": "aanname", "valid_from": "2027-01-01", "deadweight_bp": 2000,
        "attribution_bp": 1000, "displacement_bp": 0, "duration_years": 1, "drop_off_bp": 0, "discount_rate_bp": 0,
        "rates_valid_from": "2027-01-01"}
    assert found["inputs"] == {"money_cents": 200_000, "paid_pledges_cents": 200_000, "matched_cents": 0,
                               "granted_cents": 0, "hours": 0, "hour_rate_cents": 0, "hours_cents": 0,
                               "materials_cents": 0}


def test_an_unverified_or_rejected_outcome_changes_nothing(client, auth_headers) -> None:
    initiator, board = board_pair(auth_headers)
    set_rates(client, board)
    outcome_type(client, board)
    project_id = funded_project(client, initiator, board)
    verified(client, initiator, board, project_id)
    counted = statement(client, project_id)

    report(client, initiator, project_id, quantity=50)  # left unverified
    rejected = report(client, initiator, project_id, quantity=70)
    with on(VERIFIED):
        response = client.post(f"/api/v1/outcomes/{rejected['id']}/reject", headers=board,
                               json={"reason": "Geen presentielijsten bijgevoegd"})
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    assert response.json()["reason"] == "Geen presentielijsten bijgevoegd"
    assert statement(client, project_id) == counted
    with on(VERIFIED):
        listed = client.get(f"/api/v1/projects/{project_id}/outcomes", headers=initiator).json()
    assert sorted(item["status"] for item in listed) == ["rejected", "reported", "verified"]


def test_a_version_from_tomorrow_leaves_today_unchanged_and_counts_from_tomorrow(client, auth_headers) -> None:
    initiator, board = board_pair(auth_headers)
    set_rates(client, board)
    outcome_type(client, board)
    project_id = funded_project(client, initiator, board)
    verified(client, initiator, board, project_id)
    today = statement(client, project_id)
    tomorrow = VERIFIED + timedelta(days=1)
    with on(VERIFIED):
        response = client.post(f"{OUTCOME_TYPES}/buurtmaaltijd/versions", headers=board, json={
            "value_cents": 60_000, "source": "https://example.org/onderzoek-buurtmaaltijden",
            "valid_from": tomorrow.isoformat(), "deadweight_bp": 2000, "attribution_bp": 1000})
    assert response.status_code == 201, response.text

    assert statement(client, project_id) == today
    assert statement(client, project_id, at=VERIFIED) == today
    later = statement(client, project_id, at=tomorrow)
    assert later["present_value_cents"] == 432_000 and later["sroi_ratio"] == 2.16
    assert later["lines"][0]["assumptions"]["valuation_id"] == response.json()["id"]
    assert later["lines"][0]["assumptions"]["source"] == "https://example.org/onderzoek-buurtmaaltijden"
    versions = next(kind for kind in client.get(OUTCOME_TYPES).json() if kind["code"] == "buurtmaaltijd")["versions"]
    assert [version["valid_from"] for version in versions] == ["2027-01-01", tomorrow.isoformat()]


def test_a_statement_before_the_outcome_was_verified_does_not_count_it(client, auth_headers) -> None:
    initiator, board = board_pair(auth_headers)
    set_rates(client, board)
    outcome_type(client, board)
    project_id = funded_project(client, initiator, board)
    verified(client, initiator, board, project_id)
    assert statement(client, project_id, at=VERIFIED - timedelta(days=1))["present_value_cents"] == 0
    assert statement(client, project_id, at=START - timedelta(days=1))["inputs_cents"] == 0  # nothing paid yet


def test_three_years_with_drop_off_at_a_discount_rate_match_the_formula_to_the_cent(client, auth_headers) -> None:
    initiator, board = board_pair(auth_headers)
    set_rates(client, board, discount_rate_bp=350)
    outcome_type(client, board, duration_years=3, drop_off_bp=1000)
    project_id = funded_project(client, initiator, board)
    verified(client, initiator, board, project_id)
    found = statement(client, project_id)
    expected = present_value(360_000, 3, Fraction(1, 10), Fraction(35, 1000))
    assert found["present_value_cents"] == expected == 913_290
    assert len(found["lines"][0]["years_cents"]) == 3
    assert found["sroi_ratio"] == round(expected / 200_000, 2) == 4.57


def test_delivered_hours_count_as_inputs_at_the_hour_rate(client, session, auth_headers) -> None:
    initiator, board = board_pair(auth_headers)
    set_rates(client, board, hour_rate_cents=1_500)
    outcome_type(client, board)
    project_id = funded_project(client, initiator, board)
    with on(START + timedelta(days=2)):
        offered = client.post(f"/api/v1/projects/{project_id}/pledges", json={
            "kind": "time", "hours": "12.5", "name": "Vrijwilliger", "email": "hulp@example.org"}).json()
        pledge_id = offered["pledge"]["id"] if "pledge" in offered else offered["id"]
        assert client.post(f"/api/v1/pledges/{pledge_id}/confirm", headers=initiator).status_code == 200
        delivered = client.post(f"/api/v1/pledges/{pledge_id}/deliver", headers=initiator, json={"hours": "10"})
        assert delivered.status_code == 200, delivered.text
    verified(client, initiator, board, project_id)
    found = statement(client, project_id)
    assert found["inputs"]["hours"] == 10 and found["inputs"]["hours_cents"] == 15_000
    assert found["inputs_cents"] == 215_000
    assert found["sroi_ratio"] == round(360_000 / 215_000, 2) == 1.67


def test_simulate_shows_another_ratio_and_writes_nothing(client, session, auth_headers) -> None:
    initiator, board = board_pair(auth_headers)
    set_rates(client, board)
    outcome_type(client, board)
    project_id = funded_project(client, initiator, board)
    verified(client, initiator, board, project_id)
    real = statement(client, project_id)
    counts = rows(session)
    with on(VERIFIED):
        response = client.post("/api/v1/social-value/simulate", headers=board, json={
            "project_id": project_id, "overrides": {"deadweight_bp": 5000, "hour_rate_cents": 2000,
                                                    "outcome_types": {"buurtmaaltijd": {"attribution_bp": 0}}}})
    assert response.status_code == 200, response.text
    simulated = response.json()
    assert simulated["simulated"] is True
    assert simulated["present_value_cents"] == 250_000 and simulated["sroi_ratio"] == 1.25  # 5,000 x 0.5 x 1
    assert simulated["lines"][0]["assumptions"]["valuation_id"] is None
    assert simulated["lines"][0]["assumptions"]["deadweight_bp"] == 5000
    assert rows(session) == counts
    assert statement(client, project_id) == real


def test_what_if_is_for_the_board(client, auth_headers) -> None:
    initiator, board = board_pair(auth_headers)
    set_rates(client, board)
    project_id = funded_project(client, initiator, board)
    body = {"project_id": project_id, "overrides": {}}
    assert client.post("/api/v1/social-value/simulate", json=body).status_code == 401
    assert client.post("/api/v1/social-value/simulate", headers=initiator, json=body).status_code == 403
    typo = client.post("/api/v1/social-value/simulate", headers=board,
                       json={"project_id": project_id, "overrides": {"deadweigth_bp": 1}})
    assert typo.status_code == 422 and "deadweigth_bp" in typo.text
    unknown = client.post("/api/v1/social-value/simulate", headers=board,
                          json={"project_id": project_id, "overrides": {"outcome_types": {"niets": {}}}})
    assert unknown.status_code == 422 and unknown.json()["field"] == "overrides.outcome_types.niets"


def problem_field(response) -> str:
    """The field a problem+json names (directly, or in its first validation error)."""
    body = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    return body.get("field") or body["errors"][0]["field"]


@pytest.mark.parametrize(("changes", "field"), [
    ({"quantity": -1}, "quantity"),
    ({"quantity": 0}, "quantity"),
    ({"quantity": "1.0001"}, "quantity"),
    ({"outcome_type": "bestaat_niet"}, "outcome_type"),
    ({"period_end": "2027-02-01"}, "period_end"),
    ({"period_end": "2099-01-01"}, "period_end"),
])
def test_a_bad_outcome_report_is_refused_naming_the_field_and_writes_nothing(client, session, auth_headers,
                                                                            changes, field) -> None:
    initiator, board = board_pair(auth_headers)
    set_rates(client, board)
    outcome_type(client, board)
    project_id = funded_project(client, initiator, board)
    counts = rows(session)
    body = {"outcome_type": "buurtmaaltijd", "quantity": 10, "period_start": START.isoformat(),
            "period_end": (START + timedelta(days=20)).isoformat(), "evidence": "Foto's", **changes}
    with on(REPORTED):
        response = client.post(f"/api/v1/projects/{project_id}/outcomes", headers=initiator, json=body)
    assert 400 <= response.status_code < 500, response.text
    assert problem_field(response).endswith(field)
    assert rows(session) == counts


@pytest.mark.parametrize(("changes", "field"), [
    ({"deadweight_bp": 10_001}, "deadweight_bp"),
    ({"attribution_bp": -1}, "attribution_bp"),
    ({"duration_years": 11}, "duration_years"),
    ({"duration_years": 0}, "duration_years"),
    ({"value_cents": -100}, "value_cents"),
    ({"value_cents": 12.5}, "value_cents"),
    ({"code": "Hoofdletters en spaties"}, "code"),
])
def test_a_bad_valuation_is_refused_naming_the_field_and_writes_nothing(client, session, auth_headers,
                                                                       changes, field) -> None:
    _, board = board_pair(auth_headers)
    outcome_type(client, board)
    counts = rows(session)
    body = {"code": "nieuw_type", "name": "Nieuw", "unit": "stuk", "value_cents": 1000, "source": "aanname",
            "valid_from": "2027-01-01", **changes}
    response = client.post(OUTCOME_TYPES, headers=board, json=body)
    assert response.status_code == 422 and problem_field(response).endswith(field)
    if field != "code":  # a version has no code of its own
        version = client.post(f"{OUTCOME_TYPES}/buurtmaaltijd/versions", headers=board,
                              json={key: value for key, value in body.items()
                                    if key not in ("code", "name", "unit")} | {"valid_from": "2027-06-01"})
        assert version.status_code == 422 and problem_field(version).endswith(field)
    assert rows(session) == counts


def test_clashing_codes_and_versions_are_conflicts(client, session, auth_headers) -> None:
    _, board = board_pair(auth_headers)
    outcome_type(client, board)
    counts = rows(session)
    again = client.post(OUTCOME_TYPES, headers=board, json={
        "code": "buurtmaaltijd", "name": "Dubbel", "unit": "maaltijd", "value_cents": 1, "source": "aanname",
        "valid_from": "2027-02-01"})
    assert again.status_code == 409 and again.json()["field"] == "code"
    same_day = client.post(f"{OUTCOME_TYPES}/buurtmaaltijd/versions", headers=board,
                           json={"value_cents": 1, "source": "aanname", "valid_from": "2027-01-01"})
    assert same_day.status_code == 409 and same_day.json()["field"] == "valid_from"
    missing = client.post(f"{OUTCOME_TYPES}/bestaat_niet/versions", headers=board,
                          json={"value_cents": 1, "source": "aanname", "valid_from": "2027-01-01"})
    assert missing.status_code == 404
    set_rates(client, board)
    counts = rows(session)
    rates_again = client.put(RATES, headers=board, json={"hour_rate_cents": 1, "discount_rate_bp": 1,
                                                        "valid_from": "2027-01-01"})
    assert rates_again.status_code == 409 and rates_again.json()["field"] == "valid_from"
    assert rows(session) == counts


def test_a_version_never_starts_in_the_past(client, session, auth_headers) -> None:
    _, board = board_pair(auth_headers)
    outcome_type(client, board)
    counts = rows(session)
    with on(START):
        for response in (
            client.post(f"{OUTCOME_TYPES}/buurtmaaltijd/versions", headers=board,
                        json={"value_cents": 1, "source": "aanname", "valid_from": "2027-02-28"}),
            client.put(RATES, headers=board, json={"hour_rate_cents": 1, "discount_rate_bp": 1,
                                                  "valid_from": "2027-02-28"}),
            client.post(OUTCOME_TYPES, headers=board, json={
                "code": "te_laat", "name": "Te laat", "unit": "stuk", "value_cents": 1, "source": "aanname",
                "valid_from": "2027-02-28"}),
        ):
            assert response.status_code == 422 and response.json()["field"] == "valid_from", response.text
        assert client.post(f"{OUTCOME_TYPES}/buurtmaaltijd/versions", headers=board, json={
            "value_cents": 1, "source": "aanname", "valid_from": START.isoformat()}).status_code == 201
    assert rows(session)["OutcomeValuation"] == counts["OutcomeValuation"] + 1


def test_four_eyes_the_reporter_never_verifies_their_own_outcome(client, session, make_user, auth_headers) -> None:
    from tests.funding.projects.support import headers_of

    initiator, board = board_pair(auth_headers)
    set_rates(client, board)
    outcome_type(client, board)
    project_id = funded_project(client, initiator, board)
    made = report(client, initiator, project_id)
    counts = rows(session)
    with on(VERIFIED):
        own = client.post(f"/api/v1/outcomes/{made['id']}/verify", headers=initiator)
        assert own.status_code == 403 and own.headers["content-type"].startswith("application/problem+json")
    both = headers_of(session, make_user(Role.INITIATOR, Role.BOARD))  # a board member who runs a project
    their_own = funded_project(client, both, board)
    reported = report(client, both, their_own, quantity=1)
    counts = rows(session)
    with on(VERIFIED):
        assert client.post(f"/api/v1/outcomes/{reported['id']}/verify", headers=both).status_code == 403
        assert client.post(f"/api/v1/outcomes/{reported['id']}/reject", headers=both,
                           json={"reason": "Eigen melding"}).status_code == 403
        assert client.post(f"/api/v1/outcomes/{made['id']}/verify", headers=both).status_code == 200
    assert rows(session)["OutcomeReport"] == counts["OutcomeReport"]
    made = reported
    verify(client, board, made["id"])
    with on(VERIFIED):
        twice = client.post(f"/api/v1/outcomes/{made['id']}/verify", headers=board)
    assert twice.status_code == 409


def test_who_may_do_what(client, session, auth_headers) -> None:
    initiator, board = board_pair(auth_headers)
    outcome_type(client, board)
    project_id = funded_project(client, initiator, board)
    other_initiator, member = auth_headers(Role.INITIATOR), auth_headers(Role.MEMBER)
    body = {"code": "x_type", "name": "X", "unit": "x", "value_cents": 1, "source": "aanname",
            "valid_from": "2027-01-01"}
    assert client.post(OUTCOME_TYPES, json=body).status_code == 401
    assert client.post(OUTCOME_TYPES, headers=initiator, json=body).status_code == 403
    assert client.put(RATES, headers=member, json={"hour_rate_cents": 1, "discount_rate_bp": 1,
                                                   "valid_from": "2027-01-01"}).status_code == 403
    outcome = {"outcome_type": "buurtmaaltijd", "quantity": 1, "period_start": START.isoformat(),
               "period_end": START.isoformat(), "evidence": "Foto's"}
    with on(REPORTED):
        assert client.post(f"/api/v1/projects/{project_id}/outcomes", json=outcome).status_code == 401
        assert client.post(f"/api/v1/projects/{project_id}/outcomes", headers=other_initiator,
                           json=outcome).status_code == 403
        assert client.get(f"/api/v1/projects/{project_id}/outcomes", headers=other_initiator).status_code == 403
        made = client.post(f"/api/v1/projects/{project_id}/outcomes", headers=initiator, json=outcome).json()
        assert client.post(f"/api/v1/outcomes/{made['id']}/verify", headers=member).status_code == 403
        assert client.post(f"/api/v1/outcomes/{made['id']}/verify").status_code == 401
        assert client.post(f"/api/v1/projects/{project_id}/outcomes", headers=board,
                           json=outcome).status_code == 403  # the board verifies, the initiator reports
    # open to everyone: the assumptions, the statements and the index
    assert client.get(OUTCOME_TYPES).status_code == 200
    assert client.get(RATES).status_code == 200
    assert statement(client, project_id)["project_id"] == project_id
    assert client.get("/api/v1/social-value/index").status_code == 200


def test_a_draft_project_has_no_public_statement(client, auth_headers) -> None:
    initiator, _ = board_pair(auth_headers)
    with on(START):
        draft = client.post("/api/v1/projects", headers=initiator, json={
            "title": "Nog geheim", "summary": "Een plan dat nog niet live is", "municipality_code": "GM0344",
            "neighbourhood": "Lombok", "theme": "voedsel", "goal_cents": 1000, "goal_hours": 0,
            "starts_on": START.isoformat(), "deadline": (START + timedelta(days=30)).isoformat(),
            "funding_model": "keep_it_all"}).json()
        assert client.get(f"/api/v1/projects/{draft['id']}/social-value").status_code == 404
        outcome = client.post(f"/api/v1/projects/{draft['id']}/outcomes", headers=initiator, json={
            "outcome_type": "maaltijd_gered", "quantity": 1, "period_start": START.isoformat(),
            "period_end": START.isoformat(), "evidence": "Foto's"})
        assert outcome.status_code == 409


def test_dates_out_of_range_and_empty_filters_are_answered_not_crashed(client, auth_headers) -> None:
    initiator, board = board_pair(auth_headers)
    set_rates(client, board)
    project_id = funded_project(client, initiator, board)
    for params in ({"at": "9999-12-31"}, {"at": "0001-01-01"}, {"at": "gisteren"}):
        response = client.get(f"/api/v1/projects/{project_id}/social-value", params=params)
        assert response.status_code == 422 and problem_field(response).endswith("at"), response.text
    assert client.get("/api/v1/social-value/index?theme=&from=&to=").status_code == 200
    for query, field in (("to=9999-12-31", "to"), ("from=2027-13-01", "from"), ("theme=geen", "theme")):
        response = client.get(f"/api/v1/social-value/index?{query}")
        assert response.status_code == 422 and response.json()["field"] == field, response.text
    far = client.post("/api/v1/social-value/simulate", headers=board,
                      json={"project_id": project_id, "at": "9999-12-31", "overrides": {}})
    assert far.status_code == 422


def test_a_past_statement_keeps_what_was_given_then_even_if_it_went_back_later(client, auth_headers) -> None:
    initiator, board = board_pair(auth_headers)
    set_rates(client, board)
    project_id = funded_project(client, initiator, board)
    with on(START + timedelta(days=1)):
        given = client.post(f"/api/v1/projects/{project_id}/pledges", json={
            "kind": "materials", "description": "Tien zakken potgrond", "value_cents": 4_500, "name": "Tuincentrum",
            "email": "tuin@example.org"})
        assert given.status_code == 201, given.text
    with on(START + timedelta(days=5)):
        pledge_id = given.json()["pledge"]["id"]
        assert client.post(f"/api/v1/pledges/{pledge_id}/withdraw", headers=initiator).status_code == 200

    assert statement(client, project_id, at=START + timedelta(days=2))["inputs"]["materials_cents"] == 4_500
    assert statement(client, project_id, at=START + timedelta(days=6))["inputs"]["materials_cents"] == 0

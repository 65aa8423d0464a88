"""The public list: published projects only, filters, text search, stable pages."""

from __future__ import annotations

import uuid

import pytest

from coop.auth.models import Role
from funding.projects.models import ProjectStatus
from funding.projects.service import get_project, set_closed_status
from tests.coop.members.support import on
from tests.funding.pledges.support import live_project
from tests.funding.projects.support import API, START, act, created, days

PROJECTS = {  # name: (changes to the standard body), all approved unless said otherwise below
    "moestuin": {"title": "Moestuin De Bikkershof", "neighbourhood": "Lombok", "deadline": days(30)},
    "festival": {"title": "Buurtfestival 100% Pijp", "summary": "Muziek en eten op het plein",
                 "municipality_code": "GM0363", "neighbourhood": "De Pijp", "theme": "cultuur", "deadline": days(20)},
    "kooi": {"title": "Voetbalkooi", "summary": "Een trapveld voor de jeugd uit Lombok en Oog in Al",
             "neighbourhood": "Overvecht", "theme": "sport_en_recreatie", "deadline": days(45)},
    "zon": {"title": "Zonnepanelen op het buurthuis", "municipality_code": "GM0599", "neighbourhood": "Delfshaven",
            "theme": "energie", "deadline": days(10)},
    "voedsel": {"title": "Voedseltuin", "neighbourhood": "lombok", "theme": "voedsel", "deadline": days(60)},
}


@pytest.fixture
def catalogue(client, session, auth_headers) -> dict[str, str]:
    """The projects above (moestuin succeeded, the rest live), plus a draft, a submitted and a canceled one."""
    initiator, board = auth_headers(Role.INITIATOR), auth_headers(Role.BOARD)
    ids: dict[str, str] = {}
    with on(START):
        for name, changes in PROJECTS.items():
            ids[name] = live_project(client, initiator, board, START, **changes)["id"]
        ids["draft"] = created(client, initiator, title="Nog geheim")["id"]
        ids["submitted"] = created(client, initiator, title="Wacht op het bestuur")["id"]
        act(client, initiator, ids["submitted"], "submit")
        ids["canceled"] = live_project(client, initiator, board, START, title="Afgeblazen")["id"]
        for name, status in (("canceled", ProjectStatus.CANCELED), ("moestuin", ProjectStatus.SUCCEEDED)):
            set_closed_status(session, project=get_project(session, project_id=uuid.UUID(ids[name])), status=status,
                              actor_id=None)
    return ids


def names(client, ids: dict[str, str], headers: dict[str, str] | None = None, **params) -> list[str]:
    """GET the list with `params`: the names of the projects on the page, in order."""
    response = client.get(API, params=params, headers=headers or {})
    assert response.status_code == 200, response.text
    by_id = {pid: name for name, pid in ids.items()}
    return [by_id[item["id"]] for item in response.json()["items"]]


def test_the_public_sees_published_projects_by_deadline(client, catalogue) -> None:
    with on(START):
        listed = client.get(API).json()
    assert listed["total"] == 5 and (listed["page"], listed["per_page"]) == (1, 20)
    assert names(client, catalogue) == ["zon", "festival", "moestuin", "kooi", "voedsel"]
    card = listed["items"][2]
    assert (card["status"], card["raised_cents"], card["percentage"], card["days_left"]) == ("succeeded", 0, 0, 0)


@pytest.mark.parametrize(("params", "expected"), [
    ({"municipality_code": "GM0344"}, ["moestuin", "kooi", "voedsel"]),
    ({"neighbourhood": "LOMBOK"}, ["moestuin", "voedsel"]),
    ({"theme": "cultuur"}, ["festival"]),
    ({"status": "succeeded"}, ["moestuin"]),
    ({"status": "live", "municipality_code": "GM0344"}, ["kooi", "voedsel"]),
    ({"q": "lombok"}, ["moestuin", "kooi", "voedsel"]),
    ({"q": "ZONNEPANELEN"}, ["zon"]),
    ({"q": "op het plein"}, ["festival"]),
    ({"q": "%"}, ["festival"]),  # a wildcard is searched for, not obeyed
    ({"q": "_"}, []),
    ({"status": "draft"}, []),
    ({"status": "canceled"}, []),
])
def test_filters_and_search(client, catalogue, params, expected) -> None:
    assert names(client, catalogue, **params) == expected


def test_the_board_also_sees_unpublished_projects(client, auth_headers, catalogue) -> None:
    board = auth_headers(Role.BOARD)
    assert names(client, catalogue, board, status="draft") == ["draft"]
    assert names(client, catalogue, board, status="submitted") == ["submitted"]
    assert names(client, catalogue, board, status="canceled") == ["canceled"]
    assert len(names(client, catalogue, board)) == 8
    assert names(client, catalogue, auth_headers(Role.INITIATOR), status="draft") == []


def test_pages_are_stable_and_cover_everything_once(client, catalogue) -> None:
    pages = [names(client, catalogue, page=page, per_page=2) for page in (1, 2, 3, 4)]
    assert pages == [["zon", "festival"], ["moestuin", "kooi"], ["voedsel"], []]
    assert client.get(API, params={"page": 4, "per_page": 2}).json()["total"] == 5


@pytest.mark.parametrize(("params", "field"), [
    ({"per_page": 101}, "per_page"),
    ({"per_page": 0}, "per_page"),
    ({"page": 0}, "page"),
    ({"theme": "ruimtevaart"}, "theme"),
    ({"status": "gone"}, "status"),
    ({"municipality_code": "Utrecht"}, "municipality_code"),
])
def test_bad_list_parameters_are_422_naming_them(client, params, field) -> None:
    response = client.get(API, params=params)
    assert response.status_code == 422 and response.json()["field"] == field
    assert response.headers["content-type"] == "application/problem+json"

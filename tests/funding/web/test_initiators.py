"""Initiators in the browser (no JavaScript): start a project as a draft, submit it, post news, and accept and log
the hours volunteers offered through the project page."""

from __future__ import annotations

from datetime import timedelta

from lxml import html
from sqlmodel import func, select

from coop.auth.models import Role
from funding.pledges.models import Pledge, PledgeStatus
from funding.projects.models import Project, ProjectStatus
from tests.conftest import TEST_PASSWORD
from tests.coop.members.support import on
from tests.coop.web.support import error_beside, page, submit
from tests.funding.web.test_project_pages import START

NEW = {"title": "Pluktuin Oog in Al", "summary": "Een pluktuin met bloemen voor de hele buurt",
       "municipality_code": "gm0344", "neighbourhood": "Oog in Al", "theme": "groen_en_duurzaamheid",
       "goal": "1.250,50", "goal_hours": "20", "starts_on": START.isoformat(),
       "deadline": (START + timedelta(days=30)).isoformat(), "funding_model": "keep_it_all",
       "story": "We zaaien in maart.", "wishlist": "zaad\nschoffels\n", "payee_name": "", "payee_iban": ""}


def sign_in(client, make_user, *roles: Role, email: str = "initiatief@example.org") -> None:
    """A new user with these roles signs in with their password."""
    make_user(*roles, email=email)
    sign_in_again(client, email)


def sign_in_again(client, email: str = "initiatief@example.org") -> None:
    """Sign in with the password (a session lasts a working day)."""
    response = submit(client, "/mijn/inloggen", "password-form", "/mijn/inloggen", email=email,
                      password=TEST_PASSWORD)
    assert response.status_code == 303


def actions(document, path: str) -> dict[str, str]:
    """The hidden fields of the form posting to `path`."""
    form = document.xpath(f"//form[@action='{path}']")[0]
    return {field.name: field.value for field in form.xpath(".//input[@type='hidden']")}


def test_an_initiator_starts_a_draft_and_submits_it(client, session, make_user, auth_headers) -> None:
    with on(START - timedelta(days=3)):
        sign_in(client, make_user, Role.INITIATOR)
        assert "Start een project" in page(client, "/mijn").text_content()
        made = submit(client, "/mijn/projecten/nieuw", "project-form", "/mijn/projecten/nieuw", **NEW)
        assert made.status_code == 303
        project = session.exec(select(Project).where(Project.title == NEW["title"])).one()
        assert (project.status, project.goal_cents, project.goal_minutes, project.municipality_code,
                project.wishlist) == (ProjectStatus.DRAFT, 125_050, 1_200, "GM0344", ["zaad", "schoffels"])
        assert client.get(f"/projecten/{project.id}").status_code == 404  # a draft is not public
        manage = page(client, made.headers["location"])
        submitted = client.post(f"/mijn/projecten/{project.id}/indienen",
                                data=actions(manage, f"/mijn/projecten/{project.id}/indienen"),
                                follow_redirects=False)
        assert "klaar=ingediend" in submitted.headers["location"]
    session.refresh(project)
    assert project.status is ProjectStatus.SUBMITTED
    assert "Mijn projecten" in page(client, "/mijn").text_content()


def test_a_mistake_in_a_new_project_is_shown_beside_its_field_and_nothing_is_saved(client, session,
                                                                                  make_user) -> None:
    with on(START - timedelta(days=3)):
        sign_in(client, make_user, Role.INITIATOR)
        before = session.exec(select(func.count()).select_from(Project)).one()
        response = submit(client, "/mijn/projecten/nieuw", "project-form", "/mijn/projecten/nieuw",
                          **{**NEW, "deadline": (START + timedelta(days=120)).isoformat(), "goal": "veel"})
    assert response.status_code == 422
    document = html.fromstring(response.text)
    assert error_beside(document, "goal")
    assert document.get_element_by_id("title").value == NEW["title"]
    assert session.exec(select(func.count()).select_from(Project)).one() == before


def test_the_initiator_accepts_and_logs_hours_and_posts_news(client, session, make_user, auth_headers) -> None:
    with on(START - timedelta(days=3)):
        sign_in(client, make_user, Role.INITIATOR)
        made = submit(client, "/mijn/projecten/nieuw", "project-form", "/mijn/projecten/nieuw", **NEW)
        project_id = made.headers["location"].rsplit("/", 1)[1]
        client.post(f"/mijn/projecten/{project_id}/indienen",
                    data=actions(page(client, made.headers["location"]), f"/mijn/projecten/{project_id}/indienen"))
        assert client.post(f"/api/v1/projects/{project_id}/approve",
                           headers=auth_headers(Role.BOARD)).status_code == 200
    with on(START + timedelta(days=2)):
        submit(client, f"/projecten/{project_id}", "pledge-form", f"/projecten/{project_id}/bijdragen", kind="time",
               hours="4", name="Jan Visser", email="jan@example.org")
        sign_in_again(client)
        pledge = session.exec(select(Pledge).where(Pledge.email == "jan@example.org")).one()
        manage = page(client, f"/mijn/projecten/{project_id}")
        accept = f"/mijn/projecten/{project_id}/uren/{pledge.id}/afspreken"
        assert "Jan Visser" in manage.text_content()
        client.post(accept, data=actions(manage, accept))
        session.refresh(pledge)
        assert pledge.status is PledgeStatus.CONFIRMED
        log = f"/mijn/projecten/{project_id}/uren/{pledge.id}/geleverd"
        client.post(log, data={**actions(page(client, f"/mijn/projecten/{project_id}"), log), "hours": "3,5"})
        session.refresh(pledge)
        assert (pledge.status, pledge.delivered_minutes) == (PledgeStatus.DELIVERED, 210)
        news = f"/mijn/projecten/{project_id}/nieuws"
        posted = client.post(news, data={**actions(page(client, f"/mijn/projecten/{project_id}"), news),
                                         "title": "De eerste bloemen", "body": "Kom kijken op zaterdag!"},
                             follow_redirects=False)
        assert "klaar=nieuws" in posted.headers["location"]
        assert "De eerste bloemen" in page(client, f"/projecten/{project_id}").text_content()


def test_only_who_runs_the_project_may_manage_it(client, session, make_user, auth_headers) -> None:
    with on(START - timedelta(days=3)):
        sign_in(client, make_user, Role.INITIATOR)
        made = submit(client, "/mijn/projecten/nieuw", "project-form", "/mijn/projecten/nieuw", **NEW)
        path = made.headers["location"]
        client.cookies.clear()
        assert client.get(path, follow_redirects=False).headers["location"] == "/mijn/inloggen"
        sign_in(client, make_user, Role.INITIATOR, email="ander@example.org")
        assert client.get(path).status_code == 404
        assert client.get("/mijn/projecten/nieuw").status_code == 200

"""Initiators' pages under `/mijn/projecten`: start a project (a draft), submit it for approval, post news, and
accept and log the hours of volunteers. Every rule is the project and pledge services' own."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from coop.auth.schemas import CurrentUser
from coop.core.clock import today_amsterdam
from coop.core.db import SessionDep
from coop.core.errors import InvalidInput, KrachtError, NotFound
from coop.core.http import rate_limited
from coop.core.money import MoneyError, parse_amount
from coop.web.account import SIGN_IN, AccountSection, SignedInPost, add_account_section, signed_in, signed_in_post
from coop.web.forms import errors_of, refused, submit_once, validated
from coop.web.templating import not_found, render
from funding.pledges.models import PledgeKind, PledgeStatus
from funding.pledges.queries import pledges_of
from funding.pledges.service import confirm_time, deliver_time
from funding.projects.models import Project
from funding.projects.queries import projects_of_initiator
from funding.projects.schemas import ProjectIn, UpdateIn
from funding.projects.service import create_project, get_project, may_manage, post_update, submit_project
from funding.web.pages import THEMES

router = APIRouter(include_in_schema=False)
MINE = "/mijn/projecten"
PROJECT_FIELDS = ("title", "summary", "story", "municipality_code", "neighbourhood", "theme", "goal", "goal_hours",
                  "starts_on", "deadline", "funding_model", "wishlist", "payee_name", "payee_iban")
STATUSES = {"draft": "Concept", "submitted": "Ingediend", "live": "Loopt", "succeeded": "Geslaagd",
            "failed": "Niet gehaald", "canceled": "Geannuleerd"}
MODELS = {"all_or_nothing": "Alles of niets", "keep_it_all": "Alles telt"}
VOLUNTEER_STATUSES = {"pledged": "Aangeboden", "confirmed": "Afgesproken", "delivered": "Gegeven"}
NOTICES = {"ingediend": "Ingediend: het bestuur kijkt ernaar.", "nieuws": "Je bericht staat online.",
           "afgesproken": "De uren zijn afgesproken.",
           "geleverd": "De uren zijn opgeschreven; de vrijwilliger bevestigt ze.",
           "mislukt": "Dat lukte niet. Controleer wat je invulde."}
# (field, label, input type, hint) of the new-project form
NEW_PROJECT_FIELDS = (
    ("title", "Titel", "text", ""),
    ("summary", "Samenvatting", "text", "Eén of twee zinnen."),
    ("municipality_code", "Gemeente (CBS-code)", "text", "Bijvoorbeeld GM0344 voor Utrecht."),
    ("neighbourhood", "Buurt", "text", ""),
    ("goal", "Bedrag dat je wilt ophalen, in euro's", "text", "0 als je alleen uren zoekt."),
    ("goal_hours", "Aantal uren dat je zoekt", "text", "0 als je alleen geld zoekt."),
    ("starts_on", "Begint op", "date", "jjjj-mm-dd"),
    ("deadline", "Loopt tot en met", "date", "Hooguit 90 dagen na het begin."),
    ("payee_name", "Naam van de rekeninghouder", "text", "Waar het geld naartoe gaat als het project slaagt."),
    ("payee_iban", "IBAN", "text", ""),
)


def my_projects(session: Session, user: CurrentUser) -> dict[str, Any]:
    """The projects the signed-in user runs, for `/mijn`."""
    return {"projects": projects_of_initiator(session, user_id=user.id), "project_statuses": STATUSES}


add_account_section("projects", AccountSection(template="account_projects.html", context=my_projects))


def _managed(request: Request, session: Session, project_id: uuid.UUID) -> tuple[CurrentUser, Project] | None:
    """The project, if the signed-in user runs it (its initiator, or the board)."""
    user = signed_in(request, session)
    if user is None:
        return None
    try:
        project = get_project(session, project_id=project_id)
    except NotFound:
        return None
    return (user, project) if may_manage(project, user) else None


def _new_page(request: Request, *, values: dict[str, str], errors: dict[str, str],
              status_code: int = 200) -> HTMLResponse:
    """The form for a new project."""
    return render(request, "project_new.html", status_code=status_code, values=values, errors=errors,
                  themes=THEMES, models=MODELS, fields=NEW_PROJECT_FIELDS, submission=uuid.uuid4().hex)


@router.get(f"{MINE}/nieuw", response_class=HTMLResponse)
def new_project(request: Request, session: SessionDep) -> Response:
    """Start a project: what, where, how much money and how many hours, when."""
    if signed_in(request, session) is None:
        return RedirectResponse(SIGN_IN, status_code=303)
    return _new_page(request, values={"funding_model": "all_or_nothing", "goal": "0", "goal_hours": "0",
                                      "starts_on": today_amsterdam().isoformat()}, errors={})


def _project_body(values: dict[str, str]) -> dict[str, Any]:
    """The API's project fields from the form: euros to cents, one wish a line."""
    try:
        goal_cents = parse_amount(values["goal"]) if values["goal"] not in ("", "0") else 0
    except MoneyError:
        raise InvalidInput("not an amount", field="goal") from None
    if not values["goal_hours"].isdigit():
        raise InvalidInput("a whole number of hours", field="goal_hours")
    return {**{name: values[name] or None for name in ("title", "summary", "municipality_code", "neighbourhood",
                                                         "theme", "starts_on", "deadline", "funding_model",
                                                         "payee_name", "payee_iban")},
            "story": values["story"], "goal_cents": goal_cents, "goal_hours": int(values["goal_hours"]),
            "wishlist": [line.strip() for line in values["wishlist"].splitlines() if line.strip()],
            "municipality_code": values["municipality_code"].upper() or None}


@router.post(f"{MINE}/nieuw", response_class=HTMLResponse, dependencies=[Depends(rate_limited("project"))])
async def create(request: Request, session: SessionDep) -> Response:
    """Save the new project as a draft (nothing is public until the board approved it)."""
    posted = await signed_in_post(request, session)
    if not isinstance(posted, SignedInPost):
        return posted
    form, user = posted.form, posted.user
    values = {name: str(form.get(name, "")).strip() for name in PROJECT_FIELDS}
    try:
        data = validated(ProjectIn, _project_body(values))

        def work() -> str:
            return f"{MINE}/{create_project(session, data=data, initiator=user).id}"

        target = submit_once(session, request, form, data, work)
    except (ValidationError, KrachtError) as error:
        errors = errors_of(request, error)
        if "goal_cents" in errors:
            errors["goal"] = errors.pop("goal_cents")
        return _new_page(request, values=values, errors=errors, status_code=422)
    return RedirectResponse(target, status_code=303)


@router.get(f"{MINE}/{{project_id}}", response_class=HTMLResponse)
def manage(request: Request, session: SessionDep, project_id: uuid.UUID) -> Response:
    """What the initiator does with a project: submit it, post news, accept and log volunteers' hours."""
    if (found := _managed(request, session, project_id)) is None:
        return RedirectResponse(SIGN_IN, status_code=303) if signed_in(request, session) is None else \
            not_found(request)
    _user, project = found
    volunteers = pledges_of(session, project_id=project.id, kinds=[PledgeKind.TIME],
                            statuses=[PledgeStatus.PLEDGED, PledgeStatus.CONFIRMED, PledgeStatus.DELIVERED])
    return render(request, "project_manage.html", project=project, volunteers=volunteers, statuses=STATUSES,
                  notices=NOTICES, volunteer_statuses=VOLUNTEER_STATUSES,
                  submission=uuid.uuid4().hex, notice=request.query_params.get("klaar", ""))


async def _act(request: Request, session: Session, project_id: uuid.UUID, act: Any, done: str) -> Response:
    """Run one step for a project the signed-in user runs, and come back to its page saying how it went."""
    form = await request.form()
    if (refusal := refused(request, form)) is not None:
        return refusal
    if (found := _managed(request, session, project_id)) is None:
        return RedirectResponse(SIGN_IN, status_code=303)
    try:
        with session.begin_nested():
            act(found[0], form)
    except (ValidationError, KrachtError, InvalidOperation):
        done = "mislukt"
    return RedirectResponse(f"{MINE}/{project_id}?klaar={done}", status_code=303)


@router.post(f"{MINE}/{{project_id}}/indienen")
async def submit(request: Request, session: SessionDep, project_id: uuid.UUID) -> Response:
    """Ask the board to let the draft go live."""
    return await _act(request, session, project_id,
                      lambda user, _form: submit_project(session, project_id=project_id, user=user), "ingediend")


@router.post(f"{MINE}/{{project_id}}/nieuws")
async def news(request: Request, session: SessionDep, project_id: uuid.UUID) -> Response:
    """Post news for everyone, or for the backers only."""
    def post(user: CurrentUser, form: Any) -> None:
        data = UpdateIn.model_validate({"title": form.get("title", ""), "body": form.get("body", ""),
                                        "visibility": "backers" if form.get("backers_only") == "ja" else "public"})
        post_update(session, project_id=project_id, data=data, author=user)

    return await _act(request, session, project_id, post, "nieuws")


@router.post(f"{MINE}/{{project_id}}/uren/{{pledge_id}}/afspreken")
async def accept_hours(request: Request, session: SessionDep, project_id: uuid.UUID, pledge_id: uuid.UUID) -> Response:
    """Accept a volunteer's offer of hours."""
    return await _act(request, session, project_id,
                      lambda user, _form: confirm_time(session, pledge_id=_of(session, project_id, pledge_id),
                                                       user=user), "afgesproken")


@router.post(f"{MINE}/{{project_id}}/uren/{{pledge_id}}/geleverd")
async def log_hours(request: Request, session: SessionDep, project_id: uuid.UUID, pledge_id: uuid.UUID) -> Response:
    """Log the hours a volunteer gave (they acknowledge them on their own page)."""
    def log(user: CurrentUser, form: Any) -> None:
        hours = Decimal(str(form.get("hours", "")).replace(",", "."))
        deliver_time(session, pledge_id=_of(session, project_id, pledge_id), hours=hours, user=user)

    return await _act(request, session, project_id, log, "geleverd")


def _of(session: Session, project_id: uuid.UUID, pledge_id: uuid.UUID) -> uuid.UUID:
    """A pledge of this project (a pledge of another project is refused, whoever runs that one)."""
    if not any(pledge.id == pledge_id for pledge in pledges_of(session, project_id=project_id)):
        raise InvalidInput("not a pledge of this project", field="pledge_id")
    return pledge_id

"""Project pages: the list with filters and paging, a project with its progress, matchfunding in words, updates,
backers and the pledge form, the thank-you page that follows the payment, and an embeddable progress card."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from sqlmodel import Session

from coop.core.clock import today_amsterdam
from coop.core.db import SessionDep
from coop.core.errors import Conflict, KrachtError, NotFound
from coop.core.http import rate_limited
from coop.core.money import format_eur
from coop.core.municipalities import municipality_label
from coop.payments.service import get_payment, online_provider
from coop.web.forms import errors_of, refused, submit_once, validated
from coop.web.templating import add_template_folder, not_found, render
from funding.funds.matching import eligible
from funding.funds.queries import list_funds, rules_of
from funding.pledges.models import Pledge
from funding.pledges.schemas import PledgeIn
from funding.pledges.service import get_pledge, make_pledge
from funding.projects.models import Project, Theme
from funding.projects.queries import PUBLISHED
from funding.projects.schemas import ProjectDetail, ProjectFilters
from funding.projects.service import browse_projects, get_project, show_project, updates_for
from funding.social_value.views import project_social_value

add_template_folder("funding", Path(__file__).parent / "templates")
router = APIRouter(include_in_schema=False)
THEMES = {"zorg_en_welzijn": "Zorg en welzijn", "energie": "Energie", "scholing": "Scholing",
          "wonen_en_werk": "Wonen en werk", "sport_en_recreatie": "Sport en recreatie",
          "gemeenschap_en_veiligheid": "Gemeenschap en veiligheid", "groen_en_duurzaamheid": "Groen en duurzaamheid",
          "voedsel": "Voedsel", "cultuur": "Cultuur"}
PLEDGE_KINDS = {"money": "Geld", "time": "Tijd (uren)", "materials": "Spullen"}
CLOSED = {"succeeded": "Geslaagd", "failed": "Niet gehaald", "canceled": "Afgelopen"}  # a campaign that ended
PLEDGE_FIELDS = ("kind", "amount", "hours", "description", "name", "email", "anonymous", "message")


@router.get("/projecten", response_class=HTMLResponse)
def projects(request: Request, session: SessionDep, gemeente: str = "", buurt: str = "", thema: str = "",
             zoek: str = "", pagina: int = 1) -> HTMLResponse:
    """Published projects by deadline, filtered by municipality, neighbourhood, theme and words, 12 a page."""
    chosen = {"gemeente": gemeente.strip().upper()[:6], "buurt": buurt.strip()[:100], "thema": thema,
              "zoek": zoek.strip()[:100]}
    filters = ProjectFilters(municipality_code=chosen["gemeente"] or None if _is_code(chosen["gemeente"]) else None,
                             neighbourhood=chosen["buurt"] or None,
                             theme=Theme(thema) if thema in THEMES else None, q=chosen["zoek"] or None,
                             page=min(max(pagina, 1), 1_000_000), per_page=12)
    found = browse_projects(session, filters=filters, viewer=None)
    pages = max(1, -(-found.total // found.per_page))
    return render(request, "projects.html", page=found, pages=pages, chosen=chosen, themes=THEMES, closed=CLOSED,
                  municipality=municipality_label, query=_query(chosen))


def _is_code(code: str) -> bool:
    """A CBS municipality code (GM and four digits)."""
    return len(code) == 6 and code.startswith("GM") and code[2:].isdigit()


def _query(chosen: dict[str, str]) -> str:
    """The filters as a query string for the paging links."""
    return urlencode({name: value for name, value in chosen.items() if value})


def match_offers(session: Session, project: Project) -> list[str]:
    """What the funds add to a pledge today, in words (Dutch; the template translates the pattern)."""
    funds = {fund.id: fund for fund in list_funds(session)}
    offers = []
    for rule in rules_of(session, active_only=True):
        fund = funds[rule.fund_id]
        if not eligible(rule, fund, project, today_amsterdam()):
            continue
        if rule.lump_sum_cents:
            offers.append({"kind": "lump", "fund": fund.name, "cents": rule.lump_sum_cents,
                           "percent": (rule.threshold_bp or 0) // 100, "backers": rule.min_backers or 0})
        else:
            offers.append({"kind": "ratio", "fund": fund.name, "cap": rule.cap_per_pledge_cents,
                           "percent": rule.ratio_bp // 100})
    return offers  # type: ignore[return-value]


def _project_page(request: Request, session: Session, project_id: uuid.UUID, *, values: dict[str, Any],
                  errors: dict[str, str], status_code: int = 200) -> HTMLResponse:
    """A project with everything a neighbour wants to know before giving, and the pledge form."""
    try:
        detail = show_project(session, project_id=project_id, viewer=None)
    except NotFound:
        return not_found(request)
    project = get_project(session, project_id=project_id)
    return render(request, "project.html", status_code=status_code, project=detail, themes=THEMES,
                  pledge_kinds=PLEDGE_KINDS,
                  municipality=municipality_label(detail.municipality_code), offers=match_offers(session, project),
                  updates=updates_for(session, project_id=project_id, viewer=None), values=values, errors=errors,
                  submission=uuid.uuid4().hex, social_value=_social_value(session, project_id),
                  open_for_pledges=_open(detail))


def _open(detail: ProjectDetail) -> bool:
    """The campaign takes pledges today."""
    return detail.status.value == "live" and detail.starts_on <= today_amsterdam() <= detail.deadline


def _social_value(session: Session, project_id: uuid.UUID) -> Any:
    """The project's social value when it has verified outcomes (none without rates)."""
    try:
        value = project_social_value(session, project_id=project_id, at=None, viewer=None)
    except Conflict:
        return None
    return value if value.lines else None


@router.get("/projecten/{project_id}", response_class=HTMLResponse)
def project_page(request: Request, session: SessionDep, project_id: uuid.UUID) -> HTMLResponse:
    """One project and its pledge form."""
    return _project_page(request, session, project_id, values={"kind": "money"}, errors={})


def _pledge_body(values: dict[str, str]) -> dict[str, Any]:
    """The API's pledge fields from the form: only those of the chosen kind, hours with a Dutch comma."""
    body: dict[str, Any] = {"kind": values["kind"] or None, "name": values["name"], "email": values["email"],
                            "anonymous": values["anonymous"] == "ja", "message": values["message"] or None,
                            "provider": online_provider()}
    if values["kind"] == "money":
        body["amount"] = values["amount"] or None
        if not values["amount"]:
            raise KrachtError("an amount is needed", field="amount")
    elif values["kind"] == "time":
        body["hours"] = values["hours"].replace(",", ".") or None
        if not values["hours"]:
            raise KrachtError("hours are needed", field="hours")
    elif values["kind"] == "materials":
        body["description"] = values["description"] or None
    return body


@router.post("/projecten/{project_id}/bijdragen", response_class=HTMLResponse,
             dependencies=[Depends(rate_limited("pledge"))])
async def pledge(request: Request, session: SessionDep, project_id: uuid.UUID) -> Any:
    """A pledge from the form: money goes on to the checkout, hours and materials to the thank-you page."""
    form = await request.form()
    if (refusal := refused(request, form)) is not None:
        return refusal
    values = {name: str(form.get(name, "")).strip() for name in PLEDGE_FIELDS}
    try:
        data = validated(PledgeIn, _pledge_body(values))

        def work() -> str:
            made, payment = make_pledge(session, project_id=project_id, data=data,
                                        return_url=lambda new: thanks_url(request, new))
            return (payment.checkout_url if payment and payment.checkout_url else None) or thanks_url(request, made)

        target = submit_once(session, request, form, data, work)
    except (ValidationError, KrachtError) as error:
        return _project_page(request, session, project_id, values=values, errors=errors_of(request, error),
                             status_code=422)
    return RedirectResponse(target, status_code=303)


def thanks_url(request: Request, made: Pledge) -> str:
    """Where a pledger lands (after the checkout, for money)."""
    return str(request.url_for("thanks", project_id=str(made.project_id), pledge_id=str(made.id)))


@router.get("/projecten/{project_id}/bedankt/{pledge_id}", response_class=HTMLResponse, name="thanks")
def thanks(request: Request, session: SessionDep, project_id: uuid.UUID, pledge_id: uuid.UUID) -> HTMLResponse:
    """Thank you: what was pledged and, for money, the payment's status (refreshing until the provider says)."""
    try:
        found = get_pledge(session, pledge_id=pledge_id)
    except NotFound:
        return not_found(request)
    if found.project_id != project_id:
        return not_found(request)
    payment = get_payment(session, payment_id=found.payment_id) if found.payment_id else None
    detail = show_project(session, project_id=project_id, viewer=None)
    return render(request, "thanks.html", pledge=found, payment=payment, project=detail,
                  hours=Decimal(found.minutes or 0) / 60)


@router.get("/embed/projecten/{project_id}", response_class=HTMLResponse)
def embed(request: Request, session: SessionDep, project_id: uuid.UUID) -> HTMLResponse:
    """A small progress card that a municipality or partner may show in an iframe."""
    try:
        project = get_project(session, project_id=project_id)
    except NotFound:
        return not_found(request)
    if project.status not in PUBLISHED:
        return not_found(request)
    return render(request, "embed.html", project=show_project(session, project_id=project_id, viewer=None),
                  euros=format_eur)

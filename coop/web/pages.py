"""The cooperative's own pages: the home page, joining (kind, shares, the tier that follows, consent, checkout,
welcome) and the language switch. Every rule is the services' own; this module only reads forms and renders."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from coop.core.clock import today_amsterdam
from coop.core.db import SessionDep
from coop.core.errors import InvalidInput, KrachtError, NotFound
from coop.core.http import rate_limited
from coop.members.schemas import JoinIn
from coop.members.service import get_member, join, status_at
from coop.payments.service import get_payment, online_provider
from coop.shares.queries import classes_in_force
from coop.subscriptions.queries import latest_subscription, list_tiers, periods_of
from coop.subscriptions.service import start_subscription
from coop.web.forms import errors_of, refused, submit_once, validated
from coop.web.templating import LANGUAGE_COOKIE, LANGUAGES, not_found, render

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).parent / "static"
KINDS = {"person": "Persoon", "initiative": "Bewonersinitiatief", "social_enterprise": "Sociale onderneming",
         "company": "Bedrijf", "government": "Overheid", "organisation": "Andere organisatie"}
FIELDS = ("kind", "name", "email", "share_class", "quantity", "kvk_number", "consent")


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    """What the cooperative is, with the way to the projects and to joining."""
    return render(request, "home.html")


@router.get("/taal/{language}")
def choose_language(language: str, back: Annotated[str, Query(alias="next", max_length=500)] = "/") -> RedirectResponse:
    """Remember the reader's language and go back to the page they were on (only pages of this site)."""
    target = back if back.startswith("/") and not back.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    if language in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=60 * 60 * 24 * 365, samesite="lax")
    return response


def _join_page(request: Request, session: SessionDep, *, values: dict[str, Any], errors: dict[str, str],
               status_code: int = 200) -> HTMLResponse:
    """The join form with the classes a new member can take and the tier each kind pays."""
    classes = [share_class for share_class in classes_in_force(session, at=today_amsterdam())
               if not share_class.required]
    tiers = {kind: tier for tier in list_tiers(session) for kind in tier.member_kinds}
    return render(request, "join.html", status_code=status_code, kinds=KINDS, classes=classes, tiers=tiers,
                  values=values, errors=errors, submission=uuid.uuid4().hex)


@router.get("/lid-worden", response_class=HTMLResponse)
def join_form(request: Request, session: SessionDep) -> HTMLResponse:
    """Become a member: the six kinds, shares, the subscription that follows, consent."""
    return _join_page(request, session, values={"kind": "person", "quantity": "1"}, errors={})


@router.post("/lid-worden", response_class=HTMLResponse, dependencies=[Depends(rate_limited("join"))])
async def join_submit(request: Request, session: SessionDep) -> Any:
    """Join: the applicant, the share order and the first subscription period, then the share checkout."""
    form = await request.form()
    if (refusal := refused(request, form)) is not None:
        return refusal
    values = {name: str(form.get(name, "")).strip() for name in FIELDS}
    provider = online_provider()
    try:
        if values["share_class"] and not values["quantity"].isdigit():
            raise InvalidInput("a number of shares is a whole number", field="quantity")
        data = validated(JoinIn, {
            "kind": values["kind"] or None, "name": values["name"], "email": values["email"],
            "share_class": values["share_class"] or None,
            "quantity": int(values["quantity"]) if values["share_class"] else None,
            "kvk_number": values["kvk_number"] or None, "consent": values["consent"] == "ja", "provider": provider})

        def work() -> str:
            member, payment = join(session, data=data, return_url=lambda new: welcome_url(request, new.id))
            start_subscription(session, member_id=member.id, provider=provider, actor_id=None,
                               return_url=welcome_url(request, member.id))
            return payment.checkout_url or welcome_url(request, member.id)

        target = submit_once(session, request, form, data, work)
    except (ValidationError, KrachtError) as error:
        return _join_page(request, session, values=values, errors=errors_of(request, error), status_code=422)
    return RedirectResponse(target, status_code=303)


def welcome_url(request: Request, member_id: uuid.UUID) -> str:
    """Where a new member lands after a checkout."""
    return str(request.url_for("welcome", member_id=str(member_id)))


@router.get("/lid-worden/welkom/{member_id}", response_class=HTMLResponse, name="welcome")
def welcome(request: Request, session: SessionDep, member_id: uuid.UUID) -> HTMLResponse:
    """After the checkout: whether the shares are paid, and the subscription with its first payment."""
    try:
        member = get_member(session, member_id=member_id)
    except NotFound:
        return not_found(request)
    subscription = latest_subscription(session, member_id=member.id)
    periods = periods_of(session, subscription_id=subscription.id) if subscription else []
    first = periods[0].payment_id if periods else None
    tier = next((tier for tier in list_tiers(session) if subscription and tier.code == subscription.tier_code), None)
    status = status_at(session, member_id=member.id, at=today_amsterdam())
    return render(request, "welcome.html", member=member, status=status.value if status else "applicant",
                  tier=tier, contribution=get_payment(session, payment_id=first) if first else None)

"""My account (`/mijn`): signing in with a password or a one-time link by e-mail, and what a member or a pledger
sees of their own: membership, shares with the certificate, subscription and invoices, personal data to download
and a request to erase it. Other parts add their own sections (funding: pledges and hours to acknowledge).

The browser holds the same opaque token as an API client, in an HttpOnly cookie; every form also carries the
CSRF token, so the cookie alone never changes anything.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select
from starlette.datastructures import FormData

from coop.audit.service import record
from coop.auth.models import Role, User
from coop.auth.schemas import CurrentUser
from coop.auth.service import (
    InvalidCredentials,
    authenticate,
    create_token,
    create_user,
    issue_token,
    revoke_token,
    user_by_email,
)
from coop.core.clock import today_amsterdam
from coop.core.db import SessionDep
from coop.core.errors import KrachtError, TooManyRequests, Unauthorized
from coop.core.http import rate_limited
from coop.core.registry import Registry
from coop.core.settings import get_settings
from coop.members.documents import certificate_pdf, certificate_ranges
from coop.members.models import Member, Representative
from coop.members.privacy import export_member
from coop.members.service import ensure_member_access, status_at
from coop.notifications.service import notify
from coop.shares.queries import holdings_at
from coop.subscriptions.queries import invoices_of, latest_subscription, list_tiers
from coop.subscriptions.views import invoice_document
from coop.web.forms import refused
from coop.web.templating import language_of, render, translations

router = APIRouter(include_in_schema=False)
SESSION_COOKIE = "kracht_sessie"
LINK_MINUTES = 15
LINK_USED = "Deze link is verlopen of al gebruikt. Vraag een nieuwe aan."
NO_MATCH = "Dit e-mailadres en wachtwoord horen niet bij elkaar."
TOO_MANY = "Te veel mislukte pogingen. Probeer het over een kwartier opnieuw, of vraag een link per e-mail."
SIGN_IN = "/mijn/inloggen"
STATUSES = {"applicant": "Aangemeld", "active": "Actief", "resigning": "Opgezegd", "former": "Voormalig",
            "expelled": "Geroyeerd", "deceased": "Overleden"}


@dataclass(frozen=True)
class AccountSection:
    """A part of `/mijn` another part of Kracht adds: a template and what it shows of the signed-in user."""

    template: str
    context: Callable[[Session, CurrentUser], dict[str, Any]]


SECTIONS: Registry[AccountSection] = Registry("account section")
KNOWN: Registry[Callable[[Session, str], bool]] = Registry("known e-mail check")  # who may get a sign-in link


def add_account_section(name: str, section: AccountSection) -> None:
    """Show another section on `/mijn` (funding adds the pledges)."""
    SECTIONS.add(name, section)


def add_known_email(name: str, check: Callable[[Session, str], bool]) -> None:
    """Let people known to another part (pledgers) sign in by e-mail link without an account yet."""
    KNOWN.add(name, check)


def _is_member(session: Session, email: str) -> bool:
    """A member registered with this e-mail."""
    return session.exec(select(Member.id).where(Member.email == email)).first() is not None


add_known_email("members", _is_member)


def signed_in(request: Request, session: Session) -> CurrentUser | None:
    """The user whose session cookie this browser holds, if it is still valid."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return authenticate(session, token=token)
    except Unauthorized:
        return None


@dataclass(frozen=True)
class SignedInPost:
    """A form posted with this browser's token by a signed-in user."""

    form: FormData
    user: CurrentUser


async def signed_in_post(request: Request, session: Session) -> SignedInPost | Response:
    """The posted form and its signed-in sender; otherwise the page to answer with (403, or the sign-in)."""
    form = await request.form()
    if (refusal := refused(request, form)) is not None:
        return refusal
    user = signed_in(request, session)
    if user is None:
        return RedirectResponse(SIGN_IN, status_code=303)
    return SignedInPost(form=form, user=user)


def _start_session(plain: str) -> RedirectResponse:
    """The session token in an HttpOnly cookie, then on to the account."""
    settings = get_settings()
    minutes = settings.token_ttl_minutes
    response = RedirectResponse("/mijn", status_code=303)
    response.set_cookie(SESSION_COOKIE, plain, httponly=True, samesite="lax", secure=settings.is_production,
                        max_age=minutes * 60, path="/")
    return response


def _sign_in_page(request: Request, *, errors: dict[str, str] | None = None, email: str = "",
                  status_code: int = 200) -> HTMLResponse:
    """Both ways in: a password, or a link by e-mail."""
    return render(request, "signin.html", status_code=status_code, errors=errors or {}, email=email,
                  submission=uuid.uuid4().hex)


@router.get(SIGN_IN, response_class=HTMLResponse)
def sign_in_form(request: Request) -> HTMLResponse:
    """Sign in to my account."""
    return _sign_in_page(request)


@router.post(SIGN_IN, response_class=HTMLResponse, dependencies=[Depends(rate_limited("login"))])
async def sign_in(request: Request, session: SessionDep) -> Response:
    """Sign in with e-mail and password (failed attempts are counted as for the API)."""
    form = await request.form()
    if (refusal := refused(request, form)) is not None:
        return refusal
    email, password = str(form.get("email", "")).strip(), str(form.get("password", ""))
    settings = get_settings()
    try:  # a refusal writes only the failed attempt, which the request then keeps (it counts, as for the API)
        plain, _token = issue_token(session, email=email, password=password,
                                    ttl=timedelta(minutes=settings.token_ttl_minutes),
                                    max_failures=settings.login_max_failures,
                                    window=timedelta(minutes=settings.login_window_minutes))
    except (InvalidCredentials, TooManyRequests) as error:
        text = TOO_MANY if isinstance(error, TooManyRequests) else NO_MATCH
        return _sign_in_page(request, errors={"password": translated(request, text)}, email=email, status_code=401)
    return _start_session(plain)


def translated(request: Request, text: str) -> str:
    """A text of this module in the reader's language."""
    return translations(language_of(request)).gettext(text)


@router.post(f"{SIGN_IN}/link", response_class=HTMLResponse, dependencies=[Depends(rate_limited("login"))])
async def send_link(request: Request, session: SessionDep) -> Response:
    """Mail a one-time sign-in link to a known address; the answer is the same for any address."""
    form = await request.form()
    if (refusal := refused(request, form)) is not None:
        return refusal
    email = str(form.get("email", "")).strip().lower()
    user = _account_for(session, email) if "@" in email and len(email) <= 254 else None
    if user is not None and user.active:
        plain, _token = create_token(session, user_id=user.id, ttl=timedelta(minutes=LINK_MINUTES))
        member = session.exec(select(Member).where(Member.email == email)).first()
        notify(session, template="sign_in_link", recipient=email, locale=language_of(request),
               context={"member_name": member.name if member else email, "minutes": str(LINK_MINUTES),
                        "link": str(request.url_for("confirm_link", token=plain))})
    return render(request, "signin_sent.html", email=email)


def _account_for(session: Session, email: str) -> User | None:
    """The user with this e-mail; made now for a member or pledger who has none yet (members get the role)."""
    user = user_by_email(session, email=email)
    if user is None and any(check(session, email) for check in KNOWN):
        user = create_user(session, email=email, roles=[Role.MEMBER] if _is_member(session, email) else [])
        for unlinked in session.exec(select(Member).where(Member.email == email, col(Member.user_id).is_(None))):
            unlinked.user_id = user.id
            session.add(unlinked)
        session.flush()
    return user


@router.get(f"{SIGN_IN}/{{token}}", response_class=HTMLResponse, name="confirm_link")
def confirm_link(request: Request, token: str) -> HTMLResponse:
    """The link from the e-mail: one button, so a mail scanner that opens links does not use it up."""
    return render(request, "signin_confirm.html", token=token, submission=uuid.uuid4().hex)


@router.post(f"{SIGN_IN}/{{token}}", response_class=HTMLResponse, dependencies=[Depends(rate_limited("login"))])
async def use_link(request: Request, session: SessionDep, token: str) -> Response:
    """Trade the one-time link for a session; the link stops working."""
    form = await request.form()
    if (refusal := refused(request, form)) is not None:
        return refusal
    try:
        user = authenticate(session, token=token)
        revoke_token(session, token=token)
    except KrachtError:
        return _sign_in_page(request, errors={"email": translated(request, LINK_USED)}, status_code=401)
    plain, _ = create_token(session, user_id=user.id, ttl=timedelta(minutes=get_settings().token_ttl_minutes))
    return _start_session(plain)


@router.post("/mijn/uitloggen")
async def sign_out(request: Request, session: SessionDep) -> Response:
    """End the session: its token stops working at once."""
    form = await request.form()
    if (refusal := refused(request, form)) is not None:
        return refusal
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with suppress(KrachtError):  # already gone
            revoke_token(session, token=token)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def my_members(session: Session, user: CurrentUser) -> list[Member]:
    """The memberships this user is, or represents."""
    own = select(Member).where(Member.user_id == user.id)
    represented = select(Member).join(Representative, col(Representative.member_id) == col(Member.id)).where(
        Representative.user_id == user.id)
    found = {member.id: member for member in [*session.exec(own), *session.exec(represented)]}
    return sorted(found.values(), key=lambda member: member.name)


def _membership(session: Session, member: Member) -> dict[str, Any]:
    """One membership as the account shows it."""
    today = today_amsterdam()
    subscription = latest_subscription(session, member_id=member.id)
    tiers = {tier.code: tier for tier in list_tiers(session)}
    status = status_at(session, member_id=member.id, at=today)
    return {"member": member, "status": status.value if status else "applicant",
            "holdings": [{"class_code": holding.class_code, "quantity": holding.quantity,
                          "numbers": certificate_ranges(holding.certificates)}
                         for holding in holdings_at(session, at=today) if holding.member_id == member.id],
            "subscription": subscription, "tier": tiers.get(subscription.tier_code) if subscription else None,
            "invoices": invoices_of(session, member_id=member.id)}


@router.get("/mijn", response_class=HTMLResponse)
def account(request: Request, session: SessionDep) -> Response:
    """My account: memberships, and what other parts show (pledges, hours to acknowledge)."""
    user = signed_in(request, session)
    if user is None:
        return RedirectResponse(SIGN_IN, status_code=303)
    sections = [(section.template, section.context(session, user)) for section in SECTIONS]
    return render(request, "account.html", user=user, memberships=[_membership(session, member)
                                                                     for member in my_members(session, user)],
                  sections=sections, submission=uuid.uuid4().hex, notice=request.query_params.get("klaar", ""),
                  statuses=STATUSES)


def _own_member(request: Request, session: Session, member_id: uuid.UUID) -> tuple[CurrentUser, Member] | None:
    """The member, if the signed-in user is it or represents it."""
    user = signed_in(request, session)
    if user is None:
        return None
    try:
        return user, ensure_member_access(session, member_id=member_id, user=user, staff=())
    except KrachtError:
        return None


@router.get("/mijn/leden/{member_id}/certificaat.pdf")
def certificate(request: Request, session: SessionDep, member_id: uuid.UUID) -> Response:
    """My share certificate as a PDF."""
    if (found := _own_member(request, session, member_id)) is None:
        return RedirectResponse(SIGN_IN, status_code=303)
    document = certificate_pdf(session, member_id=found[1].id, at=today_amsterdam())
    return Response(document.content, media_type=document.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{document.filename}"'})


@router.get("/mijn/leden/{member_id}/facturen/{number}.pdf")
def invoice(request: Request, session: SessionDep, member_id: uuid.UUID, number: str) -> Response:
    """One of my invoices (or credit notes) as a PDF."""
    if (found := _own_member(request, session, member_id)) is None:
        return RedirectResponse(SIGN_IN, status_code=303)
    content = invoice_document(session, member_id=found[1].id, number=number)
    return Response(content, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="factuur-{number}.pdf"'})


@router.get("/mijn/leden/{member_id}/gegevens.json")
def personal_data(request: Request, session: SessionDep, member_id: uuid.UUID) -> Response:
    """Everything kept about me (GDPR access), to download."""
    if (found := _own_member(request, session, member_id)) is None:
        return RedirectResponse(SIGN_IN, status_code=303)
    data = export_member(session, member_id=found[1].id)
    return Response(json.dumps(data, default=str, ensure_ascii=False, indent=2), media_type="application/json",
                    headers={"Content-Disposition": 'attachment; filename="mijn-gegevens.json"'})


@router.post("/mijn/leden/{member_id}/verwijderverzoek")
async def erasure_request(request: Request, session: SessionDep, member_id: uuid.UUID) -> Response:
    """Ask for my data to be erased; an administrator carries it out (shares and open payments must go first)."""
    form = await request.form()
    if (refusal := refused(request, form)) is not None:
        return refusal
    if (found := _own_member(request, session, member_id)) is None:
        return RedirectResponse(SIGN_IN, status_code=303)
    user, member = found
    record(session, action="member.erasure_requested", object_type="member", object_id=member.id, actor_id=user.id)
    settings = get_settings()
    notify(session, template="erasure_requested", recipient=settings.coop_email, member_id=member.id,
           dedupe_key=f"erasure_requested:{member.id}:{today_amsterdam().isoformat()}",
           context={"member_name": member.name, "member_id": str(member.id)})
    return RedirectResponse("/mijn?klaar=verwijderverzoek", status_code=303)

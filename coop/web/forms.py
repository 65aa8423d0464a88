"""Posting a form: the CSRF token and the honeypot checked first, the API's own schema validating the fields, and
every refusal turned into a message beside its field; a double click is one submission.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ValidationError
from sqlmodel import Session

from coop.core.errors import KrachtError
from coop.core.idempotency import Idempotency
from coop.web.templating import CSRF_COOKIE, language_of, render, translations

HONEYPOT = "website"  # a field people never see (hidden by the stylesheet); bots fill it in
SUBMISSION = "submission_id"  # one per rendered form: a second post of the same form does nothing new
ModelT = TypeVar("ModelT", bound=BaseModel)

# What a person reads beside a field, whatever the schema or the service said (in Dutch; translated).
FIELD_MESSAGES = {
    "kind": "Kies wat je geeft.",
    "amount": "Vul een bedrag in, bijvoorbeeld 25 of 25,50.",
    "hours": "Vul het aantal uren in, bijvoorbeeld 2 of 1,5.",
    "description": "Schrijf op wat je geeft.",
    "name": "Vul je naam in (minstens 2 tekens).",
    "email": "Vul een geldig e-mailadres in, zoals naam@voorbeeld.nl.",
    "share_class": "Kies een soort aandeel dat bij jouw soort lid past.",
    "quantity": "Vul een aantal aandelen in (een heel getal, 1 of meer).",
    "consent": "Ga akkoord met de statuten en de privacyverklaring om lid te worden.",
    "kvk_number": "Vul het KvK-nummer in (8 cijfers); personen laten dit leeg.",
    "project_id": "Dit project neemt nu geen bijdragen aan.",
    "title": "Geef het project een titel (3 tot 120 tekens).",
    "summary": "Vat het project samen in één of twee zinnen (10 tot 500 tekens).",
    "municipality_code": "Vul de CBS-code van de gemeente in, zoals GM0344.",
    "neighbourhood": "Vul de buurt in.",
    "theme": "Kies een thema.",
    "goal": "Vul het bedrag in dat je wilt ophalen (0 als je alleen uren zoekt).",
    "goal_hours": "Vul het aantal uren in dat je zoekt (een heel getal, 0 als je alleen geld zoekt).",
    "starts_on": "Kies een begindatum, vandaag of later.",
    "deadline": "Kies een einddatum na de begindatum, hooguit 90 dagen later.",
    "funding_model": "Kies alles of niets, of alles telt.",
    "story": "Het verhaal is te lang.",
    "wishlist": "Zet op elke regel één wens (hooguit 20).",
    "payee_iban": "Vul een geldig IBAN in, of laat het leeg.",
    "payee_name": "Vul de naam van de rekeninghouder in.",
    "body": "Schrijf een bericht.",
    "pledge_id": "Dit kan nu niet met deze bijdrage.",
}
GENERAL = "Er ging iets mis. Controleer de gegevens en probeer het opnieuw."
EXPIRED = ("Het formulier is verlopen", "Laad de pagina opnieuw en verstuur het formulier nog eens.")
ROBOT = ("Niet verstuurd", "Dit formulier lijkt door een programma te zijn ingevuld.")


class Submitted(BaseModel):
    """Where a handled form sends the browser (remembered per submission, so a repeat goes there too)."""

    url: str


def refused(request: Request, form: Mapping[str, Any]) -> HTMLResponse | None:
    """A 403 page for a post without this browser's CSRF token or with the honeypot filled in; None if fine."""
    cookie, sent = request.cookies.get(CSRF_COOKIE, ""), str(form.get("csrf_token", ""))
    if not cookie or not hmac.compare_digest(cookie, sent):
        return render(request, "error.html", status_code=403, title=EXPIRED[0], text=EXPIRED[1])
    if str(form.get(HONEYPOT, "")).strip():
        return render(request, "error.html", status_code=403, title=ROBOT[0], text=ROBOT[1])
    return None


def message(request: Request, field: str | None) -> str:
    """The text beside a field, in the reader's language."""
    return translations(language_of(request)).gettext(FIELD_MESSAGES.get(field or "", GENERAL))


def errors_of(request: Request, error: ValidationError | KrachtError) -> dict[str, str]:
    """Field name -> message, for the fields a schema or a service refused."""
    if isinstance(error, KrachtError):
        return {error.field or "form": message(request, error.field)}
    found: dict[str, str] = {}
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "form"
        found.setdefault(field, message(request, field))
    return found


def validated(schema: type[ModelT], values: dict[str, Any]) -> ModelT:
    """The form's values through the API's schema (ValidationError when they do not fit)."""
    return schema.model_validate(values)


def submit_once(session: Session, request: Request, form: Mapping[str, Any], body: BaseModel,
                work: Callable[[], str]) -> str:
    """Run `work` (which returns where to go next) once per rendered form; in a savepoint, so a refusal it
    raises (a provider's failure included: the form shows it) leaves nothing written."""
    key = str(form.get(SUBMISSION, "")).strip()[:200] or None
    with session.begin_nested():
        done = Idempotency(session, f"form {request.url.path}", key, finishes_on_retry=False).run(
            body, lambda: Submitted(url=work()), Submitted)
    return done.url

"""Payments for the treasurer and the board; the sandbox checkout page for development."""

from __future__ import annotations

import html
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Header, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from coop.auth.dependencies import require_roles
from coop.auth.models import Role
from coop.auth.schemas import CurrentUser
from coop.core.db import SessionDep
from coop.core.errors import PROBLEM_JSON, InvalidInput, problem
from coop.core.http import MAX_OFFSET
from coop.core.money import format_eur
from coop.payments import service
from coop.payments.models import Payment, PaymentStatus, ProviderName
from coop.payments.providers import WebhookRejected
from coop.payments.providers.sandbox import OUTCOMES, SandboxProvider
from coop.payments.queries import list_payments
from coop.payments.schemas import PaymentPage, PaymentPublic, RefundIn, RefundPublic

router = APIRouter(prefix="/payments", tags=["payments"])
webhooks_router = APIRouter(prefix="/webhooks", tags=["webhooks"])
sandbox_router = APIRouter(tags=["sandbox"])
Reader = Annotated[CurrentUser, Depends(require_roles(Role.TREASURER, Role.BOARD))]
Treasurer = Annotated[CurrentUser, Depends(require_roles(Role.TREASURER))]


@router.get("", response_model=PaymentPage)
def payments(
    session: SessionDep, _: Reader, status_: Annotated[PaymentStatus | None, Query(alias="status")] = None,
    purpose: Annotated[str | None, Query(max_length=32)] = None, provider: ProviderName | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50, offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> PaymentPage:
    """Payments, newest first, filterable by status, purpose and provider."""
    items, total = list_payments(session, status=status_, purpose=purpose, provider=provider,
                                 limit=limit, offset=offset)
    return PaymentPage(items=[PaymentPublic.of(p) for p in items], total=total, limit=limit, offset=offset)


@router.get("/{payment_id}", response_model=PaymentPublic)
def payment(session: SessionDep, _: Reader, payment_id: uuid.UUID) -> PaymentPublic:
    """One payment."""
    return PaymentPublic.of(service.get_payment(session, payment_id=payment_id))


@router.post("/{payment_id}/confirm-transfer", response_model=PaymentPublic)
def confirm_transfer(session: SessionDep, _: Treasurer, payment_id: uuid.UUID) -> PaymentPublic:
    """The treasurer saw the bank transfer arrive: mark it paid (books it once)."""
    return PaymentPublic.of(service.confirm_transfer(session, payment_id=payment_id))


@router.post("/{payment_id}/refund", response_model=RefundPublic, status_code=status.HTTP_201_CREATED)
def refund(session: SessionDep, user: Treasurer, payment_id: uuid.UUID, body: RefundIn) -> RefundPublic:
    """Refund all or part of a payment through its provider."""
    made = service.refund_payment(session, payment_id=payment_id, amount_cents=body.amount_cents,
                                  reason=body.reason, requested_by=user.id)
    return RefundPublic.model_validate(made, from_attributes=True)


_PAGE = """<!doctype html><html lang="nl"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Sandbox-betaling {reference}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}}
.banner{{background:#fff3cd;border:1px solid #c79100;padding:.5rem 1rem}}button{{font-size:1rem;margin:.25rem;
padding:.5rem 1rem}}</style></head><body>
<p class="banner"><strong>Sandbox</strong>: dit is een testbetaling, er wordt geen echt geld overgemaakt.</p>
<h1>{amount}</h1><p>{description}</p><p>Referentie: {reference} &middot; status: <strong>{status}</strong></p>
{form}</body></html>"""


def _sandbox(session: SessionDep, payment_id: uuid.UUID) -> tuple[Payment, SandboxProvider]:
    """The sandbox payment and the provider (refused in production)."""
    payment = service.get_payment(session, payment_id=payment_id)
    if payment.provider is not ProviderName.SANDBOX or payment.provider_reference is None:
        raise InvalidInput("this payment is not a sandbox payment", field="payment_id")
    provider = service.provider_for(session, ProviderName.SANDBOX)
    assert isinstance(provider, SandboxProvider)
    return payment, provider


@sandbox_router.get("/sandbox/checkout/{payment_id}", response_class=HTMLResponse)
def sandbox_page(session: SessionDep, payment_id: uuid.UUID) -> HTMLResponse:
    """The sandbox checkout: the amount, the description and one button per outcome."""
    payment, _ = _sandbox(session, payment_id)
    buttons = "".join(f'<button name="outcome" value="{o.value}">{o.value.capitalize()}</button>' for o in OUTCOMES)
    form = (f'<form method="post" action="/sandbox/checkout/{payment.id}">{buttons}</form>'
            if payment.status is PaymentStatus.OPEN else "<p>Deze betaling is al afgehandeld.</p>")
    return HTMLResponse(_PAGE.format(reference=html.escape(payment.reference), amount=format_eur(payment.amount_cents,
                                     nbsp=True), description=html.escape(payment.description),
                                     status=payment.status.value, form=form))


@sandbox_router.post("/sandbox/checkout/{payment_id}", response_class=RedirectResponse,
                     status_code=status.HTTP_303_SEE_OTHER)
def sandbox_choose(session: SessionDep, payment_id: uuid.UUID,
                   outcome: Annotated[PaymentStatus, Form()]) -> RedirectResponse:
    """Decide the sandbox payment, then go through the same notification path as a real provider."""
    if outcome not in OUTCOMES:
        raise InvalidInput("outcome must be paid, failed, canceled or expired", field="outcome")
    payment, provider = _sandbox(session, payment_id)
    reference = payment.provider_reference or ""
    provider.choose(reference, outcome)
    service.receive_notification(session, provider=provider, provider_reference=reference, raw=f"id={reference}")
    return RedirectResponse(payment.return_url or "/", status_code=status.HTTP_303_SEE_OTHER)


@sandbox_router.get("/payments/{payment_id}/return", response_class=HTMLResponse)
def payment_return(session: SessionDep, payment_id: uuid.UUID) -> HTMLResponse:
    """Where the payer lands after a checkout that named no page of its own."""
    payment = service.get_payment(session, payment_id=payment_id)
    return HTMLResponse(_PAGE.format(reference=html.escape(payment.reference), amount=format_eur(payment.amount_cents,
                                     nbsp=True), description=html.escape(payment.description),
                                     status=payment.status.value, form="<p>Bedankt.</p>"))


async def raw_body(request: Request) -> bytes:
    """The exact bytes received: signatures are computed over them, never over re-encoded JSON."""
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]


def _rejected(error: WebhookRejected) -> JSONResponse:
    """A refused webhook as problem+json (400 payload, 401 signature, 404 not configured)."""
    return JSONResponse(problem(error.status, "Webhook rejected", str(error)), status_code=error.status,
                        media_type=PROBLEM_JSON)


@webhooks_router.post("/stripe", response_model=None)
def stripe_webhook(session: SessionDep, body: RawBody,
                   stripe_signature: Annotated[str | None, Header()] = None) -> dict[str, str] | JSONResponse:
    """Stripe events: signature verified on the raw body, inboxed once per event id, then applied."""
    try:
        provider = service.webhook_provider(session, ProviderName.STRIPE)
        event = provider.parse_webhook(body, stripe_signature)
    except WebhookRejected as error:
        return _rejected(error)
    return {"outcome": service.receive_event(session, provider=provider, event=event,
                                             raw=body.decode("utf-8", "replace"))}


@webhooks_router.post("/mollie", response_model=None)
def mollie_webhook(session: SessionDep, id: Annotated[str, Form(max_length=64)]) -> dict[str, str] | JSONResponse:
    """Mollie posts only `id=tr_...`: fetch the payment from Mollie and trust only that. Unknown ids get 200."""
    try:
        provider = service.webhook_provider(session, ProviderName.MOLLIE)
    except WebhookRejected as error:
        return _rejected(error)
    service.receive_notification(session, provider=provider, provider_reference=id, raw=f"id={id}")
    return {"outcome": "received"}


@webhooks_router.post("/mollie/subscriptions", response_model=None)
def mollie_subscription_webhook(session: SessionDep,
                                id: Annotated[str, Form(max_length=64)]) -> dict[str, str] | JSONResponse:
    """The webhookUrl of our Mollie subscriptions: also payments Mollie made by itself (renewals) are fetched."""
    try:
        provider = service.webhook_provider(session, ProviderName.MOLLIE)
    except WebhookRejected as error:
        return _rejected(error)
    service.receive_notification(session, provider=provider, provider_reference=id, raw=f"id={id}", renewals=True)
    return {"outcome": "received"}

"""Stripe through `stripe` 16 (`StripeClient`, `client.v1.*`): Checkout, fetch, refund, signed webhooks.

We know a Stripe payment by its Checkout Session id (`cs_...`); a renewal that
Stripe Billing collected by itself is known by its invoice id (`in_...`).
Refunds and disputes arrive about a charge / PaymentIntent, so they are
resolved back to one of those two ids through the API before the service
applies them. Refunded and charged-back amounts are always Stripe's cumulative
totals, so a repeated or late event cannot book twice.

Webhooks are verified with `construct_event` on the exact bytes received.
Every SDK failure becomes a `ProviderError` whose message is safe to show a
treasurer (never the API key). Amounts are integer cents in lowercase `eur`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeGuard

import stripe
from stripe.params import InvoicePaymentListParams, RefundCreateParams
from stripe.params.checkout import (
    SessionCreateParams,
    SessionCreateParamsLineItem,
    SessionCreateParamsLineItemPriceData,
)

from coop.core.errors import InvalidInput
from coop.core.settings import Environment, Settings, is_placeholder
from coop.ledger.chart import AccountCode
from coop.payments.models import PaymentStatus, ProviderName, RefundStatus
from coop.payments.providers import ProviderError, RefundResult, WebhookRejected
from coop.payments.schemas import Checkout, CheckoutRequest, ProviderEventData, ProviderSnapshot, Renewal

CURRENCY = "eur"
ONE_OFF_METHODS = ("card", "ideal")
RECURRING_METHODS = ("card", "ideal", "sepa_debit")
# Our method names (and Stripe's own) to Stripe payment method types.
METHODS: dict[str, str] = {
    "card": "card",
    "creditcard": "card",
    "ideal": "ideal",
    "sepa_debit": "sepa_debit",
    "sepa": "sepa_debit",
    "directdebit": "sepa_debit",
}
TIMEOUT_SECONDS = 20.0
PRODUCTION_RETRIES = 2  # the SDK retries 409, 5xx and connection errors; POSTs keep their idempotency key
WEBHOOK_TOLERANCE_SECONDS = 300
REFUND_STATUSES: dict[str, RefundStatus] = {
    "succeeded": RefundStatus.REFUNDED,
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
}
REFUSED_REFUND_STATUSES = frozenset({"failed", "canceled"})
# Invoice statuses (for renewals, known by their invoice id).
INVOICE_STATUSES: dict[str, PaymentStatus] = {
    "draft": PaymentStatus.OPEN,
    "open": PaymentStatus.PENDING,
    "paid": PaymentStatus.PAID,
    "void": PaymentStatus.CANCELED,
    "uncollectible": PaymentStatus.FAILED,
}
# Disputes that did not (or no longer) take money: inquiries, prevented ones, and those we won.
DISPUTES_WITHOUT_LOSS = frozenset({"warning_needs_response", "warning_under_review", "warning_closed", "prevented",
                                   "won"})
SESSION_EVENT_STATUS: dict[str, PaymentStatus] = {
    "checkout.session.async_payment_succeeded": PaymentStatus.PAID,
    "checkout.session.async_payment_failed": PaymentStatus.FAILED,
    "checkout.session.expired": PaymentStatus.EXPIRED,
}
DISPUTE_EVENTS = frozenset({"charge.dispute.created", "charge.dispute.funds_withdrawn"})

JsonDict = dict[str, Any]


class StripeProvider:
    """The PaymentProvider for Stripe; built per use from the settings (key, webhook secret, test endpoint)."""

    name = ProviderName.STRIPE
    clearing_account = AccountCode.STRIPE_CLEARING

    def __init__(self, settings: Settings):
        self._key = settings.stripe_api_key.get_secret_value().strip() if settings.stripe_api_key else ""
        secret = settings.stripe_webhook_secret
        self._webhook_secret = None if is_placeholder(secret) or secret is None else secret.get_secret_value().strip()
        self._api_base = (settings.stripe_api_base or "").rstrip("/")
        self._production = settings.is_production
        self._retries = 0 if settings.env is Environment.TEST else PRODUCTION_RETRIES
        self._client: stripe.StripeClient | None = None

    # -- the PaymentProvider protocol ------------------------------------------------------------------

    def create_checkout(self, request: CheckoutRequest) -> Checkout:
        """A hosted Checkout Session, once per idempotency key (one-off: mode payment; recurring: yearly)."""
        metadata = dict(request.metadata)
        price: SessionCreateParamsLineItemPriceData = {
            "currency": CURRENCY,
            "unit_amount": request.amount_cents,
            "product_data": {"name": (request.description or request.reference)[:250]},
        }
        if request.recurring:
            price["recurring"] = {"interval": "year"}
        item: SessionCreateParamsLineItem = {"quantity": 1, "price_data": price}
        params: SessionCreateParams = {
            "mode": "subscription" if request.recurring else "payment",
            "line_items": [item],
            "allowed_payment_method_types": _method_types(request),
            "client_reference_id": str(request.payment_id),
            "metadata": metadata,
            "success_url": request.return_url,
            "cancel_url": request.return_url,
        }
        description = f"{request.reference} {request.description}".strip()[:500]
        if request.recurring:
            params["subscription_data"] = {"metadata": metadata, "description": description}
        else:
            params["payment_intent_data"] = {"metadata": metadata, "description": description}
        if request.payer_email:
            params["customer_email"] = request.payer_email
        with self._calling("create the checkout"):
            session = self._api().v1.checkout.sessions.create(
                params=params, options={"idempotency_key": request.idempotency_key}).to_dict()
        reference = _identifier(session.get("id"), "cs_", "Checkout Session")
        url = session.get("url")
        if not isinstance(url, str) or not url:
            raise ProviderError(f"Stripe gave no checkout page for {reference}")
        return Checkout(provider_reference=reference, checkout_url=url)

    def fetch(self, provider_reference: str) -> ProviderSnapshot:
        """Stripe's current truth about a checkout session (or a renewal's invoice), with refunds and disputes."""
        if provider_reference.startswith("in_"):
            return self._fetch_invoice(provider_reference)
        session = self._session(provider_reference, expand=["payment_intent.latest_charge"])
        state = session.get("status")
        paid = session.get("payment_status") == "paid"
        subscription_id = _id_of(session.get("subscription"))
        if state == "expired":
            return ProviderSnapshot(provider_reference, PaymentStatus.EXPIRED, subscription_id=subscription_id)
        if state == "open":
            return ProviderSnapshot(provider_reference, PaymentStatus.OPEN)
        if state != "complete":
            raise ProviderError(f"Stripe answered an unknown session status {str(state)[:40]!r}")
        if not paid:
            return ProviderSnapshot(provider_reference, PaymentStatus.PENDING, subscription_id=subscription_id)
        intent = session.get("payment_intent")
        if not isinstance(intent, dict) and session.get("invoice"):
            intent = self._invoice_intent(_identifier(_id_of(session.get("invoice")), "in_", "invoice"))
        return self._paidProviderSnapshot(provider_reference, intent if isinstance(intent, dict) else None,
                                   subscription_id=subscription_id)

    def refund(self, provider_reference: str, amount_cents: int, idempotency_key: str) -> RefundResult:
        """POST /v1/refunds on the payment's PaymentIntent; a pending refund is confirmed by `charge.refunded`."""
        intent_id = self._intent_id_of(provider_reference)
        params: RefundCreateParams = {"payment_intent": intent_id, "amount": amount_cents,
                                      "metadata": {"provider_reference": provider_reference}}
        with self._calling("refund the payment"):
            made = self._api().v1.refunds.create(params=params,
                                                 options={"idempotency_key": idempotency_key}).to_dict()
        refund_id = _identifier(made.get("id"), "re_", "refund")
        status = made.get("status")
        if status in REFUND_STATUSES:
            return RefundResult(provider_reference=refund_id, status=REFUND_STATUSES[status])
        if status in REFUSED_REFUND_STATUSES:
            reason = made.get("failure_reason")
            raise ProviderError(f"Stripe {status} refund {refund_id}" + (f" ({str(reason)[:80]})" if reason else ""))
        raise ProviderError(f"Stripe answered an unknown refund status {str(status)[:40]!r}")

    # -- recurring -------------------------------------------------------------------------------------

    def set_cancel_at_period_end(self, subscription_id: str, cancel: bool) -> None:
        """Stop (or go on) renewing at the end of the paid period; Stripe keeps the subscription until then."""
        _identifier(subscription_id, "sub_", "subscription")
        with self._calling("change the subscription"):
            self._api().v1.subscriptions.update(subscription_id, params={"cancel_at_period_end": cancel})

    def cancel_now(self, subscription_id: str) -> None:
        """Cancel at once (a lapsed member): no further attempts or renewals."""
        _identifier(subscription_id, "sub_", "subscription")
        with self._calling("cancel the subscription"):
            self._api().v1.subscriptions.cancel(subscription_id)

    def change_amount(self, subscription_id: str, amount_cents: int, description: str) -> None:
        """Charge `amount_cents` a year from the next renewal on (no proration of the paid period)."""
        _identifier(subscription_id, "sub_", "subscription")
        with self._calling("show the subscription"):
            subscription = self._api().v1.subscriptions.retrieve(subscription_id).to_dict()
        items = (subscription.get("items") or {}).get("data") or []
        item = items[0] if items and isinstance(items[0], dict) else None
        product = _id_of((item or {}).get("price", {}).get("product")) if item else None
        if item is None or product is None:
            raise ProviderError(f"Stripe subscription {subscription_id} has no price to change")
        with self._calling("change the subscription"):
            self._api().v1.subscriptions.update(subscription_id, params={
                "items": [{"id": str(item["id"]), "price_data": {
                    "currency": CURRENCY, "product": product, "unit_amount": amount_cents,
                    "recurring": {"interval": "year"}}}],
                "proration_behavior": "none", "description": description[:500]})

    # -- webhooks --------------------------------------------------------------------------------------

    def parse_webhook(self, payload: bytes, signature: str | None) -> ProviderEventData:
        """Verify a Stripe webhook on its raw bytes and translate it for the service.

        WebhookRejected: 404 without a webhook secret, 401 for a missing, wrong or
        stale signature, 400 for a body that is not an event, 503 when Stripe has
        to be asked who a refund or dispute is about and cannot be reached (Stripe
        then delivers again).
        """
        if self._webhook_secret is None:
            raise WebhookRejected("Stripe webhooks are not configured (no KRACHT_STRIPE_WEBHOOK_SECRET)", 404)
        if not signature:
            raise WebhookRejected("missing Stripe-Signature header", 401)
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise WebhookRejected("the body is not UTF-8 text", 400) from None
        try:
            event = stripe.Webhook.construct_event(text, signature, self._webhook_secret,
                                                   WEBHOOK_TOLERANCE_SECONDS, api_key=self._key or None)
            data = event.to_dict()
        except stripe.SignatureVerificationError:
            raise WebhookRejected("invalid Stripe-Signature", 401) from None
        except (ValueError, TypeError, AttributeError, KeyError):
            raise WebhookRejected("the body is not a Stripe event", 400) from None
        event_id, kind = data.get("id"), data.get("type")
        holder = data.get("data")
        obj = holder.get("object") if isinstance(holder, dict) else None
        if (data.get("object") != "event" or not isinstance(event_id, str) or not event_id
                or not isinstance(kind, str) or not kind or not isinstance(obj, dict)):
            raise WebhookRejected("the body is not a Stripe event", 400)
        try:
            return self._translate(event_id[:255], kind[:100], obj)
        except ProviderError as error:  # a signed event we cannot read (e.g. an amount that is not cents)
            raise WebhookRejected(f"the Stripe event cannot be read: {error}", 400) from error

    def _translate(self, event_id: str, kind: str, obj: JsonDict) -> ProviderEventData:
        """What one verified event means for our payments."""
        nothing = ProviderEventData(external_id=event_id, kind=kind)
        if kind.startswith("checkout.session."):
            reference = obj.get("id")
            if obj.get("object") != "checkout.session" or not _is_id(reference, "cs_"):
                return nothing
            subscription_id = _id_of(obj.get("subscription"))
            if kind == "checkout.session.completed":
                status = PaymentStatus.PAID if obj.get("payment_status") == "paid" else PaymentStatus.PENDING
            elif kind in SESSION_EVENT_STATUS:
                status = SESSION_EVENT_STATUS[kind]
            else:
                return ProviderEventData(external_id=event_id, kind=kind, provider_reference=reference)
            return ProviderEventData(external_id=event_id, kind=kind, provider_reference=reference,
                                     snapshot=ProviderSnapshot(reference, status, subscription_id=subscription_id))
        if kind == "charge.refunded" and obj.get("object") == "charge":
            if obj.get("currency") != CURRENCY:
                return nothing
            reference = self._webhook_reference(_id_of(obj.get("payment_intent")), None)
            if reference is None:
                return nothing
            snapshot = ProviderSnapshot(reference, PaymentStatus.PAID,
                                        refunded_cents=_cents(obj.get("amount_refunded")))
            return ProviderEventData(external_id=event_id, kind=kind, provider_reference=reference, snapshot=snapshot)
        if kind in DISPUTE_EVENTS and obj.get("object") == "dispute":
            if obj.get("currency") != CURRENCY or obj.get("status") in DISPUTES_WITHOUT_LOSS:
                return nothing
            reference = self._webhook_reference(_id_of(obj.get("payment_intent")), _id_of(obj.get("charge")))
            if reference is None:
                return nothing
            snapshot = ProviderSnapshot(reference, PaymentStatus.PAID, charged_back_cents=_cents(obj.get("amount")))
            return ProviderEventData(external_id=event_id, kind=kind, provider_reference=reference, snapshot=snapshot)
        if kind == "invoice.paid" and obj.get("object") == "invoice":
            renewal = _renewal(obj)
            return ProviderEventData(external_id=event_id, kind=kind, renewal=renewal)
        if kind == "customer.subscription.deleted" and obj.get("object") == "subscription":
            subscription_id = obj.get("id")
            if _is_id(subscription_id, "sub_"):
                return ProviderEventData(external_id=event_id, kind=kind, ended_subscription_id=subscription_id)
        # invoice.payment_failed and everything else: recorded in the inbox, nothing to act on.
        return nothing

    def _webhook_reference(self, intent_id: str | None, charge_id: str | None) -> str | None:
        """Our reference for a PaymentIntent (or charge) named by an event; Stripe unreachable is a 503."""
        try:
            if intent_id is None and charge_id is not None:
                with self._calling("show the charge"):
                    charge = self._api().v1.charges.retrieve(charge_id).to_dict()
                intent_id = _id_of(charge.get("payment_intent"))
            return None if intent_id is None else self._reference_for_intent(intent_id)
        except ProviderError as error:
            raise WebhookRejected(f"{error} (Stripe will deliver the event again)", 503) from error

    # -- internals -------------------------------------------------------------------------------------

    def _api(self) -> stripe.StripeClient:
        """The SDK client, built on first use (so a bad key is a ProviderError, not a crash at startup)."""
        if self._client is None:
            if not self._key.startswith(("sk_", "rk_")):
                raise ProviderError("KRACHT_STRIPE_API_KEY is not a Stripe secret key (sk_... or rk_...)")
            if self._production and self._key.startswith(("sk_test_", "rk_test_")):
                raise ProviderError("a Stripe test key is refused in production")
            self._client = stripe.StripeClient(
                self._key,
                base_addresses={"api": self._api_base} if self._api_base else None,
                max_network_retries=self._retries,
                http_client=stripe.RequestsClient(timeout=TIMEOUT_SECONDS),
            )
        return self._client

    @contextmanager
    def _calling(self, action: str) -> Iterator[None]:
        """Turn whatever the SDK raises into a ProviderError with a safe message."""
        try:
            yield
        except stripe.AuthenticationError as error:
            raise ProviderError(f"Stripe refused our API key when asked to {action} "
                                "(check KRACHT_STRIPE_API_KEY)") from error
        except stripe.APIConnectionError as error:
            raise ProviderError(f"Stripe could not be reached to {action}") from error
        except stripe.StripeError as error:
            details = " ".join(str(part) for part in (error.http_status, error.code) if part)
            message = error.user_message or ""
            raise ProviderError(self._safe(f"Stripe refused to {action}: {details} {message}".strip())) from error

    def _safe(self, message: str) -> str:
        """Stripe's own words, shortened, and never the key (should an answer ever echo it)."""
        if self._key:
            message = message.replace(self._key, "[key]")
        return message[:300]

    def _session(self, reference: str, *, expand: list[str] | None = None) -> JsonDict:
        """GET /v1/checkout/sessions/{id}."""
        _identifier(reference, "cs_", "Checkout Session")
        with self._calling("show the checkout session"):
            session = self._api().v1.checkout.sessions.retrieve(
                reference, params={"expand": expand} if expand else None).to_dict()
        if session.get("id") != reference:
            raise ProviderError("Stripe answered about another checkout session")
        return session

    def _fetch_invoice(self, reference: str) -> ProviderSnapshot:
        """A renewal's truth: its invoice, and the refunds and disputes of the payment that paid it."""
        with self._calling("show the invoice"):
            invoice = self._api().v1.invoices.retrieve(reference).to_dict()
        if invoice.get("id") != reference:
            raise ProviderError("Stripe answered about another invoice")
        status = INVOICE_STATUSES.get(str(invoice.get("status")))
        if status is None:
            raise ProviderError(f"Stripe answered an unknown invoice status {str(invoice.get('status'))[:40]!r}")
        if status is not PaymentStatus.PAID:
            return ProviderSnapshot(reference, status)
        return self._paidProviderSnapshot(reference, self._invoice_intent(reference))

    def _paidProviderSnapshot(self, reference: str, intent: JsonDict | None, *,
                       subscription_id: str | None = None) -> ProviderSnapshot:
        """PAID, with the charge's cumulative refunded amount and what disputes took."""
        charge = intent.get("latest_charge") if intent else None
        if intent is None or not isinstance(charge, dict):
            return ProviderSnapshot(reference, PaymentStatus.PAID, subscription_id=subscription_id)
        details = charge.get("payment_method_details")
        method = details.get("type") if isinstance(details, dict) else None
        charged_back = 0
        if charge.get("disputed"):
            with self._calling("list the disputes"):
                disputes = self._api().v1.disputes.list(
                    params={"payment_intent": str(intent.get("id")), "limit": 100}).to_dict()
            charged_back = sum(_cents(d.get("amount")) for d in disputes.get("data") or []
                               if isinstance(d, dict) and d.get("status") not in DISPUTES_WITHOUT_LOSS)
        return ProviderSnapshot(reference, PaymentStatus.PAID, refunded_cents=_cents(charge.get("amount_refunded")),
                         charged_back_cents=charged_back, method=str(method)[:32] if method else None,
                         subscription_id=subscription_id)

    def _invoice_intent(self, invoice_id: str) -> JsonDict | None:
        """The PaymentIntent that paid an invoice (with its latest charge), or None."""
        params: InvoicePaymentListParams = {"invoice": invoice_id, "limit": 10}
        with self._calling("list the invoice's payments"):
            listed = self._api().v1.invoice_payments.list(params=params).to_dict()
        for entry in listed.get("data") or []:
            payment = entry.get("payment") if isinstance(entry, dict) else None
            if isinstance(payment, dict) and entry.get("status") == "paid":
                intent_id = _id_of(payment.get("payment_intent"))
                if intent_id:
                    with self._calling("show the payment intent"):
                        return self._api().v1.payment_intents.retrieve(
                            intent_id, params={"expand": ["latest_charge"]}).to_dict()
        return None

    def _intent_id_of(self, reference: str) -> str:
        """The PaymentIntent that paid one of our payments (a session's own, or its / a renewal's invoice's)."""
        if reference.startswith("in_"):
            intent = self._invoice_intent(reference)
        else:
            session = self._session(reference)
            intent_id = _id_of(session.get("payment_intent"))
            if intent_id:
                return intent_id
            invoice_id = _id_of(session.get("invoice"))
            intent = self._invoice_intent(invoice_id) if invoice_id else None
        intent_id = _id_of(intent.get("id")) if intent else None
        if not intent_id:
            raise ProviderError(f"Stripe has no payment for {reference} to refund")
        return intent_id

    def _reference_for_intent(self, intent_id: str) -> str | None:
        """Our reference for a PaymentIntent: its checkout session, else the renewal invoice it paid."""
        with self._calling("find the checkout session"):
            sessions = self._api().v1.checkout.sessions.list(
                params={"payment_intent": intent_id, "limit": 1}).to_dict()
        for session in sessions.get("data") or []:
            if isinstance(session, dict) and _is_id(session.get("id"), "cs_"):
                return str(session["id"])
        params: InvoicePaymentListParams = {"payment": {"type": "payment_intent", "payment_intent": intent_id},
                                            "limit": 1}
        with self._calling("find the invoice"):
            payments = self._api().v1.invoice_payments.list(params=params).to_dict()
        for entry in payments.get("data") or []:
            invoice_id = _id_of(entry.get("invoice")) if isinstance(entry, dict) else None
            if invoice_id is None:
                continue
            with self._calling("show the invoice"):
                invoice = self._api().v1.invoices.retrieve(invoice_id).to_dict()
            if invoice.get("billing_reason") != "subscription_create":
                return invoice_id
            # The first invoice of a subscription was paid through its checkout session.
            subscription_id = _subscription_details(invoice).get("subscription")
            if _id_of(subscription_id):
                with self._calling("find the checkout session"):
                    found = self._api().v1.checkout.sessions.list(
                        params={"subscription": str(_id_of(subscription_id)), "limit": 1}).to_dict()
                for session in found.get("data") or []:
                    if isinstance(session, dict) and _is_id(session.get("id"), "cs_"):
                        return str(session["id"])
        return None


def _method_types(request: CheckoutRequest) -> list[str]:
    """The payment methods Checkout may offer: a chosen one, else card and iDEAL (plus SEPA for recurring)."""
    offered = RECURRING_METHODS if request.recurring else ONE_OFF_METHODS
    if not request.method:
        return list(offered)
    chosen = METHODS.get(request.method.strip().lower())
    if chosen is None or chosen not in offered:
        raise InvalidInput(f"Stripe does not offer payment method {request.method[:32]!r} here "
                           f"(choose from {', '.join(offered)})", field="method")
    return [chosen]


def _renewal(invoice: JsonDict) -> Renewal | None:
    """A renewal invoice Stripe Billing collected by itself for one of our subscriptions, or None.

    The first invoice (`subscription_create`) was paid through the checkout
    session and is booked from there; anything without our purpose is not ours.
    """
    if invoice.get("billing_reason") != "subscription_cycle" or invoice.get("currency") != CURRENCY:
        return None
    reference = invoice.get("id")
    details = _subscription_details(invoice)
    subscription_id = _id_of(details.get("subscription"))
    metadata = details.get("metadata")
    amount = _cents(invoice.get("amount_paid"))
    if not _is_id(reference, "in_") or not subscription_id or amount <= 0 or not isinstance(metadata, dict):
        return None
    purpose, purpose_id = metadata.get("purpose"), metadata.get("purpose_id")
    if not isinstance(purpose, str) or not purpose or not isinstance(purpose_id, str):
        return None
    try:
        parsed_id = uuid.UUID(purpose_id)
    except ValueError:
        return None
    description = invoice.get("description") or _first_line_description(invoice) or "Stripe subscription renewal"
    return Renewal(provider_reference=reference, provider_subscription_id=subscription_id, amount_cents=amount,
                   purpose=purpose, purpose_id=parsed_id, description=str(description)[:255])


def _subscription_details(invoice: JsonDict) -> JsonDict:
    """`invoice.parent.subscription_details` (Stripe API 2025-03-31 and later), or {}."""
    parent = invoice.get("parent")
    details = parent.get("subscription_details") if isinstance(parent, dict) else None
    return details if isinstance(details, dict) else {}


def _first_line_description(invoice: JsonDict) -> str | None:
    """The description of the invoice's first line, if any."""
    lines = invoice.get("lines")
    data = lines.get("data") if isinstance(lines, dict) else None
    first = data[0] if isinstance(data, list) and data else None
    text = first.get("description") if isinstance(first, dict) else None
    return text if isinstance(text, str) and text else None


def _cents(value: Any) -> int:
    """A Stripe amount (integer minor units); anything else is refused rather than guessed."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProviderError(f"Stripe sent an amount that is not a whole number of cents: {str(value)[:40]!r}")
    return value


def _id_of(value: Any) -> str | None:
    """The id of an expandable field: the string itself, or the expanded object's id."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _is_id(value: Any, prefix: str) -> TypeGuard[str]:
    """A Stripe id with the given type prefix."""
    return isinstance(value, str) and value.startswith(prefix) and len(value) <= 255


def _identifier(value: Any, prefix: str, what: str) -> str:
    """A Stripe id with its type prefix (cs_, in_, re_); anything else is refused."""
    if not _is_id(value, prefix):
        raise ProviderError(f"not a Stripe {what} id: {str(value)[:64]!r}")
    return str(value)

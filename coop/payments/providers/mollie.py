"""Mollie through `mollie-api-python` 4 (the hand-written `requests` client): checkout, fetch, refund, renewals.

Mollie's classic webhook carries only `id=tr_...` and no signature, so nothing
here trusts a webhook body: `fetch` reads the payment back from Mollie and the
service applies that. Refunds and chargebacks are not separate events: they
show as the payment's cumulative `amountRefunded` / `amountChargedBack`.

Amounts go out as Mollie's two-decimal strings ("99.00") and come back through
`from_provider_string`; no float is ever involved. Every SDK failure becomes a
`ProviderError` whose message is safe to show a treasurer (never the API key).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from typing import Any, TypeGuard

from mollie.api.client import Client
from mollie.api.error import Error as MollieError
from mollie.api.error import NotFoundError, RequestError, RequestSetupError, ResponseError, ResponseHandlingError
from mollie.api.objects.customer import Customer
from mollie.api.objects.payment import Payment as MolliePayment

from coop.core.errors import InvalidInput
from coop.core.money import MoneyError, from_provider_string, to_provider_string
from coop.core.settings import Settings
from coop.ledger.chart import AccountCode
from coop.payments.models import PaymentStatus, ProviderName, RefundStatus
from coop.payments.providers import ProviderError, RefundResult
from coop.payments.schemas import Checkout, CheckoutRequest, ProviderSnapshot, Renewal

CURRENCY = "EUR"
SUBSCRIPTION_INTERVAL = "12 months"  # Mollie's longest interval: one year
CUSTOMER_ID_KEY = "mollie_customer_id"  # in CheckoutRequest.metadata: reuse this customer for a first payment

STATUSES: dict[str, PaymentStatus] = {
    "open": PaymentStatus.OPEN,
    "pending": PaymentStatus.PENDING,
    "authorized": PaymentStatus.PENDING,  # card reserved, not captured: no money yet
    "paid": PaymentStatus.PAID,
    "failed": PaymentStatus.FAILED,
    "canceled": PaymentStatus.CANCELED,
    "expired": PaymentStatus.EXPIRED,
}
REFUND_STATUSES: dict[str, RefundStatus] = {
    "queued": RefundStatus.PENDING,
    "pending": RefundStatus.PENDING,
    "processing": RefundStatus.PENDING,
    "refunded": RefundStatus.REFUNDED,
}
REFUSED_REFUND_STATUSES = frozenset({"failed", "canceled"})
# Our method names (and Mollie's own) to Mollie's method ids.
METHODS: dict[str, str] = {
    "ideal": "ideal",
    "creditcard": "creditcard",
    "card": "creditcard",
    "banktransfer": "banktransfer",
    "bank_transfer": "banktransfer",
}


class MollieProvider:
    """The PaymentProvider for Mollie; built per use from the settings (key, optional test endpoint)."""

    name = ProviderName.MOLLIE
    clearing_account = AccountCode.MOLLIE_CLEARING

    def __init__(self, settings: Settings):
        self._key = settings.mollie_api_key.get_secret_value().strip() if settings.mollie_api_key else ""
        self._endpoint = settings.mollie_api_base or ""
        self._production = settings.is_production
        self._client: Client | None = None

    # -- the PaymentProvider protocol ------------------------------------------------------------------

    def create_checkout(self, request: CheckoutRequest) -> Checkout:
        """Create the Mollie payment once per idempotency key; a recurring one first gets a customer."""
        data: dict[str, Any] = {
            "amount": _amount(request.amount_cents),
            "description": request.description,
            "redirectUrl": request.return_url,
            "webhookUrl": request.webhook_url,
            "metadata": dict(request.metadata),
        }
        if request.method:
            data["method"] = _mollie_method(request.method)
        if request.recurring:
            # The mandate for later renewals comes from this first payment once it is paid.
            data["customerId"] = self._customer_for(request)
            data["sequenceType"] = "first"
        with self._calling("create the payment"):
            payment = self._api().payments.create(data, idempotency_key=request.idempotency_key)
        reference = _identifier(payment.get("id"), "tr_", "payment")
        return Checkout(provider_reference=reference, checkout_url=_payer_url(payment))

    def fetch(self, provider_reference: str) -> ProviderSnapshot:
        """Mollie's current truth about one of our payments."""
        return self._snapshot(provider_reference, self._payment(provider_reference))

    def refund(self, provider_reference: str, amount_cents: int, idempotency_key: str) -> RefundResult:
        """POST /v2/payments/{id}/refunds; Mollie confirms later through the payment's amountRefunded."""
        _identifier(provider_reference, "tr_", "payment")
        target = MolliePayment({"id": provider_reference}, self._api())  # no GET needed to address it
        with self._calling("refund the payment"):
            made = target.refunds.create({"amount": _amount(amount_cents)}, idempotency_key=idempotency_key)
        refund_id = _identifier(made.get("id"), "re_", "refund")
        status = made.get("status")
        if status in REFUND_STATUSES:
            return RefundResult(provider_reference=refund_id, status=REFUND_STATUSES[status])
        if status in REFUSED_REFUND_STATUSES:
            raise ProviderError(f"Mollie {status} refund {refund_id}")
        raise ProviderError(f"Mollie answered an unknown refund status {str(status)[:40]!r}")

    # -- recurring -------------------------------------------------------------------------------------

    def valid_mandate(self, customer_id: str) -> str | None:
        """The id of one of the customer's valid mandates, or None (e.g. the first payment is not paid yet)."""
        customer = Customer({"id": _identifier(customer_id, "cst_", "customer")}, self._api())
        with self._calling("list the customer's mandates"):
            page = customer.mandates.list()
            while True:
                for mandate in (page.get("_embedded") or {}).get("mandates") or []:
                    if mandate.get("status") == "valid":
                        return str(mandate.get("id"))
                if not page.has_next():
                    return None
                page = page.get_next()

    def start_subscription(
        self, customer_id: str, amount_cents: int, description: str, start_date: date, webhook_url: str,
        metadata: Mapping[str, str], *, idempotency_key: str = "",
    ) -> str:
        """Collect `amount_cents` every 12 months from `start_date` on the customer's mandate; the subscription id.

        Mollie wants the description unique per customer. Put `purpose` and
        `purpose_id` in `metadata`: `fetch_renewal` reads them back to book each
        renewal for the right purpose.
        """
        if self.valid_mandate(customer_id) is None:
            raise ProviderError(f"customer {customer_id} has no valid mandate at Mollie (first payment not paid?)")
        customer = Customer({"id": customer_id}, self._api())
        data = {
            "amount": _amount(amount_cents),
            "interval": SUBSCRIPTION_INTERVAL,
            "startDate": start_date.isoformat(),
            "description": description,
            "webhookUrl": webhook_url,
            "metadata": dict(metadata),
        }
        with self._calling("create the subscription"):
            subscription = customer.subscriptions.create(data, idempotency_key=idempotency_key)
        return _identifier(subscription.get("id"), "sub_", "subscription")

    def customer_of(self, provider_reference: str) -> str:
        """The customer a (first) payment was made for: whose mandate later renewals use."""
        return _identifier(self._payment(provider_reference).get("customerId"), "cst_", "customer")

    def cancel_subscription(self, customer_id: str, subscription_id: str) -> None:
        """DELETE the subscription: Mollie collects nothing more (a subscription already gone is fine)."""
        customer = Customer({"id": _identifier(customer_id, "cst_", "customer")}, self._api())
        try:
            with self._calling("cancel the subscription"):
                customer.subscriptions.delete(_identifier(subscription_id, "sub_", "subscription"))
        except ProviderError as error:
            if not isinstance(error.__cause__, NotFoundError):
                raise

    def change_subscription_amount(self, customer_id: str, subscription_id: str, amount_cents: int,
                                   description: str) -> None:
        """PATCH the amount Mollie collects from the next renewal on."""
        customer = Customer({"id": _identifier(customer_id, "cst_", "customer")}, self._api())
        with self._calling("change the subscription"):
            customer.subscriptions.update(_identifier(subscription_id, "sub_", "subscription"),
                                          {"amount": _amount(amount_cents), "description": description})

    def fetch_renewal(self, provider_reference: str) -> tuple[Renewal, ProviderSnapshot] | None:
        """A payment Mollie made by itself for one of our subscriptions, with its state; None if it is not one.

        For webhook ids we do not know yet. Junk ids are refused without asking
        Mollie; an id Mollie does not know, a one-off payment, or a subscription
        payment without our purpose metadata is None (not ours to book).
        """
        if not provider_reference.startswith("tr_"):
            return None
        try:
            payment = self._payment(provider_reference)
        except ProviderError as error:
            if isinstance(error.__cause__, NotFoundError):
                return None
            raise
        subscription_id = payment.get("subscriptionId")
        if payment.get("sequenceType") != "recurring" or not subscription_id:
            return None
        metadata = payment.get("metadata")
        if not _has_purpose(metadata) and payment.get("customerId"):
            metadata = self._subscription_metadata(str(payment["customerId"]), str(subscription_id))
        if not _has_purpose(metadata):
            return None
        try:
            purpose_id = uuid.UUID(str(metadata["purpose_id"]))
        except ValueError:
            return None
        renewal = Renewal(
            provider_reference=provider_reference, provider_subscription_id=str(subscription_id),
            amount_cents=_cents(payment.get("amount"), "amount"), purpose=str(metadata["purpose"]),
            purpose_id=purpose_id, description=str(payment.get("description") or "Renewal")[:255],
        )
        return renewal, self._snapshot(provider_reference, payment)

    # -- internals -------------------------------------------------------------------------------------

    def _api(self) -> Client:
        """The SDK client, built on first use (so a bad key is a ProviderError, not a crash at startup)."""
        if self._client is None:
            if self._production and self._key.startswith("test_"):
                raise ProviderError("a Mollie test key is refused in production")
            client = Client(api_endpoint=self._endpoint)
            try:
                client.set_api_key(self._key)
            except RequestSetupError:
                # The SDK's message quotes the key itself: never pass it on.
                raise ProviderError("KRACHT_MOLLIE_API_KEY is not a Mollie API key (live_... or test_...)") from None
            self._client = client
        return self._client

    @contextmanager
    def _calling(self, action: str) -> Iterator[None]:
        """Turn whatever the SDK raises into a ProviderError with a safe message."""
        try:
            yield
        except ResponseError as error:
            field = f" (field {error.field})" if error.field else ""
            raise ProviderError(self._safe(f"Mollie refused to {action}: {error.status} {error}{field}")) from error
        except ResponseHandlingError as error:
            raise ProviderError(f"Mollie gave an unreadable answer when asked to {action}") from error
        except RequestSetupError:
            raise ProviderError(f"could not ask Mollie to {action}: invalid request") from None
        except RequestError as error:
            raise ProviderError(f"Mollie could not be reached to {action}") from error
        except (MollieError, KeyError, TypeError) as error:  # KeyError: an error body without "detail"
            raise ProviderError(f"Mollie gave an unexpected answer when asked to {action}") from error

    def _safe(self, message: str) -> str:
        """Mollie's own words, shortened, and never the key (should an answer ever echo it)."""
        if self._key:
            message = message.replace(self._key, "[key]")
        return message[:300]

    def _payment(self, provider_reference: str) -> MolliePayment:
        """GET /v2/payments/{id}."""
        _identifier(provider_reference, "tr_", "payment")
        with self._calling("show the payment"):
            payment: MolliePayment = self._api().payments.get(provider_reference)
        return payment

    def _snapshot(self, provider_reference: str, payment: Mapping[str, Any]) -> ProviderSnapshot:
        """A Mollie payment as the engine's snapshot (refunds and chargebacks are cumulative totals)."""
        if payment.get("id") != provider_reference:
            raise ProviderError("Mollie answered about another payment")
        status = payment.get("status")
        if status not in STATUSES:
            raise ProviderError(f"Mollie answered an unknown payment status {str(status)[:40]!r}")
        _cents(payment.get("amount"), "amount")  # refuse another currency before trusting any total
        method = payment.get("method")
        return ProviderSnapshot(
            provider_reference=provider_reference, status=STATUSES[status],
            refunded_cents=_cents(payment.get("amountRefunded"), "amountRefunded", missing_ok=True),
            charged_back_cents=_cents(payment.get("amountChargedBack"), "amountChargedBack", missing_ok=True),
            method=str(method)[:32] if method else None,
        )

    def _customer_for(self, request: CheckoutRequest) -> str:
        """The customer a first payment belongs to: the one named in the metadata, else a new one.

        Creating it under a key derived from the checkout's makes a retried
        checkout reuse the customer instead of making a second one.
        """
        named = request.metadata.get(CUSTOMER_ID_KEY)
        if named:
            return _identifier(named, "cst_", "customer")
        data: dict[str, Any] = {"metadata": {"payment_id": str(request.payment_id)}}
        if request.payer_email:
            data["email"] = request.payer_email
        with self._calling("create the customer"):
            customer = self._api().customers.create(data, idempotency_key=f"{request.idempotency_key}:customer")
        return _identifier(customer.get("id"), "cst_", "customer")

    def _subscription_metadata(self, customer_id: str, subscription_id: str) -> Any:
        """The metadata we gave the subscription (for renewal payments that do not carry it)."""
        customer = Customer({"id": _identifier(customer_id, "cst_", "customer")}, self._api())
        with self._calling("show the subscription"):
            subscription = customer.subscriptions.get(_identifier(subscription_id, "sub_", "subscription"))
        return subscription.get("metadata")


def _amount(cents: int) -> dict[str, str]:
    """Mollie's amount object: EUR and a string with exactly two decimals."""
    return {"currency": CURRENCY, "value": to_provider_string(cents)}


def _cents(amount: Any, what: str, *, missing_ok: bool = False) -> int:
    """A Mollie EUR amount object to cents; anything else is refused rather than guessed."""
    if amount is None and missing_ok:
        return 0
    value = amount.get("value") if isinstance(amount, Mapping) else None
    if not isinstance(amount, Mapping) or amount.get("currency") != CURRENCY or not isinstance(value, str):
        raise ProviderError(f"Mollie sent {what} that is not an amount in {CURRENCY}")
    try:
        return from_provider_string(value)
    except MoneyError:
        raise ProviderError(f"Mollie sent {what} that is not an amount in {CURRENCY}") from None


def _mollie_method(method: str) -> str:
    """Mollie's id for a payment method we offer."""
    try:
        return METHODS[method.strip().lower()]
    except KeyError:
        raise InvalidInput(f"Mollie does not offer payment method {method[:32]!r} here "
                           f"(choose from {', '.join(sorted(set(METHODS.values())))})", field="method") from None


def _identifier(value: Any, prefix: str, what: str) -> str:
    """A Mollie id with its type prefix (tr_, re_, cst_, sub_); anything else is refused."""
    if not isinstance(value, str) or not value.startswith(prefix) or len(value) > 64:
        raise ProviderError(f"not a Mollie {what} id: {str(value)[:64]!r}")
    return value


def _has_purpose(metadata: Any) -> TypeGuard[Mapping[str, Any]]:
    """Metadata that names our purpose and its id."""
    return isinstance(metadata, Mapping) and bool(metadata.get("purpose")) and bool(metadata.get("purpose_id"))


def _link(payment: Mapping[str, Any], name: str) -> str | None:
    """An href from the payment's `_links`, or None."""
    links = payment.get("_links")
    found = links.get(name) if isinstance(links, Mapping) else None
    href = found.get("href") if isinstance(found, Mapping) else None
    return href if isinstance(href, str) else None


def _payer_url(payment: Mapping[str, Any]) -> str | None:
    """Where to send the payer: the checkout, else (bank transfer) the page with the transfer details."""
    return _link(payment, "checkout") or _link(payment, "payOnline") or _link(payment, "status")

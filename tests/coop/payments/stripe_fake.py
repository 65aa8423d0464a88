"""A local Stripe API (HTTP on 127.0.0.1:0) that the real `stripe` 16 client talks to.

It answers from the JSON fixtures in tests/fixtures/stripe (Stripe's documented
shapes, API version 2026-10-28.endive): Checkout Sessions, PaymentIntents,
charges, refunds, disputes, invoices, invoice payments and subscriptions
(retrieved, updated and canceled as Stripe Billing does). Requests arrive
form-encoded, as the SDK sends them; every one is recorded with its flat form
keys (`line_items[0][price_data][unit_amount]`). `expand[]` is honoured,
`fail()` makes a route answer an error, `lose_answers()` does the work but drops the
connection (a timeout as the client sees it), and a POST repeated with an
Idempotency-Key seen before gets the first answer again, as Stripe does.

Test helpers build signed webhook deliveries (`event`, `sign`) from the same
fixtures.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import stripe

from tests.coop.payments.http_fake import LocalHTTPFake

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "stripe"
TEMPLATE_IDS = {
    "session_payment": "cs_test_a1b2c3d4e5f6g7h8i9j0",
    "session_subscription": "cs_test_s1u2b3s4c5r6i7p8t9i0",
    "payment_intent": "pi_3PaYmEnTiNtEnT00",
    "charge": "ch_3ChArGe0000000000",
    "refund": "re_3ReFuNd0000000000",
    "dispute": "dp_1DiSpUtE000000000",
    "invoice": "in_1InVoIcE000000000",
    "invoice_payment": "inpay_1InVoIcEpAyMeNt0",
    "subscription": "sub_1SuBsCrIpTiOn00000",
    "subscription_item": "si_1SuBiTeM000000000",
    "price": "price_1PrIcE0000000000",
    "product": "prod_1PrOdUcT00000000",
    "customer": "cus_1CuStOmEr00000000",
    "event": "evt_1EvEnT00000000000",
}
# Which collection an id belongs to, by its prefix (for expand[]).
PREFIXES = ("cs_", "pi_", "ch_", "re_", "dp_", "in_", "inpay_", "sub_")


def load(name: str, **ids: str) -> dict[str, Any]:
    """A fixture with template ids replaced (`old=new` pairs)."""
    text = (FIXTURES / f"{name}.json").read_text(encoding="utf-8")
    for old, new in ids.items():
        text = text.replace(old, new)
    data: dict[str, Any] = json.loads(text)
    return data


def new_id(prefix: str) -> str:
    """A Stripe-looking id."""
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def event(kind: str, obj: dict[str, Any], *, event_id: str | None = None, created: int | None = None) -> str:
    """A webhook body: the event envelope fixture around `obj`, serialised once (sign and post these bytes)."""
    envelope = load("event")
    envelope.update(id=event_id or new_id("evt_test_"), type=kind, created=created or int(time.time()),
                    data={"object": obj})
    return json.dumps(envelope, separators=(",", ":"))


def sign(payload: str, secret: str, *, timestamp: int | None = None) -> str:
    """The Stripe-Signature header for `payload`, as Stripe computes it."""
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)


@dataclass
class Call:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, str]
    headers: dict[str, str]

    def header(self, name: str) -> str | None:
        """A request header, case-insensitively."""
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


@dataclass
class StripeFake(LocalHTTPFake):
    """The fake API: every object by id, a log of calls, and routes that can be made to fail."""

    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    refund_status: str = "pending"
    calls: list[Call] = field(default_factory=list)
    failures: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)
    replays: dict[tuple[str, str, str], tuple[int, Any]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    lost: set[tuple[str, str]] = field(default_factory=set)
    base: str = ""
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    name = "stripe"

    # -- what tests arrange ------------------------------------------------------------------------------

    def fail(self, method: str, path: str, status: int, body: str | dict[str, Any]) -> None:
        """Make `method path` answer `status` with `body` (a fixture name or a dict) from now on."""
        answer = load(body) if isinstance(body, str) else body
        with self.lock:
            self.failures[(method, path)] = (status, answer)

    def heal(self) -> None:
        """Answer normally again."""
        with self.lock:
            self.failures.clear()
            self.lost.clear()

    def requests_to(self, method: str, path: str) -> list[Call]:
        """The calls received for `method path` (path without the query string)."""
        with self.lock:
            return [c for c in self.calls if c.method == method and c.path == path]

    def get(self, object_id: str) -> dict[str, Any]:
        """A copy of what the fake holds for `object_id`."""
        with self.lock:
            return copy.deepcopy(self.objects[object_id])

    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Store (or replace) an object under its id; returns a copy."""
        with self.lock:
            self.objects[obj["id"]] = copy.deepcopy(obj)
        return copy.deepcopy(obj)

    def pay(self, session_id: str, *, method: str = "card") -> dict[str, Any]:
        """The payer paid the session: a succeeded PaymentIntent and charge (and, for a subscription, its
        subscription, first invoice and invoice payment). Returns the session as a webhook would carry it."""
        with self.lock:
            session = self.objects[session_id]
            amount = session["amount_total"]
            intent, _charge = self._intent_and_charge(amount, method)
            session.update(status="complete", payment_status="paid", customer="cus_" + uuid.uuid4().hex[:14])
            if session["mode"] == "payment":
                session["payment_intent"] = intent["id"]
            else:
                subscription_id = new_id("sub_test_")
                invoice = self._invoice(subscription_id, amount, "subscription_create", session["metadata"])
                self._invoice_payment(invoice["id"], intent["id"], amount)
                self._subscription(subscription_id, session, invoice["id"])
                session.update(subscription=subscription_id, invoice=invoice["id"])
            return copy.deepcopy(session)

    def complete_unpaid(self, session_id: str) -> dict[str, Any]:
        """The payer finished checkout with a delayed method (SEPA): complete, not paid yet."""
        with self.lock:
            session = self.objects[session_id]
            session.update(status="complete", payment_status="unpaid")
            return copy.deepcopy(session)

    def expire(self, session_id: str) -> dict[str, Any]:
        """The session expired unpaid."""
        with self.lock:
            session = self.objects[session_id]
            session.update(status="expired", url=None)
            return copy.deepcopy(session)

    def charge_of(self, session_id: str) -> dict[str, Any]:
        """The charge that paid a (paid, payment-mode) session."""
        with self.lock:
            intent = self.objects[self.objects[session_id]["payment_intent"]]
            return copy.deepcopy(self.objects[intent["latest_charge"]])

    def refund_charge(self, charge_id: str, cumulative_cents: int) -> dict[str, Any]:
        """Refunds on the charge now total `cumulative_cents`; the charge as `charge.refunded` carries it."""
        with self.lock:
            charge = self.objects[charge_id]
            charge.update(amount_refunded=cumulative_cents, refunded=cumulative_cents >= charge["amount"])
            return copy.deepcopy(charge)

    def dispute(self, charge_id: str, amount_cents: int, *, status: str = "needs_response") -> dict[str, Any]:
        """The payer's bank disputes `amount_cents` of the charge; the dispute as its events carry it."""
        with self.lock:
            charge = self.objects[charge_id]
            charge["disputed"] = True
            dispute = load("dispute", **{TEMPLATE_IDS["dispute"]: new_id("dp_test_"),
                                         TEMPLATE_IDS["charge"]: charge_id,
                                         TEMPLATE_IDS["payment_intent"]: charge["payment_intent"]})
            dispute.update(amount=amount_cents, status=status)
            self.objects[dispute["id"]] = dispute
            return copy.deepcopy(dispute)

    def renewal(self, subscription_id: str, amount_cents: int, metadata: dict[str, str]) -> dict[str, Any]:
        """Stripe Billing charged the next period by itself: the paid invoice as `invoice.paid` carries it."""
        with self.lock:
            intent, _ = self._intent_and_charge(amount_cents, "sepa_debit")
            invoice = self._invoice(subscription_id, amount_cents, "subscription_cycle", metadata)
            self._invoice_payment(invoice["id"], intent["id"], amount_cents)
            return copy.deepcopy(invoice)

    def subscription_deleted(self, subscription_id: str) -> dict[str, Any]:
        """The subscription as `customer.subscription.deleted` carries it."""
        return load("subscription_deleted", **{TEMPLATE_IDS["subscription"]: subscription_id})

    def _intent_and_charge(self, amount: int, method: str) -> tuple[dict[str, Any], dict[str, Any]]:
        intent_id, charge_id = new_id("pi_test_"), new_id("ch_test_")
        ids = {TEMPLATE_IDS["payment_intent"]: intent_id, TEMPLATE_IDS["charge"]: charge_id}
        intent = load("payment_intent", **ids)
        intent.update(amount=amount, amount_received=amount)
        charge = load("charge", **ids)
        charge.update(amount=amount, amount_captured=amount,
                      payment_method_details={method: {}, "type": method})
        self.objects[intent_id] = intent
        self.objects[charge_id] = charge
        return intent, charge

    def _invoice(self, subscription_id: str, amount: int, reason: str, metadata: dict[str, str]) -> dict[str, Any]:
        invoice = load("invoice_paid", **{TEMPLATE_IDS["invoice"]: new_id("in_test_"),
                                          TEMPLATE_IDS["subscription"]: subscription_id})
        invoice.update(amount_due=amount, amount_paid=amount, total=amount, billing_reason=reason)
        invoice["parent"]["subscription_details"]["metadata"] = dict(metadata)
        self.objects[invoice["id"]] = invoice
        return invoice

    def _subscription(self, subscription_id: str, session: dict[str, Any], invoice_id: str) -> None:
        """The subscription a paid checkout made: one item whose price Checkout made from its price_data."""
        subscription = load("subscription", **{
            TEMPLATE_IDS["subscription"]: subscription_id, TEMPLATE_IDS["subscription_item"]: new_id("si_test_"),
            TEMPLATE_IDS["price"]: new_id("price_test_"), TEMPLATE_IDS["product"]: new_id("prod_test_"),
            TEMPLATE_IDS["customer"]: session["customer"], TEMPLATE_IDS["invoice"]: invoice_id})
        [item] = subscription["items"]["data"]
        item["price"].update(unit_amount=session["amount_total"], unit_amount_decimal=str(session["amount_total"]))
        subscription["metadata"] = dict(session["metadata"])
        self.objects[subscription_id] = subscription

    def _update_subscription(self, subscription: dict[str, Any], form: dict[str, str]) -> tuple[int, Any]:
        """POST /v1/subscriptions/{id}: cancel_at_period_end, the item's price (price_data) and description."""
        if subscription["status"] == "canceled":
            return 400, {"error": {"type": "invalid_request_error",
                                   "message": "A canceled subscription can only update its cancellation_details "
                                              "and metadata."}}
        [item] = subscription["items"]["data"]
        if "cancel_at_period_end" in form:
            cancel = form["cancel_at_period_end"] == "true"
            subscription.update(cancel_at_period_end=cancel, cancel_at=item["current_period_end"] if cancel else None,
                                canceled_at=int(time.time()) if cancel else None)
        if "items[0][id]" in form:
            if form["items[0][id]"] != item["id"]:
                return 400, load("error_invalid_request")
            if "items[0][price_data][unit_amount]" in form:
                amount = int(form["items[0][price_data][unit_amount]"])
                item["price"] = {**item["price"], "id": new_id("price_test_"), "unit_amount": amount,
                                 "unit_amount_decimal": str(amount), "product": form["items[0][price_data][product]"],
                                 "currency": form["items[0][price_data][currency]"],
                                 "recurring": {**item["price"]["recurring"],
                                               "interval": form["items[0][price_data][recurring][interval]"]}}
        if "description" in form:
            subscription["description"] = form["description"]
        return 200, copy.deepcopy(subscription)

    def _cancel_subscription(self, subscription: dict[str, Any]) -> dict[str, Any]:
        """DELETE /v1/subscriptions/{id}: canceled at once, no further invoices."""
        if subscription["status"] != "canceled":
            now = int(time.time())
            subscription.update(status="canceled", canceled_at=now, ended_at=now,
                                cancellation_details={"comment": None, "feedback": None,
                                                      "reason": "cancellation_requested"})
        return copy.deepcopy(subscription)

    def _invoice_payment(self, invoice_id: str, intent_id: str, amount: int) -> None:
        entry = load("invoice_payment", **{TEMPLATE_IDS["invoice_payment"]: new_id("inpay_test_"),
                                           TEMPLATE_IDS["invoice"]: invoice_id,
                                           TEMPLATE_IDS["payment_intent"]: intent_id})
        entry.update(amount_paid=amount, amount_requested=amount)
        self.objects[entry["id"]] = entry

    # -- serving -----------------------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length).decode() if length else ""
        call = Call(request.command, parts.path, parse_qs(parts.query), dict(parse_qsl(raw)),
                    dict(request.headers.items()))
        key = call.header("Idempotency-Key") or ""
        with self.lock:
            self.calls.append(call)
            failure = self.failures.get((call.method, call.path))
            replay = self.replays.get((call.method, call.path, key)) if key else None
            if failure is not None:
                status, answer = failure
            elif replay is not None:
                status, answer = replay
            else:
                status, answer = self._route(call)
                if key and call.method == "POST" and status < 300:
                    self.replays[(call.method, call.path, key)] = (status, answer)
        if self._answer_lost(request, call.method, call.path):
            return
        payload = json.dumps(answer).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(payload)))
        request.send_header("Request-Id", "req_" + uuid.uuid4().hex[:14])
        if replay is not None:
            request.send_header("Idempotent-Replayed", "true")
        request.end_headers()
        request.wfile.write(payload)

    def _route(self, call: Call) -> tuple[int, Any]:
        path, method = call.path, call.method
        if method == "POST" and path == "/v1/checkout/sessions":
            return 200, self._create_session(call.form)
        if method == "POST" and path == "/v1/refunds":
            return self._create_refund(call.form)
        found = re.fullmatch(r"/v1/(checkout/sessions|payment_intents|charges|invoices|subscriptions)/(\w+)", path)
        if method == "GET" and found and found[2] in self.objects:
            return 200, self._expanded(self.objects[found[2]], call)
        subscription = self.objects.get(found[2]) if found and found[1] == "subscriptions" else None
        if method == "POST" and subscription is not None:
            return self._update_subscription(subscription, call.form)
        if method == "DELETE" and subscription is not None:
            return 200, self._cancel_subscription(subscription)
        lists = {"/v1/checkout/sessions": "checkout.session", "/v1/invoice_payments": "invoice_payment",
                 "/v1/disputes": "dispute"}
        if method == "GET" and path in lists:
            return 200, self._list(path, lists[path], call)
        return 404, load("error_invalid_request")

    def _create_session(self, form: dict[str, str]) -> dict[str, Any]:
        mode = form.get("mode", "payment")
        session_id = new_id("cs_test_")
        template = "checkout_session_subscription" if mode == "subscription" else "checkout_session_payment"
        session = load(template, **{TEMPLATE_IDS[f"session_{mode}"]: session_id})
        amount = int(form["line_items[0][price_data][unit_amount]"]) * int(form.get("line_items[0][quantity]", "1"))
        session.update(
            amount_subtotal=amount, amount_total=amount, currency=form["line_items[0][price_data][currency]"],
            client_reference_id=form.get("client_reference_id"), customer_email=form.get("customer_email"),
            success_url=form.get("success_url"), cancel_url=form.get("cancel_url"),
            metadata={k[len("metadata["):-1]: v for k, v in form.items() if k.startswith("metadata[")},
            payment_method_types=[v for k, v in sorted(form.items())
                                  if k.startswith("allowed_payment_method_types[")] or session["payment_method_types"],
        )
        self.objects[session_id] = session
        return copy.deepcopy(session)

    def _create_refund(self, form: dict[str, str]) -> tuple[int, Any]:
        intent = self.objects.get(form.get("payment_intent", ""))
        if intent is None:
            return 404, load("error_invalid_request")
        refund = load("refund", **{TEMPLATE_IDS["refund"]: new_id("re_test_"),
                                   TEMPLATE_IDS["payment_intent"]: intent["id"],
                                   TEMPLATE_IDS["charge"]: intent["latest_charge"]})
        refund.update(amount=int(form.get("amount") or intent["amount"]), status=self.refund_status)
        self.objects[refund["id"]] = refund
        return 200, copy.deepcopy(refund)

    def _list(self, path: str, kind: str, call: Call) -> dict[str, Any]:
        filters = {k: v[0] for k, v in call.query.items() if k not in ("limit", "starting_after", "ending_before")}
        filters = {("payment_intent" if k == "payment[payment_intent]" else k): v for k, v in filters.items()
                   if k != "payment[type]"}
        limit = int(call.query.get("limit", ["10"])[0])

        def matches(obj: dict[str, Any]) -> bool:
            for name, wanted in filters.items():
                value = obj.get("payment", {}).get(name) if kind == "invoice_payment" and name == "payment_intent" \
                    else obj.get(name)
                if value != wanted:
                    return False
            return True

        data = [copy.deepcopy(o) for o in self.objects.values() if o.get("object") == kind and matches(o)]
        return {"object": "list", "data": data[:limit], "has_more": len(data) > limit, "url": path}

    def _expanded(self, obj: dict[str, Any], call: Call) -> dict[str, Any]:
        result = copy.deepcopy(obj)
        for key, values in call.query.items():
            if re.fullmatch(r"expand\[\d*\]", key):
                for value in values:
                    self._expand(result, value.split("."))
        return result

    def _expand(self, obj: dict[str, Any], steps: list[str]) -> None:
        value = obj.get(steps[0])
        if isinstance(value, str) and value.startswith(PREFIXES) and value in self.objects:
            value = obj[steps[0]] = copy.deepcopy(self.objects[value])
        if isinstance(value, dict) and len(steps) > 1:
            self._expand(value, steps[1:])

"""A local Mollie API (HTTP on 127.0.0.1:0) that the real mollie-api-python client talks to.

It answers from the JSON fixtures in tests/fixtures/mollie (Mollie's documented
shapes), with the fixture's `https://api.mollie.com` links rewritten to this
server, so following `_links` stays on the fake. Every request is recorded;
`fail()` makes a route answer an error; `lose_answers()` does the work but drops
the connection (a timeout as the client sees it); an Idempotency-Key that was seen
before gets the same answer again, as Mollie does. A customer's subscriptions are
created, fetched, updated (PATCH) and canceled (DELETE) as Mollie's API does.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.coop.payments.http_fake import LocalHTTPFake

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mollie"
MOLLIE_API = "https://api.mollie.com"
TEMPLATE_PAYMENT_ID = "tr_7UhSN1zuXS"
TEMPLATE_CUSTOMER_ID = "cst_8wmqcHMN4U"
TEMPLATE_SUBSCRIPTION_ID = "sub_rVKGtNd6s3"
TEMPLATE_REFUND_ID = "re_4qqhO89gsT"
RECURRING_PAYMENT_ID = "tr_Hk3Rj2VQe8"  # payment_recurring_paid
# What a payment keeps when the fake moves it to another status's fixture.
IDENTITY = ("id", "amount", "description", "metadata", "redirectUrl", "webhookUrl", "customerId", "sequenceType",
            "mandateId", "subscriptionId", "createdAt")


def load(name: str, base: str, **ids: str) -> dict[str, Any]:
    """A fixture with its API links pointing at `base` and template ids replaced (`ids={old: new}` pairs)."""
    text = (FIXTURES / f"{name}.json").read_text(encoding="utf-8").replace(MOLLIE_API, base)
    for old, new in ids.items():
        text = text.replace(old, new)
    return json.loads(text)


def new_id(prefix: str) -> str:
    """A Mollie-looking id: prefix and ten characters."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@dataclass
class Call:
    """One request the fake received."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any

    def header(self, name: str) -> str | None:
        """A request header, case-insensitively."""
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


@dataclass
class MollieFake(LocalHTTPFake):
    """The fake API: state per resource, a log of calls, and routes that can be made to fail."""

    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    mandates: dict[str, str] = field(default_factory=dict)  # customer id -> mandates fixture name
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    refund_fixture: str = "refund_pending"
    calls: list[Call] = field(default_factory=list)
    failures: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)
    replays: dict[tuple[str, str, str], tuple[int, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    lost: set[tuple[str, str]] = field(default_factory=set)
    base: str = ""
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    name = "mollie"

    # -- what tests arrange ------------------------------------------------------------------------------

    def fail(self, method: str, path: str, status: int, body: str | dict[str, Any] | None = None) -> None:
        """Make `method path` answer `status` with `body` (a fixture name, a dict, or raw text) from now on."""
        if isinstance(body, str) and (FIXTURES / f"{body}.json").exists():
            body = load(body, self.base)
        with self.lock:
            self.failures[(method, path)] = (status, body)

    def heal(self) -> None:
        """Answer normally again."""
        with self.lock:
            self.failures.clear()
            self.lost.clear()

    def set_payment(self, payment_id: str, status: str, *, refunded: str | None = None,
                    charged_back: str | None = None) -> dict[str, Any]:
        """Move a payment to `status` (the fixture for it), with cumulative refunded / charged-back totals."""
        with self.lock:
            current = self.payments[payment_id]
            template = f"payment_{status}"
            if status == "paid" and charged_back is not None:
                template = "payment_paid_charged_back"
            elif status == "paid" and refunded is not None:
                template = "payment_paid_refunded"
            updated = load(template, self.base, **{TEMPLATE_PAYMENT_ID: payment_id})
            updated.update({key: current[key] for key in IDENTITY if key in current})
            for key in IDENTITY:
                if key not in current:
                    updated.pop(key, None)
            amount = current["amount"]["value"]
            if "amountRemaining" in updated:
                updated["amountRemaining"] = {"value": amount, "currency": "EUR"}
            if "settlementAmount" in updated:
                updated["settlementAmount"] = {"value": amount, "currency": "EUR"}
            if refunded is not None:
                updated["amountRefunded"] = {"value": refunded, "currency": "EUR"}
            if charged_back is not None:
                updated["amountChargedBack"] = {"value": charged_back, "currency": "EUR"}
            self.payments[payment_id] = updated
            return updated

    def add_payment(self, fixture: str) -> dict[str, Any]:
        """Put a fixture payment (e.g. a renewal Mollie made by itself) in the fake under its own id."""
        payment = load(fixture, self.base)
        with self.lock:
            self.payments[payment["id"]] = payment
        return payment

    def renewal(self, subscription_id: str) -> dict[str, Any]:
        """Mollie collected a subscription's next payment by itself: the paid recurring payment it made, with the
        subscription's amount, description, webhook and metadata (forwarded to its payments since December 2024)."""
        with self.lock:
            subscription = self.subscriptions[subscription_id]
            payment = load("payment_recurring_paid", self.base, **{
                RECURRING_PAYMENT_ID: new_id("tr_"), TEMPLATE_CUSTOMER_ID: subscription["customerId"],
                TEMPLATE_SUBSCRIPTION_ID: subscription_id})
            payment.update({key: subscription[key] for key in ("amount", "description", "webhookUrl", "metadata")})
            self.payments[payment["id"]] = payment
            return payment

    def requests_to(self, method: str, path: str) -> list[Call]:
        """The calls received for `method path` (path without the query string)."""
        with self.lock:
            return [c for c in self.calls if c.method == method and c.path == path]

    # -- serving -----------------------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        call = Call(request.command, parts.path, parts.query, dict(request.headers.items()), body)
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
                with self.lock:
                    self.replays[(call.method, call.path, key)] = (status, answer)
        if self._answer_lost(request, call.method, call.path):
            return
        payload = answer.encode() if isinstance(answer, str) else json.dumps(answer).encode()
        request.send_response(status)
        kind = "text/html" if isinstance(answer, str) else "application/hal+json"
        request.send_header("Content-Type", kind)
        request.send_header("Content-Length", str(len(payload)))
        if replay is not None:
            request.send_header("Idempotent-Replayed", "true")
        request.end_headers()
        request.wfile.write(payload)

    def _route(self, call: Call) -> tuple[int, Any]:
        path, method = call.path, call.method
        with self.lock:
            if method == "POST" and path == "/v2/payments":
                return 201, self._create_payment(call.body)
            if found := re.fullmatch(r"/v2/payments/(tr_\w+)", path):
                payment = self.payments.get(found[1])
                if method == "GET" and payment is not None:
                    return 200, payment
            found = re.fullmatch(r"/v2/payments/(tr_\w+)/refunds", path)
            if found and method == "POST" and found[1] in self.payments:
                refund = load(self.refund_fixture, self.base,
                              **{TEMPLATE_PAYMENT_ID: found[1], TEMPLATE_REFUND_ID: new_id("re_")})
                refund["amount"] = call.body["amount"]
                return 201, refund
            if method == "POST" and path == "/v2/customers":
                customer_id = new_id("cst_")
                customer = load("customer", self.base, **{TEMPLATE_CUSTOMER_ID: customer_id})
                customer["email"] = (call.body or {}).get("email")
                customer["metadata"] = (call.body or {}).get("metadata")
                self.customers[customer_id] = customer
                return 201, customer
            if (found := re.fullmatch(r"/v2/customers/(cst_\w+)/mandates", path)) and method == "GET":
                name = self.mandates.get(found[1])
                if name is not None:
                    return 200, load(name, self.base, **{TEMPLATE_CUSTOMER_ID: found[1]})
                return 200, {"count": 0, "_embedded": {"mandates": []},
                             "_links": {"self": {"href": f"{self.base}{path}"}, "previous": None, "next": None}}
            if (found := re.fullmatch(r"/v2/customers/(cst_\w+)/subscriptions", path)) and method == "POST":
                subscription_id = new_id("sub_")
                subscription = load("subscription", self.base, **{TEMPLATE_CUSTOMER_ID: found[1],
                                                                  TEMPLATE_SUBSCRIPTION_ID: subscription_id})
                subscription.update({k: v for k, v in call.body.items() if k in (
                    "amount", "interval", "startDate", "description", "webhookUrl", "metadata")})
                subscription["nextPaymentDate"] = call.body.get("startDate")
                self.subscriptions[subscription_id] = subscription
                return 201, subscription
            if found := re.fullmatch(r"/v2/customers/(cst_\w+)/subscriptions/(sub_\w+)", path):
                subscription = self.subscriptions.get(found[2])
                if subscription is not None and subscription["customerId"] == found[1]:
                    return self._subscription_call(subscription, method, call.body or {})
        return 404, load("error_404", self.base)

    def _subscription_call(self, subscription: dict[str, Any], method: str, body: dict[str, Any]) -> tuple[int, Any]:
        """GET, PATCH (the fields Mollie lets change) or DELETE (cancel: 200 with the canceled subscription)."""
        if method == "GET":
            return 200, subscription
        if subscription["status"] == "canceled" and method in ("PATCH", "DELETE"):
            return 422, {"status": 422, "title": "Unprocessable Entity",
                         "detail": "The subscription has been canceled and cannot be changed"}
        if method == "PATCH":
            subscription.update({k: v for k, v in body.items() if k in (
                "amount", "description", "interval", "startDate", "times", "metadata", "webhookUrl", "mandateId")})
            return 200, subscription
        if method == "DELETE":
            subscription.update(status="canceled", canceledAt=datetime.now(UTC).isoformat(timespec="seconds"))
            subscription.pop("nextPaymentDate", None)
            return 200, subscription
        return 404, load("error_404", self.base)

    def _create_payment(self, body: dict[str, Any]) -> dict[str, Any]:
        """An open payment carrying what was asked (template: the bank transfer one for that method)."""
        payment_id = new_id("tr_")
        template = "payment_banktransfer_open" if body.get("method") == "banktransfer" else "payment_open"
        payment = load(template, self.base, **{TEMPLATE_PAYMENT_ID: payment_id})
        payment.update({k: v for k, v in body.items() if k in (
            "amount", "description", "redirectUrl", "webhookUrl", "metadata", "method", "customerId",
            "sequenceType")})
        self.payments[payment_id] = payment
        return payment

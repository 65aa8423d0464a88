"""Stripe with the real `stripe` 16 client against a local fake of its API, and signed webhooks over HTTP.

Checkout Sessions go out form-encoded with our idempotency key; webhooks are
verified on the raw bytes and go through the same inbox and state machine as
every provider; refunds and disputes are resolved back to our payment through
the API. The fake records what the SDK really sent.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import stripe
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, update
from sqlalchemy import select as core_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from coop.app import create_app
from coop.auth.models import Role
from coop.core.db import get_session, open_session, unit_of_work
from coop.core.errors import InvalidInput
from coop.core.sequences import number_series
from coop.core.settings import get_settings
from coop.ledger.chart import AccountCode
from coop.ledger.models import JournalEntry, Posting
from coop.ledger.queries import balance, global_sums
from coop.ledger.service import JOURNAL_SERIES
from coop.payments.models import Payment, PaymentStatus, ProviderEvent, ProviderName, Refund, RefundStatus
from coop.payments.providers import ProviderError
from coop.payments.providers.stripe import StripeProvider
from coop.payments.schemas import CheckoutRequest, ProviderSnapshot
from coop.payments.service import ProviderUnavailable, create_payment, get_payment, reconcile
from tests.coop.payments.conftest import TEST_PURPOSE, configured
from tests.coop.payments.stripe_fake import StripeFake, event, load, new_id, sign

pytestmark = pytest.mark.usefixtures("purpose")

KEY = "sk_test_51KrachtTestOnly0000000000000000"
SECRET = "whsec_test_kracht00000000000000000000"
PUBLIC_URL = "https://kracht.example"
WEBHOOK = "/api/v1/webhooks/stripe"
STRIPE = AccountCode.STRIPE_CLEARING


@pytest.fixture
def fake() -> Iterator[StripeFake]:
    """A running fake Stripe API and the settings pointing at it (restored and re-read afterwards)."""
    with StripeFake() as running, configured(stripe_api_key=KEY, stripe_webhook_secret=SECRET,
                                              stripe_api_base=running.base, public_url=PUBLIC_URL):
        yield running


def stripe_provider() -> StripeProvider:
    return StripeProvider(get_settings())


def closed_port() -> int:
    """A local port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def entries_for(session: Session, payment_id: uuid.UUID) -> list[JournalEntry]:
    return list(session.exec(select(JournalEntry).where(JournalEntry.source_id == str(payment_id))
                             .order_by(JournalEntry.number)).all())


def events_for(session: Session, payment_id: uuid.UUID) -> list[ProviderEvent]:
    return list(session.exec(select(ProviderEvent).where(ProviderEvent.payment_id == payment_id)
                             .order_by(ProviderEvent.received_at)).all())


def event_count(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(ProviderEvent)).one())


def state(session: Session, payment_id: uuid.UUID) -> tuple[Any, ...]:
    """Everything a webhook could change about a payment."""
    payment = get_payment(session, payment_id=payment_id)
    return (payment.status, payment.refunded_cents, payment.charged_back_cents, len(entries_for(session, payment_id)),
            balance(session, account=STRIPE, payment_id=payment_id), event_count(session))


def deliver(client: TestClient, kind: str, obj: dict[str, Any], *, event_id: str | None = None,
            secret: str = SECRET, timestamp: int | None = None) -> Any:
    """Post a signed Stripe event: the exact bytes that were signed."""
    payload = event(kind, obj, event_id=event_id)
    return client.post(WEBHOOK, content=payload, headers={"Stripe-Signature": sign(payload, secret,
                                                                                  timestamp=timestamp),
                                                          "Content-Type": "application/json"})


def stripe_payment(make_payment: Any, cents: int = 2500) -> Payment:
    return make_payment(cents, provider=ProviderName.STRIPE)


def paid_payment(client: TestClient, fake: StripeFake, make_payment: Any, cents: int = 2500) -> Payment:
    payment = stripe_payment(make_payment, cents)
    response = deliver(client, "checkout.session.completed", fake.pay(payment.provider_reference))
    assert response.status_code == 200 and response.json() == {"outcome": "open -> paid"}, response.text
    return payment


def subscription_payment(client: TestClient, session: Session, fake: StripeFake, cents: int = 100000) -> Payment:
    """A yearly subscription whose first payment went through checkout and is paid."""
    payment = create_payment(session, purpose=TEST_PURPOSE, purpose_id=uuid.uuid4(), amount_cents=cents,
                             description="Jaarlidmaatschap", provider=ProviderName.STRIPE, recurring=True,
                             payer_email="lid@example.org")
    paid = fake.pay(payment.provider_reference, method="ideal")
    assert deliver(client, "checkout.session.completed", paid).status_code == 200
    return payment


# -- checkout --------------------------------------------------------------------------------------------


def test_create_payment_sends_a_form_encoded_checkout_session_keyed_on_the_payment(session, fake,
                                                                                   make_payment) -> None:
    payment = stripe_payment(make_payment, 2500)

    [call] = fake.calls
    assert (call.method, call.path) == ("POST", "/v1/checkout/sessions")
    assert call.header("Content-Type") == "application/x-www-form-urlencoded"
    assert call.header("Idempotency-Key") == f"payment:{payment.id}:checkout"
    assert call.header("Stripe-Version") == stripe.api_version
    assert call.header("Authorization") == f"Bearer {KEY}"
    form = call.form
    assert form["mode"] == "payment"
    assert form["line_items[0][quantity]"] == "1"
    assert form["line_items[0][price_data][unit_amount]"] == "2500"
    assert form["line_items[0][price_data][currency]"] == "eur"
    assert form["line_items[0][price_data][product_data][name]"] == "Bijdrage buurtmoestuin"
    assert "line_items[0][price_data][recurring][interval]" not in form
    assert [form["allowed_payment_method_types[0]"], form["allowed_payment_method_types[1]"]] == ["card", "ideal"]
    assert "allowed_payment_method_types[2]" not in form
    assert form["client_reference_id"] == str(payment.id)
    assert form["metadata[payment_id]"] == str(payment.id)
    assert form["metadata[purpose]"] == TEST_PURPOSE
    assert form["metadata[purpose_id]"] == str(payment.purpose_id)
    assert form["payment_intent_data[metadata][payment_id]"] == str(payment.id)
    assert form["success_url"] == form["cancel_url"] == f"{PUBLIC_URL}/payments/{payment.id}/return"
    assert form["customer_email"] == "bewoner@example.org"

    stored = get_payment(session, payment_id=payment.id)
    assert stored.status is PaymentStatus.OPEN
    assert stored.provider_reference.startswith("cs_")
    assert stored.checkout_url == fake.get(stored.provider_reference)["url"]
    assert stored.checkout_url.startswith("https://checkout.stripe.com/c/pay/cs_")


def test_a_recurring_payment_is_a_yearly_subscription_that_may_use_sepa(session, fake) -> None:
    payment = create_payment(session, purpose=TEST_PURPOSE, purpose_id=uuid.uuid4(), amount_cents=100000,
                             description="Jaarlidmaatschap", provider=ProviderName.STRIPE, recurring=True)
    [call] = fake.requests_to("POST", "/v1/checkout/sessions")
    form = call.form
    assert form["mode"] == "subscription"
    assert form["line_items[0][price_data][unit_amount]"] == "100000"
    assert form["line_items[0][price_data][recurring][interval]"] == "year"
    assert [v for k, v in sorted(form.items()) if k.startswith("allowed_payment_method_types")] == [
        "card", "ideal", "sepa_debit"]
    assert form["subscription_data[metadata][purpose]"] == TEST_PURPOSE
    assert form["subscription_data[metadata][purpose_id]"] == str(payment.purpose_id)
    assert form["metadata[payment_id]"] == str(payment.id)
    assert "customer_email" not in form and "payment_intent_data[metadata][payment_id]" not in form
    assert payment.recurring and fake.get(payment.provider_reference)["mode"] == "subscription"


def test_a_retried_checkout_gets_the_same_session(fake) -> None:
    request = CheckoutRequest(
        payment_id=uuid.uuid4(), reference="KR00000001", amount_cents=9900, description="Lidmaatschap",
        return_url=f"{PUBLIC_URL}/return", webhook_url=f"{PUBLIC_URL}{WEBHOOK}", idempotency_key="payment:x:checkout")
    first = stripe_provider().create_checkout(request)
    again = stripe_provider().create_checkout(request)
    assert again == first
    assert sum(1 for o in fake.objects.values() if o["object"] == "checkout.session") == 1
    calls = fake.requests_to("POST", "/v1/checkout/sessions")
    assert [c.header("Idempotency-Key") for c in calls] == ["payment:x:checkout"] * 2


@pytest.mark.parametrize(("ours", "theirs", "recurring"), [("ideal", "ideal", False), ("creditcard", "card", False),
                                                           ("sepa_debit", "sepa_debit", True)])
def test_a_chosen_method_is_the_only_one_offered(session, fake, ours, theirs, recurring) -> None:
    create_payment(session, purpose=TEST_PURPOSE, purpose_id=uuid.uuid4(), amount_cents=500, description="x",
                   provider=ProviderName.STRIPE, method=ours, recurring=recurring)
    [call] = fake.calls
    assert [v for k, v in call.form.items() if k.startswith("allowed_payment_method_types")] == [theirs]


@pytest.mark.parametrize("method", ["bitcoin", "sepa_debit"])  # SEPA only for subscriptions
def test_a_method_stripe_does_not_offer_here_is_refused_before_stripe_is_called(session, fake, method) -> None:
    with pytest.raises(InvalidInput) as refused, session.begin_nested():
        create_payment(session, purpose=TEST_PURPOSE, purpose_id=uuid.uuid4(), amount_cents=500, description="x",
                       provider=ProviderName.STRIPE, method=method)
    assert refused.value.field == "method"
    assert fake.calls == []


@pytest.mark.parametrize("failure", ["500 api_error", "400 invalid request", "connection refused"])
def test_stripe_failing_on_create_is_a_502_and_nothing_is_written(session, fake, make_payment, failure,
                                                                  monkeypatch) -> None:
    if failure == "500 api_error":
        fake.fail("POST", "/v1/checkout/sessions", 500, "error_api_500")
    elif failure == "400 invalid request":
        fake.fail("POST", "/v1/checkout/sessions", 400, "error_invalid_request")
    else:
        monkeypatch.setenv("KRACHT_STRIPE_API_BASE", f"http://127.0.0.1:{closed_port()}")
        get_settings.cache_clear()
    count = select(func.count()).select_from(Payment)
    before = session.exec(count).one()

    # As in a request: the service's error rolls back the transaction that wrote the payment row.
    with pytest.raises(ProviderUnavailable) as failed, session.begin_nested():
        stripe_payment(make_payment)

    assert failed.value.status == 502 and failed.value.field == "provider"
    assert failed.value.message.startswith("stripe: ")
    assert KEY not in failed.value.message
    assert session.exec(count).one() == before
    if failure != "connection refused":
        assert len(fake.calls) == 1  # no retries in tests (and none sleeping)


def test_errors_never_show_the_key(fake) -> None:
    request = CheckoutRequest(
        payment_id=uuid.uuid4(), reference="KR00000003", amount_cents=100, description="x",
        return_url=f"{PUBLIC_URL}/return", webhook_url=f"{PUBLIC_URL}{WEBHOOK}", idempotency_key="k3")
    echo = {"error": {"type": "invalid_request_error", "code": "parameter_invalid",
                      "message": f"Something about {KEY} went wrong"}}
    fake.fail("POST", "/v1/checkout/sessions", 400, echo)
    with pytest.raises(ProviderError) as refused:
        stripe_provider().create_checkout(request)
    assert KEY not in str(refused.value) and "[key]" in str(refused.value) and "400" in str(refused.value)

    fake.fail("POST", "/v1/checkout/sessions", 401,
              {"error": {"type": "invalid_request_error", "message": f"Invalid API Key provided: {KEY}"}})
    with pytest.raises(ProviderError) as unauthorised:
        stripe_provider().create_checkout(request)
    assert KEY not in str(unauthorised.value) and "KRACHT_STRIPE_API_KEY" in str(unauthorised.value)


def test_a_test_key_is_refused_in_production(fake, monkeypatch) -> None:
    monkeypatch.setenv("KRACHT_ENV", "production")
    get_settings.cache_clear()
    request = CheckoutRequest(
        payment_id=uuid.uuid4(), reference="KR00000004", amount_cents=100, description="x",
        return_url=f"{PUBLIC_URL}/return", webhook_url=f"{PUBLIC_URL}{WEBHOOK}", idempotency_key="k4")
    with pytest.raises(ProviderError, match="test key"):
        stripe_provider().create_checkout(request)
    assert fake.calls == []


# -- webhooks: signature and payload -----------------------------------------------------------------------


def test_a_paid_checkout_books_one_entry_and_a_replay_changes_nothing(client, session, fake, make_payment,
                                                                      purpose) -> None:
    payment = stripe_payment(make_payment, 2500)
    payload = event("checkout.session.completed", fake.pay(payment.provider_reference))
    header = {"Stripe-Signature": sign(payload, SECRET)}

    first = client.post(WEBHOOK, content=payload, headers=header)

    assert first.status_code == 200, first.text
    assert first.json() == {"outcome": "open -> paid"}
    paid = get_payment(session, payment_id=payment.id)
    assert paid.status is PaymentStatus.PAID and paid.paid_at is not None
    assert [e.idempotency_key for e in entries_for(session, payment.id)] == [f"payment:{payment.id}:paid"]
    assert balance(session, account=STRIPE, payment_id=payment.id) == 2500
    assert balance(session, account=AccountCode.PLEDGES_HELD, project_id=payment.purpose_id) == -2500
    assert purpose.calls == [("paid", payment.id, 2500)]
    [inbox] = events_for(session, payment.id)
    assert inbox.kind == "checkout.session.completed" and inbox.handled_at is not None
    assert inbox.external_id == json.loads(payload)["id"] and inbox.raw == payload
    before = state(session, payment.id)

    again = client.post(WEBHOOK, content=payload, headers=header)

    assert again.status_code == 200 and again.json() == {"outcome": "duplicate"}
    assert state(session, payment.id) == before
    assert purpose.calls == [("paid", payment.id, 2500)]


@pytest.mark.parametrize("attack", ["tampered body", "wrong secret", "stale timestamp", "missing header",
                                    "garbage header", "other scheme"])
def test_an_unverifiable_signature_is_401_and_changes_nothing(client, session, fake, make_payment, attack) -> None:
    payment = stripe_payment(make_payment)
    payload = event("checkout.session.completed", fake.pay(payment.provider_reference))
    header: dict[str, str] = {"Stripe-Signature": sign(payload, SECRET)}
    if attack == "tampered body":
        payload = payload.replace('"amount_total":2500', '"amount_total":1')
        assert '"amount_total":1,' in payload
    elif attack == "wrong secret":
        header = {"Stripe-Signature": sign(payload, "whsec_test_someone_else")}
    elif attack == "stale timestamp":
        header = {"Stripe-Signature": sign(payload, SECRET, timestamp=int(time.time()) - 301)}
    elif attack == "missing header":
        header = {}
    elif attack == "garbage header":
        header = {"Stripe-Signature": "t=yesterday,v1=00"}
    else:
        header = {"Stripe-Signature": header["Stripe-Signature"].replace("v1=", "v0=")}
    before = state(session, payment.id)

    response = client.post(WEBHOOK, content=payload, headers=header)

    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert state(session, payment.id) == before
    assert SECRET not in response.text


def test_a_signature_just_inside_the_tolerance_is_accepted(client, session, fake, make_payment) -> None:
    payment = stripe_payment(make_payment)
    response = deliver(client, "checkout.session.completed", fake.pay(payment.provider_reference),
                       timestamp=int(time.time()) - 290)
    assert response.status_code == 200
    assert get_payment(session, payment_id=payment.id).status is PaymentStatus.PAID


@pytest.mark.parametrize("body", ["not json at all", "[1, 2, 3]", '"evt_1"', '{"id": "evt_1"}',
                                  '{"object": "event", "id": "evt_1", "type": "x", "data": []}'])
def test_a_signed_body_that_is_not_an_event_is_400(client, session, fake, body) -> None:
    before = event_count(session)
    response = client.post(WEBHOOK, content=body, headers={"Stripe-Signature": sign(body, SECRET)})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert event_count(session) == before


def test_a_body_that_is_not_utf8_is_400(client, fake) -> None:
    response = client.post(WEBHOOK, content=b"\xff\xfe{}", headers={"Stripe-Signature": "t=1,v1=00"})
    assert response.status_code == 400


@pytest.mark.parametrize("configured", ["api key only", "placeholder secret", "nothing"])
def test_without_a_webhook_secret_the_webhook_is_404(client, session, monkeypatch, configured) -> None:
    monkeypatch.delenv("KRACHT_STRIPE_WEBHOOK_SECRET", raising=False)
    monkeypatch.delenv("KRACHT_STRIPE_API_KEY", raising=False)
    if configured != "nothing":
        monkeypatch.setenv("KRACHT_STRIPE_API_KEY", KEY)
    if configured == "placeholder secret":
        monkeypatch.setenv("KRACHT_STRIPE_WEBHOOK_SECRET", "changeme")
    get_settings.cache_clear()
    try:
        payload = event("checkout.session.completed", load("checkout_session_payment"))
        before = event_count(session)
        response = client.post(WEBHOOK, content=payload, headers={"Stripe-Signature": sign(payload, SECRET)})
        assert response.status_code == 404, response.text
        assert event_count(session) == before
    finally:
        get_settings.cache_clear()


# -- webhooks: the payment's life ----------------------------------------------------------------------------


def test_sepa_completes_unpaid_then_the_async_success_pays(client, session, fake, make_payment, purpose) -> None:
    payment = stripe_payment(make_payment, 4000)
    completed = deliver(client, "checkout.session.completed", fake.complete_unpaid(payment.provider_reference))
    assert completed.json() == {"outcome": "open -> pending"}
    assert get_payment(session, payment_id=payment.id).status is PaymentStatus.PENDING
    assert entries_for(session, payment.id) == []

    succeeded = deliver(client, "checkout.session.async_payment_succeeded",
                        fake.pay(payment.provider_reference, method="sepa_debit"))

    assert succeeded.json() == {"outcome": "pending -> paid"}
    assert get_payment(session, payment_id=payment.id).status is PaymentStatus.PAID
    assert balance(session, account=STRIPE, payment_id=payment.id) == 4000
    assert len(entries_for(session, payment.id)) == 1
    assert purpose.calls == [("paid", payment.id, 4000)]


def test_an_async_failure_fails_the_payment_and_books_nothing(client, session, fake, make_payment,
                                                             purpose) -> None:
    payment = stripe_payment(make_payment)
    unpaid = fake.complete_unpaid(payment.provider_reference)
    deliver(client, "checkout.session.completed", unpaid)
    response = deliver(client, "checkout.session.async_payment_failed", unpaid)
    assert response.json() == {"outcome": "pending -> failed"}
    assert get_payment(session, payment_id=payment.id).status is PaymentStatus.FAILED
    assert entries_for(session, payment.id) == []
    assert purpose.calls == [("failed", payment.id, 0)]


def test_a_completed_after_expired_is_recorded_and_ignored(client, session, fake, make_payment, purpose) -> None:
    payment = stripe_payment(make_payment)
    expired = deliver(client, "checkout.session.expired", fake.expire(payment.provider_reference))
    assert expired.json() == {"outcome": "open -> expired"}

    late = deliver(client, "checkout.session.completed", {**fake.get(payment.provider_reference),
                                                          "status": "complete", "payment_status": "paid"})

    assert late.status_code == 200 and late.json() == {"outcome": "no change"}
    assert get_payment(session, payment_id=payment.id).status is PaymentStatus.EXPIRED
    assert entries_for(session, payment.id) == []
    assert [e.kind for e in events_for(session, payment.id)] == ["checkout.session.expired",
                                                                 "checkout.session.completed"]
    assert all(e.handled_at is not None for e in events_for(session, payment.id))
    assert purpose.calls == [("expired", payment.id, 0)]


def test_a_failure_arriving_after_paid_is_ignored(client, session, fake, make_payment, purpose) -> None:
    payment = paid_payment(client, fake, make_payment)
    before = state(session, payment.id)
    response = deliver(client, "checkout.session.async_payment_failed", fake.get(payment.provider_reference))
    assert response.json() == {"outcome": "ignored paid -> failed (not allowed)"}
    after = state(session, payment.id)
    assert after[:5] == before[:5] and after[5] == before[5] + 1  # recorded, nothing else
    assert purpose.calls == [("paid", payment.id, 2500)]


def test_an_event_about_a_session_we_do_not_know_is_recorded_only(client, session, fake) -> None:
    stranger = {**load("checkout_session_payment"), "id": new_id("cs_test_"), "payment_status": "paid"}
    before = event_count(session)
    response = deliver(client, "checkout.session.completed", stranger)
    assert response.status_code == 200 and response.json() == {"outcome": "no matching payment"}
    assert event_count(session) == before + 1


def test_partial_then_full_refunds_reverse_exactly_what_went_back(client, session, fake, make_payment,
                                                                  purpose) -> None:
    payment = paid_payment(client, fake, make_payment, 5000)
    charge_id = fake.charge_of(payment.provider_reference)["id"]

    partial = deliver(client, "charge.refunded", fake.refund_charge(charge_id, 1200))

    assert partial.status_code == 200, partial.text
    assert partial.json() == {"outcome": "refund 1200 cents; paid -> partially_refunded"}
    [lookup] = fake.requests_to("GET", "/v1/checkout/sessions")
    assert lookup.query["payment_intent"] == [fake.get(charge_id)["payment_intent"]]
    assert lookup.query["limit"] == ["1"]
    assert get_payment(session, payment_id=payment.id).refunded_cents == 1200
    assert balance(session, account=STRIPE, payment_id=payment.id) == 3800

    full = deliver(client, "charge.refunded", fake.refund_charge(charge_id, 5000))  # cumulative

    assert full.json() == {"outcome": "refund 3800 cents; partially_refunded -> refunded"}
    refunded = get_payment(session, payment_id=payment.id)
    assert refunded.status is PaymentStatus.REFUNDED and refunded.refunded_cents == 5000
    assert balance(session, account=STRIPE, payment_id=payment.id) == 0
    assert balance(session, account=AccountCode.PLEDGES_HELD, project_id=payment.purpose_id) == 0
    assert [e.idempotency_key for e in entries_for(session, payment.id)] == [
        f"payment:{payment.id}:paid", f"payment:{payment.id}:refunded_cents:1200",
        f"payment:{payment.id}:refunded_cents:5000"]
    assert purpose.calls == [("paid", payment.id, 5000), ("refunded", payment.id, 1200),
                             ("refunded", payment.id, 3800)]

    # A late copy of the first refund event (another event id, the smaller total) books nothing.
    late = {**fake.get(charge_id), "amount_refunded": 1200}
    assert deliver(client, "charge.refunded", late).json() == {"outcome": "no change"}
    assert len(entries_for(session, payment.id)) == 3


def test_a_refund_event_stripe_cannot_resolve_now_is_503_and_redelivered(client, session, fake,
                                                                          make_payment) -> None:
    payment = paid_payment(client, fake, make_payment, 3000)
    charge = fake.refund_charge(fake.charge_of(payment.provider_reference)["id"], 3000)
    payload = event("charge.refunded", charge)
    header = {"Stripe-Signature": sign(payload, SECRET)}
    fake.fail("GET", "/v1/checkout/sessions", 500, "error_api_500")
    before = state(session, payment.id)

    response = client.post(WEBHOOK, content=payload, headers=header)

    assert response.status_code == 503, response.text
    assert state(session, payment.id) == before
    fake.heal()
    assert client.post(WEBHOOK, content=payload, headers=header).status_code == 200
    assert get_payment(session, payment_id=payment.id).status is PaymentStatus.REFUNDED


def test_a_dispute_charges_the_payment_back(client, session, fake, make_payment, purpose) -> None:
    payment = paid_payment(client, fake, make_payment, 4000)
    charge_id = fake.charge_of(payment.provider_reference)["id"]
    dispute = fake.dispute(charge_id, 4000)

    response = deliver(client, "charge.dispute.created", dispute)

    assert response.status_code == 200, response.text
    charged = get_payment(session, payment_id=payment.id)
    assert charged.status is PaymentStatus.CHARGED_BACK and charged.charged_back_cents == 4000
    assert balance(session, account=STRIPE, payment_id=payment.id) == 0
    assert purpose.calls[-1] == ("chargeback", payment.id, 4000)
    before = state(session, payment.id)
    assert deliver(client, "charge.dispute.funds_withdrawn", dispute).json() == {"outcome": "no change"}
    assert state(session, payment.id)[:5] == before[:5]


def test_a_dispute_naming_only_the_charge_is_resolved_through_it(client, session, fake, make_payment) -> None:
    payment = paid_payment(client, fake, make_payment, 4000)
    dispute = {**fake.dispute(fake.charge_of(payment.provider_reference)["id"], 1500), "payment_intent": None}
    assert deliver(client, "charge.dispute.created", dispute).status_code == 200
    assert len(fake.requests_to("GET", f"/v1/charges/{dispute['charge']}")) == 1
    assert get_payment(session, payment_id=payment.id).charged_back_cents == 1500


def test_an_inquiry_moves_no_money(client, session, fake, make_payment) -> None:
    payment = paid_payment(client, fake, make_payment)
    inquiry = fake.dispute(fake.charge_of(payment.provider_reference)["id"], 2500, status="warning_needs_response")
    response = deliver(client, "charge.dispute.created", inquiry)
    assert response.json() == {"outcome": "not acted on"}
    assert get_payment(session, payment_id=payment.id).status is PaymentStatus.PAID


# -- subscriptions -----------------------------------------------------------------------------------------


def test_a_renewal_becomes_one_new_paid_payment_however_often_it_is_delivered(client, session, fake,
                                                                             purpose) -> None:
    first = subscription_payment(client, session, fake)
    subscription_id = fake.get(first.provider_reference)["subscription"]
    invoice = fake.renewal(subscription_id, 100000, {"payment_id": str(first.id), "purpose": TEST_PURPOSE,
                                                     "purpose_id": str(first.purpose_id)})
    payload = event("invoice.paid", invoice)
    header = {"Stripe-Signature": sign(payload, SECRET)}

    responses = [client.post(WEBHOOK, content=payload, headers=header) for _ in range(2)]
    other_delivery = deliver(client, "invoice.paid", invoice)  # same invoice, another event id

    assert [r.json()["outcome"] for r in responses] == ["renewal: open -> paid", "duplicate"]
    assert other_delivery.json()["outcome"].startswith("renewal already recorded")
    [renewal] = session.exec(select(Payment).where(Payment.provider_reference == invoice["id"])).all()
    assert renewal.recurring and renewal.status is PaymentStatus.PAID and renewal.id != first.id
    assert renewal.provider is ProviderName.STRIPE
    assert renewal.provider_subscription_id == subscription_id
    assert (renewal.purpose, renewal.purpose_id, renewal.amount_cents) == (TEST_PURPOSE, first.purpose_id, 100000)
    assert renewal.description.startswith("1 × Jaarlidmaatschap")
    assert [e.idempotency_key for e in entries_for(session, renewal.id)] == [f"payment:{renewal.id}:paid"]
    assert balance(session, account=STRIPE, payment_id=renewal.id) == 100000
    assert purpose.calls == [("paid", first.id, 100000), ("paid", renewal.id, 100000)]


def test_the_first_invoice_of_a_subscription_is_recorded_but_booked_through_checkout(client, session,
                                                                                    fake) -> None:
    first = subscription_payment(client, session, fake)
    invoice = fake.get(fake.get(first.provider_reference)["invoice"])
    assert invoice["billing_reason"] == "subscription_create"
    before = state(session, first.id)
    payments = session.exec(select(func.count()).select_from(Payment)).one()

    response = deliver(client, "invoice.paid", invoice)

    assert response.status_code == 200 and response.json() == {"outcome": "not acted on"}
    assert session.exec(select(func.count()).select_from(Payment)).one() == payments
    assert state(session, first.id)[:5] == before[:5]
    assert get_payment(session, payment_id=first.id).status is PaymentStatus.PAID


def test_a_failed_renewal_is_recorded_only(client, session, fake) -> None:
    first = subscription_payment(client, session, fake)
    subscription_id = fake.get(first.provider_reference)["subscription"]
    invoice = fake.renewal(subscription_id, 100000, {"purpose": TEST_PURPOSE, "purpose_id": str(first.purpose_id)})
    failed = {**invoice, "status": "open", "amount_paid": 0, "amount_remaining": 100000}
    payments = session.exec(select(func.count()).select_from(Payment)).one()
    before = event_count(session)
    response = deliver(client, "invoice.payment_failed", failed)
    assert response.status_code == 200 and response.json() == {"outcome": "not acted on"}
    assert session.exec(select(func.count()).select_from(Payment)).one() == payments
    assert event_count(session) == before + 1


def test_a_deletion_before_the_renewal_is_recorded_and_the_renewal_still_booked(client, session, fake,
                                                                                 purpose) -> None:
    subscription_id = new_id("sub_test_")
    purpose_id = uuid.uuid4()
    invoice = fake.renewal(subscription_id, 9900, {"purpose": TEST_PURPOSE, "purpose_id": str(purpose_id)})

    deleted = deliver(client, "customer.subscription.deleted", fake.subscription_deleted(subscription_id))
    paid = deliver(client, "invoice.paid", invoice)

    assert deleted.status_code == 200 and deleted.json() == {"outcome": "unknown subscription"}
    assert paid.status_code == 200 and paid.json() == {"outcome": "renewal: open -> paid"}
    [renewal] = session.exec(select(Payment).where(Payment.provider_subscription_id == subscription_id)).all()
    assert renewal.amount_cents == 9900 and renewal.status is PaymentStatus.PAID
    assert balance(session, account=STRIPE, payment_id=renewal.id) == 9900
    kinds = session.exec(select(ProviderEvent.kind).where(ProviderEvent.provider == ProviderName.STRIPE)
                         .order_by(ProviderEvent.received_at)).all()
    assert kinds[-2:] == ["customer.subscription.deleted", "invoice.paid"]

    # Now the subscription is known: a deletion reaches the purpose.
    again = deliver(client, "customer.subscription.deleted", fake.subscription_deleted(subscription_id))
    assert again.json() == {"outcome": "subscription ended"}


def test_a_renewal_without_our_purpose_is_recorded_only(client, session, fake) -> None:
    invoice = fake.renewal(new_id("sub_test_"), 9900, {"something": "else"})
    payments = session.exec(select(func.count()).select_from(Payment)).one()
    response = deliver(client, "invoice.paid", invoice)
    assert response.json() == {"outcome": "not acted on"}
    assert session.exec(select(func.count()).select_from(Payment)).one() == payments


def test_a_refund_of_a_renewal_is_resolved_through_its_invoice(client, session, fake) -> None:
    purpose_id = uuid.uuid4()
    invoice = fake.renewal(new_id("sub_test_"), 9900, {"purpose": TEST_PURPOSE, "purpose_id": str(purpose_id)})
    deliver(client, "invoice.paid", invoice)
    [renewal] = session.exec(select(Payment).where(Payment.provider_reference == invoice["id"])).all()
    [entry] = [o for o in fake.objects.values() if o["object"] == "invoice_payment" and o["invoice"] == invoice["id"]]
    intent = fake.get(entry["payment"]["payment_intent"])

    response = deliver(client, "charge.refunded", fake.refund_charge(intent["latest_charge"], 9900))

    assert response.status_code == 200, response.text
    assert get_payment(session, payment_id=renewal.id).status is PaymentStatus.REFUNDED
    assert balance(session, account=STRIPE, payment_id=renewal.id) == 0


def test_a_refund_of_a_first_subscription_payment_is_resolved_to_its_session(client, session, fake) -> None:
    first = subscription_payment(client, session, fake, 100000)
    checkout = fake.get(first.provider_reference)
    [entry] = [o for o in fake.objects.values() if o["object"] == "invoice_payment"
               and o["invoice"] == checkout["invoice"]]
    charge_id = fake.get(entry["payment"]["payment_intent"])["latest_charge"]
    assert deliver(client, "charge.refunded", fake.refund_charge(charge_id, 25000)).status_code == 200
    assert get_payment(session, payment_id=first.id).refunded_cents == 25000


def test_the_first_payment_remembers_its_subscription(client, session, fake) -> None:
    first = subscription_payment(client, session, fake)
    subscription_id = fake.get(first.provider_reference)["subscription"]
    assert get_payment(session, payment_id=first.id).provider_subscription_id == subscription_id
    response = deliver(client, "customer.subscription.deleted", fake.subscription_deleted(subscription_id))
    assert response.json() == {"outcome": "subscription ended"}


def test_the_provider_reports_the_subscription_of_a_completed_checkout(fake) -> None:
    checkout = {**load("checkout_session_subscription"), "status": "complete", "payment_status": "paid",
                "subscription": "sub_test_123"}
    payload = event("checkout.session.completed", checkout)
    parsed = stripe_provider().parse_webhook(payload.encode(), sign(payload, SECRET))
    assert parsed.provider_reference == checkout["id"] and parsed.snapshot is not None
    assert parsed.snapshot.status is PaymentStatus.PAID
    assert parsed.snapshot.subscription_id == "sub_test_123"


def test_any_other_event_is_recorded_and_not_acted_on(client, session, fake) -> None:
    before = event_count(session)
    response = deliver(client, "payout.paid", {"id": "po_test_1", "object": "payout", "amount": 100})
    assert response.status_code == 200 and response.json() == {"outcome": "not acted on"}
    assert event_count(session) == before + 1


# -- refunds through the API -------------------------------------------------------------------------------


def test_a_pending_refund_moves_the_ledger_only_when_the_charge_shows_it(client, session, fake, make_payment,
                                                                         auth_headers, purpose) -> None:
    payment = paid_payment(client, fake, make_payment, 5000)
    charge_id = fake.charge_of(payment.provider_reference)["id"]
    fake.refund_status = "pending"

    response = client.post(f"/api/v1/payments/{payment.id}/refund", json={"amount_cents": 2000},
                           headers=auth_headers(Role.TREASURER))

    assert response.status_code == 201, response.text
    assert response.json()["status"] == "pending" and response.json()["amount_cents"] == 2000
    [call] = fake.requests_to("POST", "/v1/refunds")
    refund = session.get(Refund, uuid.UUID(response.json()["id"]))
    assert call.form["payment_intent"] == fake.get(charge_id)["payment_intent"]
    assert call.form["amount"] == "2000"
    assert call.header("Idempotency-Key") == f"refund-{refund.id}"
    assert refund.provider_reference.startswith("re_")
    assert get_payment(session, payment_id=payment.id).status is PaymentStatus.PAID
    assert balance(session, account=STRIPE, payment_id=payment.id) == 5000
    assert len(entries_for(session, payment.id)) == 1

    webhook = deliver(client, "charge.refunded", fake.refund_charge(charge_id, 2000))

    assert webhook.status_code == 200
    assert get_payment(session, payment_id=payment.id).status is PaymentStatus.PARTIALLY_REFUNDED
    assert balance(session, account=STRIPE, payment_id=payment.id) == 3000
    session.refresh(refund)
    assert refund.status is RefundStatus.REFUNDED
    assert purpose.calls[-1] == ("refunded", payment.id, 2000)


def test_a_refund_that_succeeds_at_once_is_booked_once(client, session, fake, make_payment, auth_headers) -> None:
    payment = paid_payment(client, fake, make_payment, 5000)
    charge_id = fake.charge_of(payment.provider_reference)["id"]
    fake.refund_status = "succeeded"

    response = client.post(f"/api/v1/payments/{payment.id}/refund", json={}, headers=auth_headers(Role.TREASURER))

    assert response.status_code == 201 and response.json()["status"] == "refunded"
    assert fake.requests_to("POST", "/v1/refunds")[0].form["amount"] == "5000"
    assert balance(session, account=STRIPE, payment_id=payment.id) == 0
    assert deliver(client, "charge.refunded", fake.refund_charge(charge_id, 5000)).json() == {"outcome": "no change"}
    assert len(entries_for(session, payment.id)) == 2


@pytest.mark.parametrize("refusal", ["failed", "canceled", "500"])
def test_a_refund_stripe_refuses_is_a_502_and_changes_nothing(client, session, fake, make_payment, auth_headers,
                                                              refusal) -> None:
    payment = paid_payment(client, fake, make_payment, 5000)
    if refusal == "500":
        fake.fail("POST", "/v1/refunds", 500, "error_api_500")
    else:
        fake.refund_status = refusal
    refunds_before = session.exec(select(func.count()).select_from(Refund)).one()

    response = client.post(f"/api/v1/payments/{payment.id}/refund", json={"amount_cents": 100},
                           headers=auth_headers(Role.TREASURER))

    assert response.status_code == 502, response.text
    assert KEY not in response.text
    assert session.exec(select(func.count()).select_from(Refund)).one() == refunds_before
    assert balance(session, account=STRIPE, payment_id=payment.id) == 5000


def test_a_renewal_is_refunded_through_the_payment_intent_of_its_invoice(client, session, fake,
                                                                         auth_headers) -> None:
    invoice = fake.renewal(new_id("sub_test_"), 9900, {"purpose": TEST_PURPOSE, "purpose_id": str(uuid.uuid4())})
    deliver(client, "invoice.paid", invoice)
    [renewal] = session.exec(select(Payment).where(Payment.provider_reference == invoice["id"])).all()
    response = client.post(f"/api/v1/payments/{renewal.id}/refund", json={}, headers=auth_headers(Role.TREASURER))
    assert response.status_code == 201, response.text
    [entry] = [o for o in fake.objects.values() if o["object"] == "invoice_payment" and o["invoice"] == invoice["id"]]
    assert fake.requests_to("POST", "/v1/refunds")[0].form["payment_intent"] == entry["payment"]["payment_intent"]


# -- fetch and reconciliation ------------------------------------------------------------------------------


def test_fetch_follows_the_session_through_its_life(session, fake, make_payment) -> None:
    payment = stripe_payment(make_payment, 5000)
    reference = payment.provider_reference
    provider = stripe_provider()
    assert provider.fetch(reference) == ProviderSnapshot(reference, PaymentStatus.OPEN)
    fake.complete_unpaid(reference)
    assert provider.fetch(reference).status is PaymentStatus.PENDING
    fake.pay(reference, method="ideal")
    charge_id = fake.charge_of(reference)["id"]
    fake.refund_charge(charge_id, 700)
    fake.dispute(charge_id, 1000)
    fake.dispute(charge_id, 999, status="warning_closed")  # an inquiry: no money moved

    snapshot = provider.fetch(reference)

    assert (snapshot.status, snapshot.refunded_cents, snapshot.charged_back_cents, snapshot.method) == (
        PaymentStatus.PAID, 700, 1000, "ideal")
    [retrieve, *_] = fake.requests_to("GET", f"/v1/checkout/sessions/{reference}")
    assert retrieve.query["expand[0]"] == ["payment_intent.latest_charge"]
    other = stripe_payment(make_payment, 100)
    fake.expire(other.provider_reference)
    assert provider.fetch(other.provider_reference).status is PaymentStatus.EXPIRED


def test_fetch_of_unknown_or_foreign_ids_is_a_provider_error(fake) -> None:
    with pytest.raises(ProviderError, match="404"):
        stripe_provider().fetch("cs_test_unknown")
    with pytest.raises(ProviderError, match="not a Stripe"):
        stripe_provider().fetch("tr_mollie123")
    assert [c.path for c in fake.calls] == ["/v1/checkout/sessions/cs_test_unknown"]


def test_fetch_of_a_renewal_reads_its_invoice(client, session, fake) -> None:
    invoice = fake.renewal(new_id("sub_test_"), 9900, {"purpose": TEST_PURPOSE, "purpose_id": str(uuid.uuid4())})
    [entry] = [o for o in fake.objects.values() if o["object"] == "invoice_payment" and o["invoice"] == invoice["id"]]
    fake.refund_charge(fake.get(entry["payment"]["payment_intent"])["latest_charge"], 900)
    snapshot = stripe_provider().fetch(invoice["id"])
    assert (snapshot.status, snapshot.refunded_cents, snapshot.method) == (PaymentStatus.PAID, 900, "sepa_debit")


def test_reconciliation_learns_what_a_lost_webhook_would_have_said(session, fake, make_payment, purpose) -> None:
    from datetime import timedelta

    from coop.core.clock import frozen_clock, utc_now

    lost = stripe_payment(make_payment, 3000)
    fake.pay(lost.provider_reference)
    with frozen_clock(utc_now() + timedelta(minutes=31)):
        changes = reconcile(session, open_after=timedelta(minutes=30))
    mine = [(c.before, c.after) for c in changes if c.payment_id == lost.id]
    assert mine == [(PaymentStatus.OPEN, PaymentStatus.PAID)]
    assert balance(session, account=STRIPE, payment_id=lost.id) == 3000
    assert len(entries_for(session, lost.id)) == 1


# -- real concurrency (PostgreSQL) -----------------------------------------------------------------------

payments_t = Payment.__table__  # type: ignore[attr-defined]
events_t = ProviderEvent.__table__  # type: ignore[attr-defined]
entries_t = JournalEntry.__table__  # type: ignore[attr-defined]
postings_t = Posting.__table__  # type: ignore[attr-defined]
SERIES = ("payment_reference", JOURNAL_SERIES)


@pytest.mark.postgres_only
@pytest.mark.postgres_only
def test_ten_simultaneous_deliveries_of_one_signed_event_book_one_entry(database: Engine, fake, purpose,
                                                                        monkeypatch) -> None:
    overlap = {"now": 0, "most": 0}
    guard = threading.Lock()
    parse = StripeProvider.parse_webhook

    def counting_parse(self: StripeProvider, payload: bytes, signature: str | None) -> Any:
        with guard:
            overlap["now"] += 1
            overlap["most"] = max(overlap["most"], overlap["now"])
        try:
            time.sleep(0.05)  # let the others catch up: the deliveries must really overlap
            return parse(self, payload, signature)
        finally:
            with guard:
                overlap["now"] -= 1

    monkeypatch.setattr(StripeProvider, "parse_webhook", counting_parse)
    with database.connect() as connection:
        counters = dict(connection.execute(core_select(number_series.c.name, number_series.c.last_value)
                                           .where(number_series.c.name.in_(SERIES))).all())
    with unit_of_work(database) as setup:
        payment = create_payment(setup, purpose=TEST_PURPOSE, purpose_id=uuid.uuid4(), amount_cents=2500,
                                 description="Tien keer tegelijk", provider=ProviderName.STRIPE)
        payment_id, reference = payment.id, payment.provider_reference
    payload = event("checkout.session.completed", fake.pay(reference))
    event_id = json.loads(payload)["id"]
    header = {"Stripe-Signature": sign(payload, SECRET)}

    def committed_session() -> Iterator[Session]:
        # coop.core.db.get_session, on the test database: every request commits for real.
        with open_session(database) as request_session:
            try:
                yield request_session
            except Exception:
                request_session.rollback()
                raise
            else:
                request_session.commit()

    app = create_app()
    app.dependency_overrides[get_session] = committed_session
    try:
        barrier = threading.Barrier(10)
        results: list[Any] = [None] * 10
        with TestClient(app, raise_server_exceptions=False) as client:

            def webhook(index: int) -> None:
                try:
                    barrier.wait(timeout=30)
                    response = client.post(WEBHOOK, content=payload, headers=header)
                    results[index] = (response.status_code, response.json().get("outcome"))
                except Exception as error:
                    results[index] = error

            threads = [threading.Thread(target=webhook, args=(i,), name=f"stripe-webhook-{i}") for i in range(10)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
            assert not any(thread.is_alive() for thread in threads), "a webhook hung (deadlock?)"

        assert sorted(map(str, results)) == ["(200, 'duplicate')"] * 9 + ["(200, 'open -> paid')"], results
        assert overlap["most"] > 1, "the deliveries did not run at the same time"
        with unit_of_work(database) as check:
            assert get_payment(check, payment_id=payment_id).status is PaymentStatus.PAID
            assert [e.idempotency_key for e in entries_for(check, payment_id)] == [f"payment:{payment_id}:paid"]
            assert balance(check, account=STRIPE, payment_id=payment_id) == 2500
            [inbox] = events_for(check, payment_id)
            assert inbox.external_id == event_id and inbox.handled_at is not None
        assert purpose.calls == [("paid", payment_id, 2500)]
    finally:
        ours = core_select(entries_t.c.id).where(entries_t.c.idempotency_key.like(f"payment:{payment_id}:%"))
        with database.begin() as connection:
            connection.execute(delete(postings_t).where(postings_t.c.entry_id.in_(ours)))
            connection.execute(delete(entries_t).where(entries_t.c.idempotency_key.like(f"payment:{payment_id}:%")))
            connection.execute(delete(events_t).where((events_t.c.payment_id == payment_id)
                                                      | (events_t.c.external_id == event_id)))
            connection.execute(delete(payments_t).where(payments_t.c.id == payment_id))
            for name in SERIES:  # give the numbers back: the series are gap-free
                if name in counters:
                    connection.execute(update(number_series).where(number_series.c.name == name)
                                       .values(last_value=counters[name]))
                else:
                    connection.execute(delete(number_series).where(number_series.c.name == name))
        with unit_of_work(database) as after:
            assert global_sums(after) == (0, 0)
            assert after.get(Payment, payment_id) is None

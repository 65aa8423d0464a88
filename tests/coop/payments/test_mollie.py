"""Mollie with the real mollie-api-python client against a local fake of its API.

Checkout, webhooks (`id=tr_...` only, so the truth is always fetched), refunds,
chargebacks and subscriptions go through the same service and state machine as
every provider; the fake records what the SDK really sent over HTTP.
"""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, update
from sqlalchemy import select as core_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from coop.auth.models import Role
from coop.core.db import unit_of_work
from coop.core.errors import InvalidInput
from coop.core.sequences import number_series
from coop.core.settings import Settings, get_settings
from coop.ledger.chart import AccountCode
from coop.ledger.models import JournalEntry, Posting
from coop.ledger.queries import balance, global_sums
from coop.ledger.service import JOURNAL_SERIES
from coop.payments import service
from coop.payments.models import Payment, PaymentStatus, ProviderEvent, ProviderName, Refund, RefundStatus
from coop.payments.providers import ProviderError
from coop.payments.providers.mollie import MollieProvider
from coop.payments.schemas import CheckoutRequest
from coop.payments.service import ProviderUnavailable, create_payment, get_payment, receive_notification
from tests.coop.payments.conftest import TEST_PURPOSE, configured
from tests.coop.payments.mollie_fake import MollieFake

pytestmark = pytest.mark.usefixtures("purpose")

KEY = "test_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM"
PUBLIC_URL = "https://kracht.example"
WEBHOOK = "/api/v1/webhooks/mollie"
MOLLIE = AccountCode.MOLLIE_CLEARING


@pytest.fixture
def mollie() -> Iterator[MollieFake]:
    """A running fake Mollie API, and the settings pointing at it (restored and re-read afterwards)."""
    with MollieFake() as fake, configured(mollie_api_key=KEY, mollie_api_base=fake.base, public_url=PUBLIC_URL):
        yield fake


@pytest.fixture
def no_mollie() -> Iterator[None]:
    """Settings without any Mollie key."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("KRACHT_MOLLIE_API_KEY", raising=False)
        get_settings.cache_clear()
        try:
            yield
        finally:
            get_settings.cache_clear()
    get_settings.cache_clear()


def provider_with(fake: MollieFake, **overrides: Any) -> MollieProvider:
    """A provider on explicit settings (no environment involved)."""
    values: dict[str, Any] = {"mollie_api_key": KEY, "mollie_api_base": fake.base, "public_url": PUBLIC_URL}
    values.update(overrides)
    return MollieProvider(Settings(**values))


def entries_for(session: Session, payment_id: uuid.UUID) -> list[JournalEntry]:
    return list(session.exec(select(JournalEntry).where(JournalEntry.source_id == str(payment_id))
                             .order_by(JournalEntry.number)).all())


def events_for(session: Session, payment_id: uuid.UUID) -> list[ProviderEvent]:
    return list(session.exec(select(ProviderEvent).where(ProviderEvent.payment_id == payment_id)).all())


def deliver(client: TestClient, reference: str) -> Any:
    """Mollie's classic webhook: a form body with only the payment id."""
    return client.post(WEBHOOK, data={"id": reference})


def paid_mollie_payment(client: TestClient, mollie: MollieFake, make_payment: Any, cents: int = 2500) -> Payment:
    payment = make_payment(cents, provider=ProviderName.MOLLIE)
    mollie.set_payment(payment.provider_reference, "paid")
    assert deliver(client, payment.provider_reference).status_code == 200
    return payment


def closed_port() -> int:
    """A local port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- checkout --------------------------------------------------------------------------------------------


def test_create_payment_sends_the_amount_as_a_string_keyed_on_the_payment(session, mollie, make_payment) -> None:
    payment = make_payment(2500, provider=ProviderName.MOLLIE)

    [call] = mollie.requests_to("POST", "/v2/payments")
    assert call.body["amount"] == {"currency": "EUR", "value": "25.00"}
    assert isinstance(call.body["amount"]["value"], str)
    assert call.body["description"] == "Bijdrage buurtmoestuin"
    assert call.body["redirectUrl"] == f"{PUBLIC_URL}/payments/{payment.id}/return"
    assert call.body["webhookUrl"] == f"{PUBLIC_URL}{WEBHOOK}"
    assert call.body["metadata"] == {"payment_id": str(payment.id), "purpose": TEST_PURPOSE,
                                     "purpose_id": str(payment.purpose_id)}
    assert "method" not in call.body and "sequenceType" not in call.body
    assert call.header("Idempotency-Key") == f"payment:{payment.id}:checkout"
    assert call.header("Authorization") == f"Bearer {KEY}"
    assert call.header("Content-Type") == "application/json"

    stored = get_payment(session, payment_id=payment.id)
    assert stored.provider is ProviderName.MOLLIE and stored.status is PaymentStatus.OPEN
    assert stored.provider_reference.startswith("tr_")
    assert stored.provider_reference in mollie.payments
    assert stored.checkout_url == mollie.payments[stored.provider_reference]["_links"]["checkout"]["href"]
    assert stored.checkout_url.startswith("https://www.mollie.com/checkout/")


def test_a_retried_checkout_gets_the_same_mollie_payment(mollie) -> None:
    provider = provider_with(mollie)
    request = CheckoutRequest(
        payment_id=uuid.uuid4(), reference="KR00000001", amount_cents=9900, description="Lidmaatschap",
        return_url=f"{PUBLIC_URL}/return", webhook_url=f"{PUBLIC_URL}{WEBHOOK}", idempotency_key="payment:x:checkout")
    first = provider.create_checkout(request)
    again = provider.create_checkout(request)
    assert again == first
    assert len(mollie.payments) == 1
    calls = mollie.requests_to("POST", "/v2/payments")
    assert [c.header("Idempotency-Key") for c in calls] == ["payment:x:checkout"] * 2
    assert calls[0].body["amount"]["value"] == "99.00"


def test_a_bank_transfer_sends_the_payer_to_the_transfer_details(session, mollie) -> None:
    payment = create_payment(session, purpose=TEST_PURPOSE, purpose_id=uuid.uuid4(), amount_cents=100000,
                             description="Aandelen", provider=ProviderName.MOLLIE, method="banktransfer")
    [call] = mollie.requests_to("POST", "/v2/payments")
    assert call.body["method"] == "banktransfer" and call.body["amount"]["value"] == "1000.00"
    links = mollie.payments[payment.provider_reference]["_links"]
    assert "checkout" not in links
    assert payment.checkout_url == links["payOnline"]["href"]


@pytest.mark.parametrize(("ours", "theirs"), [("ideal", "ideal"), ("card", "creditcard"),
                                              ("creditcard", "creditcard"), ("bank_transfer", "banktransfer")])
def test_payment_methods_are_sent_as_mollie_ids(session, mollie, ours, theirs) -> None:
    create_payment(session, purpose=TEST_PURPOSE, purpose_id=uuid.uuid4(), amount_cents=500, description="x",
                   provider=ProviderName.MOLLIE, method=ours)
    [call] = mollie.requests_to("POST", "/v2/payments")
    assert call.body["method"] == theirs


def test_an_unknown_method_is_refused_naming_the_field_before_mollie_is_called(session, mollie) -> None:
    with pytest.raises(InvalidInput) as refused, session.begin_nested():
        create_payment(session, purpose=TEST_PURPOSE, purpose_id=uuid.uuid4(), amount_cents=500, description="x",
                       provider=ProviderName.MOLLIE, method="bitcoin")
    assert refused.value.field == "method"
    assert mollie.calls == []


def test_a_recurring_first_payment_creates_the_customer_first(session, mollie) -> None:
    payment = create_payment(session, purpose=TEST_PURPOSE, purpose_id=uuid.uuid4(), amount_cents=9900,
                             description="Lidmaatschap 2026", provider=ProviderName.MOLLIE, recurring=True,
                             payer_email="lid@example.org", method="ideal")
    assert [(c.method, c.path) for c in mollie.calls] == [("POST", "/v2/customers"), ("POST", "/v2/payments")]
    customer_call, payment_call = mollie.calls
    assert customer_call.body["email"] == "lid@example.org"
    assert customer_call.header("Idempotency-Key") == f"payment:{payment.id}:checkout:customer"
    [customer_id] = mollie.customers
    assert payment_call.body["customerId"] == customer_id
    assert payment_call.body["sequenceType"] == "first"
    assert payment_call.body["amount"] == {"currency": "EUR", "value": "99.00"}
    assert payment_call.body["method"] == "ideal"
    assert payment.recurring and payment.provider_reference.startswith("tr_")


def test_a_first_payment_for_a_known_customer_reuses_it(mollie) -> None:
    provider = provider_with(mollie)
    request = CheckoutRequest(
        payment_id=uuid.uuid4(), reference="KR00000002", amount_cents=9900, description="Lidmaatschap",
        return_url=f"{PUBLIC_URL}/return", webhook_url=f"{PUBLIC_URL}{WEBHOOK}", idempotency_key="k",
        recurring=True, metadata={"mollie_customer_id": "cst_known12345"})
    provider.create_checkout(request)
    [call] = mollie.calls
    assert call.path == "/v2/payments" and call.body["customerId"] == "cst_known12345"


@pytest.mark.parametrize("failure", ["503 error body", "502 html page", "401 bad key", "connection refused"])
def test_mollie_failing_on_create_is_a_502_and_nothing_is_written(session, mollie, make_payment, failure,
                                                                  monkeypatch) -> None:
    if failure == "503 error body":
        mollie.fail("POST", "/v2/payments", 503, "error_503")
    elif failure == "502 html page":
        mollie.fail("POST", "/v2/payments", 502, "<html><body>Bad gateway</body></html>")
    elif failure == "401 bad key":
        mollie.fail("POST", "/v2/payments", 401, "error_401")
    else:
        monkeypatch.setenv("KRACHT_MOLLIE_API_BASE", f"http://127.0.0.1:{closed_port()}")
        get_settings.cache_clear()
    count = select(func.count()).select_from(Payment)
    before = session.exec(count).one()

    # As in a request: the service's error rolls back the transaction that wrote the payment row.
    with pytest.raises(ProviderUnavailable) as failed, session.begin_nested():
        make_payment(2500, provider=ProviderName.MOLLIE)

    assert failed.value.status == 502 and failed.value.field == "provider"
    assert failed.value.message.startswith("mollie: ")
    assert KEY not in failed.value.message
    assert session.exec(count).one() == before


# -- webhooks --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("at_mollie", "ours"), [
    ("paid", PaymentStatus.PAID), ("failed", PaymentStatus.FAILED), ("canceled", PaymentStatus.CANCELED),
    ("expired", PaymentStatus.EXPIRED), ("pending", PaymentStatus.PENDING), ("open", PaymentStatus.OPEN),
    ("authorized", PaymentStatus.PENDING),
])
def test_a_webhook_fetches_the_payment_and_follows_mollie(client, session, mollie, make_payment, purpose,
                                                          at_mollie, ours) -> None:
    payment = make_payment(2500, provider=ProviderName.MOLLIE)
    reference = payment.provider_reference
    mollie.set_payment(reference, at_mollie)

    response = deliver(client, reference)

    assert response.status_code == 200, response.text
    assert response.json() == {"outcome": "received"}
    assert len(mollie.requests_to("GET", f"/v2/payments/{reference}")) == 1
    found = get_payment(session, payment_id=payment.id)
    assert found.status is ours
    entries = entries_for(session, payment.id)
    if ours is PaymentStatus.PAID:
        assert [e.idempotency_key for e in entries] == [f"payment:{payment.id}:paid"]
        assert balance(session, account=MOLLIE, payment_id=payment.id) == 2500
        assert balance(session, account=AccountCode.PLEDGES_HELD, project_id=payment.purpose_id) == -2500
        assert found.method == "ideal" and found.paid_at is not None
        assert purpose.calls == [("paid", payment.id, 2500)]
    else:
        assert entries == []
        assert balance(session, account=MOLLIE, payment_id=payment.id) == 0
        expected_calls = [(ours.value, payment.id, 0)] if at_mollie in ("failed", "canceled", "expired") else []
        assert purpose.calls == expected_calls


def test_the_same_webhook_twice_changes_nothing_the_second_time(client, session, mollie, make_payment,
                                                                 purpose) -> None:
    payment = make_payment(2500, provider=ProviderName.MOLLIE)
    mollie.set_payment(payment.provider_reference, "paid")
    for _ in range(2):
        assert deliver(client, payment.provider_reference).status_code == 200
    assert get_payment(session, payment_id=payment.id).status is PaymentStatus.PAID
    assert len(entries_for(session, payment.id)) == 1
    assert balance(session, account=MOLLIE, payment_id=payment.id) == 2500
    assert purpose.calls == [("paid", payment.id, 2500)]
    [event] = events_for(session, payment.id)
    assert event.external_id == f"{payment.provider_reference}:paid:0:0" and event.handled_at is not None
    assert event.raw == f"id={payment.provider_reference}"


@pytest.mark.parametrize("unknown", ["tr_unknown0001", "re_4qqhO89gsT", "x" * 64])
def test_an_unknown_id_gets_200_and_mollie_is_not_even_asked(client, session, mollie, make_payment,
                                                            unknown) -> None:
    payment = make_payment(2500, provider=ProviderName.MOLLIE)
    mollie.calls.clear()
    events_before = session.exec(select(func.count()).select_from(ProviderEvent)).one()

    response = deliver(client, unknown)

    assert response.status_code == 200
    assert mollie.calls == []
    assert session.exec(select(func.count()).select_from(ProviderEvent)).one() == events_before
    assert get_payment(session, payment_id=payment.id).status is PaymentStatus.OPEN


def test_a_late_failed_after_paid_is_ignored(client, session, mollie, make_payment, purpose) -> None:
    payment = paid_mollie_payment(client, mollie, make_payment)
    mollie.set_payment(payment.provider_reference, "failed")
    assert deliver(client, payment.provider_reference).status_code == 200
    found = get_payment(session, payment_id=payment.id)
    assert found.status is PaymentStatus.PAID
    assert len(entries_for(session, payment.id)) == 1
    assert balance(session, account=MOLLIE, payment_id=payment.id) == 2500
    assert purpose.calls == [("paid", payment.id, 2500)]
    outcomes = sorted(e.outcome for e in events_for(session, payment.id))
    assert outcomes == ["ignored paid -> failed (not allowed)", "open -> paid"]


def test_a_growing_amount_refunded_reverses_exactly_what_went_back(client, session, mollie, make_payment,
                                                                   purpose) -> None:
    payment = make_payment(2500, provider=ProviderName.MOLLIE)
    reference = payment.provider_reference
    mollie.set_payment(reference, "paid", refunded="0.00")
    deliver(client, reference)
    assert get_payment(session, payment_id=payment.id).status is PaymentStatus.PAID

    mollie.set_payment(reference, "paid", refunded="10.00")
    deliver(client, reference)
    partly = get_payment(session, payment_id=payment.id)
    assert partly.status is PaymentStatus.PARTIALLY_REFUNDED and partly.refunded_cents == 1000
    assert balance(session, account=MOLLIE, payment_id=payment.id) == 1500

    deliver(client, reference)  # the same totals again: nothing new
    mollie.set_payment(reference, "paid", refunded="25.00")
    deliver(client, reference)
    whole = get_payment(session, payment_id=payment.id)
    assert whole.status is PaymentStatus.REFUNDED and whole.refunded_cents == 2500
    assert balance(session, account=MOLLIE, payment_id=payment.id) == 0
    assert balance(session, account=AccountCode.PLEDGES_HELD, project_id=payment.purpose_id) == 0

    entries = entries_for(session, payment.id)
    assert [e.idempotency_key for e in entries] == [
        f"payment:{payment.id}:paid", f"payment:{payment.id}:refunded_cents:1000",
        f"payment:{payment.id}:refunded_cents:2500"]
    reversals = [session.exec(select(func.sum(Posting.amount_cents)).where(
        Posting.entry_id == e.id, Posting.amount_cents < 0)).one() for e in entries[1:]]
    assert reversals == [-1000, -1500]
    assert purpose.calls == [("paid", payment.id, 2500), ("refunded", payment.id, 1000),
                             ("refunded", payment.id, 1500)]


def test_amount_charged_back_marks_the_payment_charged_back(client, session, mollie, make_payment,
                                                             purpose) -> None:
    payment = paid_mollie_payment(client, mollie, make_payment)
    mollie.set_payment(payment.provider_reference, "paid", charged_back="25.00")
    for _ in range(2):
        assert deliver(client, payment.provider_reference).status_code == 200
    charged = get_payment(session, payment_id=payment.id)
    assert charged.status is PaymentStatus.CHARGED_BACK and charged.charged_back_cents == 2500
    assert balance(session, account=MOLLIE, payment_id=payment.id) == 0
    assert len(entries_for(session, payment.id)) == 2
    assert purpose.calls[-1] == ("chargeback", payment.id, 2500)


def test_without_a_mollie_key_the_webhook_is_404(no_mollie, client) -> None:
    response = deliver(client, "tr_WDqYK6vllg")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "mollie" in response.json()["detail"]


@pytest.mark.parametrize("failure", ["503", "connection refused"])
def test_mollie_failing_on_fetch_makes_mollie_retry_and_writes_nothing(client, session, mollie, make_payment,
                                                                       purpose, failure, monkeypatch) -> None:
    payment = make_payment(2500, provider=ProviderName.MOLLIE)
    mollie.set_payment(payment.provider_reference, "paid")
    if failure == "503":
        mollie.fail("GET", f"/v2/payments/{payment.provider_reference}", 503, "error_503")
    else:
        monkeypatch.setenv("KRACHT_MOLLIE_API_BASE", f"http://127.0.0.1:{closed_port()}")
        get_settings.cache_clear()

    response = deliver(client, payment.provider_reference)

    assert response.status_code == 502
    assert response.headers["content-type"] == "application/problem+json"
    assert KEY not in response.text
    assert get_payment(session, payment_id=payment.id).status is PaymentStatus.OPEN
    assert events_for(session, payment.id) == [] and entries_for(session, payment.id) == []
    assert purpose.calls == []

    monkeypatch.delenv("KRACHT_MOLLIE_API_BASE")
    monkeypatch.setenv("KRACHT_MOLLIE_API_BASE", mollie.base)
    get_settings.cache_clear()
    mollie.heal()
    assert deliver(client, payment.provider_reference).status_code == 200  # Mollie's retry
    assert get_payment(session, payment_id=payment.id).status is PaymentStatus.PAID


# -- refunds ---------------------------------------------------------------------------------------------


def test_a_refund_asks_mollie_and_books_only_when_the_payment_shows_it(client, session, mollie, make_payment,
                                                                       auth_headers) -> None:
    payment = paid_mollie_payment(client, mollie, make_payment)
    reference = payment.provider_reference

    response = client.post(f"/api/v1/payments/{payment.id}/refund", json={"amount_cents": 1000},
                           headers=auth_headers(Role.TREASURER))

    assert response.status_code == 201, response.text
    made = response.json()
    assert made["status"] == "pending" and made["amount_cents"] == 1000
    [call] = mollie.requests_to("POST", f"/v2/payments/{reference}/refunds")
    assert call.body == {"amount": {"currency": "EUR", "value": "10.00"}}
    assert call.header("Idempotency-Key") == f"refund-{made['id']}"
    refund = session.get(Refund, uuid.UUID(made["id"]))
    assert refund is not None and refund.provider_reference.startswith("re_")
    assert refund.status is RefundStatus.PENDING
    assert get_payment(session, payment_id=payment.id).status is PaymentStatus.PAID
    assert balance(session, account=MOLLIE, payment_id=payment.id) == 2500
    assert len(entries_for(session, payment.id)) == 1

    mollie.set_payment(reference, "paid", refunded="10.00")
    assert deliver(client, reference).status_code == 200
    assert get_payment(session, payment_id=payment.id).status is PaymentStatus.PARTIALLY_REFUNDED
    assert balance(session, account=MOLLIE, payment_id=payment.id) == 1500
    session.refresh(refund)
    assert refund.status is RefundStatus.REFUNDED


@pytest.mark.parametrize("refusal", ["422 error body", "refund status failed"])
def test_a_refund_mollie_refuses_is_a_502_and_changes_nothing(client, session, mollie, make_payment,
                                                              auth_headers, refusal) -> None:
    payment = paid_mollie_payment(client, mollie, make_payment)
    if refusal == "422 error body":
        mollie.fail("POST", f"/v2/payments/{payment.provider_reference}/refunds", 422, "error_422_refund")
    else:
        mollie.refund_fixture = "refund_failed"

    response = client.post(f"/api/v1/payments/{payment.id}/refund", json={"amount_cents": 1000},
                           headers=auth_headers(Role.TREASURER))

    assert response.status_code == 502
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["field"] == "amount_cents"
    if refusal == "422 error body":
        assert "higher than the amount that can be refunded" in problem["detail"]
        assert "amount.value" in problem["detail"]
    else:
        assert "failed refund re_" in problem["detail"]
    assert KEY not in response.text
    found = get_payment(session, payment_id=payment.id)
    assert found.status is PaymentStatus.PAID and found.refunded_cents == 0
    assert session.exec(select(Refund).where(Refund.payment_id == payment.id)).all() == []
    assert balance(session, account=MOLLIE, payment_id=payment.id) == 2500


# -- the provider on its own -----------------------------------------------------------------------------


def test_fetch_reads_cumulative_totals_as_exact_cents(mollie) -> None:
    provider = provider_with(mollie)
    reference = provider.create_checkout(CheckoutRequest(
        payment_id=uuid.uuid4(), reference="KR1", amount_cents=1999, description="x", return_url="https://r",
        webhook_url="https://w", idempotency_key="k")).provider_reference
    mollie.set_payment(reference, "paid", refunded="0.10")
    snapshot = provider.fetch(reference)
    assert (snapshot.status, snapshot.refunded_cents, snapshot.charged_back_cents, snapshot.method) == (
        PaymentStatus.PAID, 10, 0, "ideal")
    mollie.set_payment(reference, "paid", refunded="0.10", charged_back="19.89")
    assert provider.fetch(reference).charged_back_cents == 1989


@pytest.mark.parametrize("broken", [{"status": "teleported"}, {"amount": {"value": "25.00", "currency": "USD"}},
                                    {"amountRefunded": {"value": "1.005", "currency": "EUR"}},
                                    {"amountRefunded": {"value": 10.0, "currency": "EUR"}}])
def test_fetch_refuses_what_it_cannot_read_exactly(mollie, broken) -> None:
    payment = mollie.add_payment("payment_paid")
    payment.update(broken)
    with pytest.raises(ProviderError):
        provider_with(mollie).fetch(payment["id"])


def test_errors_never_show_the_key(mollie) -> None:
    with pytest.raises(ProviderError) as bad_format:
        provider_with(mollie, mollie_api_key="sk_secret_not_mollie").fetch("tr_WDqYK6vllg")
    assert "sk_secret_not_mollie" not in str(bad_format.value)
    assert bad_format.value.__cause__ is None and bad_format.value.__context__ is not None
    with pytest.raises(ProviderError) as in_production:
        provider_with(mollie, env="production").fetch("tr_WDqYK6vllg")
    assert "test key" in str(in_production.value)
    assert mollie.calls == []
    mollie.fail("GET", "/v2/payments/tr_WDqYK6vllg", 401, "error_401")
    with pytest.raises(ProviderError) as unauthorized:
        provider_with(mollie).fetch("tr_WDqYK6vllg")
    assert "401" in str(unauthorized.value) and KEY not in str(unauthorized.value)
    mollie.fail("GET", "/v2/payments/tr_WDqYK6vllg", 422, {"status": 422, "title": "Unprocessable Entity",
                                                          "detail": f"The key {KEY} cannot do this"})
    with pytest.raises(ProviderError) as echoed:
        provider_with(mollie).fetch("tr_WDqYK6vllg")
    assert KEY not in str(echoed.value) and "The key [key] cannot do this" in str(echoed.value)


def test_start_subscription_on_a_valid_mandate(mollie) -> None:
    provider = provider_with(mollie)
    mollie.mandates["cst_8wmqcHMN4U"] = "mandates_valid"
    metadata = {"purpose": TEST_PURPOSE, "purpose_id": str(uuid.uuid4())}

    subscription_id = provider.start_subscription(
        "cst_8wmqcHMN4U", 9900, "Lidmaatschap lid 42", date(2027, 1, 1), f"{PUBLIC_URL}{WEBHOOK}", metadata,
        idempotency_key="membership:42:subscription")

    assert subscription_id.startswith("sub_") and subscription_id in mollie.subscriptions
    assert [(c.method, c.path) for c in mollie.calls] == [
        ("GET", "/v2/customers/cst_8wmqcHMN4U/mandates"), ("POST", "/v2/customers/cst_8wmqcHMN4U/subscriptions")]
    call = mollie.calls[-1]
    assert call.body == {"amount": {"currency": "EUR", "value": "99.00"}, "interval": "12 months",
                         "startDate": "2027-01-01", "description": "Lidmaatschap lid 42",
                         "webhookUrl": f"{PUBLIC_URL}{WEBHOOK}", "metadata": metadata}
    assert call.header("Idempotency-Key") == "membership:42:subscription"
    assert provider.valid_mandate("cst_8wmqcHMN4U") == "mdt_h3gAaD5zP"


@pytest.mark.parametrize("mandates", ["mandates_pending", None])
def test_start_subscription_without_a_valid_mandate_is_refused(mollie, mandates) -> None:
    if mandates:
        mollie.mandates["cst_8wmqcHMN4U"] = mandates
    with pytest.raises(ProviderError) as refused:
        provider_with(mollie).start_subscription("cst_8wmqcHMN4U", 9900, "Lidmaatschap", date(2027, 1, 1),
                                                 f"{PUBLIC_URL}{WEBHOOK}", {})
    assert "no valid mandate" in str(refused.value)
    assert mollie.requests_to("POST", "/v2/customers/cst_8wmqcHMN4U/subscriptions") == []


def test_fetch_renewal_recognises_a_payment_mollie_made_for_our_subscription(mollie) -> None:
    provider = provider_with(mollie)
    renewal_payment = mollie.add_payment("payment_recurring_paid")

    found = provider.fetch_renewal(renewal_payment["id"])

    assert found is not None
    renewal, snapshot = found
    assert renewal.provider_reference == renewal_payment["id"] == "tr_Hk3Rj2VQe8"
    assert renewal.provider_subscription_id == "sub_rVKGtNd6s3"
    assert (renewal.amount_cents, renewal.purpose) == (9900, TEST_PURPOSE)
    assert renewal.purpose_id == uuid.UUID("0b9f3a57-8f0e-4d9a-a3c3-7e5f3b1c2d44")
    assert (snapshot.status, snapshot.method) == (PaymentStatus.PAID, "directdebit")

    # Without purpose metadata on the payment, the subscription's is read (via the subscription's own id).
    mollie.mandates["cst_8wmqcHMN4U"] = "mandates_valid"
    metadata = {"purpose": TEST_PURPOSE, "purpose_id": str(uuid.uuid4())}
    subscription_id = provider.start_subscription("cst_8wmqcHMN4U", 9900, "Lidmaatschap", date(2027, 1, 1),
                                                  "https://w", metadata)
    renewal_payment.update(metadata={}, subscriptionId=subscription_id)
    found = provider.fetch_renewal(renewal_payment["id"])
    assert found is not None and str(found[0].purpose_id) == metadata["purpose_id"]


def test_fetch_renewal_is_none_for_what_is_not_a_renewal(mollie) -> None:
    provider = provider_with(mollie)
    assert provider.fetch_renewal("not-a-payment") is None
    assert mollie.calls == []
    assert provider.fetch_renewal("tr_unknown0001") is None  # Mollie: 404
    one_off = mollie.add_payment("payment_paid")
    assert provider.fetch_renewal(one_off["id"]) is None
    mollie.fail("GET", f"/v2/payments/{one_off['id']}", 503, "error_503")
    with pytest.raises(ProviderError):
        provider.fetch_renewal(one_off["id"])  # unreachable is not "not ours": Mollie must retry


def test_a_renewal_mollie_made_by_itself_becomes_one_new_payment(client, session, mollie, purpose) -> None:
    renewal_payment = mollie.add_payment("payment_recurring_paid")
    reference = renewal_payment["id"]
    mollie.set_payment(reference, "pending")  # SEPA direct debit: pending for days
    plain = deliver(client, reference)  # the one-off webhook still never asks Mollie about unknown ids
    assert plain.status_code == 200 and mollie.calls == []

    subscription_webhook = f"{WEBHOOK}/subscriptions"
    assert client.post(subscription_webhook, data={"id": reference}).status_code == 200
    [payment] = session.exec(select(Payment).where(Payment.provider_reference == reference)).all()
    assert payment.status is PaymentStatus.PENDING and payment.recurring
    assert (payment.amount_cents, payment.purpose) == (9900, TEST_PURPOSE)
    assert payment.provider_subscription_id == "sub_rVKGtNd6s3"
    assert entries_for(session, payment.id) == []

    mollie.set_payment(reference, "paid")
    for _ in range(2):
        assert client.post(subscription_webhook, data={"id": reference}).status_code == 200
    assert get_payment(session, payment_id=payment.id).status is PaymentStatus.PAID
    assert [e.idempotency_key for e in entries_for(session, payment.id)] == [f"payment:{payment.id}:paid"]
    assert balance(session, account=MOLLIE, payment_id=payment.id) == 9900
    assert purpose.calls == [("paid", payment.id, 9900)]
    assert len(events_for(session, payment.id)) == 2
    assert session.exec(select(func.count()).select_from(Payment)
                        .where(Payment.provider_subscription_id == "sub_rVKGtNd6s3")).one() == 1

    one_off = mollie.add_payment("payment_paid")  # not a renewal: 200, nothing recorded
    assert client.post(subscription_webhook, data={"id": one_off["id"]}).status_code == 200
    assert session.exec(select(Payment).where(Payment.provider_reference == one_off["id"])).first() is None


# -- real concurrency (PostgreSQL) -----------------------------------------------------------------------

payments_t = Payment.__table__  # type: ignore[attr-defined]
events_t = ProviderEvent.__table__  # type: ignore[attr-defined]
entries_t = JournalEntry.__table__  # type: ignore[attr-defined]
postings_t = Posting.__table__  # type: ignore[attr-defined]
SERIES = ("payment_reference", JOURNAL_SERIES)


@pytest.mark.postgres_only
@pytest.mark.postgres_only
def test_ten_deliveries_of_one_webhook_at_once_book_one_entry(database: Engine, mollie, purpose) -> None:
    with database.connect() as connection:
        counters = dict(connection.execute(core_select(number_series.c.name, number_series.c.last_value)
                                           .where(number_series.c.name.in_(SERIES))).all())
    with unit_of_work(database) as setup:
        payment = create_payment(setup, purpose=TEST_PURPOSE, purpose_id=uuid.uuid4(), amount_cents=2500,
                                 description="Tien keer tegelijk", provider=ProviderName.MOLLIE)
        payment_id, reference = payment.id, payment.provider_reference
    try:
        mollie.set_payment(reference, "paid")
        barrier = threading.Barrier(10)
        outcomes: list[str | Exception | None] = [None] * 10

        def webhook(index: int) -> None:
            try:
                barrier.wait(timeout=30)
                with unit_of_work(database) as session:
                    provider = service.provider_for(session, ProviderName.MOLLIE)
                    outcome = receive_notification(session, provider=provider, provider_reference=reference,
                                                   raw=f"id={reference}")
                outcomes[index] = outcome  # only once committed
            except Exception as error:
                outcomes[index] = error

        threads = [threading.Thread(target=webhook, args=(i,), name=f"mollie-webhook-{i}") for i in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads), "a webhook hung (deadlock?)"

        assert sorted(map(str, outcomes)) == ["duplicate"] * 9 + ["open -> paid"], outcomes
        assert len(mollie.requests_to("GET", f"/v2/payments/{reference}")) == 10
        with unit_of_work(database) as session:
            assert get_payment(session, payment_id=payment_id).status is PaymentStatus.PAID
            assert [e.idempotency_key for e in entries_for(session, payment_id)] == [f"payment:{payment_id}:paid"]
            assert balance(session, account=MOLLIE, payment_id=payment_id) == 2500
            assert len(events_for(session, payment_id)) == 1
        assert purpose.calls == [("paid", payment_id, 2500)]
    finally:
        ours = core_select(entries_t.c.id).where(entries_t.c.idempotency_key.like(f"payment:{payment_id}:%"))
        with database.begin() as connection:
            connection.execute(delete(postings_t).where(postings_t.c.entry_id.in_(ours)))
            connection.execute(delete(entries_t).where(entries_t.c.idempotency_key.like(f"payment:{payment_id}:%")))
            connection.execute(delete(events_t).where(events_t.c.payment_id == payment_id))
            connection.execute(delete(payments_t).where(payments_t.c.id == payment_id))
            for name in SERIES:  # give the numbers back: the series are gap-free
                if name in counters:
                    connection.execute(update(number_series).where(number_series.c.name == name)
                                       .values(last_value=counters[name]))
                else:
                    connection.execute(delete(number_series).where(number_series.c.name == name))
        with unit_of_work(database) as session:
            assert global_sums(session) == (0, 0)
            assert session.get(Payment, payment_id) is None


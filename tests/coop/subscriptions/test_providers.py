"""Subscriptions that Stripe and Mollie collect, end to end: our API, the real SDKs, local fakes of both APIs.

Subscribing opens a yearly Checkout Session (Stripe) or a first payment that
leaves a mandate (Mollie, after which a job creates the Mollie subscription).
The providers then renew by themselves and tell us; each renewal extends the
subscription by exactly one year from the previous end, however late and
however often it is reported. Cancel, resume and a change of tier are passed
on to the provider; a provider that refuses changes nothing here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from coop.auth.models import Role
from coop.auth.service import create_token
from coop.core.jobs import Job
from coop.ledger.chart import AccountCode
from coop.ledger.models import JournalEntry
from coop.ledger.queries import balance
from coop.members.models import Member, MemberKind
from coop.payments.models import Payment, PaymentStatus
from coop.payments.service import get_payment
from coop.subscriptions.jobs import start_collection
from coop.subscriptions.models import Subscription
from coop.subscriptions.service import get_subscription
from tests.coop.members.support import on, own_headers
from tests.coop.payments.mollie_fake import MollieFake
from tests.coop.payments.stripe_fake import StripeFake, event, sign
from tests.coop.payments.test_mollie import KEY as MOLLIE_KEY
from tests.coop.payments.test_stripe import KEY as STRIPE_KEY
from tests.coop.payments.test_stripe import PUBLIC_URL, SECRET, deliver
from tests.coop.payments.test_stripe import WEBHOOK as STRIPE_WEBHOOK
from tests.coop.subscriptions.support import YEARS, invoices, member_who_joined, run_daily, status_on, subscribe

START = date(2026, 11, 29)  # subscribed and paid
END = date(2027, 11, 29)  # the first renewal date: the end of the first period
LATE = END + timedelta(days=3)  # when the provider's renewal is reported
MOLLIE_WEBHOOK = "/api/v1/webhooks/mollie"
RENEWALS_WEBHOOK = "/api/v1/webhooks/mollie/subscriptions"
NO_CHARGE_PATHS = ("/v1/checkout/sessions", "/v1/invoices", "/v1/payment_intents", "/v1/charges")


@pytest.fixture
def staff(session: Session, make_user: Any) -> Callable[..., dict[str, str]]:
    """`staff(Role.BOARD)`: headers whose token stays valid on every date these tests freeze."""

    def factory(*roles: Role) -> dict[str, str]:
        return _long_headers(session, make_user(*roles).id)

    return factory


def _long_headers(session: Session, user_id: uuid.UUID) -> dict[str, str]:
    plain, _ = create_token(session, user_id=user_id, ttl=timedelta(days=3650))
    return {"Authorization": f"Bearer {plain}"}


def stored(session: Session, subscription_id: str) -> Subscription:
    """The subscription row as committed (not a stale copy)."""
    return get_subscription(session, subscription_id=uuid.UUID(subscription_id))


def entries_for(session: Session, payment_id: uuid.UUID) -> list[str]:
    return list(session.exec(select(JournalEntry.idempotency_key)
                             .where(JournalEntry.source_id == str(payment_id))).all())


def period_of(body: dict[str, Any]) -> tuple[str, str | None, str | None]:
    return body["status"], body["period_start"], body["period_end"]


def charges_asked(fake: StripeFake) -> list[tuple[str, str]]:
    """Every request that could make Stripe charge: new sessions, invoices, payment intents."""
    return [(c.method, c.path) for c in fake.calls if c.method == "POST" and c.path.startswith(NO_CHARGE_PATHS)]


@dataclass(frozen=True)
class Subscribed:
    """A member with a paid subscription at a provider: the ids tests need."""

    member_id: str
    headers: dict[str, str]
    subscription_id: str
    first_payment: Payment
    provider_subscription_id: str
    customer_id: str | None = None

    def url(self, action: str = "") -> str:
        return f"/api/v1/members/{self.member_id}/subscription" + (f"/{action}" if action else "")


def subscribed_with_stripe(client: TestClient, session: Session, make_user: Any, stripe_api: StripeFake) -> Subscribed:
    """A person subscribed with Stripe on START and paid the checkout (Stripe made the yearly subscription)."""
    with on(START):
        member_id = member_who_joined(client)
        headers = own_headers(session, make_user, ttl=YEARS, member_id=member_id)
        started = subscribe(client, member_id, headers, provider="stripe")
        first = get_payment(session, payment_id=uuid.UUID(started["payment"]["id"]))
        paid = deliver(client, "checkout.session.completed", stripe_api.pay(first.provider_reference or ""))
    assert paid.status_code == 200 and paid.json() == {"outcome": "open -> paid"}, paid.text
    provider_subscription_id = stripe_api.get(first.provider_reference or "")["subscription"]
    return Subscribed(member_id, headers, started["subscription"]["id"], first, provider_subscription_id)


def paid_first_mollie_payment(client: TestClient, session: Session, make_user: Any,
                              mollie_api: MollieFake) -> tuple[str, dict[str, str], dict[str, Any], Payment, str]:
    """On START a person subscribed with Mollie and paid the first payment, which left a valid mandate.

    Returns the member id, their headers, the 201 body, the first payment and the Mollie customer id.
    """
    with on(START):
        member_id = member_who_joined(client)
        headers = own_headers(session, make_user, ttl=YEARS, member_id=member_id)
        started = subscribe(client, member_id, headers, provider="mollie")
        first = get_payment(session, payment_id=uuid.UUID(started["payment"]["id"]))
        mollie_api.set_payment(first.provider_reference or "", "paid")
        assert client.post(MOLLIE_WEBHOOK, data={"id": first.provider_reference}).status_code == 200
    customer_id = mollie_api.payments[first.provider_reference or ""]["customerId"]
    mollie_api.mandates[customer_id] = "mandates_valid"
    return member_id, headers, started, first, customer_id


def subscribed_with_mollie(client: TestClient, session: Session, make_user: Any, mollie_api: MollieFake) -> Subscribed:
    """A person subscribed with Mollie on START, paid the first payment, and the job made the Mollie subscription."""
    member_id, headers, started, first, customer_id = paid_first_mollie_payment(client, session, make_user,
                                                                                mollie_api)
    with on(START):
        start_collection(session, subscription_id=started["subscription"]["id"])
    subscription_id = started["subscription"]["id"]
    provider_subscription_id = stored(session, subscription_id).provider_subscription_id
    assert provider_subscription_id is not None and provider_subscription_id in mollie_api.subscriptions
    return Subscribed(member_id, headers, subscription_id, first, provider_subscription_id, customer_id)


# -- Stripe: subscribe, pay, renew ---------------------------------------------------------------------------


def test_stripe_collects_a_year_and_its_renewal_extends_it_from_the_previous_end_once(
        client, session, make_user, stripe_api) -> None:
    with on(START):
        member_id = member_who_joined(client)
        headers = own_headers(session, make_user, ttl=YEARS, member_id=member_id)
        started = subscribe(client, member_id, headers, provider="stripe")
    subscription_id = started["subscription"]["id"]
    assert (started["subscription"]["status"], started["subscription"]["provider"]) == ("pending", "stripe")
    assert started["payment"]["checkout_url"].startswith("https://checkout.stripe.com/c/pay/cs_")

    # The checkout is a yearly Stripe subscription that carries our purpose (Stripe copies it onto renewals).
    [checkout] = stripe_api.requests_to("POST", "/v1/checkout/sessions")
    form = checkout.form
    assert form["mode"] == "subscription"
    assert form["line_items[0][price_data][unit_amount]"] == "9900"
    assert form["line_items[0][price_data][currency]"] == "eur"
    assert form["line_items[0][price_data][recurring][interval]"] == "year"
    assert form["subscription_data[metadata][purpose]"] == "subscription"
    assert form["subscription_data[metadata][purpose_id]"] == subscription_id
    assert form["customer_email"] == "fatima@example.org"
    assert "sepa_debit" in [v for k, v in form.items() if k.startswith("allowed_payment_method_types")]

    first = get_payment(session, payment_id=uuid.UUID(started["payment"]["id"]))
    assert first.recurring
    with on(START):
        paid = deliver(client, "checkout.session.completed", stripe_api.pay(first.provider_reference or ""))
    assert paid.json() == {"outcome": "open -> paid"}

    active = status_on(client, member_id, headers, START)
    assert period_of(active) == ("active", "2026-11-29", "2027-11-29")
    [invoice] = invoices(client, member_id, headers)
    assert (invoice["number"], invoice["date"], invoice["gross_cents"]) == ("2026-00001", "2026-11-29", 9900)
    checkout_session = stripe_api.get(first.provider_reference or "")
    stripe_subscription = stripe_api.get(checkout_session["subscription"])
    assert stored(session, subscription_id).provider_subscription_id == stripe_subscription["id"]

    # Stripe also reports the first invoice paid: it was paid through the checkout, nothing more is booked.
    first_invoice = stripe_api.get(checkout_session["invoice"])
    assert deliver(client, "invoice.paid", first_invoice).json() == {"outcome": "not acted on"}

    # A year on, Stripe Billing charged the renewal by itself; the event arrives three days after the end.
    renewal = stripe_api.renewal(stripe_subscription["id"], 9900, stripe_subscription["metadata"])
    assert renewal["billing_reason"] == "subscription_cycle"
    metadata = renewal["parent"]["subscription_details"]["metadata"]
    assert (metadata["purpose"], metadata["purpose_id"]) == ("subscription", subscription_id)
    payload = event("invoice.paid", renewal)
    signed = {"Stripe-Signature": sign(payload, SECRET)}
    with on(LATE):
        outcomes = [client.post(STRIPE_WEBHOOK, content=payload, headers=signed).json() for _ in range(2)]
        redelivered = deliver(client, "invoice.paid", renewal)  # the same invoice under another event id

    assert outcomes == [{"outcome": "renewal: open -> paid"}, {"outcome": "duplicate"}]
    assert redelivered.json() == {"outcome": "renewal already recorded; no change"}
    renewed = status_on(client, member_id, headers, LATE)
    assert period_of(renewed) == ("active", "2027-11-29", "2028-11-29")  # from the previous end, not the payment
    assert [(p["period_start"], p["period_end"], p["paid_on"]) for p in renewed["periods"]] == [
        ("2026-11-29", "2027-11-29", "2026-11-29"), ("2027-11-29", "2028-11-29", "2027-12-02")]
    assert [(i["number"], i["date"], i["supply_from"], i["supply_until"], i["gross_cents"])
            for i in invoices(client, member_id, headers)] == [
        ("2026-00001", "2026-11-29", "2026-11-29", "2027-11-28", 9900),
        ("2027-00001", "2027-12-02", "2027-11-29", "2028-11-28", 9900)]
    [payment] = session.exec(select(Payment).where(Payment.provider_reference == renewal["id"])).all()
    assert (payment.purpose, payment.purpose_id, payment.status) == (
        "subscription", uuid.UUID(subscription_id), PaymentStatus.PAID)
    assert payment.provider_subscription_id == stripe_subscription["id"]
    assert entries_for(session, payment.id) == [f"payment:{payment.id}:paid"]
    assert balance(session, account=AccountCode.MEMBER_RECEIVABLES, member_id=uuid.UUID(member_id)) == 0
    assert balance(session, account=AccountCode.STRIPE_CLEARING) == 2 * 9900
    assert charges_asked(stripe_api) == [("POST", "/v1/checkout/sessions")]


# -- Mollie: first payment, mandate, subscription, renew -------------------------------------------------


def test_mollie_collects_on_the_mandate_and_its_renewal_extends_it_from_the_previous_end_once(
        client, session, make_user, mollie_api) -> None:
    with on(START):
        member_id = member_who_joined(client)
        headers = own_headers(session, make_user, ttl=YEARS, member_id=member_id)
        started = subscribe(client, member_id, headers, provider="mollie")
    subscription_id = started["subscription"]["id"]

    # A first payment for a new customer: it leaves the mandate Mollie collects the next years on.
    customer_call, payment_call = mollie_api.calls
    assert (customer_call.method, customer_call.path) == ("POST", "/v2/customers")
    assert customer_call.body["email"] == "fatima@example.org"
    [customer_id] = mollie_api.customers
    assert (payment_call.method, payment_call.path) == ("POST", "/v2/payments")
    assert payment_call.body["sequenceType"] == "first" and payment_call.body["customerId"] == customer_id
    assert payment_call.body["amount"] == {"currency": "EUR", "value": "99.00"}
    assert payment_call.body["metadata"]["purpose"] == "subscription"
    assert payment_call.body["metadata"]["purpose_id"] == subscription_id
    first = get_payment(session, payment_id=uuid.UUID(started["payment"]["id"]))
    reference = first.provider_reference or ""

    mollie_api.set_payment(reference, "paid")
    with on(START):
        assert client.post(MOLLIE_WEBHOOK, data={"id": reference}).status_code == 200
    assert period_of(status_on(client, member_id, headers, START)) == ("active", "2026-11-29", "2027-11-29")
    assert [(i["number"], i["gross_cents"]) for i in invoices(client, member_id, headers)] == [("2026-00001", 9900)]

    # The payment queued the job that creates the Mollie subscription on the now valid mandate.
    [job] = session.exec(select(Job).where(Job.name == "subscriptions.start_collection")).all()
    assert job.args == {"subscription_id": subscription_id}
    mollie_api.mandates[customer_id] = "mandates_valid"
    with on(START):
        start_collection(session, **job.args)
        start_collection(session, **job.args)  # a job may run twice: still one Mollie subscription

    [created] = mollie_api.requests_to("POST", f"/v2/customers/{customer_id}/subscriptions")
    assert created.body == {
        "amount": {"currency": "EUR", "value": "99.00"}, "interval": "12 months", "startDate": "2027-11-29",
        "description": f"Contributie Persoon of initiatief ({subscription_id[:8]})",
        "webhookUrl": f"{PUBLIC_URL}{RENEWALS_WEBHOOK}",
        "metadata": {"purpose": "subscription", "purpose_id": subscription_id}}
    assert created.header("Idempotency-Key") == f"subscription:{subscription_id}:collection"
    [mollie_subscription_id] = mollie_api.subscriptions
    row = stored(session, subscription_id)
    assert (row.provider_customer_id, row.provider_subscription_id) == (customer_id, mollie_subscription_id)

    # A year on Mollie collects by itself (SEPA: pending for days, then paid) and posts the payment's id.
    renewal = mollie_api.renewal(mollie_subscription_id)
    assert (renewal["sequenceType"], renewal["subscriptionId"]) == ("recurring", mollie_subscription_id)
    mollie_api.set_payment(renewal["id"], "pending")
    with on(END + timedelta(days=1)):
        assert client.post(RENEWALS_WEBHOOK, data={"id": renewal["id"]}).status_code == 200
    assert status_on(client, member_id, headers, END + timedelta(days=1))["status"] == "past_due"

    mollie_api.set_payment(renewal["id"], "paid")
    with on(LATE):
        for _ in range(2):
            assert client.post(RENEWALS_WEBHOOK, data={"id": renewal["id"]}).status_code == 200

    renewed = status_on(client, member_id, headers, LATE)
    assert period_of(renewed) == ("active", "2027-11-29", "2028-11-29")
    assert [(p["period_start"], p["paid_on"]) for p in renewed["periods"]] == [
        ("2026-11-29", "2026-11-29"), ("2027-11-29", "2027-12-02")]
    assert [(i["number"], i["supply_from"], i["gross_cents"]) for i in invoices(client, member_id, headers)] == [
        ("2026-00001", "2026-11-29", 9900), ("2027-00001", "2027-11-29", 9900)]
    [payment] = session.exec(select(Payment).where(Payment.provider_reference == renewal["id"])).all()
    assert (payment.purpose_id, payment.status, payment.recurring) == (
        uuid.UUID(subscription_id), PaymentStatus.PAID, True)
    assert entries_for(session, payment.id) == [f"payment:{payment.id}:paid"]
    assert balance(session, account=AccountCode.MEMBER_RECEIVABLES, member_id=uuid.UUID(member_id)) == 0
    assert mollie_api.requests_to("POST", "/v2/payments") == [payment_call]  # Mollie made the renewal, not we


# -- cancel and resume ----------------------------------------------------------------------------------------


def test_a_stripe_cancellation_runs_to_the_period_end_and_can_be_undone(client, session, make_user,
                                                                        stripe_api) -> None:
    member = subscribed_with_stripe(client, session, make_user, stripe_api)
    stripe_path = f"/v1/subscriptions/{member.provider_subscription_id}"

    with on(START + timedelta(days=40)):
        canceled = client.post(member.url("cancel"), headers=member.headers)

    assert canceled.status_code == 200, canceled.text
    body = canceled.json()
    assert (body["status"], body["cancel_at_period_end"], body["ends_on"], body["end_reason"]) == (
        "active", True, "2027-11-29", "canceled")
    [update] = stripe_api.requests_to("POST", stripe_path)
    assert update.form == {"cancel_at_period_end": "true"}
    assert stripe_api.get(member.provider_subscription_id)["cancel_at_period_end"] is True
    assert status_on(client, member.member_id, member.headers, END - timedelta(days=1))["status"] == "active"
    after = status_on(client, member.member_id, member.headers, END)
    assert (after["status"], after["cancel_at_period_end"], after["ends_on"]) == ("canceled", False, "2027-11-29")

    with on(START + timedelta(days=60)):
        resumed = client.post(member.url("resume"), headers=member.headers)

    assert resumed.status_code == 200, resumed.text
    body = resumed.json()
    assert (body["status"], body["cancel_at_period_end"], body["ends_on"], body["end_reason"]) == (
        "active", False, None, None)
    assert [c.form for c in stripe_api.requests_to("POST", stripe_path)] == [
        {"cancel_at_period_end": "true"}, {"cancel_at_period_end": "false"}]
    assert stripe_api.get(member.provider_subscription_id)["cancel_at_period_end"] is False
    assert stored(session, member.subscription_id).provider_subscription_id == member.provider_subscription_id
    assert status_on(client, member.member_id, member.headers, END)["status"] == "past_due"  # renewal awaited
    assert charges_asked(stripe_api) == [("POST", "/v1/checkout/sessions")]


def test_a_mollie_cancellation_deletes_the_collection_and_a_resume_starts_a_new_one(client, session, make_user,
                                                                                   mollie_api) -> None:
    member = subscribed_with_mollie(client, session, make_user, mollie_api)
    old = member.provider_subscription_id
    path = f"/v2/customers/{member.customer_id}/subscriptions"

    with on(START + timedelta(days=40)):
        canceled = client.post(member.url("cancel"), headers=member.headers)

    assert canceled.status_code == 200, canceled.text
    body = canceled.json()
    assert (body["status"], body["cancel_at_period_end"], body["ends_on"]) == ("active", True, "2027-11-29")
    assert len(mollie_api.requests_to("DELETE", f"{path}/{old}")) == 1
    assert mollie_api.subscriptions[old]["status"] == "canceled"
    assert status_on(client, member.member_id, member.headers, END)["status"] == "canceled"

    with on(START + timedelta(days=60)):
        resumed = client.post(member.url("resume"), headers=member.headers)

    assert resumed.status_code == 200, resumed.text
    assert (resumed.json()["status"], resumed.json()["ends_on"], resumed.json()["cancel_at_period_end"]) == (
        "active", None, False)
    _, restart = mollie_api.requests_to("POST", path)
    assert restart.body["startDate"] == "2027-11-29"  # the paid period is not collected again
    assert restart.body["amount"] == {"currency": "EUR", "value": "99.00"}
    assert restart.body["interval"] == "12 months"
    assert restart.body["metadata"] == {"purpose": "subscription", "purpose_id": member.subscription_id}
    assert restart.header("Idempotency-Key") == f"resume:{old}:2027-11-29"
    new = stored(session, member.subscription_id).provider_subscription_id
    assert new != old and mollie_api.subscriptions[new]["status"] == "active"
    assert mollie_api.subscriptions[new]["nextPaymentDate"] == "2027-11-29"


@pytest.mark.parametrize("action", ["cancel", "resume"])
def test_stripe_failing_on_a_cancellation_is_a_502_and_changes_nothing(client, session, make_user, stripe_api,
                                                                       action) -> None:
    member = subscribed_with_stripe(client, session, make_user, stripe_api)
    if action == "resume":
        with on(START + timedelta(days=10)):
            assert client.post(member.url("cancel"), headers=member.headers).status_code == 200
    before = status_on(client, member.member_id, member.headers, START + timedelta(days=40))
    stripe_api.fail("POST", f"/v1/subscriptions/{member.provider_subscription_id}", 500, "error_api_500")

    with on(START + timedelta(days=40)):
        response = client.post(member.url(action), headers=member.headers)

    assert response.status_code == 502, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == "provider" and response.json()["detail"].startswith("stripe: ")
    assert STRIPE_KEY not in response.text
    assert status_on(client, member.member_id, member.headers, START + timedelta(days=40)) == before

    stripe_api.heal()
    with on(START + timedelta(days=40)):
        assert client.post(member.url(action), headers=member.headers).status_code == 200


def test_mollie_failing_on_a_cancellation_is_a_502_and_changes_nothing(client, session, make_user,
                                                                       mollie_api) -> None:
    member = subscribed_with_mollie(client, session, make_user, mollie_api)
    path = f"/v2/customers/{member.customer_id}/subscriptions/{member.provider_subscription_id}"
    mollie_api.fail("DELETE", path, 500, {"status": 500, "title": "Internal Server Error",
                                          "detail": "An internal server error occurred while processing your request."})
    before = status_on(client, member.member_id, member.headers, START + timedelta(days=40))

    with on(START + timedelta(days=40)):
        response = client.post(member.url("cancel"), headers=member.headers)

    assert response.status_code == 502, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == "provider" and MOLLIE_KEY not in response.text
    assert status_on(client, member.member_id, member.headers, START + timedelta(days=40)) == before
    row = stored(session, member.subscription_id)
    assert (row.ends_on, row.end_reason) == (None, None)
    assert mollie_api.subscriptions[member.provider_subscription_id]["status"] == "active"


# -- change of tier -------------------------------------------------------------------------------------------


def test_the_board_moves_a_stripe_subscription_to_the_tier_of_the_members_new_kind(client, session, make_user,
                                                                                  stripe_api, staff) -> None:
    member = subscribed_with_stripe(client, session, make_user, stripe_api)
    board = staff(Role.BOARD)
    tier_url = member.url("tier")

    # A person is not an organisation: refused, naming the field, and Stripe is not asked.
    wrong = client.post(tier_url, json={"tier": "organisation"}, headers=board)
    assert wrong.status_code == 422, wrong.text
    assert wrong.headers["content-type"] == "application/problem+json"
    assert wrong.json()["field"] == "tier"
    assert client.post(tier_url, json={"tier": "organisation"}, headers=member.headers).status_code == 403
    assert stripe_api.requests_to("POST", f"/v1/subscriptions/{member.provider_subscription_id}") == []

    row = session.get(Member, uuid.UUID(member.member_id))
    assert row is not None
    row.kind = MemberKind.COMPANY  # the member became a company (as the members domain would record it)
    session.add(row)
    session.flush()
    with on(START + timedelta(days=100)):
        changed = client.post(tier_url, json={"tier": "organisation"}, headers=board)

    assert changed.status_code == 200, changed.text
    assert changed.json()["tier"] == "organisation"
    assert changed.json()["periods"][0]["amount_cents"] == 9900  # the paid year is left as it is
    item = stripe_api.get(member.provider_subscription_id)["items"]["data"][0]
    [update] = stripe_api.requests_to("POST", f"/v1/subscriptions/{member.provider_subscription_id}")
    assert update.form == {
        "items[0][id]": item["id"], "items[0][price_data][currency]": "eur",
        "items[0][price_data][product]": item["price"]["product"], "items[0][price_data][unit_amount]": "100000",
        "items[0][price_data][recurring][interval]": "year", "proration_behavior": "none",
        "description": f"Contributie Organisatie ({member.subscription_id[:8]})"}
    assert item["id"].startswith("si_") and item["price"]["product"].startswith("prod_")
    assert item["price"]["unit_amount"] == 100000

    # Stripe now renews at the new price: the next year is invoiced at the organisation tier.
    stripe_subscription = stripe_api.get(member.provider_subscription_id)
    with on(LATE):
        renewed = deliver(client, "invoice.paid", stripe_api.renewal(
            member.provider_subscription_id, 100000, stripe_subscription["metadata"]))
    assert renewed.json() == {"outcome": "renewal: open -> paid"}
    assert period_of(status_on(client, member.member_id, member.headers, LATE)) == (
        "active", "2027-11-29", "2028-11-29")
    last = invoices(client, member.member_id, member.headers)[-1]
    assert (last["number"], last["net_cents"], last["vat_cents"], last["gross_cents"]) == (
        "2027-00001", 82645, 17355, 100000)


def test_a_tier_change_of_a_mollie_subscription_patches_its_amount(client, session, make_user, mollie_api,
                                                                    staff) -> None:
    member = subscribed_with_mollie(client, session, make_user, mollie_api)
    row = session.get(Member, uuid.UUID(member.member_id))
    assert row is not None
    row.kind = MemberKind.GOVERNMENT
    session.add(row)
    session.flush()

    with on(START + timedelta(days=100)):
        changed = client.post(member.url("tier"), json={"tier": "organisation"}, headers=staff(Role.TREASURER))

    assert changed.status_code == 200, changed.text
    path = f"/v2/customers/{member.customer_id}/subscriptions/{member.provider_subscription_id}"
    [patch] = mollie_api.requests_to("PATCH", path)
    assert patch.body == {"amount": {"currency": "EUR", "value": "1000.00"},
                          "description": f"Contributie Organisatie ({member.subscription_id[:8]})"}
    assert mollie_api.subscriptions[member.provider_subscription_id]["amount"]["value"] == "1000.00"


# -- the provider gives up, or we do ----------------------------------------------------------------------------


def test_a_subscription_stripe_deleted_lapses_after_the_grace_period_and_nothing_is_charged_again(
        client, session, make_user, stripe_api) -> None:
    member = subscribed_with_stripe(client, session, make_user, stripe_api)
    run_daily(session, END - timedelta(days=30))  # the notice; Stripe, not we, collects the renewal
    run_daily(session, END + timedelta(days=7))  # Stripe's retries failed so far: the first reminder

    # Stripe gave up retrying and deleted the subscription.
    with on(END + timedelta(days=15)):
        deleted = deliver(client, "customer.subscription.deleted",
                          stripe_api.subscription_deleted(member.provider_subscription_id))
    assert deleted.json() == {"outcome": "subscription ended"}
    ended = status_on(client, member.member_id, member.headers, END + timedelta(days=15))
    assert (ended["status"], ended["ends_on"], ended["end_reason"]) == ("past_due", "2027-11-29", "provider_ended")

    for day in (END + timedelta(days=21), END + timedelta(days=29), END + timedelta(days=30),
                END + timedelta(days=31)):
        run_daily(session, day)

    assert status_on(client, member.member_id, member.headers, END + timedelta(days=29))["status"] == "past_due"
    lapsed = status_on(client, member.member_id, member.headers, END + timedelta(days=30))
    assert (lapsed["status"], lapsed["due_on"], lapsed["lapses_on"]) == ("lapsed", "2027-11-29", "2027-12-29")
    assert [(s["kind"], s["on"]) for s in lapsed["steps"]] == [
        ("renewal_notice", "2027-10-30"), ("reminder_1", "2027-12-06"), ("reminder_2", "2027-12-20"),
        ("lapsed", "2027-12-29")]
    assert [p["period_start"] for p in lapsed["periods"]] == ["2026-11-29"]  # no period billed by us
    assert charges_asked(stripe_api) == [("POST", "/v1/checkout/sessions")]
    assert [(c.method, c.path) for c in stripe_api.calls if c.method != "GET"] == [
        ("POST", "/v1/checkout/sessions")]  # the subscription was already gone: nothing to cancel


def test_an_unpaid_stripe_renewal_lapses_and_our_job_cancels_the_stripe_subscription_at_once(
        client, session, make_user, stripe_api) -> None:
    member = subscribed_with_stripe(client, session, make_user, stripe_api)
    for day in (END - timedelta(days=30), END + timedelta(days=7), END + timedelta(days=21),
                END + timedelta(days=30), END + timedelta(days=31)):
        run_daily(session, day)

    assert len(stripe_api.requests_to("DELETE", f"/v1/subscriptions/{member.provider_subscription_id}")) == 1
    assert stripe_api.get(member.provider_subscription_id)["status"] == "canceled"
    row = stored(session, member.subscription_id)
    assert (row.ends_on, row.end_reason) == (END, "lapsed")
    assert status_on(client, member.member_id, member.headers, END + timedelta(days=30))["status"] == "lapsed"
    assert charges_asked(stripe_api) == [("POST", "/v1/checkout/sessions")]

    # Stripe confirms the deletion: recorded, nothing changes.
    with on(END + timedelta(days=30)):
        confirmed = deliver(client, "customer.subscription.deleted",
                            stripe_api.get(member.provider_subscription_id))
    assert confirmed.json() == {"outcome": "subscription ended"}
    assert stored(session, member.subscription_id).end_reason == "lapsed"


# -- refunds ----------------------------------------------------------------------------------------------------


def charge_of_first_payment(stripe_api: StripeFake, payment: Payment) -> str:
    """The charge that paid a subscription checkout (through its first invoice)."""
    invoice_id = stripe_api.get(payment.provider_reference or "")["invoice"]
    [entry] = [o for o in stripe_api.objects.values()
               if o["object"] == "invoice_payment" and o["invoice"] == invoice_id]
    return str(stripe_api.get(entry["payment"]["payment_intent"])["latest_charge"])


def test_a_full_refund_credits_the_invoice_and_leaves_the_period_unpaid(client, session, make_user, stripe_api,
                                                                        staff) -> None:
    member = subscribed_with_stripe(client, session, make_user, stripe_api)
    stripe_api.refund_status = "succeeded"

    with on(START + timedelta(days=10)):
        response = client.post(f"/api/v1/payments/{member.first_payment.id}/refund", json={},
                               headers=staff(Role.TREASURER))

    assert response.status_code == 201, response.text
    assert (response.json()["status"], response.json()["amount_cents"]) == ("refunded", 9900)
    [refund_call] = stripe_api.requests_to("POST", "/v1/refunds")
    assert refund_call.form["amount"] == "9900"
    invoice, note = invoices(client, member.member_id, member.headers)
    assert (note["number"], note["kind"], note["date"], note["credits_invoice_id"]) == (
        "C2026-00001", "credit_note", "2026-12-09", invoice["id"])
    assert (note["net_cents"], note["vat_cents"], note["gross_cents"]) == (-8182, -1718, -9900)
    assert (invoice["net_cents"], invoice["vat_cents"]) == (8182, 1718)
    assert status_on(client, member.member_id, member.headers, START + timedelta(days=9))["status"] == "active"
    later = status_on(client, member.member_id, member.headers, START + timedelta(days=11))
    assert later["status"] != "active" and later["paid_through"] is None
    assert later["periods"][0]["voided_on"] == "2026-12-09"
    assert balance(session, account=AccountCode.VAT_PAYABLE) == 0
    assert balance(session, account=AccountCode.MEMBER_RECEIVABLES, member_id=uuid.UUID(member.member_id)) == 0

    # Stripe's charge.refunded for the same refund books nothing more.
    with on(START + timedelta(days=10)):
        confirmed = deliver(client, "charge.refunded",
                            stripe_api.refund_charge(charge_of_first_payment(stripe_api, member.first_payment), 9900))
    assert confirmed.json() == {"outcome": "no change"}
    assert len(invoices(client, member.member_id, member.headers)) == 2


def test_a_partial_refund_credits_its_part_and_the_subscription_stays_active(client, session, make_user,
                                                                             stripe_api, staff) -> None:
    member = subscribed_with_stripe(client, session, make_user, stripe_api)
    treasurer = staff(Role.TREASURER)
    refund_url = f"/api/v1/payments/{member.first_payment.id}/refund"

    with on(START + timedelta(days=10)):
        pending = client.post(refund_url, json={"amount_cents": 4950, "reason": "halfjaar"}, headers=treasurer)
    assert pending.status_code == 201 and pending.json()["status"] == "pending", pending.text
    assert len(invoices(client, member.member_id, member.headers)) == 1  # nothing credited before Stripe confirms

    charge_id = charge_of_first_payment(stripe_api, member.first_payment)
    with on(START + timedelta(days=12)):
        confirmed = deliver(client, "charge.refunded", stripe_api.refund_charge(charge_id, 4950))
    assert confirmed.json() == {"outcome": "refund 4950 cents; paid -> partially_refunded"}
    _, note = invoices(client, member.member_id, member.headers)
    assert (note["number"], note["date"], note["net_cents"], note["vat_cents"], note["gross_cents"]) == (
        "C2026-00001", "2026-12-11", -4091, -859, -4950)
    assert status_on(client, member.member_id, member.headers, START + timedelta(days=13))["status"] == "active"

    # The rest goes back too: a second credit note for exactly what was left, and the year is no longer paid.
    stripe_api.refund_status = "succeeded"
    with on(START + timedelta(days=20)):
        rest = client.post(refund_url, json={}, headers=treasurer)
    assert rest.status_code == 201 and rest.json()["amount_cents"] == 4950, rest.text
    notes = [i for i in invoices(client, member.member_id, member.headers) if i["kind"] == "credit_note"]
    assert [(n["number"], n["net_cents"], n["vat_cents"], n["gross_cents"]) for n in notes] == [
        ("C2026-00001", -4091, -859, -4950), ("C2026-00002", -4091, -859, -4950)]
    assert status_on(client, member.member_id, member.headers, START + timedelta(days=21))["status"] != "active"
    assert balance(session, account=AccountCode.VAT_PAYABLE) == 0


def test_a_renewal_after_a_refunded_year_pays_the_next_year_not_the_refunded_one(client, session, make_user,
                                                                                  stripe_api, staff) -> None:
    member = subscribed_with_stripe(client, session, make_user, stripe_api)
    stripe_api.refund_status = "succeeded"
    with on(START + timedelta(days=10)):
        refunded = client.post(f"/api/v1/payments/{member.first_payment.id}/refund", json={},
                               headers=staff(Role.TREASURER))
    assert refunded.status_code == 201, refunded.text
    assert stripe_api.get(member.provider_subscription_id)["status"] == "active"  # a refund is not a cancellation

    # Stripe renews its own cycle: the money is for the year from END, not the refunded year.
    subscription = stripe_api.get(member.provider_subscription_id)
    with on(LATE):
        renewed = deliver(client, "invoice.paid", stripe_api.renewal(
            member.provider_subscription_id, 9900, subscription["metadata"]))
    assert renewed.json() == {"outcome": "renewal: open -> paid"}
    body = status_on(client, member.member_id, member.headers, LATE)
    assert period_of(body) == ("active", "2027-11-29", "2028-11-29")
    assert [(p["period_start"], p["paid_on"], p["voided_on"]) for p in body["periods"]] == [
        ("2026-11-29", "2026-11-29", "2026-12-09"), ("2027-11-29", "2027-12-02", None)]
    assert [(i["number"], i["supply_from"], i["gross_cents"]) for i in invoices(client, member.member_id,
                                                                                member.headers)] == [
        ("2026-00001", "2026-11-29", 9900), ("C2026-00001", "2026-11-29", -9900), ("2027-00001", "2027-11-29", 9900)]
    assert status_on(client, member.member_id, member.headers, END + timedelta(days=40))["status"] == "active"


def test_a_mollie_payer_who_cancels_before_the_collection_is_made_and_resumes_is_still_collected(
        client, session, make_user, mollie_api) -> None:
    member_id, headers, started, _, _ = paid_first_mollie_payment(client, session, make_user, mollie_api)
    with on(START):
        assert client.post(f"/api/v1/members/{member_id}/subscription/cancel", headers=headers).status_code == 200
        start_collection(session, subscription_id=started["subscription"]["id"])  # the job comes too late
    assert stored(session, started["subscription"]["id"]).provider_subscription_id is None
    assert mollie_api.subscriptions == {}

    with on(START + timedelta(days=10)):
        resumed = client.post(f"/api/v1/members/{member_id}/subscription/resume", headers=headers)

    assert resumed.status_code == 200, resumed.text
    collection = stored(session, started["subscription"]["id"]).provider_subscription_id
    assert collection is not None and mollie_api.subscriptions[collection]["startDate"] == "2027-11-29"

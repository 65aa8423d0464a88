"""A provider failing or timing out while a checkout is created, through the real endpoint and SDKs.

With an Idempotency-Key the applicant and the payment are kept open, the answer is
a 502 that says to retry, and the retry with the same key finishes the checkout
under the same provider idempotency key: never a second provider payment.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, update
from sqlmodel import Session, select

from coop.core.clock import utc_now
from coop.ledger.models import JournalEntry
from coop.members.models import Member
from coop.payments.models import Payment, PaymentStatus
from coop.payments.service import get_payment, reconcile
from tests.coop.members.support import PERSON
from tests.coop.payments.conftest import configured
from tests.coop.payments.mollie_fake import MollieFake
from tests.coop.payments.stripe_fake import StripeFake

STRIPE_KEY = "sk_test_51KrachtTestOnly0000000000000000"
MOLLIE_KEY = "test_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM"
JOIN = "/api/v1/members"


@dataclass
class ProviderAPI:
    """A running provider fake and where its checkouts are created."""

    name: str
    fake: StripeFake | MollieFake
    create_path: str

    def creates(self) -> list[Any]:
        """The create-checkout requests the provider received."""
        return self.fake.requests_to("POST", self.create_path)

    def made(self) -> int:
        """How many checkouts (Stripe sessions, Mollie payments) the provider holds."""
        if isinstance(self.fake, StripeFake):
            return sum(obj.get("object") == "checkout.session" for obj in self.fake.objects.values())
        return len(self.fake.payments)


@pytest.fixture(params=["stripe", "mollie"])
def provider(request) -> Iterator[ProviderAPI]:
    """Stripe or Mollie, configured and pointed at its fake."""
    if request.param == "stripe":
        with StripeFake() as stripe, configured(stripe_api_key=STRIPE_KEY, stripe_api_base=stripe.base,
                                                stripe_webhook_secret="whsec_test_kracht00000000000000000000"):
            yield ProviderAPI("stripe", stripe, "/v1/checkout/sessions")
    else:
        with MollieFake() as mollie, configured(mollie_api_key=MOLLIE_KEY, mollie_api_base=mollie.base):
            yield ProviderAPI("mollie", mollie, "/v2/payments")


def count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def join(client, provider: ProviderAPI, key: str | None):
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(JOIN, json={**PERSON, "provider": provider.name}, headers=headers)


def break_checkout(provider: ProviderAPI, how: str) -> None:
    """The provider answers 5xx, or does the work and its answer is lost (a timeout)."""
    if how == "5xx":
        provider.fake.fail("POST", provider.create_path, 503, {"error": {"type": "api_error"}}
                           if provider.name == "stripe" else "error_503")
    else:
        provider.fake.lose_answers("POST", provider.create_path)


@pytest.mark.parametrize("how", ["5xx", "timeout"])
def test_a_failed_checkout_keeps_the_payment_open_and_the_retry_finishes_it_once(client, session, provider,
                                                                                 how) -> None:
    members, entries = count(session, Member), count(session, JournalEntry)
    break_checkout(provider, how)

    failed = join(client, provider, "join-fatima-1")

    assert failed.status_code == 502, failed.text
    assert failed.headers["content-type"] == "application/problem+json"
    assert failed.json()["field"] == "provider"
    assert "retry with the same Idempotency-Key" in failed.json()["detail"]
    assert STRIPE_KEY not in failed.text and MOLLIE_KEY not in failed.text
    assert count(session, Member) == members + 1
    kept = session.exec(select(Payment).order_by(Payment.created_at.desc())).first()  # type: ignore[union-attr]
    assert kept.status is PaymentStatus.OPEN and kept.provider_reference is None and kept.checkout_url is None
    assert count(session, JournalEntry) == entries

    provider.fake.heal()
    retried = join(client, provider, "join-fatima-1")

    assert retried.status_code == 201, retried.text
    body = retried.json()
    assert body["payment"]["id"] == str(kept.id) and body["payment"]["checkout_url"]
    assert count(session, Member) == members + 1
    keys = {call.header("Idempotency-Key") for call in provider.creates()}
    assert keys == {f"payment:{kept.id}:checkout"}
    assert len(provider.creates()) == 2
    assert provider.made() == 1  # the timed-out attempt's checkout is the one the retry got back
    assert get_payment(session, payment_id=kept.id).provider_reference is not None
    assert join(client, provider, "join-fatima-1").json() == body  # later repeats: the finished answer


def test_a_retry_while_the_provider_is_still_down_is_a_502_and_keeps_waiting(client, session, provider) -> None:
    break_checkout(provider, "5xx")
    assert join(client, provider, "join-fatima-2").status_code == 502
    members = count(session, Member)

    again = join(client, provider, "join-fatima-2")

    assert again.status_code == 502 and again.json()["field"] == "provider"
    assert count(session, Member) == members
    provider.fake.heal()
    assert join(client, provider, "join-fatima-2").status_code == 201
    assert provider.made() == 1


def test_without_a_key_a_failed_checkout_writes_nothing(client, session, provider) -> None:
    members, payments = count(session, Member), count(session, Payment)
    break_checkout(provider, "5xx")

    assert join(client, provider, None).status_code == 502
    assert (count(session, Member), count(session, Payment)) == (members, payments)


def test_a_kept_payment_never_retried_expires_and_a_late_retry_is_told_to_start_again(client, session,
                                                                                        provider) -> None:
    break_checkout(provider, "5xx")
    assert join(client, provider, "join-fatima-3").status_code == 502
    kept = session.exec(select(Payment).order_by(Payment.created_at.desc())).first()  # type: ignore[union-attr]
    session.exec(update(Payment).where(Payment.id == kept.id)  # type: ignore[call-overload]
                 .values(created_at=utc_now() - timedelta(minutes=31)))
    session.commit()

    results = reconcile(session, open_after=timedelta(minutes=30))
    session.commit()

    assert [(r.payment_id, r.after) for r in results] == [(kept.id, PaymentStatus.EXPIRED)]
    provider.fake.heal()
    calls = len(provider.creates())
    late = join(client, provider, "join-fatima-3")
    assert late.status_code == 409 and late.json()["field"] == "Idempotency-Key"
    assert "start again" in late.json()["detail"]
    assert len(provider.creates()) == calls

"""The sandbox provider end to end over HTTP: pay, fail, refund, charge back, and every euro in the ledger."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from coop.auth.models import Role
from coop.ledger.chart import AccountCode
from coop.ledger.models import JournalEntry
from coop.ledger.queries import balance
from coop.payments.models import PaymentStatus, ProviderEvent, ProviderName
from coop.payments.service import get_payment, receive_notification

pytestmark = pytest.mark.usefixtures("purpose")


def entries_for(session: Session, payment_id) -> list[JournalEntry]:
    return list(session.exec(select(JournalEntry).where(JournalEntry.source_id == str(payment_id))).all())


def test_paying_on_the_sandbox_page_books_one_balanced_entry(client, session, make_payment, purpose,
                                                            auth_headers) -> None:
    payment = make_payment(2500)
    assert payment.status is PaymentStatus.OPEN
    assert payment.checkout_url.endswith(f"/sandbox/checkout/{payment.id}")

    page = client.get(f"/sandbox/checkout/{payment.id}")
    assert page.status_code == 200
    assert "Sandbox" in page.text and "€\xa025,00" in page.text and 'value="paid"' in page.text

    paid = client.post(f"/sandbox/checkout/{payment.id}", data={"outcome": "paid"}, follow_redirects=False)
    assert paid.status_code == 303
    assert paid.headers["location"] == payment.return_url

    shown = client.get(f"/api/v1/payments/{payment.id}", headers=auth_headers(Role.TREASURER)).json()
    assert shown["status"] == "paid" and shown["amount_cents"] == 2500 and shown["provider"] == "sandbox"
    [entry] = entries_for(session, payment.id)
    assert entry.idempotency_key == f"payment:{payment.id}:paid"
    assert balance(session, account=AccountCode.SANDBOX_CLEARING, payment_id=payment.id) == 2500
    assert balance(session, account=AccountCode.PLEDGES_HELD, project_id=payment.purpose_id) == -2500
    assert purpose.calls == [("paid", payment.id, 2500)]


def test_a_repeated_or_late_notification_changes_nothing(client, session, make_payment, purpose) -> None:
    payment = make_payment(1000)
    client.post(f"/sandbox/checkout/{payment.id}", data={"outcome": "paid"}, follow_redirects=False)
    again = client.post(f"/sandbox/checkout/{payment.id}", data={"outcome": "failed"}, follow_redirects=False)
    assert again.status_code == 303
    from coop.payments.service import provider_for

    provider = provider_for(session, ProviderName.SANDBOX)
    assert receive_notification(session, provider=provider, provider_reference=payment.provider_reference,
                                raw="id=x") == "duplicate"
    assert get_payment(session, payment_id=payment.id).status is PaymentStatus.PAID
    assert len(entries_for(session, payment.id)) == 1
    assert purpose.calls == [("paid", payment.id, 1000)]
    events = session.exec(select(ProviderEvent).where(ProviderEvent.payment_id == payment.id)).all()
    assert len(events) == 1 and events[0].handled_at is not None


@pytest.mark.parametrize("outcome", ["failed", "canceled", "expired"])
def test_unsuccessful_outcomes_book_nothing_and_tell_the_purpose(client, session, make_payment, purpose,
                                                                 outcome) -> None:
    payment = make_payment(1500)
    client.post(f"/sandbox/checkout/{payment.id}", data={"outcome": outcome}, follow_redirects=False)
    assert get_payment(session, payment_id=payment.id).status.value == outcome
    assert entries_for(session, payment.id) == []
    assert purpose.calls == [(outcome, payment.id, 0)]
    page = client.get(f"/sandbox/checkout/{payment.id}")
    assert 'value="paid"' not in page.text


def test_an_unknown_outcome_is_a_problem_naming_the_field(client, make_payment) -> None:
    payment = make_payment()
    response = client.post(f"/sandbox/checkout/{payment.id}", data={"outcome": "refunded"}, follow_redirects=False)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == "outcome"


def test_partial_then_full_refund_reverse_exactly_what_went_back(client, session, make_payment, purpose,
                                                                auth_headers) -> None:
    payment = make_payment(5000)
    client.post(f"/sandbox/checkout/{payment.id}", data={"outcome": "paid"}, follow_redirects=False)
    treasurer = auth_headers(Role.TREASURER)

    first = client.post(f"/api/v1/payments/{payment.id}/refund", json={"amount_cents": 1200}, headers=treasurer)
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "refunded"
    assert get_payment(session, payment_id=payment.id).status is PaymentStatus.PARTIALLY_REFUNDED
    assert balance(session, account=AccountCode.SANDBOX_CLEARING, payment_id=payment.id) == 3800

    too_much = client.post(f"/api/v1/payments/{payment.id}/refund", json={"amount_cents": 3801}, headers=treasurer)
    assert too_much.status_code == 422 and too_much.json()["field"] == "amount_cents"

    rest = client.post(f"/api/v1/payments/{payment.id}/refund", json={}, headers=treasurer)
    assert rest.status_code == 201 and rest.json()["amount_cents"] == 3800
    refunded = get_payment(session, payment_id=payment.id)
    assert refunded.status is PaymentStatus.REFUNDED and refunded.refunded_cents == 5000
    assert balance(session, account=AccountCode.SANDBOX_CLEARING, payment_id=payment.id) == 0
    assert balance(session, account=AccountCode.PLEDGES_HELD, project_id=payment.purpose_id) == 0
    assert [c[0] for c in purpose.calls] == ["paid", "refunded", "refunded"]
    assert len(entries_for(session, payment.id)) == 3

    again = client.post(f"/api/v1/payments/{payment.id}/refund", json={}, headers=treasurer)
    assert again.status_code == 409


def test_a_chargeback_reverses_the_rest_once(client, session, make_payment, purpose) -> None:
    payment = make_payment(4000)
    client.post(f"/sandbox/checkout/{payment.id}", data={"outcome": "paid"}, follow_redirects=False)
    from coop.payments.service import provider_for

    provider = provider_for(session, ProviderName.SANDBOX)
    provider.charge_back(payment.provider_reference)
    for _ in range(2):
        receive_notification(session, provider=provider, provider_reference=payment.provider_reference, raw="id")
    charged = get_payment(session, payment_id=payment.id)
    assert charged.status is PaymentStatus.CHARGED_BACK and charged.charged_back_cents == 4000
    assert balance(session, account=AccountCode.SANDBOX_CLEARING, payment_id=payment.id) == 0
    assert purpose.calls[-1] == ("chargeback", payment.id, 4000)
    assert len(entries_for(session, payment.id)) == 2


def test_bank_transfer_is_confirmed_by_a_treasurer_once(client, session, make_payment, purpose,
                                                        auth_headers) -> None:
    payment = make_payment(100000, provider=ProviderName.BANK_TRANSFER)
    assert payment.checkout_url is None and payment.provider_reference == payment.reference
    url = f"/api/v1/payments/{payment.id}/confirm-transfer"
    assert client.post(url).status_code == 401
    assert client.post(url, headers=auth_headers(Role.BOARD)).status_code == 403
    treasurer = auth_headers(Role.TREASURER)
    for _ in range(2):
        response = client.post(url, headers=treasurer)
        assert response.status_code == 200 and response.json()["status"] == "paid"
    assert balance(session, account=AccountCode.BANK, payment_id=payment.id) == 100000
    assert len(entries_for(session, payment.id)) == 1
    sandbox = make_payment(100)
    assert client.post(f"/api/v1/payments/{sandbox.id}/confirm-transfer", headers=treasurer).status_code == 409


def test_payments_list_and_detail_need_treasurer_or_board(client, make_payment, auth_headers) -> None:
    payment = make_payment(700)
    assert client.get("/api/v1/payments").status_code == 401
    assert client.get("/api/v1/payments", headers=auth_headers(Role.MEMBER)).status_code == 403
    listing = client.get("/api/v1/payments?status=open", headers=auth_headers(Role.BOARD))
    assert listing.status_code == 200
    assert str(payment.id) in [p["id"] for p in listing.json()["items"]]
    detail = client.get(f"/api/v1/payments/{payment.id}", headers=auth_headers(Role.BOARD)).json()
    assert set(detail) >= {"id", "purpose", "purpose_id", "amount_cents", "currency", "provider", "status",
                           "checkout_url", "refunded_cents"}
    missing = client.get("/api/v1/payments/00000000-0000-0000-0000-000000000000", headers=auth_headers(Role.BOARD))
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"


def test_the_sandbox_is_refused_in_production(session, monkeypatch) -> None:
    from coop.core.errors import InvalidInput
    from coop.core.settings import Settings
    from coop.payments.service import provider_for

    monkeypatch.setenv("KRACHT_ENV", "production")
    monkeypatch.setenv("KRACHT_PUBLIC_URL", "https://coop.example")
    with pytest.raises(InvalidInput) as refused:
        provider_for(session, ProviderName.SANDBOX, Settings())
    assert refused.value.field == "provider"


def test_bank_transfers_are_refused_in_production_without_the_cooperatives_iban(session, monkeypatch) -> None:
    from coop.core.errors import InvalidInput
    from coop.core.settings import Settings
    from coop.payments.service import provider_for

    monkeypatch.setenv("KRACHT_ENV", "production")
    monkeypatch.setenv("KRACHT_PUBLIC_URL", "https://coop.example")
    with pytest.raises(InvalidInput, match="KRACHT_COOP_IBAN") as refused:
        provider_for(session, ProviderName.BANK_TRANSFER, Settings())
    assert refused.value.field == "provider"
    monkeypatch.setenv("KRACHT_COOP_IBAN", "NL91ABNA0417164300")
    assert provider_for(session, ProviderName.BANK_TRANSFER, Settings()).name is ProviderName.BANK_TRANSFER


def test_reconciliation_learns_what_a_lost_webhook_would_have_said(session, make_payment, purpose) -> None:
    from datetime import timedelta

    from coop.core.clock import frozen_clock, utc_now
    from coop.payments.service import provider_for, reconcile

    lost = make_payment(3000)
    fresh = make_payment(1000)
    provider = provider_for(session, ProviderName.SANDBOX)
    provider.choose(lost.provider_reference, PaymentStatus.PAID)  # the payer paid; the notification never came
    assert get_payment(session, payment_id=lost.id).status is PaymentStatus.OPEN

    with frozen_clock(utc_now() + timedelta(minutes=31)):
        changes = reconcile(session, open_after=timedelta(minutes=30))
    assert [(c.payment_id, c.before, c.after) for c in changes] == [
        (lost.id, PaymentStatus.OPEN, PaymentStatus.PAID)]
    assert get_payment(session, payment_id=fresh.id).status is PaymentStatus.OPEN
    assert len(entries_for(session, lost.id)) == 1
    with frozen_clock(utc_now() + timedelta(minutes=32)):
        assert reconcile(session, open_after=timedelta(minutes=30)) == []
    assert len(entries_for(session, lost.id)) == 1

"""A subscription's life through the API: subscribe, invoice, renew a year later, miss a payment, lapse."""

from __future__ import annotations

import json
import uuid
from datetime import date

import pytest

from coop.auth.models import Role
from coop.ledger.chart import AccountCode
from coop.ledger.queries import balance
from tests.coop.members.support import PERSON, join_and_pay, on, own_headers
from tests.coop.subscriptions.support import YEARS, member_who_joined, messages, run_daily, status_on, subscribe
from tests.support import pay


def test_tiers_are_public_and_follow_the_price_list(client) -> None:
    response = client.get("/api/v1/tiers")
    assert response.status_code == 200
    assert {t["code"]: (t["price_cents"], t["interval"], t["vat_rate_bp"], t["prices_include_vat"])
            for t in response.json()} == {"person": (9900, "year", 2100, True),
                                         "organisation": (100000, "year", 2100, True)}
    person = next(t for t in response.json() if t["code"] == "person")
    assert set(person["member_kinds"]) == {"person", "initiative", "social_enterprise"}


def test_a_person_subscribes_renews_misses_a_payment_and_lapses(client, session, make_user) -> None:
    with on(date(2026, 11, 29)):
        member_id = member_who_joined(client)
    headers = own_headers(session, make_user, member_id, ttl=YEARS)  # a token of the real now: used outside frozen days
    with on(date(2026, 11, 29)):
        started = subscribe(client, member_id, headers)
        assert started["subscription"]["status"] == "pending"
        assert started["payment"]["amount_cents"] == 9900
        pay(client, started["payment"]["id"])

    # The first invoice: VAT split out of EUR 99, and the part of the year that falls in 2027 deferred.
    [invoice] = client.get(f"/api/v1/members/{member_id}/invoices", headers=headers).json()
    assert (invoice["number"], invoice["date"]) == ("2026-00001", "2026-11-29")
    assert (invoice["net_cents"], invoice["vat_cents"], invoice["gross_cents"]) == (8182, 1718, 9900)
    assert (invoice["supply_from"], invoice["supply_until"]) == ("2026-11-29", "2027-11-28")
    assert balance(session, account=AccountCode.SUBSCRIPTION_REVENUE) == -740  # 33 of 365 days in 2026
    assert balance(session, account=AccountCode.DEFERRED_SUBSCRIPTIONS) == -7442
    assert balance(session, account=AccountCode.VAT_PAYABLE) == -1718
    assert balance(session, account=AccountCode.MEMBER_RECEIVABLES, member_id=uuid.UUID(member_id)) == 0
    pdf = client.get(invoice["pdf_url"].removeprefix("http://127.0.0.1:8000"), headers=headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    first = status_on(client, member_id, headers, date(2026, 12, 1))
    assert (first["status"], first["period_start"], first["period_end"]) == ("active", "2026-11-29", "2027-11-29")

    # 1 January: the deferred part becomes revenue of 2027.
    run_daily(session, date(2027, 1, 2))
    assert balance(session, account=AccountCode.DEFERRED_SUBSCRIPTIONS) == 0
    assert balance(session, account=AccountCode.SUBSCRIPTION_REVENUE, at=date(2027, 1, 1)) == -8182

    # 30 days ahead: a notice and (sandbox payers are billed by us) the payment for the next year.
    run_daily(session, date(2027, 10, 30))
    assert len(messages(session, member_id, "renewal_upcoming")) == 1
    renewal = status_on(client, member_id, headers, date(2027, 10, 30))["open_payment"]
    with on(date(2027, 11, 5)):
        pay(client, renewal["id"])
    renewed = status_on(client, member_id, headers, date(2027, 12, 1))
    assert (renewed["status"], renewed["period_start"], renewed["period_end"]) == (
        "active", "2027-11-29", "2028-11-29")  # one year from the previous end, not from the payment date
    assert [i["number"] for i in client.get(f"/api/v1/members/{member_id}/invoices",
                                            headers=headers).json()] == ["2026-00001", "2027-00001"]

    # The next year goes unpaid: two reminders, then the lapse after 30 days of grace.
    for day in (date(2028, 10, 30), date(2028, 11, 29), date(2028, 12, 6), date(2028, 12, 7), date(2028, 12, 20),
                date(2028, 12, 28), date(2028, 12, 29), date(2028, 12, 30)):
        run_daily(session, day)
    assert status_on(client, member_id, headers, date(2028, 11, 28))["status"] == "active"
    past_due = status_on(client, member_id, headers, date(2028, 12, 1))
    assert (past_due["status"], past_due["due_on"], past_due["lapses_on"]) == ("past_due", "2028-11-29", "2028-12-29")
    lapsed = status_on(client, member_id, headers, date(2028, 12, 29))
    assert lapsed["status"] == "lapsed"
    assert [(s["kind"], s["on"]) for s in lapsed["steps"]] == [
        ("renewal_notice", "2027-10-30"), ("billed", "2027-10-30"),
        ("renewal_notice", "2028-10-30"), ("billed", "2028-10-30"),
        ("reminder_1", "2028-12-06"), ("reminder_2", "2028-12-20"), ("lapsed", "2028-12-29")]
    reminders = messages(session, member_id, "reminder")
    assert [m.context["reminder_number"] for m in reminders] == ["1", "2"]
    assert all(m.context["pay_url"] for m in reminders)
    assert len(messages(session, member_id, "lapsed")) == 1
    assert len(messages(session, member_id, "invoice")) == 2


def test_the_board_sees_a_subscription_others_do_not(client, session, auth_headers, make_user) -> None:
    member_id = member_who_joined(client)
    subscribe(client, member_id, auth_headers(Role.TREASURER))
    assert client.get(f"/api/v1/members/{member_id}/subscription").status_code == 401
    stranger = auth_headers(Role.MEMBER)
    assert client.get(f"/api/v1/members/{member_id}/subscription", headers=stranger).status_code == 403
    assert client.post(f"/api/v1/members/{member_id}/subscription", json={"provider": "sandbox"},
                       headers=stranger).status_code == 403
    assert client.get(f"/api/v1/members/{member_id}/invoices", headers=stranger).status_code == 403
    assert client.get(f"/api/v1/members/{member_id}/subscription",
                      headers=auth_headers(Role.BOARD)).json()["status"] == "pending"


def test_a_bank_transfer_payer_is_invoiced_when_billed_and_an_unpaid_invoice_is_credited_at_lapse(
        client, session, auth_headers, make_user) -> None:
    treasurer = auth_headers(Role.TREASURER)
    with on(date(2026, 3, 1)):
        member_id = member_who_joined(client)
    headers = own_headers(session, make_user, member_id, ttl=YEARS)  # a token of today: valid on the dates used below
    with on(date(2026, 3, 1)):
        started = subscribe(client, member_id, headers, provider="bank_transfer")
    # The invoice comes at once, with the payment reference the transfer must quote; the receivable is open.
    [invoice] = client.get(f"/api/v1/members/{member_id}/invoices", headers=headers).json()
    assert invoice["payment_reference"] == started["payment"]["reference"]
    member = uuid.UUID(member_id)
    assert balance(session, account=AccountCode.MEMBER_RECEIVABLES, member_id=member) == 9900
    assert started["subscription"]["status"] == "pending"
    with on(date(2026, 3, 10)):
        confirmed = client.post(f"/api/v1/payments/{started['payment']['id']}/confirm-transfer", headers=treasurer)
        assert confirmed.status_code == 200, confirmed.text
    assert balance(session, account=AccountCode.MEMBER_RECEIVABLES, member_id=member) == 0
    assert status_on(client, member_id, headers, date(2026, 3, 10))["status"] == "active"
    assert len(client.get(f"/api/v1/members/{member_id}/invoices", headers=headers).json()) == 1

    # A year on, the renewal invoice is not paid: at the lapse it is credited in its own series.
    for day in (date(2027, 1, 30), date(2027, 3, 8), date(2027, 3, 22), date(2027, 3, 31)):
        run_daily(session, day)
    assert status_on(client, member_id, headers, date(2027, 3, 31))["status"] == "lapsed"
    numbers = [(i["number"], i["kind"], i["gross_cents"])
               for i in client.get(f"/api/v1/members/{member_id}/invoices", headers=headers).json()]
    assert numbers == [("2026-00001", "invoice", 9900), ("2027-00001", "invoice", 9900),
                       ("C2027-00001", "credit_note", -9900)]
    assert balance(session, account=AccountCode.MEMBER_RECEIVABLES, member_id=member) == 0
    renewal_invoice = messages(session, member_id, "invoice")[-1]
    assert renewal_invoice.context["payment_reference"] and renewal_invoice.context["iban"] is None  # no IBAN set
    assert f"betalingskenmerk {renewal_invoice.context['payment_reference']}" in renewal_invoice.body
    assert "niets te doen" not in renewal_invoice.body


def test_cancel_keeps_the_paid_year_and_resume_undoes_it(client, session, make_user) -> None:
    with on(date(2026, 5, 1)):
        member_id = member_who_joined(client)
    headers = own_headers(session, make_user, member_id, ttl=YEARS)
    with on(date(2026, 5, 1)):
        pay(client, subscribe(client, member_id, headers)["payment"]["id"])
        canceled = client.post(f"/api/v1/members/{member_id}/subscription/cancel", headers=headers)
        assert canceled.status_code == 200, canceled.text
        body = canceled.json()
        assert (body["status"], body["cancel_at_period_end"], body["ends_on"]) == ("active", True, "2027-05-01")
        again = client.post(f"/api/v1/members/{member_id}/subscription/cancel", headers=headers)
        assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"
    run_daily(session, date(2027, 4, 1))  # no notice or bill for a canceled subscription
    assert messages(session, member_id, "renewal_upcoming") == []
    assert status_on(client, member_id, headers, date(2027, 5, 1))["status"] == "canceled"
    with on(date(2026, 6, 1)):
        resumed = client.post(f"/api/v1/members/{member_id}/subscription/resume", headers=headers)
        assert resumed.status_code == 200, resumed.text
        assert (resumed.json()["cancel_at_period_end"], resumed.json()["ends_on"]) == (False, None)
    assert status_on(client, member_id, headers, date(2027, 5, 1))["status"] == "past_due"


def test_subscribing_twice_is_a_conflict_and_a_failed_first_payment_can_be_retried(client, session,
                                                                                   make_user) -> None:
    member_id = member_who_joined(client)
    headers = own_headers(session, make_user, member_id, ttl=YEARS)
    first = subscribe(client, member_id, headers)
    still_open = client.post(f"/api/v1/members/{member_id}/subscription", json={"provider": "sandbox"},
                             headers=headers)
    assert still_open.status_code == 409 and still_open.json()["field"] == "provider"
    pay(client, first["payment"]["id"], outcome="failed")
    retried = subscribe(client, member_id, headers)
    assert retried["subscription"]["id"] == first["subscription"]["id"]
    assert retried["payment"]["id"] != first["payment"]["id"]
    pay(client, retried["payment"]["id"])
    assert client.get(f"/api/v1/members/{member_id}/subscription", headers=headers).json()["status"] == "active"
    running = client.post(f"/api/v1/members/{member_id}/subscription", json={"provider": "sandbox"}, headers=headers)
    assert running.status_code == 409
    assert messages(session, member_id, "invoice")[0].context["invoice_number"].endswith("-00001")


@pytest.mark.parametrize(("body", "field"), [({"provider": "paypal"}, "provider"),
                                             ({"provider": "sandbox", "return_url": "javascript:x"}, "return_url"),
                                             ({"provider": "sandbox", "method": "x" * 40}, "method")])
def test_bad_input_is_a_problem_naming_the_field(client, session, make_user, body, field) -> None:
    member_id = member_who_joined(client)
    response = client.post(f"/api/v1/members/{member_id}/subscription", json=body,
                           headers=own_headers(session, make_user, member_id, ttl=YEARS))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field
    assert client.get(f"/api/v1/members/{member_id}/subscription",
                      headers=own_headers(session, make_user, member_id, ttl=YEARS)).status_code == 404


def test_a_new_member_is_welcomed_once(client, session) -> None:
    member_id = member_who_joined(client)
    [welcome] = messages(session, member_id, "welcome")
    assert welcome.recipient == "fatima@example.org" and welcome.context["member_number"].isdigit()
    assert "Fatima el Amrani" in welcome.body


def test_the_gdpr_export_holds_subscriptions_invoices_and_messages_and_erasure_keeps_only_the_invoices(
        client, session, auth_headers) -> None:
    admin = auth_headers(Role.ADMIN)
    member_id = join_and_pay(client, PERSON, outcome="failed")["member"]["id"]  # an applicant without shares
    pay(client, subscribe(client, member_id, auth_headers(Role.TREASURER))["payment"]["id"])
    exported = client.get(f"/api/v1/members/{member_id}/export", headers=admin).json()
    [subscription] = exported["subscriptions"]
    assert subscription["tier_code"] == "person" and subscription["periods"][0]["paid_on"]
    [invoice] = exported["invoices"]
    assert invoice["customer"]["name"] == "Fatima el Amrani" and invoice["gross_cents"] == 9900
    assert {m["template"] for m in exported["notifications"]} == {"invoice", "payment_received"}

    erased = client.post(f"/api/v1/members/{member_id}/erase", headers=admin)

    assert erased.status_code == 200, erased.text
    after = client.get(f"/api/v1/members/{member_id}/export", headers=admin).json()
    assert after["invoices"] == exported["invoices"]  # a financial record: kept seven years as issued
    assert "Fatima" not in json.dumps(after["notifications"]) and "fatima@" not in json.dumps(after["notifications"])
    assert all(m["body"] == "[verwijderd]" for m in after["notifications"])

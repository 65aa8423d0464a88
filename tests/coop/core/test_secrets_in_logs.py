"""Secrets never reach the logs or an error body: the payment keys and the webhook secret are configured, the
providers are used, fail and are forged against, a sign-in fails, and nothing that was logged or answered holds
any of them."""

from __future__ import annotations

import logging

import pytest

from tests.coop.members.support import PERSON
from tests.coop.payments.test_mollie import KEY as MOLLIE_KEY
from tests.coop.payments.test_stripe import KEY as STRIPE_KEY
from tests.coop.payments.test_stripe import SECRET as STRIPE_WEBHOOK_SECRET

SECRETS = (STRIPE_KEY, STRIPE_WEBHOOK_SECRET, MOLLIE_KEY)


def test_no_secret_is_logged_or_answered(client, stripe_api, mollie_api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    answers = [
        client.post("/api/v1/members", json={**PERSON, "provider": "stripe"}),
        client.post("/api/v1/members", json={**PERSON, "email": "m@example.org", "provider": "mollie"}),
    ]
    stripe_api.fail("POST", "/v1/checkout/sessions", 500, "error_api_500")
    mollie_api.fail("POST", "/v2/payments", 401, "error_401")
    answers += [
        client.post("/api/v1/members", json={**PERSON, "email": "s2@example.org", "provider": "stripe"}),
        client.post("/api/v1/members", json={**PERSON, "email": "m2@example.org", "provider": "mollie"}),
        client.post("/api/v1/webhooks/stripe", content=b'{"id": "evt_forged"}',
                    headers={"Stripe-Signature": "t=1,v1=forged", "content-type": "application/json"}),
        client.post("/api/v1/webhooks/mollie", data={"id": "tr_unknown"}),
        client.post("/api/v1/auth/token", data={"username": "nobody@example.org", "password": STRIPE_KEY}),
    ]

    assert [answer.status_code for answer in answers][:2] == [201, 201]
    assert [answer.status_code for answer in answers][2:4] == [502, 502]  # the providers' failures, told
    assert answers[4].status_code == 401
    logged = caplog.text + "".join(record.getMessage() for record in caplog.records)
    assert caplog.records, "the run logged something to look through"
    for secret in SECRETS:
        assert secret not in logged
        assert not [answer.text for answer in answers if secret in answer.text]

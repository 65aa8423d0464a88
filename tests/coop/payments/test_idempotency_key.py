"""The Idempotency-Key header on a POST that creates a payment: one payment per key, 409 for another body."""

from __future__ import annotations

import uuid

import pytest
from fastapi import APIRouter, status
from pydantic import BaseModel, Field
from sqlmodel import select

from coop.core.db import SessionDep
from coop.core.idempotency import IdempotencyDep
from coop.payments.models import Payment, ProviderName
from coop.payments.schemas import PaymentPublic
from coop.payments.service import create_payment
from tests.coop.payments.conftest import TEST_PURPOSE

pytestmark = pytest.mark.usefixtures("purpose")


class OrderIn(BaseModel):
    amount_cents: int = Field(gt=0)
    provider: ProviderName = ProviderName.SANDBOX


class OrderOut(BaseModel):
    order_id: uuid.UUID
    payment: PaymentPublic


router = APIRouter()


@router.post("/test-orders", response_model=OrderOut, status_code=status.HTTP_201_CREATED)
def create_order(session: SessionDep, body: OrderIn, idem: IdempotencyDep) -> OrderOut:
    def work() -> OrderOut:
        order_id = uuid.uuid4()
        payment = create_payment(session, purpose=TEST_PURPOSE, purpose_id=order_id, amount_cents=body.amount_cents,
                                 description="Test order", provider=body.provider)
        return OrderOut(order_id=order_id, payment=PaymentPublic.of(payment))

    return idem.run(body, work, OrderOut)


@pytest.fixture
def orders(client):
    client.app.include_router(router)
    return client


def payments_count(session) -> int:
    return len(session.exec(select(Payment).where(Payment.purpose == TEST_PURPOSE)).all())


def test_the_same_key_and_body_returns_the_first_response(orders, session) -> None:
    headers = {"Idempotency-Key": "double-click-1"}
    first = orders.post("/test-orders", json={"amount_cents": 2500}, headers=headers)
    second = orders.post("/test-orders", json={"amount_cents": 2500}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert payments_count(session) == 1
    assert first.json()["payment"]["checkout_url"].endswith(f"/sandbox/checkout/{first.json()['payment']['id']}")


def test_the_same_key_with_another_body_is_409_and_writes_nothing(orders, session) -> None:
    headers = {"Idempotency-Key": "double-click-2"}
    assert orders.post("/test-orders", json={"amount_cents": 2500}, headers=headers).status_code == 201
    clash = orders.post("/test-orders", json={"amount_cents": 9900}, headers=headers)
    assert clash.status_code == 409
    assert clash.headers["content-type"] == "application/problem+json"
    assert clash.json()["field"] == "Idempotency-Key"
    assert payments_count(session) == 1


def test_without_a_key_every_post_acts_and_keys_are_per_endpoint(orders, session) -> None:
    orders.post("/test-orders", json={"amount_cents": 100})
    orders.post("/test-orders", json={"amount_cents": 100})
    assert payments_count(session) == 2


def test_a_failed_request_does_not_burn_its_key(orders, session) -> None:
    headers = {"Idempotency-Key": "retry-after-error"}
    failed = orders.post("/test-orders", json={"amount_cents": 100, "provider": "stripe"}, headers=headers)
    assert failed.status_code == 422 and failed.json()["field"] == "provider"
    assert payments_count(session) == 0
    retried = orders.post("/test-orders", json={"amount_cents": 100, "provider": "stripe"}, headers=headers)
    assert retried.status_code == 422
    other = orders.post("/test-orders", json={"amount_cents": 100}, headers={"Idempotency-Key": "other"})
    assert other.status_code == 201

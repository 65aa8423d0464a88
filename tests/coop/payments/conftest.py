"""A payment purpose defined by the tests: money for a project, held in 2200."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from sqlmodel import Session

from coop.core.settings import get_settings
from coop.ledger.chart import AccountCode
from coop.ledger.schemas import Line
from coop.payments.models import Payment, ProviderName
from coop.payments.purposes import PurposeHandler, register_purpose
from coop.payments.service import create_payment

TEST_PURPOSE = "test_order"


@dataclass
class RecordingPurpose(PurposeHandler):
    """Credits 2200 for the project named in purpose_id and remembers every call."""

    calls: list[tuple[str, uuid.UUID, int]] = field(default_factory=list)

    def credit_lines(self, session: Session, payment: Payment, amount_cents: int) -> list[Line]:
        return [Line(account=AccountCode.PLEDGES_HELD, amount_cents=-amount_cents, project_id=payment.purpose_id)]

    def on_paid(self, session: Session, payment: Payment) -> None:
        self.calls.append(("paid", payment.id, payment.amount_cents))

    def on_refunded(self, session: Session, payment: Payment, amount_cents: int, *, chargeback: bool) -> None:
        self.calls.append(("chargeback" if chargeback else "refunded", payment.id, amount_cents))

    def on_failed(self, session: Session, payment: Payment) -> None:
        self.calls.append((payment.status.value, payment.id, 0))


HANDLER = RecordingPurpose()
register_purpose(TEST_PURPOSE, HANDLER)


@pytest.fixture
def purpose() -> RecordingPurpose:
    """The test purpose, its call log emptied."""
    HANDLER.calls.clear()
    return HANDLER


@pytest.fixture
def make_payment(session: Session):
    """`make_payment(amount_cents=2500, provider=ProviderName.SANDBOX)`: an open payment for a fresh project."""

    def factory(amount_cents: int = 2500, provider: ProviderName = ProviderName.SANDBOX) -> Payment:
        return create_payment(session, purpose=TEST_PURPOSE, purpose_id=uuid.uuid4(), amount_cents=amount_cents,
                              description="Bijdrage buurtmoestuin", provider=provider,
                              payer_email="bewoner@example.org")

    return factory


@contextmanager
def configured(**env: str) -> Iterator[None]:
    """KRACHT_* settings for the block (e.g. a provider's key and fake base URL), read anew before and after."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(f"KRACHT_{name.upper()}", value)
        get_settings.cache_clear()
        try:
            yield
        finally:
            get_settings.cache_clear()
    get_settings.cache_clear()

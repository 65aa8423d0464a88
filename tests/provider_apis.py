"""Fixtures (a pytest plugin of the root conftest): the fake Stripe and Mollie APIs, with settings pointing at them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.coop.payments.conftest import configured
from tests.coop.payments.mollie_fake import MollieFake
from tests.coop.payments.stripe_fake import StripeFake
from tests.coop.payments.test_mollie import KEY as MOLLIE_KEY
from tests.coop.payments.test_stripe import KEY as STRIPE_KEY
from tests.coop.payments.test_stripe import PUBLIC_URL, SECRET


@pytest.fixture
def stripe_api() -> Iterator[StripeFake]:
    """A running fake Stripe API and the settings pointing at it."""
    with StripeFake() as running, configured(stripe_api_key=STRIPE_KEY, stripe_webhook_secret=SECRET,
                                              stripe_api_base=running.base, public_url=PUBLIC_URL):
        yield running


@pytest.fixture
def mollie_api() -> Iterator[MollieFake]:
    """A running fake Mollie API and the settings pointing at it."""
    with MollieFake() as running, configured(mollie_api_key=MOLLIE_KEY, mollie_api_base=running.base,
                                              public_url=PUBLIC_URL):
        yield running

"""Every table of Kracht, imported so that SQLModel.metadata is complete (migrations, tests)."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlmodel import SQLModel

import coop.audit.models
import coop.auth.models
import coop.core.idempotency
import coop.core.jobs
import coop.core.sequences
import coop.ledger.models
import coop.members.models
import coop.notifications.models
import coop.payments.models
import coop.shares.models
import coop.subscriptions.models  # noqa: F401  (each import registers its tables)
import funding.funds.models
import funding.pledges.models
import funding.projects.models
import funding.social_value.models  # noqa: F401


def metadata() -> MetaData:
    """The metadata of all tables."""
    return SQLModel.metadata

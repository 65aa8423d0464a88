"""The notification outbox: written in the transaction of the event, sent later by a job."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel

from coop.core.clock import utc_now
from coop.core.types import UTCDateTime, str_enum


class NotificationStatus(StrEnum):
    """queued -> sent, or held (no SMTP configured: kept for `kracht notifications list`), or failed."""

    QUEUED = "queued"
    SENT = "sent"
    HELD = "held"
    FAILED = "failed"


class Notification(SQLModel, table=True):
    """One message to one recipient, rendered from a template when it is queued."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_status_created", "status", "created_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    template: str = Field(max_length=64)
    locale: str = Field(default="nl", max_length=8)
    recipient: str = Field(max_length=254)
    member_id: uuid.UUID | None = Field(default=None, index=True)
    subject: str = Field(max_length=255)
    body: str = Field(sa_column=Column(Text, nullable=False))
    context: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    attachment_url: str | None = Field(default=None, max_length=2000)
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)
    status: NotificationStatus = Field(default=NotificationStatus.QUEUED, sa_type=str_enum(NotificationStatus))
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

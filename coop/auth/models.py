"""Users, their roles, bearer tokens (stored hashed) and login attempts."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from coop.core.clock import utc_now
from coop.core.types import UTCDateTime, str_enum


class Role(StrEnum):
    """What a user may do; a user can hold several."""

    MEMBER = "member"
    INITIATOR = "initiator"
    FUND_MANAGER = "fund_manager"
    BOARD = "board"
    TREASURER = "treasurer"
    ADMIN = "admin"


class User(SQLModel, table=True):
    """A person who can sign in; the e-mail is stored lower-cased and unique."""

    __tablename__ = "auth_user"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    password_hash: str | None = Field(default=None, max_length=255)
    active: bool = True
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class UserRole(SQLModel, table=True):
    """One role held by one user."""

    __tablename__ = "auth_user_role"
    __table_args__ = (UniqueConstraint("user_id", "role", name="uq_user_role"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="auth_user.id", index=True)
    role: Role = Field(sa_type=str_enum(Role))


class AccessToken(SQLModel, table=True):
    """An opaque bearer token; only its SHA-256 is stored, so a database leak reveals no token."""

    __tablename__ = "auth_token"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: uuid.UUID = Field(foreign_key="auth_user.id", index=True)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginAttempt(SQLModel, table=True):
    """A failed sign-in, counted to slow down password guessing."""

    __tablename__ = "auth_login_attempt"
    __table_args__ = (Index("ix_login_attempt_email_at", "email", "at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(max_length=254)
    at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)

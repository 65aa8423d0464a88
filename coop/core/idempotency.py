"""The `Idempotency-Key` header: a retried POST returns the first response instead of acting twice.

A row for (endpoint, key) is inserted *before* the work runs, in the same
transaction: a concurrent retry waits on the unique index (or on SQLite's write
lock) and then finds the finished response. The same key with another body is 409.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request
from pydantic import BaseModel
from sqlalchemy import JSON, Column, UniqueConstraint, exc
from sqlmodel import Field, Session, SQLModel, select

from coop.core.clock import utc_now
from coop.core.db import SessionDep
from coop.core.errors import Conflict
from coop.core.types import UTCDateTime

ModelT = TypeVar("ModelT", bound=BaseModel)


class IdempotentRequest(SQLModel, table=True):
    """The remembered outcome of one POST made with an Idempotency-Key."""

    __tablename__ = "idempotent_request"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotent_request"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=200)
    key: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    response: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class Idempotency:
    """Runs an endpoint's work once per key; built per request by the `IdempotencyDep` dependency."""

    def __init__(self, session: Session, scope: str, key: str | None):
        self.session = session
        self.scope = scope
        self.key = key

    def run(self, body: BaseModel, work: Callable[[], ModelT], response_model: type[ModelT]) -> ModelT:
        """`work()` the first time; the stored response for a repeat with the same body; 409 otherwise."""
        if self.key is None:
            return work()
        digest = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
        claim = IdempotentRequest(scope=self.scope, key=self.key, request_hash=digest)
        try:
            with self.session.begin_nested():
                self.session.add(claim)
                self.session.flush()
        except exc.IntegrityError:
            earlier = self.session.exec(select(IdempotentRequest).where(
                IdempotentRequest.scope == self.scope, IdempotentRequest.key == self.key)).one()
            if earlier.request_hash != digest or earlier.response is None:
                raise Conflict("this Idempotency-Key was used for another request",
                               field="Idempotency-Key") from None
            return response_model.model_validate(earlier.response)
        result = work()
        claim.response = result.model_dump(mode="json")
        self.session.add(claim)
        self.session.flush()
        return result


def idempotency(
    request: Request, session: SessionDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)] = None,
) -> Idempotency:
    """The request's idempotency helper, scoped to its method and path."""
    return Idempotency(session, f"{request.method} {request.url.path}", idempotency_key)


IdempotencyDep = Annotated[Idempotency, Depends(idempotency)]

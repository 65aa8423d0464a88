"""The `Idempotency-Key` header: a retried POST returns the first response instead of acting twice.

A row for (endpoint, key) is inserted *before* the work runs, in the same
transaction: a concurrent retry waits on the unique index (or on SQLite's write
lock) and then finds the finished response. The same key with another body is 409.

A step that fails part-way through keyed work (a provider's checkout timing out)
may ask to be finished on the retry instead of undoing everything: the work is
kept with the response it had so far, the failure is answered, and the retry with
the same key finishes the step through its registered resumer and answers in full.
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
from coop.core.errors import Conflict, KrachtError
from coop.core.types import UTCDateTime

ModelT = TypeVar("ModelT", bound=BaseModel)
Resumer = Callable[[Session, str, dict[str, Any]], dict[str, Any]]
"""Finishes one unfinished step (by its token) and returns the stored response brought up to date."""

_RESUMERS: dict[str, Resumer] = {}
_UNFINISHED = "kracht.idempotency.unfinished"


class IdempotentRequest(SQLModel, table=True):
    """The remembered outcome of one POST made with an Idempotency-Key."""

    __tablename__ = "idempotent_request"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotent_request"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=200)
    key: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    response: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    unfinished: list[list[str]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


def add_resumer(step: str, resumer: Resumer) -> None:
    """Register how a step of that name is finished when the client retries (payments: "checkout")."""
    _RESUMERS[step] = resumer


def finish_on_retry(session: Session, *, step: str, token: str, error: KrachtError) -> bool:
    """Inside keyed work, keep what was done and answer `error`, finishing `step` on the retry; False outside."""
    unfinished: list[tuple[str, str, KrachtError]] | None = session.info.get(_UNFINISHED)
    if unfinished is None or step not in _RESUMERS:
        return False
    unfinished.append((step, token, error))
    return True


class Idempotency:
    """Runs an endpoint's work once per key; built per request by the `IdempotencyDep` dependency."""

    def __init__(self, session: Session, scope: str, key: str | None, *, finishes_on_retry: bool = True):
        self.session = session
        self.scope = scope
        self.key = key
        self.finishes_on_retry = finishes_on_retry

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
            return response_model.model_validate(self._repeat(digest))
        result, failures = self._work(work)
        claim.response = result.model_dump(mode="json")
        claim.unfinished = [[step, token] for step, token, _ in failures] or None
        self.session.add(claim)
        self.session.flush()
        if failures:
            failure = failures[0][2]
            failure.keeps_changes = True
            failure.message += "; it is kept: retry with the same Idempotency-Key to finish it"
            raise failure
        return result

    def _work(self, work: Callable[[], ModelT]) -> tuple[ModelT, list[tuple[str, str, KrachtError]]]:
        """Run the work, collecting the steps it left to finish on a retry (none unless this caller allows)."""
        if not self.finishes_on_retry:
            return work(), []
        failures: list[tuple[str, str, KrachtError]] = []
        self.session.info[_UNFINISHED] = failures
        try:
            return work(), failures
        finally:
            self.session.info.pop(_UNFINISHED, None)

    def _repeat(self, digest: str) -> dict[str, Any]:
        """The first request's response, after finishing what it left unfinished."""
        earlier = self.session.exec(select(IdempotentRequest).where(
            IdempotentRequest.scope == self.scope, IdempotentRequest.key == self.key).with_for_update()).one()
        if earlier.request_hash != digest or earlier.response is None:
            raise Conflict("this Idempotency-Key was used for another request", field="Idempotency-Key")
        if earlier.unfinished:
            response = earlier.response
            for step, token in earlier.unfinished:
                response = _RESUMERS[step](self.session, token, response)
            earlier.response, earlier.unfinished = response, None
            self.session.add(earlier)
            self.session.flush()
        return earlier.response


def idempotency(
    request: Request, session: SessionDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)] = None,
) -> Idempotency:
    """The request's idempotency helper, scoped to its method and path."""
    return Idempotency(session, f"{request.method} {request.url.path}", idempotency_key)


IdempotencyDep = Annotated[Idempotency, Depends(idempotency)]

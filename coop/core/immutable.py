"""Append-only tables: rows are added, never changed or deleted through the ORM.

Guards both paths a session offers: the unit of work (changed or deleted
objects at flush) and bulk `update()` / `delete()` statements, which skip the
flush. Plain SQL on the tables is not blocked; migrations may still need it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState
from sqlmodel import Session

_PROTECTED: dict[type, type[Exception]] = {}


def append_only(model: type, error: type[Exception]) -> None:
    """Refuse every change to or deletion of `model` rows with `error`."""
    _PROTECTED[model] = error


def _protected(obj: object) -> type[Exception] | None:
    """The error for `obj` if it belongs to an append-only table."""
    return next((error for model, error in _PROTECTED.items() if isinstance(obj, model)), None)


@event.listens_for(Session, "before_flush")
def _refuse_changes(session: Session, _context: Any, _instances: Any) -> None:
    """Changed or deleted append-only objects never reach the database."""
    for obj in list(session.dirty) + list(session.deleted):
        error = _protected(obj)
        if error is not None and (obj in session.deleted or session.is_modified(obj)):
            raise error(f"{type(obj).__name__} rows are append-only: add a correcting row instead")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: ORMExecuteState) -> None:
    """Nor through `session.execute(update(Model))` / `delete(Model)`."""
    if (state.is_update or state.is_delete) and state.bind_mapper is not None:
        error = _PROTECTED.get(state.bind_mapper.class_)
        if error is not None:
            raise error(f"{state.bind_mapper.class_.__name__} rows are append-only")

"""Reading share classes and replaying the register."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, col, select

from coop.shares.models import OperationKind, ShareClass, ShareMutation, ShareOperation
from coop.shares.schemas import Holding


def class_version(session: Session, *, code: str, at: date) -> ShareClass | None:
    """The version of class `code` in force on `at`."""
    return session.exec(select(ShareClass).where(ShareClass.code == code, col(ShareClass.valid_from) <= at)
                        .order_by(col(ShareClass.valid_from).desc())).first()


def classes_in_force(session: Session, *, at: date) -> list[ShareClass]:
    """Every class's version in force on `at`, by code."""
    codes = session.exec(select(ShareClass.code).distinct().order_by(col(ShareClass.code))).all()
    found = (class_version(session, code=code, at=at) for code in codes)
    return [share_class for share_class in found if share_class is not None]


def operations_until(session: Session, *, at: date) -> Sequence[ShareOperation]:
    """The operation log up to and including `at`, in order."""
    return session.exec(select(ShareOperation).where(col(ShareOperation.effective_on) <= at)
                        .order_by(col(ShareOperation.effective_on), col(ShareOperation.number))).all()


def holdings_at(session: Session, *, at: date) -> list[Holding]:
    """Replay the log: who held which certificates of which class on `at`."""
    held: dict[tuple[uuid.UUID, str], set[int]] = defaultdict(set)
    nominal: dict[str, int] = {}
    for op in operations_until(session, at=at):
        nominal[op.class_code] = op.nominal_cents
        if op.from_member_id is not None:
            held[(op.from_member_id, op.class_code)] -= set(op.certificates)
        if op.to_member_id is not None and op.kind in (OperationKind.ISSUE, OperationKind.TRANSFER):
            held[(op.to_member_id, op.class_code)] |= set(op.certificates)
    return [Holding(member_id=member_id, class_code=code, quantity=len(certs), nominal_cents=nominal[code],
                    certificates=sorted(certs))
            for (member_id, code), certs in sorted(held.items(), key=lambda item: (str(item[0][0]), item[0][1]))
            if certs]


def held_quantity(session: Session, *, member_id: uuid.UUID, class_code: str, at: date) -> int:
    """How many shares of a class a member held on `at`."""
    held: set[int] = set()
    for op in session.exec(select(ShareOperation).where(
            ShareOperation.class_code == class_code, col(ShareOperation.effective_on) <= at,
            (col(ShareOperation.from_member_id) == member_id) | (col(ShareOperation.to_member_id) == member_id))
            .order_by(col(ShareOperation.effective_on), col(ShareOperation.number))).all():
        if op.from_member_id == member_id:
            held -= set(op.certificates)
        if op.to_member_id == member_id and op.kind in (OperationKind.ISSUE, OperationKind.TRANSFER):
            held |= set(op.certificates)
    return len(held)


def issued_cents(session: Session, *, class_code: str) -> int:
    """Nominal value ever issued in a class (against its cap); redemptions do not make room again."""
    total = session.exec(select(func.coalesce(func.sum(
        col(ShareOperation.quantity) * col(ShareOperation.nominal_cents)), 0))
        .where(ShareOperation.class_code == class_code, ShareOperation.kind == OperationKind.ISSUE)).one()
    return int(total)


def list_mutations(session: Session, *, status: str | None = None, kind: str | None = None) -> Sequence[ShareMutation]:
    """Transfers and redemptions, newest request first."""
    query = select(ShareMutation)
    if status is not None:
        query = query.where(ShareMutation.status == status)
    if kind is not None:
        query = query.where(ShareMutation.kind == kind)
    return session.exec(query.order_by(col(ShareMutation.requested_at).desc())).all()

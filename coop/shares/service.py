"""Share rules: which classes a member may hold, ordering, issuing with certificate numbers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from coop.core.clock import today_amsterdam
from coop.core.errors import Conflict, InvalidInput, NotFound
from coop.core.sequences import next_number
from coop.shares.models import (
    OperationKind,
    OrderStatus,
    ShareClass,
    ShareOperation,
    ShareOrder,
    ShareOrderLine,
)
from coop.shares.queries import class_version, held_quantity, issued_cents

ORDINARY = "lidmaatschap"
SOCIAL = "maatschappelijk"
INVESTOR_NOTICE = ("Let op! U belegt buiten AFM-toezicht. Geen vergunning- en prospectusplicht voor deze "
                   "activiteit.")
OPERATION_SERIES = "share_operation"
CERTIFICATE_SERIES = "share_certificate"


@dataclass(frozen=True)
class ShareRequest:
    """So many shares of a class, as asked for."""

    class_code: str
    quantity: int


DEFAULT_CLASSES = (
    ShareClass(code=ORDINARY, name="Lidmaatschapsaandeel", nominal_cents=5000, required=True,
               member_kinds=["person", "initiative", "social_enterprise", "company", "government", "organisation"],
               min_per_member=1, max_per_member=1, transferable=False, notice_months=3, payout_years_after_end=1,
               valid_from=date(2020, 1, 1)),
    ShareClass(code=SOCIAL, name="Maatschappelijk aandeel", nominal_cents=25000, required=False,
               member_kinds=["company", "government", "organisation"], min_per_member=0, max_per_member=1000,
               transferable=True, notice_months=6, payout_years_after_end=2, cap_cents=50_000_000,
               investor_notice=INVESTOR_NOTICE, valid_from=date(2020, 1, 1)),
)


def seed_share_classes(session: Session) -> int:
    """Create the two standard classes when no version of them exists yet (board edits are kept)."""
    added = 0
    for template in DEFAULT_CLASSES:
        if session.exec(select(ShareClass.id).where(ShareClass.code == template.code)).first() is None:
            session.add(ShareClass.model_validate(template.model_dump(exclude={"id"})))
            added += 1
    session.flush()
    return added


def _eligible_version(session: Session, *, request: ShareRequest, member_kind: str, at: date) -> ShareClass:
    """The class version in force, if this kind of member may hold it."""
    share_class = class_version(session, code=request.class_code, at=at)
    if share_class is None:
        raise InvalidInput(f"unknown share class {request.class_code!r}", field="share_class")
    if member_kind not in share_class.member_kinds:
        raise InvalidInput(f"a {member_kind} cannot hold {share_class.name}", field="share_class")
    if isinstance(request.quantity, bool) or not isinstance(request.quantity, int) or request.quantity < 1:
        raise InvalidInput("quantity must be a whole number of at least 1", field="quantity")
    return share_class


def create_order(
    session: Session, *, member_id: uuid.UUID, member_kind: str, requests: list[ShareRequest],
) -> ShareOrder:
    """A pending order within the class rules (kinds, maximum per member, the issue's cap)."""
    today = today_amsterdam()
    order = ShareOrder(member_id=member_id, amount_cents=0)
    lines: list[ShareOrderLine] = []
    for request in requests:
        share_class = _eligible_version(session, request=request, member_kind=member_kind, at=today)
        holding = held_quantity(session, member_id=member_id, class_code=share_class.code, at=today)
        if share_class.max_per_member is not None and holding + request.quantity > share_class.max_per_member:
            raise InvalidInput(f"at most {share_class.max_per_member} of {share_class.name} per member",
                               field="quantity")
        amount = request.quantity * share_class.nominal_cents
        if share_class.cap_cents is not None and issued_cents(
                session, class_code=share_class.code) + amount > share_class.cap_cents:
            raise Conflict(f"the issue of {share_class.name} is full", field="quantity")
        lines.append(ShareOrderLine(order_id=order.id, share_class_id=share_class.id, class_code=share_class.code,
                                    quantity=request.quantity, nominal_cents=share_class.nominal_cents))
        order.amount_cents += amount
    if not lines:
        raise InvalidInput("order at least one share", field="quantity")
    session.add(order)
    session.flush()
    session.add_all(lines)
    session.flush()
    return order


def get_order(session: Session, *, order_id: uuid.UUID) -> ShareOrder:
    """One order, or NotFound."""
    order = session.get(ShareOrder, order_id)
    if order is None:
        raise NotFound("no such share order", field="order_id")
    return order


def order_lines(session: Session, *, order_id: uuid.UUID) -> list[ShareOrderLine]:
    """The lines of an order, by class."""
    return list(session.exec(select(ShareOrderLine).where(ShareOrderLine.order_id == order_id)
                             .order_by(col(ShareOrderLine.class_code))).all())


def issue_order(session: Session, *, order_id: uuid.UUID, effective_on: date,
                approved_by: uuid.UUID | None = None) -> list[ShareOperation]:
    """Issue the shares of a paid order in one step, each with the next certificate number (once)."""
    order = get_order(session, order_id=order_id)
    if order.status is OrderStatus.PAID:
        return list(session.exec(select(ShareOperation).where(ShareOperation.order_id == order.id)).all())
    if order.status is not OrderStatus.PENDING:
        raise Conflict(f"a {order.status.value} order cannot be issued", field="order_id")
    operations = []
    for line in order_lines(session, order_id=order.id):
        certificates = [next_number(session, series=CERTIFICATE_SERIES) for _ in range(line.quantity)]
        operation = ShareOperation(
            number=next_number(session, series=OPERATION_SERIES), kind=OperationKind.ISSUE,
            class_code=line.class_code, nominal_cents=line.nominal_cents, quantity=line.quantity,
            certificates=certificates, to_member_id=order.member_id, effective_on=effective_on,
            approved_by=approved_by, order_id=order.id)
        session.add(operation)
        operations.append(operation)
    order.status = OrderStatus.PAID
    session.add(order)
    session.flush()
    return operations


def cancel_order(session: Session, *, order_id: uuid.UUID, effective_on: date) -> None:
    """The order's payment went back in full: its shares leave the register as they came in."""
    order = get_order(session, order_id=order_id)
    if order.status is OrderStatus.PENDING:
        order.status = OrderStatus.CANCELED
    elif order.status is OrderStatus.PAID:
        for issued in session.exec(select(ShareOperation).where(ShareOperation.order_id == order.id,
                                                                ShareOperation.kind == OperationKind.ISSUE)).all():
            session.add(ShareOperation(
                number=next_number(session, series=OPERATION_SERIES), kind=OperationKind.CANCELLATION,
                class_code=issued.class_code, nominal_cents=issued.nominal_cents, quantity=issued.quantity,
                certificates=issued.certificates, from_member_id=issued.to_member_id, effective_on=effective_on,
                order_id=order.id))
        order.status = OrderStatus.CANCELED
    session.add(order)
    session.flush()


def fail_order(session: Session, *, order_id: uuid.UUID) -> None:
    """The payment never came: the order will not be issued."""
    order = get_order(session, order_id=order_id)
    if order.status is OrderStatus.PENDING:
        order.status = OrderStatus.FAILED
        session.add(order)
        session.flush()

"""Share rules: which classes a member may hold, ordering, issuing with certificate numbers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from coop.audit.service import record
from coop.core.clock import today_amsterdam, utc_now
from coop.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from coop.core.sequences import next_number
from coop.ledger.chart import AccountCode
from coop.ledger.schemas import Line
from coop.ledger.service import post
from coop.shares.models import (
    MutationKind,
    MutationStatus,
    OperationKind,
    OrderStatus,
    ShareClass,
    ShareMutation,
    ShareOperation,
    ShareOrder,
    ShareOrderLine,
)
from coop.shares.queries import class_version, held_quantity, holdings_at, issued_cents
from coop.shares.schemas import Holding

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


def order_held(session: Session, *, order_id: uuid.UUID, at: date) -> list[ShareOperation]:
    """The order's issued shares that its member still holds on `at`, as issue operations narrowed to them."""
    order = get_order(session, order_id=order_id)
    held = {(h.class_code, c) for h in holdings_at(session, at=at) if h.member_id == order.member_id
            for c in h.certificates}
    narrowed = []
    for issued in session.exec(select(ShareOperation).where(ShareOperation.order_id == order.id,
                                                            ShareOperation.kind == OperationKind.ISSUE)).all():
        still = [c for c in issued.certificates if (issued.class_code, c) in held]
        if still:
            narrowed.append(ShareOperation(number=0, kind=OperationKind.ISSUE, class_code=issued.class_code,
                                           nominal_cents=issued.nominal_cents, quantity=len(still),
                                           certificates=still, to_member_id=order.member_id,
                                           effective_on=issued.effective_on))
    return narrowed


def order_value_held(session: Session, *, order_id: uuid.UUID, at: date) -> int:
    """Nominal value of the order's shares its member still holds on `at`."""
    return sum(op.quantity * op.nominal_cents for op in order_held(session, order_id=order_id, at=at))


def cancel_order(session: Session, *, order_id: uuid.UUID, effective_on: date) -> None:
    """The order's payment went back in full: the shares of it the member still holds leave the register."""
    order = get_order(session, order_id=order_id)
    if order.status is OrderStatus.PAID:
        for held in order_held(session, order_id=order.id, at=effective_on):
            session.add(ShareOperation(
                number=next_number(session, series=OPERATION_SERIES), kind=OperationKind.CANCELLATION,
                class_code=held.class_code, nominal_cents=held.nominal_cents, quantity=held.quantity,
                certificates=held.certificates, from_member_id=order.member_id, effective_on=effective_on,
                order_id=order.id))
    if order.status in (OrderStatus.PENDING, OrderStatus.PAID):
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



def _holding(session: Session, *, member_id: uuid.UUID, class_code: str, at: date) -> Holding | None:
    """The member's holding of a class on `at` (certificates lowest first), if any."""
    return next((h for h in holdings_at(session, at=at) if h.member_id == member_id and h.class_code == class_code),
                None)


def _require_holding(session: Session, *, member_id: uuid.UUID, class_code: str, quantity: int, at: date) -> None:
    """The member must hold at least `quantity` shares of the class on `at`."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise InvalidInput("quantity must be a whole number of at least 1", field="quantity")
    holding = _holding(session, member_id=member_id, class_code=class_code, at=at)
    held = holding.quantity if holding else 0
    if held < quantity:
        raise InvalidInput(f"the member holds {held} of {class_code}, not {quantity}", field="quantity")


def _audited(session: Session, mutation: ShareMutation, *, action: str, actor_id: uuid.UUID | None) -> ShareMutation:
    """Record a step of a transfer or redemption in the audit log (who, what, from which state)."""
    record(session, action=f"share_{mutation.kind.value}.{action}", object_type="share_mutation",
           object_id=mutation.id, actor_id=actor_id,
           after={"status": mutation.status.value, "class_code": mutation.class_code, "quantity": mutation.quantity,
                  "from_member_id": str(mutation.from_member_id), "effective_on": mutation.effective_on.isoformat(),
                  "to_member_id": str(mutation.to_member_id) if mutation.to_member_id else None,
                  "reason": mutation.reason})
    return mutation


def request_transfer(
    session: Session, *, from_member_id: uuid.UUID, to_member_id: uuid.UUID, to_member_kind: str,
    class_code: str, quantity: int, requested_by: uuid.UUID | None,
) -> ShareMutation:
    """Ask to move shares to another member: the class must be transferable and the receiver eligible."""
    today = today_amsterdam()
    if from_member_id == to_member_id:
        raise InvalidInput("a member cannot transfer shares to themself", field="to_member_id")
    share_class = class_version(session, code=class_code, at=today)
    if share_class is None:
        raise InvalidInput(f"unknown share class {class_code!r}", field="class_code")
    if not share_class.transferable:
        raise InvalidInput(f"{share_class.name} is not transferable", field="class_code")
    if to_member_kind not in share_class.member_kinds:
        raise InvalidInput(f"a {to_member_kind} cannot hold {share_class.name}", field="to_member_id")
    _require_holding(session, member_id=from_member_id, class_code=class_code, quantity=quantity, at=today)
    mutation = ShareMutation(kind=MutationKind.TRANSFER, class_code=class_code, quantity=quantity,
                             from_member_id=from_member_id, to_member_id=to_member_id, effective_on=today,
                             requested_by=requested_by)
    session.add(mutation)
    session.flush()
    return _audited(session, mutation, action="requested", actor_id=requested_by)


def request_redemption(
    session: Session, *, member_id: uuid.UUID, class_code: str, quantity: int, requested_by: uuid.UUID | None,
    effective_on: date | None = None,
) -> ShareMutation:
    """Ask the cooperative to take shares back (on resignation or on request), effective on a date."""
    on = effective_on or today_amsterdam()
    _require_holding(session, member_id=member_id, class_code=class_code, quantity=quantity, at=today_amsterdam())
    mutation = ShareMutation(kind=MutationKind.REDEMPTION, class_code=class_code, quantity=quantity,
                             from_member_id=member_id, effective_on=on, requested_by=requested_by)
    session.add(mutation)
    session.flush()
    return _audited(session, mutation, action="requested", actor_id=requested_by)


def get_mutation(session: Session, *, mutation_id: uuid.UUID) -> ShareMutation:
    """One transfer or redemption, or NotFound."""
    mutation = session.get(ShareMutation, mutation_id)
    if mutation is None:
        raise NotFound("no such transfer or redemption", field="mutation_id")
    return mutation


def _decidable(session: Session, *, mutation_id: uuid.UUID, decider_id: uuid.UUID) -> ShareMutation:
    """A requested mutation that this board member may decide (four eyes: never their own request)."""
    mutation = get_mutation(session, mutation_id=mutation_id)
    if mutation.status is not MutationStatus.REQUESTED:
        raise Conflict(f"this {mutation.kind.value} is already {mutation.status.value}", field="mutation_id")
    if mutation.requested_by == decider_id:
        raise Forbidden("four eyes: someone other than the requester must decide", field="mutation_id")
    return mutation


def approve_mutation(session: Session, *, mutation_id: uuid.UUID, approver_id: uuid.UUID) -> ShareMutation:
    """Carry out an approved transfer or redemption: one register operation and one ledger entry, same date."""
    mutation = _decidable(session, mutation_id=mutation_id, decider_id=approver_id)
    on = mutation.effective_on
    holding = _holding(session, member_id=mutation.from_member_id, class_code=mutation.class_code,
                       at=max(on, today_amsterdam()))
    if holding is None or holding.quantity < mutation.quantity:
        raise Conflict("the member no longer holds these shares", field="quantity")
    share_class = class_version(session, code=mutation.class_code, at=on)
    if share_class is None:
        raise Conflict(f"share class {mutation.class_code} is not in force on {on}", field="class_code")
    moved = holding.certificates[:mutation.quantity]
    nominal = holding.nominal_cents
    amount = nominal * mutation.quantity
    is_transfer = mutation.kind is MutationKind.TRANSFER
    if is_transfer and mutation.to_member_id is not None and share_class.max_per_member is not None:
        after = held_quantity(session, member_id=mutation.to_member_id, class_code=mutation.class_code,
                              at=on) + mutation.quantity
        if after > share_class.max_per_member:
            raise Conflict(f"the receiver would hold more than {share_class.max_per_member}", field="quantity")
    operation = ShareOperation(
        number=next_number(session, series=OPERATION_SERIES),
        kind=OperationKind.TRANSFER if is_transfer else OperationKind.REDEMPTION,
        class_code=mutation.class_code, nominal_cents=nominal, quantity=mutation.quantity, certificates=moved,
        from_member_id=mutation.from_member_id, to_member_id=mutation.to_member_id if is_transfer else None,
        effective_on=on, requested_by=mutation.requested_by, approved_by=approver_id)
    session.add(operation)
    receiving = (Line(account=AccountCode.SHARE_CAPITAL, amount_cents=-amount, member_id=mutation.to_member_id)
                 if is_transfer else
                 Line(account=AccountCode.REDEMPTIONS_PAYABLE, amount_cents=-amount, member_id=mutation.from_member_id))
    post(session, key=f"share-mutation:{mutation.id}", booked_on=on, source_type="share_mutation",
         source_id=str(mutation.id), created_by=approver_id,
         description=f"{mutation.kind.value.capitalize()} of {mutation.quantity} {share_class.name}",
         lines=[Line(account=AccountCode.SHARE_CAPITAL, amount_cents=amount, member_id=mutation.from_member_id),
                receiving])
    mutation.status = MutationStatus.APPROVED
    mutation.decided_by = approver_id
    mutation.decided_at = utc_now()
    mutation.operation_id = operation.id
    mutation.amount_cents = amount
    if not is_transfer:
        mutation.payout_due_on = date(on.year + share_class.payout_years_after_end, 12, 31)
    session.add(mutation)
    session.flush()
    return _audited(session, mutation, action="approved", actor_id=approver_id)


def reject_mutation(session: Session, *, mutation_id: uuid.UUID, decider_id: uuid.UUID, reason: str) -> ShareMutation:
    """Turn a request down, with the reason the member will be told."""
    mutation = _decidable(session, mutation_id=mutation_id, decider_id=decider_id)
    mutation.status = MutationStatus.REJECTED
    mutation.decided_by = decider_id
    mutation.decided_at = utc_now()
    mutation.reason = reason
    session.add(mutation)
    session.flush()
    return _audited(session, mutation, action="rejected", actor_id=decider_id)


def due_payouts(session: Session, *, on: date) -> list[ShareMutation]:
    """Approved redemptions whose payout date has come and that are not paid yet, oldest first."""
    return list(session.exec(select(ShareMutation).where(
        ShareMutation.kind == MutationKind.REDEMPTION, ShareMutation.status == MutationStatus.APPROVED,
        col(ShareMutation.payout_due_on) <= on).order_by(col(ShareMutation.payout_due_on),
                                                       col(ShareMutation.requested_at))).all())


def record_payout(session: Session, *, mutation_id: uuid.UUID, paid_on: date, by: uuid.UUID | None) -> ShareMutation:
    """The bank paid the redemption out: 2100 redemptions payable -> 1200 bank, once."""
    mutation = get_mutation(session, mutation_id=mutation_id)
    if mutation.kind is not MutationKind.REDEMPTION:
        raise Conflict("only redemptions are paid out", field="mutation_id")
    if mutation.status is MutationStatus.PAID_OUT:
        return mutation
    if mutation.status is not MutationStatus.APPROVED:
        raise Conflict(f"a {mutation.status.value} redemption cannot be paid out", field="mutation_id")
    post(session, key=f"redemption-payout:{mutation.id}", booked_on=paid_on, source_type="share_mutation",
         source_id=str(mutation.id), created_by=by, description=f"Payout of redeemed {mutation.class_code} shares",
         lines=[Line(account=AccountCode.REDEMPTIONS_PAYABLE, amount_cents=mutation.amount_cents,
                     member_id=mutation.from_member_id),
                Line(account=AccountCode.BANK, amount_cents=-mutation.amount_cents, member_id=mutation.from_member_id)])
    mutation.status = MutationStatus.PAID_OUT
    mutation.paid_out_on = paid_on
    session.add(mutation)
    session.flush()
    return _audited(session, mutation, action="paid_out", actor_id=by)


def investor_notices(session: Session, *, order_id: uuid.UUID) -> list[str]:
    """The notices the law requires on this offer (e.g. outside AFM supervision), once each."""
    notices: list[str] = []
    for line in order_lines(session, order_id=order_id):
        share_class = session.get(ShareClass, line.share_class_id)
        if share_class is not None and share_class.investor_notice and share_class.investor_notice not in notices:
            notices.append(share_class.investor_notice)
    return notices


def order_description(session: Session, *, order_id: uuid.UUID) -> str:
    """What the order buys, without personal data (it ends up in the immutable ledger)."""
    parts = []
    for line in order_lines(session, order_id=order_id):
        share_class = session.get(ShareClass, line.share_class_id)
        parts.append(f"{line.quantity} x {share_class.name if share_class else line.class_code}")
    return "Aandelen: " + ", ".join(parts)

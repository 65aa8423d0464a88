"""GDPR: a member's personal data as JSON (access, art. 15/20) and erasure by pseudonymisation (art. 17).

Erasure keeps the member's id, number, dated facts, share operations, orders, payments, invoices and ledger rows:
the registers, the trial balance and the financial records (kept seven years, art. 2:10 BW and
art. 52 AWR) stay whole, and only the fields that identify the person are replaced or cleared.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import Session, SQLModel, col, select

from coop.audit.queries import list_events
from coop.audit.service import record
from coop.auth.service import erase_user
from coop.core.clock import today_amsterdam, utc_now
from coop.core.errors import Conflict, NotFound
from coop.core.settings import get_settings
from coop.members.models import Consent, Member
from coop.members.queries import facts_until, status_at
from coop.members.service import SHARE_ORDER
from coop.notifications.models import Notification
from coop.payments.models import Payment, PaymentStatus, Refund, RefundStatus
from coop.payments.queries import refunds_of
from coop.shares.models import MutationKind, MutationStatus, ShareMutation, ShareOperation, ShareOrder
from coop.shares.queries import holdings_at
from coop.shares.service import order_lines

# Replaced by a pseudonym (they are NOT NULL), and cleared.
PSEUDONYMISED_FIELDS = ("name", "email")
CLEARED_FIELDS = ("phone", "street", "postcode", "city", "iban", "kvk_number")
UNSETTLED_PAYMENT = (PaymentStatus.OPEN, PaymentStatus.PENDING)
PAYMENT_FIELDS = ("id", "reference", "purpose", "purpose_id", "amount_cents", "currency", "description", "provider",
                  "provider_reference", "method", "status", "refunded_cents", "charged_back_cents", "payer_name",
                  "payer_email", "recurring", "details", "created_at", "updated_at", "paid_at")


ExportSection = Callable[[Session, uuid.UUID], list[dict[str, Any]]]
_SECTIONS: dict[str, ExportSection] = {}
ERASED_TEXT = "[verwijderd]"


def register_export_section(name: str, section: ExportSection) -> None:
    """Let a domain that members cannot import (subscriptions, funding) add what it keeps about a member."""
    _SECTIONS[name] = section


def _json(row: SQLModel, *, exclude: set[str] | None = None, include: tuple[str, ...] | None = None) -> dict[str, Any]:
    """A table row as JSON-safe values (UUIDs, dates and enums as strings)."""
    return row.model_dump(mode="json", exclude=exclude, include=set(include) if include else None)


def _lock_member(session: Session, *, member_id: uuid.UUID) -> Member:
    """The member row, locked on PostgreSQL for the rest of the transaction; NotFound otherwise."""
    member = session.get(Member, member_id, with_for_update=True)
    if member is None:
        raise NotFound("no such member", field="member_id")
    return member


def _orders(session: Session, *, member_id: uuid.UUID) -> list[ShareOrder]:
    """The member's share orders, oldest first."""
    return list(session.exec(select(ShareOrder).where(ShareOrder.member_id == member_id)
                             .order_by(col(ShareOrder.created_at))).all())


def _payments(session: Session, *, member: Member, order_ids: list[uuid.UUID]) -> list[Payment]:
    """Payments for the member's share orders and any payment made with the member's e-mail, oldest first."""
    conditions: list[ColumnElement[bool]] = [col(Payment.payer_email) == member.email]
    if order_ids:
        conditions.append(and_(col(Payment.purpose) == SHARE_ORDER, col(Payment.purpose_id).in_(order_ids)))
    return list(session.exec(select(Payment).where(or_(*conditions))
                             .order_by(col(Payment.created_at), col(Payment.id))).all())


def _operations(session: Session, *, member_id: uuid.UUID) -> list[ShareOperation]:
    """Share register operations giving shares to or taking them from the member, in register order."""
    return list(session.exec(select(ShareOperation).where(or_(
        col(ShareOperation.from_member_id) == member_id, col(ShareOperation.to_member_id) == member_id))
        .order_by(col(ShareOperation.number))).all())


def _mutations(session: Session, *, member_id: uuid.UUID) -> list[ShareMutation]:
    """Transfers and redemptions the member gives or receives shares in, oldest request first."""
    return list(session.exec(select(ShareMutation).where(or_(
        col(ShareMutation.from_member_id) == member_id, col(ShareMutation.to_member_id) == member_id))
        .order_by(col(ShareMutation.requested_at))).all())


def _audit_events(session: Session, *, member_id: uuid.UUID) -> list[Any]:
    """Audit events about the member, oldest first."""
    events, _ = list_events(session, object_type="member", object_id=str(member_id), limit=100_000)
    return sorted(events, key=lambda e: (e.at, str(e.id)))


def export_member(session: Session, *, member_id: uuid.UUID) -> dict[str, Any]:
    """Everything kept about a member as JSON-safe values: fields, consents, facts, shares, orders, payments,
    messages, audit, and the sections other domains registered (subscriptions, invoices)."""
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound("no such member", field="member_id")
    today = today_amsterdam()
    orders = _orders(session, member_id=member.id)
    payments = _payments(session, member=member, order_ids=[order.id for order in orders])
    status = status_at(session, member_id=member.id, at=today)
    return {
        "controller": get_settings().coop_name,
        "exported_at": utc_now().isoformat(),
        "member": _json(member),
        "status": status.value if status else None,
        "consents": [_json(c, include=("kind", "given_at")) for c in session.exec(
            select(Consent).where(Consent.member_id == member.id).order_by(col(Consent.given_at))).all()],
        "membership_facts": [_json(f, exclude={"member_id"})
                             for f in facts_until(session, at=date.max, member_id=member.id)],
        "holdings": [h.model_dump(mode="json", exclude={"member_id", "member_number"})
                     for h in holdings_at(session, at=today) if h.member_id == member.id],
        "share_operations": [_json(op) for op in _operations(session, member_id=member.id)],
        "share_mutations": [_json(m) for m in _mutations(session, member_id=member.id)],
        "share_orders": [{**_json(order), "lines": [_json(line, exclude={"order_id"})
                                                    for line in order_lines(session, order_id=order.id)]}
                         for order in orders],
        "payments": [{**_json(payment, include=PAYMENT_FIELDS),
                      "refunds": [_json(r, exclude={"payment_id"}) for r in refunds_of(session, payment=payment)]}
                     for payment in payments],
        "notifications": [_json(n, include=("template", "recipient", "subject", "body", "status", "created_at",
                                            "sent_at")) for n in _notifications(session, member_id=member.id)],
        "audit_events": [_json(event, exclude={"object_type", "object_id"})
                         for event in _audit_events(session, member_id=member.id)],
        **{name: section(session, member.id) for name, section in sorted(_SECTIONS.items())},
    }


def _notifications(session: Session, *, member_id: uuid.UUID) -> list[Notification]:
    """The messages sent (or kept) for the member, oldest first."""
    return list(session.exec(select(Notification).where(Notification.member_id == member_id)
                             .order_by(col(Notification.created_at))).all())


def erasure_blockers(session: Session, *, member: Member) -> list[str]:
    """Why the member cannot be erased yet (empty when they can): shares, unsettled money or mutations."""
    today = today_amsterdam()
    reasons = []
    held = [h for h in holdings_at(session, at=today) if h.member_id == member.id]
    if held:
        what = ", ".join(f"{h.quantity} {h.class_code}" for h in held)
        reasons.append(f"the member still holds shares on {today.isoformat()} ({what})")
    payments = _payments(session, member=member, order_ids=[o.id for o in _orders(session, member_id=member.id)])
    unsettled = [p.reference for p in payments if p.status in UNSETTLED_PAYMENT]
    if unsettled:
        reasons.append(f"payment {', '.join(unsettled)} is still open or pending")
    if payments and session.exec(select(Refund.id).where(
            col(Refund.payment_id).in_([p.id for p in payments]), Refund.status == RefundStatus.PENDING)).first():
        reasons.append("a refund to the member is still pending")
    if any(m.status is MutationStatus.REQUESTED
           or (m.kind is MutationKind.REDEMPTION and m.status is MutationStatus.APPROVED)
           for m in _mutations(session, member_id=member.id)):
        reasons.append("a transfer or redemption is still awaiting approval or payout")
    return reasons


def pseudonym(member: Member) -> str:
    """"Verwijderd lid 12", or the first eight hex digits of the id for someone who never got a number."""
    return f"Verwijderd lid {member.member_number if member.member_number is not None else member.id.hex[:8]}"


def erase_member(session: Session, *, member_id: uuid.UUID, actor_id: uuid.UUID | None) -> Member:
    """Pseudonymise a member (name, e-mail) and clear contact, address, IBAN and KvK; once, audited.

    Refused (Conflict) while shares are held today, money is unsettled, a mutation awaits approval or
    payout, or when already erased. Ids, member number, facts, share operations and ledger rows stay.
    """
    member = _lock_member(session, member_id=member_id)
    if member.erased_at is not None:
        raise Conflict(f"this member was already erased on {member.erased_at.date().isoformat()}",
                       field="member_id")
    reasons = erasure_blockers(session, member=member)
    if reasons:
        raise Conflict(f"cannot erase this member yet: {'; '.join(reasons)}", field="member_id")
    cleared = [name for name in CLEARED_FIELDS if getattr(member, name) is not None]
    member.name = pseudonym(member)
    member.email = f"erased-{member.id.hex}@invalid.example"
    for name in CLEARED_FIELDS:
        setattr(member, name, None)
    member.erased_at = utc_now()
    login_erased = member.user_id is not None and erase_user(session, user_id=member.user_id)
    for message in _notifications(session, member_id=member.id):  # not a financial record: nothing is kept
        message.recipient, message.subject, message.body, message.context = member.email, ERASED_TEXT, ERASED_TEXT, {}
        session.add(message)
    session.add(member)
    session.flush()
    # Field names only: the audit log is append-only, so it must never hold what was erased.
    record(session, action="member.erased", object_type="member", object_id=member.id, actor_id=actor_id,
           before={"erased_at": None},
           after={"erased_at": member.erased_at.isoformat(), "pseudonymised": list(PSEUDONYMISED_FIELDS),
                  "cleared": cleared, "login_erased": login_erased})
    return member

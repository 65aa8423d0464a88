"""Reading members and deriving their status on any date from the facts."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, col, select

from coop.members.models import STATUS_AFTER, FactKind, Member, MembershipFact, MemberStatus

LIFECYCLE = list(FactKind)  # declared in lifecycle order: applied, activated, resignation_requested, ...


def facts_until(session: Session, *, at: date, member_id: uuid.UUID | None = None) -> Sequence[MembershipFact]:
    """Facts effective on or before `at`, in the order they took effect."""
    query = select(MembershipFact).where(col(MembershipFact.effective_on) <= at)
    if member_id is not None:
        query = query.where(MembershipFact.member_id == member_id)
    facts = session.exec(query.order_by(col(MembershipFact.effective_on), col(MembershipFact.recorded_at))).all()
    # Facts recorded in the same instant (one transaction, or a frozen clock) follow the lifecycle's order.
    return sorted(facts, key=lambda f: (f.effective_on, f.recorded_at, LIFECYCLE.index(f.kind)))


def status_from(facts: Sequence[MembershipFact]) -> MemberStatus | None:
    """The status after the last fact (None before the first)."""
    return STATUS_AFTER[facts[-1].kind] if facts else None


def joined_on(facts: Sequence[MembershipFact]) -> date | None:
    """When the membership became active."""
    return next((f.effective_on for f in facts if f.kind is FactKind.ACTIVATED), None)


def status_at(session: Session, *, member_id: uuid.UUID, at: date) -> MemberStatus | None:
    """A member's status on `at`."""
    return status_from(facts_until(session, at=at, member_id=member_id))


def own_member(session: Session, *, user_id: uuid.UUID) -> Member | None:
    """The membership whose own login `user_id` is (the newest, if several); representatives are not counted."""
    return session.exec(select(Member).where(Member.user_id == user_id)
                        .order_by(col(Member.created_at).desc(), col(Member.id))).first()


def members_with_status(session: Session, *, at: date) -> list[tuple[Member, MemberStatus, date]]:
    """Members who had been admitted by `at` with their status then and their joining date, by number."""
    by_member: dict[uuid.UUID, list[MembershipFact]] = defaultdict(list)
    for fact in facts_until(session, at=at):
        by_member[fact.member_id].append(fact)
    admitted = {member_id: facts for member_id, facts in by_member.items() if joined_on(facts) is not None}
    if not admitted:
        return []
    rows = []
    # Every member, kept when admitted: a list of ids in IN (...) breaks PostgreSQL's 65,535 parameters.
    for member in session.exec(select(Member)).all():
        facts = admitted.get(member.id)
        if facts is None:
            continue
        status, joined = status_from(facts), joined_on(facts)
        if status is not None and joined is not None:
            rows.append((member, status, joined))
    return sorted(rows, key=lambda row: row[0].member_number or 0)


def search_members(
    session: Session, *, at: date, kind: str | None = None, status: MemberStatus | None = None,
    text: str | None = None, joined_from: date | None = None, joined_to: date | None = None,
) -> list[tuple[Member, MemberStatus | None, date | None]]:
    """Members with their status and joining date on `at`, filtered, ordered by number then name."""
    query = select(Member)
    if kind is not None:
        query = query.where(Member.kind == kind)
    if text:
        pattern = f"%{text.lower()}%"
        query = query.where(func.lower(Member.name).like(pattern) | func.lower(Member.email).like(pattern)
                            | func.lower(func.coalesce(Member.city, "")).like(pattern))
    facts_by_member: dict[uuid.UUID, list[MembershipFact]] = defaultdict(list)
    for fact in facts_until(session, at=at):
        facts_by_member[fact.member_id].append(fact)
    rows = []
    for member in session.exec(query).all():
        facts = facts_by_member.get(member.id, [])
        state, joined = status_from(facts), joined_on(facts)
        if status is not None and state is not status:
            continue
        if (joined_from or joined_to) and (joined is None or (joined_from and joined < joined_from)
                                           or (joined_to and joined > joined_to)):
            continue
        rows.append((member, state, joined))
    return sorted(rows, key=lambda row: (row[0].member_number is None, row[0].member_number or 0, row[0].name))

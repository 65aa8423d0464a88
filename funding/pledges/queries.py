"""Reading pledges: a project's progress, its backers and its public pledge list."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from funding.pledges.models import Pledge, PledgeKind, PledgeStatus
from funding.projects.models import Project

COUNTED_TIME = (PledgeStatus.PLEDGED, PledgeStatus.CONFIRMED, PledgeStatus.DELIVERED)
CONFIRMED_TIME = (PledgeStatus.CONFIRMED, PledgeStatus.DELIVERED)
MONEY_IN = (PledgeStatus.PAID,)


@dataclass(frozen=True)
class Progress:
    """Where a project stands: money in cents, time in minutes, materials by estimated value."""

    paid_cents: int = 0  # paid money pledges (held in 2200 or payable in 2400)
    pending_cents: int = 0  # pledged, payment not (yet) completed
    refunding_cents: int = 0  # paid, refund asked but not yet confirmed by the provider
    matched_cents: int = 0  # from matchfunding rules (gift funds: a later issue)
    granted_cents: int = 0  # from grants (gift funds: a later issue)
    minutes_pledged: int = 0
    minutes_confirmed: int = 0
    minutes_delivered: int = 0
    materials: int = 0
    materials_value_cents: int = 0
    backers: int = 0

    @property
    def raised_cents(self) -> int:
        """Money that counts towards the goal."""
        return self.paid_cents + self.matched_cents + self.granted_cents


# Gift funds' money for projects, given the crowd's own progress (a grant may depend on it).
Contribution = Callable[[Session, dict[uuid.UUID, Progress]], dict[uuid.UUID, int]]
_CONTRIBUTIONS: dict[str, Contribution] = {}


def register_contribution(field: str, totals: Contribution) -> None:
    """Let gift funds add their money to progress (`matched_cents`, `granted_cents`) without pledges importing them."""
    if field not in ("matched_cents", "granted_cents"):
        raise ValueError(f"not a contribution field: {field}")
    _CONTRIBUTIONS[field] = totals


def progress(session: Session, *, project_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Progress]:
    """Progress of each project (every id gets an entry), in two grouped queries."""
    ids = list(project_ids)
    if not ids:
        return {}
    totals: dict[uuid.UUID, dict[str, int]] = {pid: {} for pid in ids}
    # Eight columns: beyond sqlmodel's typed select(), so SQLAlchemy's own.
    rows = session.execute(
        sa_select(col(Pledge.project_id), col(Pledge.kind), col(Pledge.status), func.count(),
               func.coalesce(func.sum(Pledge.amount_cents), 0), func.coalesce(func.sum(Pledge.minutes), 0),
               func.coalesce(func.sum(Pledge.delivered_minutes), 0), func.coalesce(func.sum(Pledge.value_cents), 0))
        .where(col(Pledge.project_id).in_(ids))
        .group_by(col(Pledge.project_id), col(Pledge.kind), col(Pledge.status))).all()
    for project_id, kind, status, count, cents, minutes, delivered, value in rows:
        found = totals[project_id]

        def add(name: str, amount: int, into: dict[str, int] = found) -> None:
            into[name] = into.get(name, 0) + int(amount)

        if kind == PledgeKind.MONEY and status in MONEY_IN:
            add("paid_cents", cents)
        elif kind == PledgeKind.MONEY and status == PledgeStatus.PENDING:
            add("pending_cents", cents)
        elif kind == PledgeKind.MONEY and status == PledgeStatus.REFUND_PENDING:
            add("refunding_cents", cents)
        elif kind == PledgeKind.TIME and status in COUNTED_TIME:
            add("minutes_pledged", minutes)
            if status in CONFIRMED_TIME:
                add("minutes_confirmed", minutes)
            if status == PledgeStatus.DELIVERED:
                add("minutes_delivered", delivered)
        elif kind == PledgeKind.MATERIALS and status == PledgeStatus.PLEDGED:
            add("materials", count)
            add("materials_value_cents", value)
    for project_id, backers in _backers(session, ids).items():
        totals[project_id]["backers"] = backers
    crowd = {pid: Progress(**values) for pid, values in totals.items()}
    for field, contribution in _CONTRIBUTIONS.items():
        for project_id, cents in contribution(session, crowd).items():
            totals[project_id][field] = cents
    return {pid: Progress(**values) for pid, values in totals.items()}


def _backers(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Distinct people (by e-mail) with a paid money pledge or a standing time or materials pledge."""
    standing = col(Pledge.status).in_([*MONEY_IN, *COUNTED_TIME])
    rows = session.exec(select(Pledge.project_id, func.count(func.distinct(Pledge.email)))
                        .where(col(Pledge.project_id).in_(ids), standing)
                        .group_by(col(Pledge.project_id))).all()
    return {project_id: int(count) for project_id, count in rows}


def pledges_of(session: Session, *, project_id: uuid.UUID, kinds: Iterable[PledgeKind] | None = None,
               statuses: Iterable[PledgeStatus] | None = None, newest_first: bool = False,
               limit: int | None = None) -> list[Pledge]:
    """A project's pledges, optionally of some kinds and statuses."""
    query = select(Pledge).where(Pledge.project_id == project_id)
    if kinds is not None:
        query = query.where(col(Pledge.kind).in_(list(kinds)))
    if statuses is not None:
        query = query.where(col(Pledge.status).in_(list(statuses)))
    order = col(Pledge.created_at).desc() if newest_first else col(Pledge.created_at)
    query = query.order_by(order, col(Pledge.id))
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query).all())


def pledges_by_email(session: Session, *, email: str) -> list[tuple[Pledge, str]]:
    """Everything one person pledged (by e-mail), newest first, with the project's title."""
    rows = session.exec(select(Pledge, Project.title).join(Project, col(Project.id) == col(Pledge.project_id))
                        .where(Pledge.email == email.lower())
                        .order_by(col(Pledge.created_at).desc(), col(Pledge.id))).all()
    return [(pledge, title) for pledge, title in rows]


def recent_public_pledges(session: Session, *, project_id: uuid.UUID, limit: int = 10) -> list[Pledge]:
    """The latest standing pledges for the project page (the caller shows anonymous ones as "Anoniem")."""
    return pledges_of(session, project_id=project_id, statuses=[*MONEY_IN, *COUNTED_TIME], newest_first=True,
                      limit=limit)

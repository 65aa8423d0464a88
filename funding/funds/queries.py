"""Reading funds: balances from the ledger, rules, and the matches made."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlmodel import Session, col, func, select

from coop.ledger.chart import AccountCode
from coop.ledger.queries import balance
from funding.funds.models import Fund, Match, MatchRule, MatchStatus

STANDING = (MatchStatus.RESERVED, MatchStatus.PAYABLE)


def available_cents(session: Session, *, fund_id: uuid.UUID) -> int:
    """What the fund can still give (2300, fund dimension, as a positive amount)."""
    return -balance(session, account=AccountCode.FUNDS_AVAILABLE, fund_id=fund_id, project_id=None)


def reserved_cents(session: Session, *, fund_id: uuid.UUID) -> int:
    """What the fund has promised to projects that have not closed yet (2310, all projects)."""
    return -balance(session, account=AccountCode.FUNDS_RESERVED, fund_id=fund_id)


def list_funds(session: Session) -> list[Fund]:
    """Every fund, by name."""
    return list(session.exec(select(Fund).order_by(col(Fund.name), col(Fund.id))).all())


def rules_of(session: Session, *, fund_id: uuid.UUID | None = None, active_only: bool = False) -> list[MatchRule]:
    """Match rules in their stacking order (oldest first), of one fund or all."""
    query = select(MatchRule)
    if fund_id is not None:
        query = query.where(MatchRule.fund_id == fund_id)
    if active_only:
        query = query.where(col(MatchRule.active).is_(True))
    return list(session.exec(query.order_by(col(MatchRule.created_at), col(MatchRule.id))).all())


def matched_by_rule(session: Session, *, rule_id: uuid.UUID, project_id: uuid.UUID | None = None,
                    email: str | None = None) -> tuple[int, int]:
    """(cents, count) of a rule's standing matches, optionally on one project and by one pledger."""
    query = select(func.coalesce(func.sum(Match.amount_cents), 0), func.count()).where(
        Match.rule_id == rule_id, col(Match.status).in_(STANDING))
    if project_id is not None:
        query = query.where(Match.project_id == project_id)
    if email is not None:
        query = query.where(Match.pledger_email == email)
    cents, count = session.exec(query).one()
    return int(cents), int(count)


def matches_of(session: Session, *, pledge_id: uuid.UUID | None = None, project_id: uuid.UUID | None = None,
               statuses: Sequence[MatchStatus] = STANDING) -> list[Match]:
    """Matches of a pledge or a project in the given statuses, oldest first."""
    query = select(Match).where(col(Match.status).in_(list(statuses)))
    if pledge_id is not None:
        query = query.where(Match.pledge_id == pledge_id)
    if project_id is not None:
        query = query.where(Match.project_id == project_id)
    return list(session.exec(query.order_by(col(Match.created_at), col(Match.id))).all())


def matched_per_project(session: Session, project_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Standing matched cents per project (for project progress)."""
    rows = session.exec(select(Match.project_id, func.sum(Match.amount_cents))
                        .where(col(Match.project_id).in_(project_ids), col(Match.status).in_(STANDING))
                        .group_by(col(Match.project_id))).all()
    return {project_id: int(cents) for project_id, cents in rows}

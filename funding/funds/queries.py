"""Reading funds: balances from the ledger, rules, and the matches made."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, case
from sqlmodel import Session, col, func, select

from coop.ledger.chart import AccountCode
from coop.ledger.models import Account, JournalEntry, Posting
from coop.ledger.queries import balance
from funding.funds.models import Fund, Grant, GrantStatus, Match, MatchRule, MatchStatus
from funding.funds.schemas import Balances, FundStatement, StatementLine
from funding.pledges.queries import Progress

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


@dataclass(frozen=True)
class RuleUse:
    """What a rule's standing matches come to: in all, on one project, and for one pledger on it."""

    cents: int
    on_project_cents: int
    on_project_count: int
    by_pledger_count: int


def rule_use(session: Session, *, rule_id: uuid.UUID, project_id: uuid.UUID, email: str) -> RuleUse:
    """A rule's budget, project and pledger use in one query (a match of a paid pledge checks all three)."""
    on_project = col(Match.project_id) == project_id
    by_pledger = and_(on_project, col(Match.pledger_email) == email)
    cents, project_cents, project_count, pledger_count = session.exec(select(
        func.coalesce(func.sum(Match.amount_cents), 0),
        func.coalesce(func.sum(case((on_project, Match.amount_cents), else_=0)), 0),
        func.count(case((on_project, 1))), func.count(case((by_pledger, 1)))).where(
        Match.rule_id == rule_id, col(Match.status).in_(STANDING))).one()
    return RuleUse(int(cents), int(project_cents), int(project_count), int(pledger_count))


def matches_of(session: Session, *, pledge_id: uuid.UUID | None = None, project_id: uuid.UUID | None = None,
               statuses: Sequence[MatchStatus] = STANDING) -> list[Match]:
    """Matches of a pledge or a project in the given statuses, oldest first."""
    query = select(Match).where(col(Match.status).in_(list(statuses)))
    if pledge_id is not None:
        query = query.where(Match.pledge_id == pledge_id)
    if project_id is not None:
        query = query.where(Match.project_id == project_id)
    return list(session.exec(query.order_by(col(Match.created_at), col(Match.id))).all())


def matched_per_project(session: Session, crowd: dict[uuid.UUID, Progress]) -> dict[uuid.UUID, int]:
    """Standing matched cents per project (for project progress)."""
    rows = session.exec(select(Match.project_id, func.sum(Match.amount_cents))
                        .where(col(Match.project_id).in_(list(crowd)), col(Match.status).in_(STANDING))
                        .group_by(col(Match.project_id))).all()
    return {project_id: int(cents) for project_id, cents in rows}


def grants_of(session: Session, *, project_id: uuid.UUID | None = None, fund_id: uuid.UUID | None = None,
              statuses: Sequence[GrantStatus] | None = None) -> list[Grant]:
    """Grants of a project or a fund, oldest first."""
    query = select(Grant)
    if project_id is not None:
        query = query.where(Grant.project_id == project_id)
    if fund_id is not None:
        query = query.where(Grant.fund_id == fund_id)
    if statuses is not None:
        query = query.where(col(Grant.status).in_(list(statuses)))
    return list(session.exec(query.order_by(col(Grant.created_at), col(Grant.id))).all())


def condition_met(grant: Grant, crowd: Progress) -> bool:
    """The crowd raised the money and confirmed the hours the grant asked for."""
    return crowd.paid_cents >= grant.condition_cents and crowd.minutes_confirmed >= grant.condition_minutes


def granted_per_project(session: Session, crowd: dict[uuid.UUID, Progress]) -> dict[uuid.UUID, int]:
    """Approved (or payable) grants per project whose condition the crowd meets (for project progress)."""
    totals: dict[uuid.UUID, int] = {}
    standing = select(Grant).where(col(Grant.project_id).in_(list(crowd)),
                                   col(Grant.status).in_([GrantStatus.APPROVED, GrantStatus.PAYABLE]))
    for grant in session.exec(standing).all():
        if grant.status is GrantStatus.PAYABLE or condition_met(grant, crowd[grant.project_id]):
            totals[grant.project_id] = totals.get(grant.project_id, 0) + grant.amount_cents
    return totals


def fund_movements(session: Session, *, fund_id: uuid.UUID, start: date, end: date) -> list[tuple[str, str, int]]:
    """(source type, account code, signed cents) of the fund's postings on 2300 and 2310 booked in [start, end]."""
    rows = session.exec(
        select(JournalEntry.source_type, Account.code, func.sum(Posting.amount_cents))
        .join(JournalEntry, col(JournalEntry.id) == col(Posting.entry_id))
        .join(Account, col(Account.id) == col(Posting.account_id))
        .where(Posting.fund_id == fund_id, col(Account.code).in_([AccountCode.FUNDS_AVAILABLE,
                                                                   AccountCode.FUNDS_RESERVED]),
               col(JournalEntry.booked_on) >= start, col(JournalEntry.booked_on) <= end)
        .group_by(col(JournalEntry.source_type), col(Account.code))).all()
    return [(source or "manual", code, int(cents)) for source, code, cents in rows]


KINDS = {"fund_deposit": "deposits", "payment": "donations", "fund_match": "matches", "fund_grant": "grants",
         "pledge": "pledges given to the fund"}


def _balances(session: Session, fund_id: uuid.UUID, at: date) -> Balances:
    """The fund's balances at the end of `at` (liabilities shown positive)."""
    available = -balance(session, account=AccountCode.FUNDS_AVAILABLE, fund_id=fund_id, project_id=None, at=at)
    reserved = -balance(session, account=AccountCode.FUNDS_RESERVED, fund_id=fund_id, at=at)
    return Balances(available_cents=available, reserved_cents=reserved, total_cents=available + reserved)


def fund_statement(session: Session, *, fund_id: uuid.UUID, start: date, end: date) -> FundStatement:
    """Opening balances, what each kind of booking did in [start, end], closing balances; `reconciles` when
    opening plus the lines equals closing, all from the ledger."""
    by_kind: dict[str, dict[str, int]] = {}
    for source, code, cents in fund_movements(session, fund_id=fund_id, start=start, end=end):
        column = "available_cents" if code == AccountCode.FUNDS_AVAILABLE else "reserved_cents"
        kind = by_kind.setdefault(KINDS.get(source, "corrections"), {"available_cents": 0, "reserved_cents": 0})
        kind[column] -= cents
    lines = [StatementLine(kind=kind, **amounts) for kind, amounts in sorted(by_kind.items())]
    opening = _balances(session, fund_id, start - timedelta(days=1))
    closing = _balances(session, fund_id, end)
    reconciles = (opening.available_cents + sum(line.available_cents for line in lines) == closing.available_cents
                  and opening.reserved_cents + sum(line.reserved_cents for line in lines) == closing.reserved_cents)
    return FundStatement(fund_id=fund_id, start=start, end=end, opening=opening, lines=lines, closing=closing,
                         reconciles=reconciles)

"""Grants: a fund manager proposes, another fund manager or a board member approves (four eyes).

Approval reserves the money (2300 -> 2310, under the fund's row lock). When the
project closes, a grant whose condition the crowd met becomes payable to the
project (2310 -> 2400); otherwise it returns to the fund (2310 -> 2300).
"""

from __future__ import annotations

import uuid

from sqlmodel import Session

from coop.audit.service import record
from coop.auth.schemas import CurrentUser
from coop.core.clock import utc_now
from coop.core.db import get_row
from coop.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from coop.core.money import format_eur
from coop.ledger.chart import AccountCode
from coop.ledger.schemas import Line
from coop.ledger.service import post
from funding.funds.models import Grant, GrantStatus
from funding.funds.queries import available_cents
from funding.funds.schemas import GrantIn
from funding.funds.service import ensure_fund_manager, get_fund
from funding.projects.models import Project, ProjectStatus
from funding.projects.service import get_project

OPEN_PROJECT = (ProjectStatus.SUBMITTED, ProjectStatus.LIVE)


def get_grant(session: Session, *, grant_id: uuid.UUID, for_update: bool = False) -> Grant:
    """One grant, or NotFound."""
    grant = get_row(session, Grant, grant_id, for_update=for_update)
    if grant is None:
        raise NotFound("no such grant", field="grant_id")
    return grant


def propose_grant(session: Session, *, fund_id: uuid.UUID, data: GrantIn, user: CurrentUser) -> Grant:
    """A fund manager (or the board) proposes a grant to a project that is not decided yet."""
    fund = get_fund(session, fund_id=fund_id)
    ensure_fund_manager(session, fund=fund, user=user)
    project = get_project(session, project_id=data.project_id)
    if project.status not in OPEN_PROJECT:
        raise Conflict(f"a {project.status.value} project gets no new grants", field="project_id")
    grant = Grant(fund_id=fund.id, project_id=project.id, amount_cents=data.amount_cents, note=data.note.strip(),
                  condition_cents=data.condition_cents, condition_minutes=data.condition_hours * 60,
                  proposed_by=user.id)
    session.add(grant)
    session.flush()
    _audit(session, grant, "proposed", user.id)
    return grant


def approve_grant(session: Session, *, grant_id: uuid.UUID, user: CurrentUser) -> Grant:
    """A second person approves: the money is reserved for the project, never more than the fund has."""
    grant = _decidable(session, grant_id, user)
    fund = get_fund(session, fund_id=grant.fund_id, for_update=True)
    project = get_project(session, project_id=grant.project_id)
    if project.status not in OPEN_PROJECT:
        raise Conflict(f"the project is already {project.status.value}", field="project_id")
    available = available_cents(session, fund_id=fund.id)
    if grant.amount_cents > available:
        raise Conflict(f"the fund has {format_eur(available)} available", field="amount_cents")
    post(session, key=f"grant:{grant.id}:reserve", source_type="fund_grant", source_id=str(grant.id),
         created_by=user.id, description=f"Toekenning {fund.name} aan {project.title}"[:255],
         lines=[Line(account=AccountCode.FUNDS_AVAILABLE, amount_cents=grant.amount_cents, fund_id=fund.id),
                Line(account=AccountCode.FUNDS_RESERVED, amount_cents=-grant.amount_cents, fund_id=fund.id,
                     project_id=project.id)])
    grant.status, grant.decided_by, grant.decided_at = GrantStatus.APPROVED, user.id, utc_now()
    session.add(grant)
    session.flush()
    _audit(session, grant, "approved", user.id)
    return grant


def reject_grant(session: Session, *, grant_id: uuid.UUID, user: CurrentUser, reason: str) -> Grant:
    """A second person rejects the proposal, saying why; nothing was reserved."""
    if not reason.strip():
        raise InvalidInput("say why the grant is rejected", field="reason")
    grant = _decidable(session, grant_id, user)
    grant.status, grant.decided_by, grant.decided_at = GrantStatus.REJECTED, user.id, utc_now()
    grant.decision_reason = reason.strip()[:500]
    session.add(grant)
    session.flush()
    _audit(session, grant, "rejected", user.id)
    return grant


def reject_grant_at_close(session: Session, *, grant: Grant) -> None:
    """A proposal nobody decided before the project closed lapses (nothing was reserved)."""
    grant.status, grant.decided_at = GrantStatus.REJECTED, utc_now()
    grant.decision_reason = "het project sloot voordat over de toekenning was besloten"
    session.add(grant)
    session.flush()
    _audit(session, grant, "rejected", None)


def _decidable(session: Session, grant_id: uuid.UUID, user: CurrentUser) -> Grant:
    """A proposed grant that `user` may decide: a manager of its fund or the board, never its proposer."""
    grant = get_grant(session, grant_id=grant_id, for_update=True)
    ensure_fund_manager(session, fund=get_fund(session, fund_id=grant.fund_id), user=user)
    if grant.proposed_by == user.id:
        raise Forbidden("a grant is approved or rejected by someone other than its proposer")
    if grant.status is not GrantStatus.PROPOSED:
        raise Conflict(f"the grant is already {grant.status.value}", field="grant_id")
    return grant


def settle_grant(session: Session, *, grant: Grant, project: Project, payable: bool) -> None:
    """At the close: an approved grant becomes payable to the project or returns to the fund (once)."""
    if grant.status is not GrantStatus.APPROVED:
        return
    target = Line(account=AccountCode.PAYABLE_TO_PROJECTS, amount_cents=-grant.amount_cents,
                  project_id=project.id) if payable else Line(
        account=AccountCode.FUNDS_AVAILABLE, amount_cents=-grant.amount_cents, fund_id=grant.fund_id)
    status = GrantStatus.PAYABLE if payable else GrantStatus.RELEASED
    post(session, key=f"grant:{grant.id}:{status.value}", source_type="fund_grant", source_id=str(grant.id),
         description=f"Toekenning {status.value}: {project.title}"[:255],
         lines=[Line(account=AccountCode.FUNDS_RESERVED, amount_cents=grant.amount_cents, fund_id=grant.fund_id,
                     project_id=project.id), target])
    grant.status, grant.settled_at = status, utc_now()
    session.add(grant)
    session.flush()
    _audit(session, grant, status.value, None)


def _audit(session: Session, grant: Grant, what: str, actor_id: uuid.UUID | None) -> None:
    """Every step of a grant in the audit log, on the fund."""
    record(session, action=f"grant.{what}", object_type="fund", object_id=grant.fund_id, actor_id=actor_id,
           after={"grant_id": str(grant.id), "project_id": str(grant.project_id), "amount_cents": grant.amount_cents,
                  "status": grant.status.value})

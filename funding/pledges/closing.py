"""Closing a campaign at its deadline: success makes the money payable, failure refunds every paid pledge.

All-or-nothing succeeds when the money raised reaches the money goal and, with
an hours goal, the confirmed hours reach it too; keep-it-all succeeds when
anything came in. Refunds go through each pledge's own provider as jobs, so a
provider that fails is retried, and a pledge is marked refunded only when the
provider confirms.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlmodel import Session, col, select

from coop.core.db import get_row
from coop.core.errors import NotFound
from coop.payments.models import PaymentStatus, RefundStatus
from coop.payments.queries import refunds_of
from coop.payments.service import get_payment, refund_payment
from funding.pledges.models import Pledge, PledgeKind, PledgeStatus
from funding.pledges.queries import Progress, pledges_of, progress
from funding.pledges.service import ask_refund, get_pledge, give_back, move_to_payable, pledge_listeners
from funding.projects.models import FundingModel, Project, ProjectStatus
from funding.projects.service import get_project, set_closed_status

MONEY_BACK = (PaymentStatus.REFUNDED, PaymentStatus.CHARGED_BACK)


def succeeds(project: Project, reached: Progress) -> bool:
    """Whether a campaign that ends with `reached` succeeded under its funding model."""
    if project.funding_model is FundingModel.KEEP_IT_ALL:
        return reached.raised_cents > 0 or reached.minutes_confirmed > 0
    money_ok = reached.raised_cents >= project.goal_cents
    hours_ok = project.goal_minutes == 0 or reached.minutes_confirmed >= project.goal_minutes
    return money_ok and hours_ok


def refund_stragglers(session: Session) -> int:
    """Queue refunds for money that arrived on a failed or cancelled project without one (a safety net)."""
    stragglers = session.exec(select(Pledge).join(Project, col(Project.id) == col(Pledge.project_id)).where(
        col(Project.status).in_([ProjectStatus.FAILED, ProjectStatus.CANCELED]), Pledge.kind == PledgeKind.MONEY,
        Pledge.status == PledgeStatus.PAID)).all()
    for pledge in stragglers:
        give_back(session, pledge=pledge, project=get_project(session, project_id=pledge.project_id))
    return len(stragglers)


def due_for_closing(session: Session, *, today: date) -> list[uuid.UUID]:
    """Live projects whose last campaign day has passed."""
    return list(session.exec(select(Project.id).where(Project.status == ProjectStatus.LIVE,
                                                      col(Project.deadline) < today)
                             .order_by(col(Project.deadline), col(Project.id))).all())


def close_project(session: Session, *, project_id: uuid.UUID, today: date) -> Project:
    """Decide a live project whose deadline has passed (once; a repeat or an early call changes nothing)."""
    project = _locked(session, project_id)
    if project.status is not ProjectStatus.LIVE or project.deadline >= today:
        return project
    succeeded = succeeds(project, progress(session, project_ids=[project.id])[project.id])
    set_closed_status(session, project=project, status=ProjectStatus.SUCCEEDED if succeeded else ProjectStatus.FAILED,
                      actor_id=None)
    for pledge in pledges_of(session, project_id=project.id, kinds=[PledgeKind.MONEY],
                             statuses=[PledgeStatus.PAID]):
        if succeeded:
            move_to_payable(session, pledge=pledge, project=project)
        else:
            give_back(session, pledge=pledge, project=project)
    for listener in pledge_listeners():
        listener.on_closed(session, project, succeeded=succeeded)
    session.flush()
    return project


def cancel_project(session: Session, *, project_id: uuid.UUID, actor_id: uuid.UUID | None,
                   reason: str | None) -> Project:
    """The board stops a project before it is decided: every paid pledge is refunded."""
    project = _locked(session, project_id)
    set_closed_status(session, project=project, status=ProjectStatus.CANCELED, actor_id=actor_id, reason=reason)
    for pledge in pledges_of(session, project_id=project.id, kinds=[PledgeKind.MONEY],
                             statuses=[PledgeStatus.PAID]):
        ask_refund(session, pledge=pledge)
    for listener in pledge_listeners():
        listener.on_closed(session, project, succeeded=False)
    session.flush()
    return project


def refund_pledge(session: Session, *, pledge_id: uuid.UUID) -> None:
    """Ask the provider to refund a pledge in full (a job: raises to be retried while the provider fails)."""
    payment_id = get_pledge(session, pledge_id=pledge_id).payment_id
    if payment_id is None:
        return
    payment = get_payment(session, payment_id=payment_id, for_update=True)  # the webhooks' order: payment first
    pledge = get_pledge(session, pledge_id=pledge_id, for_update=True)
    if pledge.status is not PledgeStatus.REFUND_PENDING or payment.status in MONEY_BACK:
        return
    if any(refund.status is RefundStatus.PENDING for refund in refunds_of(session, payment=payment)):
        return  # asked before; the provider confirms it later
    refund_payment(session, payment_id=payment.id, amount_cents=None, requested_by=None,
                   reason="Het project is niet doorgegaan", idempotency_key=f"pledge-refund:{pledge.id}")


def _locked(session: Session, project_id: uuid.UUID) -> Project:
    """The project row, locked for the decision."""
    project = get_row(session, Project, project_id, for_update=True)
    if project is None:
        raise NotFound("no such project", field="project_id")
    return project

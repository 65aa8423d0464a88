"""Paying succeeded projects: what each is owed (2400) goes into the SEPA file, and is booked when paid."""

from __future__ import annotations

import uuid
from datetime import date

from sqlmodel import Session, col, select

from coop.audit.service import record
from coop.core.errors import Conflict, InvalidInput
from coop.ledger.chart import AccountCode
from coop.ledger.queries import entry_by_key
from coop.ledger.schemas import Line
from coop.ledger.service import post
from coop.members.payouts import PayoutLine
from funding.pledges.service import owed_to_project
from funding.projects.models import Project, ProjectStatus
from funding.projects.service import get_project


def project_payout_lines(session: Session) -> list[PayoutLine]:
    """A transfer for every succeeded project that is owed money; without a payee IBAN it is left out."""
    lines = []
    for project in session.exec(select(Project).where(Project.status == ProjectStatus.SUCCEEDED)
                                .order_by(col(Project.closed_at), col(Project.id))).all():
        amount = owed_to_project(session, project_id=project.id)
        if amount <= 0:
            continue
        lines.append(PayoutLine(
            reference=str(project.id), name=project.payee_name or project.title[:70], iban=project.payee_iban,
            amount_cents=amount, description=f"Uitbetaling project {project.title}"[:140],
            endtoend_id=f"PRJ{project.id.hex[:20].upper()}",
            problem=None if project.payee_iban else "no payee IBAN known for this project"))
    return lines


def record_project_payout(session: Session, *, project_id: uuid.UUID, amount_cents: int, paid_on: date,
                          reference: str, by: uuid.UUID | None) -> int:
    """The bank paid (part of) what the project is owed: 2400 -> 1200, once per bank reference; what is left."""
    project = get_project(session, project_id=project_id, for_update=True)
    if project.status is not ProjectStatus.SUCCEEDED:
        raise Conflict(f"a {project.status.value} project is not paid out", field="project_id")
    key = f"project-payout:{project.id}:{reference.strip()}"
    if entry_by_key(session, key) is not None:
        raise Conflict(f"a payout with reference {reference.strip()!r} was already recorded", field="reference")
    owed = owed_to_project(session, project_id=project.id)
    if not 0 < amount_cents <= owed:
        raise InvalidInput(f"the project is owed {owed} cents", field="amount_cents")
    left = owed - amount_cents
    post(session, key=key, booked_on=paid_on, source_type="project",
         source_id=str(project.id), created_by=by, description=f"Uitbetaling project {project.title}"[:255],
         lines=[Line(account=AccountCode.PAYABLE_TO_PROJECTS, amount_cents=amount_cents, project_id=project.id),
                Line(account=AccountCode.BANK, amount_cents=-amount_cents, project_id=project.id)])
    record(session, action="project.paid_out", object_type="project", object_id=project.id, actor_id=by,
           after={"amount_cents": amount_cents, "paid_on": paid_on.isoformat(), "still_owed_cents": left})
    return left

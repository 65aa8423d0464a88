"""Pledging money, time and materials to a live project, and the `pledge` payment purpose.

Money counts only once paid: the payment credits 2200 (pledges held, project
dimension). When the campaign succeeds the pledge moves to 2400 (payable to the
project); when it fails or is cancelled it is refunded through its own provider.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal

from sqlmodel import Session

from coop.audit.service import record
from coop.auth.schemas import CurrentUser
from coop.core.clock import today_amsterdam, utc_now
from coop.core.db import get_row
from coop.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from coop.core.jobs import enqueue
from coop.core.money import MoneyError, format_eur, parse_amount
from coop.core.settings import get_settings
from coop.ledger.chart import AccountCode
from coop.ledger.queries import balance
from coop.ledger.schemas import Line
from coop.ledger.service import post
from coop.payments.models import Payment
from coop.payments.purposes import PurposeHandler, register_purpose
from coop.payments.service import create_payment
from funding.pledges.models import OnFailure, Pledge, PledgeKind, PledgeStatus
from funding.pledges.schemas import PledgeIn
from funding.projects.models import FundingModel, Project, ProjectStatus
from funding.projects.service import ensure_project_access, get_project

PLEDGE = "pledge"


class PledgeListener:
    """What another part of crowdfunding (gift funds) does when pledges and projects move; no-ops by default."""

    def on_paid(self, session: Session, pledge: Pledge, project: Project) -> None:
        """A money pledge to a live project was paid (in that transaction)."""

    def on_money_back(self, session: Session, pledge: Pledge, project: Project) -> None:
        """All of a paid pledge went back (refund or chargeback)."""

    def on_closed(self, session: Session, project: Project, *, succeeded: bool) -> None:
        """The project succeeded, failed or was cancelled (in the closing transaction)."""

    def take_over(self, session: Session, pledge: Pledge, project: Project) -> bool:
        """Take a failed project's paid pledge instead of refunding it (a donation to a fund); True if taken."""
        return False


_LISTENERS: list[PledgeListener] = []


def listen_to_pledges(listener: PledgeListener) -> None:
    """Register a listener once per process (gift funds do, at import)."""
    if not any(type(known) is type(listener) for known in _LISTENERS):
        _LISTENERS.append(listener)


def pledge_listeners() -> list[PledgeListener]:
    """The registered listeners, in registration order."""
    return list(_LISTENERS)
REFUND_JOB = "pledges.refund"
CLOSED_FOR_MONEY = (ProjectStatus.FAILED, ProjectStatus.CANCELED)


def get_pledge(session: Session, *, pledge_id: uuid.UUID, for_update: bool = False) -> Pledge:
    """One pledge, or NotFound."""
    pledge = get_row(session, Pledge, pledge_id, for_update=for_update)
    if pledge is None:
        raise NotFound("no such pledge", field="pledge_id")
    return pledge


def make_pledge(session: Session, *, project_id: uuid.UUID, data: PledgeIn, user_id: uuid.UUID | None = None,
                return_url: Callable[[Pledge], str] | None = None) -> tuple[Pledge, Payment | None]:
    """A pledge to a live project during its campaign; money pledges get a payment to complete (the payer
    returns to `return_url(pledge)`, or the generic payment page)."""
    project = get_project(session, project_id=project_id)
    today = today_amsterdam()
    if project.status is not ProjectStatus.LIVE or not project.starts_on <= today <= project.deadline:
        raise Conflict(f"this project takes no pledges ({project.status.value}, campaign "
                       f"{project.starts_on:%d-%m-%Y} t/m {project.deadline:%d-%m-%Y})", field="project_id")
    pledge = Pledge(project_id=project.id, kind=data.kind, status=PledgeStatus.PLEDGED, name=data.name.strip(),
                    email=str(data.email).lower(), anonymous=data.anonymous, message=data.message, user_id=user_id)
    if data.kind is PledgeKind.MONEY:
        pledge.amount_cents = _money(data)
        pledge.status = PledgeStatus.PENDING
        if project.funding_model is FundingModel.ALL_OR_NOTHING:
            pledge.on_failure = data.on_failure
            if data.on_failure is OnFailure.DONATE_TO_FUND:
                pledge.fund_id = data.fund_id
    elif data.kind is PledgeKind.TIME:
        if data.hours is None:
            raise InvalidInput("a time pledge needs hours", field="hours")
        pledge.minutes, pledge.skill, pledge.availability = _minutes(data.hours, "hours"), data.skill, data.availability
    else:
        if not data.description or not data.description.strip():
            raise InvalidInput("a materials pledge says what is given", field="description")
        pledge.description, pledge.quantity, pledge.value_cents = data.description.strip(), data.quantity or 1, \
            data.value_cents
    session.add(pledge)
    session.flush()
    payment = None
    if pledge.amount_cents is not None:
        payment = create_payment(session, purpose=PLEDGE, purpose_id=pledge.id, amount_cents=pledge.amount_cents,
                                 description=f"Bijdrage aan {project.title}"[:255], provider=data.provider,
                                 payer_email=pledge.email, payer_name=pledge.name,
                                 return_url=return_url(pledge) if return_url else None)
        pledge.payment_id = payment.id
        session.add(pledge)
        session.flush()
    record(session, action=f"pledge.{pledge.kind.value}", object_type="project", object_id=project.id,
           after={"pledge_id": str(pledge.id), "amount_cents": pledge.amount_cents, "minutes": pledge.minutes})
    return pledge, payment


def _money(data: PledgeIn) -> int:
    """The pledged cents from `amount_cents` or a typed `amount`, within the configured bounds."""
    if data.amount_cents is not None and data.amount is not None:
        raise InvalidInput("give amount_cents or amount, not both", field="amount")
    field = "amount_cents" if data.amount is None else "amount"
    if data.amount is not None:
        try:
            cents = parse_amount(data.amount)
        except MoneyError as error:
            raise InvalidInput(str(error), field="amount") from None
    elif data.amount_cents is None:
        raise InvalidInput("a money pledge needs an amount", field="amount_cents")
    else:
        cents = data.amount_cents
    settings = get_settings()
    if not settings.pledge_min_cents <= cents <= settings.pledge_max_cents:
        raise InvalidInput(f"a pledge is between {format_eur(settings.pledge_min_cents)} and "
                           f"{format_eur(settings.pledge_max_cents)}", field=field)
    return cents


def _minutes(hours: Decimal, field: str) -> int:
    """Hours as whole minutes (1.5 -> 90); anything finer is refused rather than rounded."""
    minutes = hours * 60
    if minutes != minutes.to_integral_value():
        raise InvalidInput("hours must come to whole minutes (e.g. 1.25 or 1.5)", field=field)
    return int(minutes)


# -- time pledges ----------------------------------------------------------------------------------------


def _time_pledge(session: Session, pledge_id: uuid.UUID, user: CurrentUser) -> tuple[Pledge, Project]:
    """A time pledge and its project (locked in the close's order: project, then pledge), if `user` runs it."""
    project = get_project(session, project_id=get_pledge(session, pledge_id=pledge_id).project_id, for_update=True)
    pledge = get_pledge(session, pledge_id=pledge_id, for_update=True)
    ensure_project_access(session, project=project, user=user)
    if pledge.kind is not PledgeKind.TIME:
        raise Conflict("only time pledges are confirmed and delivered", field="pledge_id")
    return pledge, project


def confirm_time(session: Session, *, pledge_id: uuid.UUID, user: CurrentUser) -> Pledge:
    """The initiator accepts the offered hours."""
    pledge, project = _time_pledge(session, pledge_id, user)
    if project.status is not ProjectStatus.LIVE or today_amsterdam() > project.deadline:
        raise Conflict("hours are confirmed during the campaign only (they decide its outcome)", field="pledge_id")
    if pledge.status is not PledgeStatus.PLEDGED:
        raise Conflict(f"a {pledge.status.value} pledge cannot be confirmed", field="pledge_id")
    pledge.status, pledge.confirmed_at = PledgeStatus.CONFIRMED, utc_now()
    return _saved(session, pledge, project, "pledge.confirmed", user.id)


def deliver_time(session: Session, *, pledge_id: uuid.UUID, hours: Decimal, user: CurrentUser) -> Pledge:
    """The initiator logs the hours actually given (the volunteer acknowledges them afterwards)."""
    pledge, project = _time_pledge(session, pledge_id, user)
    if pledge.status not in (PledgeStatus.CONFIRMED, PledgeStatus.DELIVERED):
        raise Conflict("confirm the pledge before logging hours", field="pledge_id")
    pledge.status, pledge.delivered_minutes, pledge.delivered_at = PledgeStatus.DELIVERED, \
        _minutes(hours, "hours"), utc_now()
    pledge.acknowledged_at = None  # the volunteer acknowledges what is logged now
    return _saved(session, pledge, project, "pledge.delivered", user.id)


def acknowledge_time(session: Session, *, pledge_id: uuid.UUID, user: CurrentUser) -> Pledge:
    """The volunteer (signed in with the pledge's e-mail) agrees with the hours logged."""
    pledge = get_pledge(session, pledge_id=pledge_id, for_update=True)
    if pledge.email != user.email.lower():
        raise Forbidden("only the volunteer who pledged can acknowledge these hours")
    if pledge.status is not PledgeStatus.DELIVERED:
        raise Conflict("there are no logged hours to acknowledge", field="pledge_id")
    pledge.acknowledged_at = utc_now()
    return _saved(session, pledge, get_project(session, project_id=pledge.project_id), "pledge.acknowledged",
                  user.id)


def withdraw(session: Session, *, pledge_id: uuid.UUID, user: CurrentUser) -> Pledge:
    """The pledger (or the initiator, or the board) withdraws a time or materials pledge not yet delivered."""
    pledge = get_pledge(session, pledge_id=pledge_id, for_update=True)
    project = get_project(session, project_id=pledge.project_id)
    if pledge.email != user.email.lower():
        ensure_project_access(session, project=project, user=user)
    if pledge.kind is PledgeKind.MONEY or pledge.status not in (PledgeStatus.PLEDGED, PledgeStatus.CONFIRMED):
        raise Conflict("only time and materials pledges not yet delivered can be withdrawn", field="pledge_id")
    pledge.status, pledge.closed_at = PledgeStatus.WITHDRAWN, utc_now()
    return _saved(session, pledge, project, "pledge.withdrawn", user.id)


def _saved(session: Session, pledge: Pledge, project: Project, action: str, actor_id: uuid.UUID) -> Pledge:
    """Store a pledge's change and audit it on the project."""
    session.add(pledge)
    session.flush()
    record(session, action=action, object_type="project", object_id=project.id, actor_id=actor_id,
           after={"pledge_id": str(pledge.id), "status": pledge.status.value,
                  "delivered_minutes": pledge.delivered_minutes})
    return pledge


# -- money after the campaign ---------------------------------------------------------------------------------


def owed_to_project(session: Session, *, project_id: uuid.UUID) -> int:
    """What the cooperative still owes a project, in cents (2400 with the project as dimension)."""
    return -balance(session, account=AccountCode.PAYABLE_TO_PROJECTS, project_id=project_id)


def move_to_payable(session: Session, *, pledge: Pledge, project: Project) -> None:
    """A paid pledge of a succeeded project: its money is owed to the project (2200 -> 2400), once."""
    amount = pledge.amount_cents or 0
    post(session, key=f"pledge:{pledge.id}:payable", description=f"Geslaagd: {project.title}"[:255],
         lines=[Line(account=AccountCode.PLEDGES_HELD, amount_cents=amount, project_id=project.id),
                Line(account=AccountCode.PAYABLE_TO_PROJECTS, amount_cents=-amount, project_id=project.id)],
         source_type="pledge", source_id=str(pledge.id))


def give_back(session: Session, *, pledge: Pledge, project: Project) -> None:
    """A paid pledge of a failed project: to the fund its pledger chose, else refunded."""
    if project.status is ProjectStatus.FAILED and pledge.on_failure is OnFailure.DONATE_TO_FUND and any(
            listener.take_over(session, pledge, project) for listener in _LISTENERS):
        return
    ask_refund(session, pledge=pledge)


def ask_refund(session: Session, *, pledge: Pledge) -> None:
    """Queue the refund of a paid pledge (a job, so a provider that fails is retried and reported)."""
    pledge.status = PledgeStatus.REFUND_PENDING
    session.add(pledge)
    enqueue(session, name=REFUND_JOB, args={"pledge_id": str(pledge.id)}, dedupe_key=f"{REFUND_JOB}:{pledge.id}")


class PledgePurpose(PurposeHandler):
    """Money pledges are held for the project (2200) until the campaign closes; refunded in full or not at all."""

    partial_refunds = False

    def credit_lines(self, session: Session, payment: Payment, amount_cents: int) -> list[Line]:
        """Pledges held for the project, whose row is share-locked first: a close deciding it waits, or is waited
        for, while other payments to the project go on beside this one."""
        pledge = get_pledge(session, pledge_id=payment.purpose_id)
        get_project(session, project_id=pledge.project_id, for_share=True)
        return [Line(account=AccountCode.PLEDGES_HELD, amount_cents=-amount_cents, project_id=pledge.project_id)]

    def money_back_lines(self, session: Session, payment: Payment, amount_cents: int) -> list[Line]:
        """Out of 2200, or once the project succeeded out of what it is still owed (2400); what was already paid out
        to the project becomes a receivable from it (1310)."""
        pledge = get_pledge(session, pledge_id=payment.purpose_id)
        project = get_project(session, project_id=pledge.project_id, for_update=True)
        if project.status is not ProjectStatus.SUCCEEDED:
            return [Line(account=AccountCode.PLEDGES_HELD, amount_cents=-amount_cents, project_id=project.id)]
        from_payable = min(amount_cents, max(0, owed_to_project(session, project_id=project.id)))
        lines = [Line(account=AccountCode.PAYABLE_TO_PROJECTS, amount_cents=-from_payable, project_id=project.id),
                 Line(account=AccountCode.PROJECT_RECEIVABLES, amount_cents=from_payable - amount_cents,
                      project_id=project.id)]
        return [line for line in lines if line.amount_cents != 0]

    def check_refund(self, session: Session, payment: Payment, amount_cents: int) -> None:
        """Money already paid out to a succeeded project is not refunded by the cooperative."""
        pledge = get_pledge(session, pledge_id=payment.purpose_id)
        project = get_project(session, project_id=pledge.project_id)
        if project.status is ProjectStatus.SUCCEEDED and owed_to_project(session, project_id=project.id) < amount_cents:
            raise Conflict("this pledge has been paid out to the project; it cannot be refunded", field="payment_id")

    def on_paid(self, session: Session, payment: Payment) -> None:
        """The pledge counts; paid after the close it follows the outcome (payable, or refunded)."""
        pledge = get_pledge(session, pledge_id=payment.purpose_id, for_update=True)
        project = get_project(session, project_id=pledge.project_id)
        pledge.status, pledge.paid_at = PledgeStatus.PAID, payment.paid_at or utc_now()
        session.add(pledge)
        if project.status is ProjectStatus.LIVE:
            for listener in _LISTENERS:
                listener.on_paid(session, pledge, project)
        elif project.status is ProjectStatus.SUCCEEDED:
            move_to_payable(session, pledge=pledge, project=project)
        elif project.status in CLOSED_FOR_MONEY:
            give_back(session, pledge=pledge, project=project)
        session.flush()

    def on_failed(self, session: Session, payment: Payment) -> None:
        """The payment did not go through: the pledge does not count."""
        pledge = get_pledge(session, pledge_id=payment.purpose_id, for_update=True)
        if pledge.status is PledgeStatus.PENDING:
            pledge.status, pledge.closed_at = PledgeStatus.FAILED, utc_now()
            session.add(pledge)
            session.flush()

    def on_refunded(self, session: Session, payment: Payment, amount_cents: int, *, chargeback: bool) -> None:
        """All money back: the pledge is refunded (also after a chargeback)."""
        if payment.refunded_cents + payment.charged_back_cents >= payment.amount_cents:
            pledge = get_pledge(session, pledge_id=payment.purpose_id, for_update=True)
            pledge.status, pledge.closed_at = PledgeStatus.REFUNDED, utc_now()
            session.add(pledge)
            project = get_project(session, project_id=pledge.project_id)
            for listener in _LISTENERS:
                listener.on_money_back(session, pledge, project)
            session.flush()


register_purpose(PLEDGE, PledgePurpose())

"""Gift funds: creating them, managers, money in (deposits, online donations), and matchfunding rules."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import exc
from sqlmodel import Session, col, select

from coop.audit.service import record
from coop.auth.models import Role
from coop.auth.schemas import CurrentUser
from coop.auth.service import create_user, grant_roles, user_by_email
from coop.core.clock import today_amsterdam, utc_now
from coop.core.db import get_row
from coop.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from coop.core.money import format_eur
from coop.ledger.chart import AccountCode
from coop.ledger.schemas import Line
from coop.ledger.service import post
from coop.notifications.service import notify
from coop.payments.models import Payment
from coop.payments.purposes import PurposeHandler, register_purpose
from coop.payments.service import create_payment
from funding.funds.models import Deposit, Donation, DonationStatus, Fund, FundManager, MatchRule
from funding.funds.schemas import DepositIn, DonationIn, FundIn, FundPatch, MatchRuleIn
from funding.pledges.models import Pledge, PledgeStatus
from funding.projects.models import Project

FUND_DONATION = "fund_donation"
STAFF = (Role.BOARD, Role.ADMIN)
_MUNICIPALITY = re.compile(r"^GM\d{4}\Z")


def get_fund(session: Session, *, fund_id: uuid.UUID, for_update: bool = False) -> Fund:
    """One fund (row-locked on PostgreSQL for a reservation), or NotFound."""
    fund = get_row(session, Fund, fund_id, for_update=for_update)
    if fund is None:
        raise NotFound("no such fund", field="fund_id")
    return fund


def funds_by_id(session: Session, fund_ids: set[uuid.UUID]) -> dict[uuid.UUID, Fund]:
    """Several funds, read afresh in one query (the funds of the match rules a paid pledge meets)."""
    if not fund_ids:
        return {}
    query = select(Fund).where(col(Fund.id).in_(sorted(fund_ids))).execution_options(populate_existing=True)
    return {fund.id: fund for fund in session.exec(query).all()}


def _codes(codes: list[str], field: str) -> list[str]:
    """CBS municipality codes (GM0344), each once, in order."""
    for code in codes:
        if not _MUNICIPALITY.match(code):
            raise InvalidInput(f"not a CBS municipality code: {code[:10]!r} (e.g. GM0344)", field=field)
    return list(dict.fromkeys(codes))


def create_fund(session: Session, *, data: FundIn, creator: CurrentUser) -> Fund:
    """A fund (board, or a fund manager who then manages it), with its managers."""
    if not creator.has_any(Role.FUND_MANAGER, *STAFF):
        raise Forbidden("only the board or a fund manager can create a fund")
    fund = Fund(name=data.name.strip(), kind=data.kind, description=data.description,
                municipality_codes=_codes(data.municipality_codes, "municipality_codes"),
                themes=[theme.value for theme in data.themes], created_by=creator.id)
    session.add(fund)
    session.flush()
    emails = [str(email).lower() for email in data.manager_emails]
    if creator.has_any(Role.FUND_MANAGER) and creator.email.lower() not in emails:
        emails.insert(0, creator.email.lower())
    _add_managers(session, fund, emails)
    record(session, action="fund.created", object_type="fund", object_id=fund.id, actor_id=creator.id,
           after={"name": fund.name, "kind": fund.kind.value, "managers": emails})
    return fund


def _add_managers(session: Session, fund: Fund, emails: list[str]) -> None:
    """Give these people the fund_manager role for the fund (an account without password when unknown)."""
    for email in dict.fromkeys(emails):
        user = user_by_email(session, email=email) or create_user(session, email=email, roles=[Role.FUND_MANAGER])
        grant_roles(session, user=user, roles=[Role.FUND_MANAGER])
        if session.exec(select(FundManager.id).where(FundManager.fund_id == fund.id,
                                                     FundManager.user_id == user.id)).first() is None:
            session.add(FundManager(fund_id=fund.id, user_id=user.id))
    session.flush()


def update_fund(session: Session, *, fund_id: uuid.UUID, data: FundPatch, user: CurrentUser) -> Fund:
    """Change a fund's name, description or eligibility, or add managers (its managers or the board; audited)."""
    fund = get_fund(session, fund_id=fund_id, for_update=True)
    ensure_fund_manager(session, fund=fund, user=user)
    before = fund.model_dump(mode="json", include={"name", "description", "municipality_codes", "themes"})
    if data.name is not None:
        fund.name = data.name.strip()
    if data.description is not None:
        fund.description = data.description
    if data.municipality_codes is not None:
        fund.municipality_codes = _codes(data.municipality_codes, "municipality_codes")
    if data.themes is not None:
        fund.themes = [theme.value for theme in data.themes]
    session.add(fund)
    _add_managers(session, fund, [str(email).lower() for email in data.add_manager_emails])
    record(session, action="fund.updated", object_type="fund", object_id=fund.id, actor_id=user.id, before=before,
           after={**fund.model_dump(mode="json", include={"name", "description", "municipality_codes", "themes"}),
                  "managers_added": [str(email).lower() for email in data.add_manager_emails]})
    return fund


def ensure_fund_manager(session: Session, *, fund: Fund, user: CurrentUser) -> None:
    """The fund's own managers and the board may manage it."""
    if user.has_any(*STAFF):
        return
    if session.exec(select(FundManager.id).where(FundManager.fund_id == fund.id,
                                                 FundManager.user_id == user.id)).first() is None:
        raise Forbidden("only this fund's managers or the board can do this")


def record_deposit(session: Session, *, fund_id: uuid.UUID, data: DepositIn, by: uuid.UUID) -> Deposit:
    """The fund's transfer arrived on the bank: 1200 -> 2300 (fund), once per bank reference."""
    fund = get_fund(session, fund_id=fund_id)
    deposit = Deposit(fund_id=fund.id, amount_cents=data.amount_cents, reference=data.reference.strip(),
                      booked_on=data.booked_on or today_amsterdam(), recorded_by=by)
    try:
        with session.begin_nested():
            session.add(deposit)
            session.flush()
    except exc.IntegrityError:
        raise Conflict(f"a deposit with reference {deposit.reference!r} was already recorded for this fund",
                       field="reference") from None
    post(session, key=f"fund-deposit:{deposit.id}", booked_on=deposit.booked_on, source_type="fund_deposit",
         source_id=str(deposit.id), created_by=by, description=f"Storting {fund.name}: {deposit.reference}"[:255],
         lines=[Line(account=AccountCode.BANK, amount_cents=deposit.amount_cents, fund_id=fund.id),
                Line(account=AccountCode.FUNDS_AVAILABLE, amount_cents=-deposit.amount_cents, fund_id=fund.id)])
    record(session, action="fund.deposit", object_type="fund", object_id=fund.id, actor_id=by,
           after={"amount_cents": deposit.amount_cents, "reference": deposit.reference})
    return deposit


def donate(session: Session, *, fund_id: uuid.UUID, data: DonationIn) -> tuple[Donation, Payment]:
    """A gift to the fund, counted once paid."""
    fund = get_fund(session, fund_id=fund_id)
    donation = Donation(fund_id=fund.id, amount_cents=data.amount_cents, name=data.name.strip(),
                        email=str(data.email).lower())
    session.add(donation)
    session.flush()
    payment = create_payment(session, purpose=FUND_DONATION, purpose_id=donation.id, amount_cents=donation.amount_cents,
                             description=f"Gift aan {fund.name}"[:255], provider=data.provider,
                             payer_email=donation.email, payer_name=donation.name)
    donation.payment_id = payment.id
    session.add(donation)
    session.flush()
    return donation, payment


def add_match_rule(session: Session, *, fund_id: uuid.UUID, data: MatchRuleIn, user: CurrentUser) -> MatchRule:
    """A matchfunding rule of the fund (its managers or the board); it applies to pledges paid from now on."""
    fund = get_fund(session, fund_id=fund_id)
    ensure_fund_manager(session, fund=fund, user=user)
    if data.cap_per_pledge_cents > data.cap_per_project_cents:
        raise InvalidInput("the cap per pledge cannot exceed the cap per project", field="cap_per_pledge_cents")
    if data.cap_per_project_cents > data.budget_cents:
        raise InvalidInput("the cap per project cannot exceed the budget", field="cap_per_project_cents")
    if data.starts_on and data.ends_on and data.ends_on < data.starts_on:
        raise InvalidInput("the rule ends before it starts", field="ends_on")
    if (data.lump_sum_cents is None) != (data.threshold_percent is None):
        raise InvalidInput("a threshold rule has both a lump sum and a threshold", field="threshold_percent")
    rule = MatchRule(fund_id=fund.id, ratio_bp=data.ratio_bp, cap_per_pledge_cents=data.cap_per_pledge_cents,
                     cap_per_project_cents=data.cap_per_project_cents, budget_cents=data.budget_cents,
                     pledges_per_pledger=data.pledges_per_pledger, themes=[t.value for t in data.themes],
                     municipality_codes=_codes(data.municipality_codes, "municipality_codes"),
                     starts_on=data.starts_on, ends_on=data.ends_on, lump_sum_cents=data.lump_sum_cents,
                     threshold_bp=data.threshold_percent * 100 if data.threshold_percent else None,
                     min_backers=data.min_backers, created_by=user.id)
    session.add(rule)
    session.flush()
    record(session, action="fund.match_rule_added", object_type="fund", object_id=fund.id, actor_id=user.id,
           after={"rule_id": str(rule.id), "ratio_bp": rule.ratio_bp, "budget_cents": rule.budget_cents})
    return rule


def donate_failed_pledge(session: Session, *, pledge: Pledge, project: Project, fund: Fund) -> None:
    """Move a failed project's paid pledge into a fund, as its pledger asked (once), and send a receipt."""
    amount = pledge.amount_cents or 0
    post(session, key=f"pledge:{pledge.id}:donated", source_type="pledge", source_id=str(pledge.id),
         description=f"Bijdrage aan {project.title} naar {fund.name}"[:255],
         lines=[Line(account=AccountCode.PLEDGES_HELD, amount_cents=amount, project_id=project.id),
                Line(account=AccountCode.FUNDS_AVAILABLE, amount_cents=-amount, fund_id=fund.id)])
    pledge.status, pledge.fund_id, pledge.closed_at = PledgeStatus.DONATED, fund.id, utc_now()
    session.add(pledge)
    notify(session, template="donation_receipt", recipient=pledge.email, dedupe_key=f"donation_receipt:{pledge.id}",
           context={"member_name": pledge.name, "amount": format_eur(amount), "fund_name": fund.name,
                    "project_title": project.title, "date": f"{today_amsterdam():%d-%m-%Y}"})
    record(session, action="fund.pledge_donated", object_type="fund", object_id=fund.id,
           after={"pledge_id": str(pledge.id), "project_id": str(project.id), "amount_cents": amount})


def deactivate_match_rule(session: Session, *, rule_id: uuid.UUID, user: CurrentUser) -> MatchRule:
    """Stop a rule matching new pledges (its matches so far stay as they are)."""
    rule = get_row(session, MatchRule, rule_id, for_update=True)
    if rule is None:
        raise NotFound("no such match rule", field="rule_id")
    ensure_fund_manager(session, fund=get_fund(session, fund_id=rule.fund_id), user=user)
    if rule.active:
        rule.active = False
        session.add(rule)
        session.flush()
        record(session, action="fund.match_rule_deactivated", object_type="fund", object_id=rule.fund_id,
               actor_id=user.id, after={"rule_id": str(rule.id)})
    return rule


def _donation(session: Session, payment: Payment) -> Donation:
    """The donation a payment is for."""
    donation = get_row(session, Donation, payment.purpose_id, for_update=True)
    if donation is None:
        raise NotFound("no such donation", field="donation_id")
    return donation


class DonationPurpose(PurposeHandler):
    """Donations are available money of the fund (2300)."""

    def credit_lines(self, session: Session, payment: Payment, amount_cents: int) -> list[Line]:
        """The fund's available money."""
        return [Line(account=AccountCode.FUNDS_AVAILABLE, amount_cents=-amount_cents,
                     fund_id=_donation(session, payment).fund_id)]

    def on_paid(self, session: Session, payment: Payment) -> None:
        """The gift counts."""
        donation = _donation(session, payment)
        donation.status = DonationStatus.PAID
        session.add(donation)

    def on_failed(self, session: Session, payment: Payment) -> None:
        """The gift never came."""
        donation = _donation(session, payment)
        donation.status = DonationStatus.FAILED
        session.add(donation)

    def on_refunded(self, session: Session, payment: Payment, amount_cents: int, *, chargeback: bool) -> None:
        """All of it went back."""
        if payment.refunded_cents + payment.charged_back_cents >= payment.amount_cents:
            donation = _donation(session, payment)
            donation.status = DonationStatus.REFUNDED
            session.add(donation)


register_purpose(FUND_DONATION, DonationPurpose())


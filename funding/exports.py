"""Crowdfunding, gift funds and social value in the year-end pack: a line per project, each fund's statement, every
line of the social value statements with its assumptions, and their checks.

Amounts come from the ledger (as of 31 December, by what booked them), hours and materials from the pledges;
coop's export machinery writes them beside its own reports.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlmodel import Session, col

from coop.core.clock import AMSTERDAM
from coop.core.money import format_eur
from coop.exports.checks import Check, register_check
from coop.exports.reports import Report, Year, columns, register_report
from coop.ledger.chart import AccountCode
from coop.ledger.models import Account, JournalEntry, Posting
from coop.ledger.queries import balance
from funding.funds.queries import fund_statement, list_funds
from funding.pledges.models import Pledge, PledgeKind, PledgeStatus
from funding.projects.models import Project, ProjectStatus
from funding.social_value.valuing import quantity_of, valued_projects

# (account, source type, debit or credit) -> what it means for a project
MEANING = {(AccountCode.PLEDGES_HELD, "payment", -1): "paid", (AccountCode.PLEDGES_HELD, "payment", 1): "refunded",
           (AccountCode.FUNDS_RESERVED, "fund_match", -1): "matched",
           (AccountCode.FUNDS_RESERVED, "fund_grant", -1): "granted",
           (AccountCode.PAYABLE_TO_PROJECTS, "project", 1): "paid_out"}
BALANCES = (AccountCode.PLEDGES_HELD, AccountCode.FUNDS_RESERVED, AccountCode.PAYABLE_TO_PROJECTS)


def _ledger_by_project(session: Session, year: Year) -> dict[Any, dict[str, int]]:
    """Per project, up to 31 December: money paid, refunded, matched, granted, paid out, and what is still held,
    reserved and payable (cents, positive)."""
    direction = case((col(Posting.amount_cents) > 0, 1), else_=-1)
    rows = session.execute(
        select(col(Posting.project_id), col(Account.code), col(JournalEntry.source_type), direction,
               func.sum(Posting.amount_cents))
        .join(JournalEntry, col(JournalEntry.id) == col(Posting.entry_id))
        .join(Account, col(Account.id) == col(Posting.account_id))
        .where(col(Posting.project_id).is_not(None), col(JournalEntry.booked_on) <= year.end)
        .group_by(col(Posting.project_id), col(Account.code), col(JournalEntry.source_type), direction)).all()
    found: dict[Any, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for project_id, code, source, sign, cents in rows:
        meaning = MEANING.get((code, source, sign))
        if meaning:
            found[project_id][meaning] += abs(int(cents))
        if code in BALANCES:
            found[project_id][code] -= int(cents)
    return found


def _pledged_by_project(session: Session, year: Year) -> dict[Any, tuple[int, int, int, int]]:
    """Per project, pledged by 31 December: money (not failed), minutes pledged, minutes delivered, materials value."""
    until = datetime.combine(year.end + timedelta(days=1), time(), UTC)
    kind, status = col(Pledge.kind), col(Pledge.status)
    standing = status.not_in([PledgeStatus.FAILED, PledgeStatus.WITHDRAWN, PledgeStatus.PENDING])
    rows = session.execute(
        select(col(Pledge.project_id),
               func.sum(case(((kind == PledgeKind.MONEY) & standing, Pledge.amount_cents), else_=0)),
               func.sum(case(((kind == PledgeKind.TIME) & standing, Pledge.minutes), else_=0)),
               func.sum(case(((kind == PledgeKind.TIME) & (col(Pledge.delivered_at) < until),
                              Pledge.delivered_minutes), else_=0)),
               func.sum(case(((kind == PledgeKind.MATERIALS) & standing, Pledge.value_cents), else_=0)))
        .where(col(Pledge.created_at) < until).group_by(col(Pledge.project_id))).all()
    return {project_id: tuple(int(v or 0) for v in values) for project_id, *values in rows}  # type: ignore[misc]


def project_rows(session: Session, year: Year) -> Iterator[Sequence[Any]]:
    """Every project published by 31 December, by deadline: what was given, where it stands, hours, materials."""
    ledger = _ledger_by_project(session, year)
    pledged = _pledged_by_project(session, year)
    projects = session.scalars(select(Project).where(
        col(Project.status).not_in([ProjectStatus.DRAFT, ProjectStatus.SUBMITTED]),
        col(Project.starts_on) <= year.end).order_by(col(Project.deadline), col(Project.id))).all()
    for project in projects:
        money, minutes, delivered, materials = pledged.get(project.id, (0, 0, 0, 0))
        books = ledger.get(project.id, {})
        yield (str(project.id), project.title, project.municipality_code, project.theme.value, project.status.value,
               project.deadline, project.goal_cents, money, books.get("paid", 0), books.get("matched", 0),
               books.get("granted", 0), books.get("refunded", 0), books.get("paid_out", 0),
               books.get(AccountCode.PLEDGES_HELD, 0), books.get(AccountCode.FUNDS_RESERVED, 0),
               books.get(AccountCode.PAYABLE_TO_PROJECTS, 0), minutes // 60, delivered // 60, materials)


PROJECTS = Report("projects", "Projecten", columns(
    "project_id", "title", "municipality_code", "theme", "status", "deadline:date", "goal:cents", "pledged:cents",
    "paid:cents", "matched:cents", "granted:cents", "refunded:cents", "paid_out:cents", "held:cents",
    "reserved:cents", "payable:cents", "hours_pledged:int", "hours_delivered:int", "materials_value:cents"),
    project_rows)


def fund_rows(session: Session, year: Year) -> Iterator[Sequence[Any]]:
    """Each fund's statement of the year: opening, each kind of booking, closing, and whether it reconciles."""
    for fund in list_funds(session):
        statement = fund_statement(session, fund_id=fund.id, start=year.start, end=year.end)
        yield (fund.name, fund.kind.value, "opening", statement.opening.available_cents,
               statement.opening.reserved_cents, statement.reconciles)
        for line in statement.lines:
            yield fund.name, fund.kind.value, line.kind, line.available_cents, line.reserved_cents, None
        yield (fund.name, fund.kind.value, "closing", statement.closing.available_cents,
               statement.closing.reserved_cents, statement.reconciles)


FUNDS = Report("funds", "Fondsen", columns("fund", "kind", "line", "available:cents", "reserved:cents",
                                                  "reconciles"), fund_rows)


def funds_reconcile(session: Session, year: Year) -> list[str]:
    """Every fund's statement adds up, and the funds together are what 2300 and 2310 hold."""
    problems = []
    available = reserved = 0
    for fund in list_funds(session):
        statement = fund_statement(session, fund_id=fund.id, start=year.start, end=year.end)
        available += statement.closing.available_cents
        reserved += statement.closing.reserved_cents
        if not statement.reconciles:
            problems.append(f"the {year.year} statement of fund {fund.name!r} does not add up to its closing balance")
    for code, funds in ((AccountCode.FUNDS_AVAILABLE, available), (AccountCode.FUNDS_RESERVED, reserved)):
        ledger = -balance(session, account=code, at=year.end)
        if ledger != funds:
            problems.append(f"account {code} holds {format_eur(ledger)} on {year.end}, but the funds' statements "
                            f"come to {format_eur(funds)}")
    return problems


def projects_are_their_accounts(session: Session, year: Year) -> list[str]:
    """What the projects hold, have reserved for them and are owed adds up to accounts 2200, 2310 and 2400."""
    ledger = _ledger_by_project(session, year)
    problems = []
    for code in BALANCES:
        total = -balance(session, account=code, at=year.end)
        projects = sum(books.get(code, 0) for books in ledger.values())
        if total != projects:
            problems.append(f"account {code} holds {format_eur(total)} on {year.end}, but its postings per project "
                            f"come to {format_eur(projects)}")
    return problems


def social_value_rows(session: Session, year: Year) -> Iterator[Sequence[Any]]:
    """Every line of every project's social value statement on 31 December, with the assumptions it used."""
    for value in valued_projects(session, at=year.end):
        project, result = value.project, value.result
        ratio = result.ratio_rounded
        for found, line in zip(value.valued, result.lines, strict=True):
            valuation = line.outcome.valuation
            decided = found.report.decided_at
            yield (str(project.id), project.title, project.municipality_code, project.theme.value,
                   str(found.report.id), found.kind.code, str(quantity_of(found.report)),
                   decided.astimezone(AMSTERDAM).date() if decided else None, found.kind.avoided_public_cost,
                   line.value_cents, line.net_cents, line.present_value_cents, valuation.valid_from, valuation.source,
                   found.version.example, valuation.deadweight_bp, valuation.attribution_bp,
                   valuation.displacement_bp, valuation.duration_years, valuation.drop_off_bp,
                   line.rates.discount_rate_bp, line.rates.hour_rate_cents, line.rates.valid_from,
                   result.inputs_cents, result.present_value_cents, None if ratio is None else f"{ratio:.2f}")


SOCIAL_VALUE = Report("social_value", "Maatschappelijke waarde", columns(
    "project_id", "title", "municipality_code", "theme", "outcome_id", "outcome_type", "quantity",
    "verified_on:date", "avoided_public_cost", "gross:cents", "net:cents", "present_value:cents",
    "valuation_valid_from:date", "source", "example", "deadweight_bp:int", "attribution_bp:int",
    "displacement_bp:int", "duration_years:int", "drop_off_bp:int", "discount_rate_bp:int", "hour_rate:cents",
    "rates_valid_from:date", "project_inputs:cents", "project_present_value:cents", "sroi_ratio"),
    social_value_rows)

register_report(PROJECTS)
register_report(FUNDS)
register_report(SOCIAL_VALUE)
register_check(Check("gift funds reconcile with 2300 and 2310", funds_reconcile))
register_check(Check("projects add up to 2200, 2310 and 2400", projects_are_their_accounts))

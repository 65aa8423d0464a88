"""Reading social value: the catalogue and rates in force on a date, verified outcomes, and what went in."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, and_, col, func, or_, select

from coop.core.clock import AMSTERDAM
from funding.funds.models import Grant, GrantStatus, Match
from funding.funds.queries import STANDING as STANDING_MATCHES
from funding.funds.queries import condition_met
from funding.pledges.models import Pledge, PledgeKind, PledgeStatus
from funding.pledges.queries import progress
from funding.projects.models import Project
from funding.projects.queries import PUBLISHED
from funding.social_value.models import OutcomeReport, OutcomeStatus, OutcomeType, OutcomeValuation, SocialValueRates


def end_of(day: date) -> datetime:
    """The first instant after `day` ends in the Netherlands, in UTC: "by `day`" means before this."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=AMSTERDAM).astimezone(UTC)


def outcome_types(session: Session) -> list[OutcomeType]:
    """The catalogue, by code."""
    return list(session.exec(select(OutcomeType).order_by(col(OutcomeType.code))).all())


def outcome_type_by_code(session: Session, code: str) -> OutcomeType | None:
    """One outcome type, if the code exists."""
    return session.exec(select(OutcomeType).where(OutcomeType.code == code)).first()


def reports_of(session: Session, *, project_id: uuid.UUID) -> list[tuple[OutcomeReport, str]]:
    """A project's outcome reports with their type's code, oldest first."""
    rows = session.exec(select(OutcomeReport, OutcomeType.code)
                        .join(OutcomeType, col(OutcomeType.id) == col(OutcomeReport.outcome_type_id))
                        .where(OutcomeReport.project_id == project_id)
                        .order_by(col(OutcomeReport.reported_at), col(OutcomeReport.id))).all()
    return [(report, code) for report, code in rows]


def valuations(session: Session) -> list[OutcomeValuation]:
    """Every version of every valuation, oldest first per type."""
    return list(session.exec(select(OutcomeValuation)
                             .order_by(col(OutcomeValuation.outcome_type_id), col(OutcomeValuation.valid_from))).all())


def rates_versions(session: Session) -> list[SocialValueRates]:
    """Every version of the rates, oldest first."""
    return list(session.exec(select(SocialValueRates).order_by(col(SocialValueRates.valid_from))).all())


@dataclass(frozen=True)
class VerifiedOutcome:
    """A verified outcome report with where its project is."""

    report: OutcomeReport
    theme: str
    municipality_code: str


def verified_outcomes(session: Session, *, before: datetime, since: datetime | None = None,
                      project_ids: Iterable[uuid.UUID] | None = None,
                      theme: str | None = None) -> list[VerifiedOutcome]:
    """Outcomes verified in [since, before), oldest decision first, optionally of some projects or one theme."""
    query = (select(OutcomeReport, Project.theme, Project.municipality_code)
             .join(Project, col(Project.id) == col(OutcomeReport.project_id))
             .where(OutcomeReport.status == OutcomeStatus.VERIFIED, col(OutcomeReport.decided_at) < before,
                    col(Project.status).in_(PUBLISHED)))
    if since is not None:
        query = query.where(col(OutcomeReport.decided_at) >= since)
    if project_ids is not None:
        query = query.where(col(OutcomeReport.project_id).in_(list(project_ids)))
    if theme is not None:
        query = query.where(Project.theme == theme)
    rows = session.exec(query.order_by(col(OutcomeReport.decided_at), col(OutcomeReport.id))).all()
    return [VerifiedOutcome(report=report, theme=str(theme_), municipality_code=code) for report, theme_, code in rows]


@dataclass(frozen=True)
class InputTotals:
    """What reached a project by a date: money by source in cents, delivered minutes, materials' value."""

    paid_pledges_cents: int = 0
    matched_cents: int = 0
    granted_cents: int = 0
    minutes: int = 0
    materials_cents: int = 0

    @property
    def money_cents(self) -> int:
        """Money from the crowd and the funds together."""
        return self.paid_pledges_cents + self.matched_cents + self.granted_cents


# Money pledges that were paid, whatever happened to them later (a refund or a gift to a fund closes them).
PAID_ONCE = (PledgeStatus.PAID, PledgeStatus.REFUND_PENDING, PledgeStatus.REFUNDED, PledgeStatus.DONATED)


def _still_in(closed: Any, before: datetime) -> Any:
    """Not yet closed (refunded, withdrawn, released) before `before`."""
    return or_(col(closed).is_(None), col(closed) >= before)


def _sum_by_project(session: Session, model: Any, amount: Any, *conditions: Any) -> list[tuple[uuid.UUID, int]]:
    """(project id, summed amount) of the rows of `model` that meet the conditions."""
    rows = session.exec(select(model.project_id, func.coalesce(func.sum(amount), 0)).where(*conditions)
                        .group_by(model.project_id)).all()
    return [(project_id, int(total)) for project_id, total in rows]


def inputs(session: Session, *, project_ids: Iterable[uuid.UUID], before: datetime) -> dict[uuid.UUID, InputTotals]:
    """Each project's inputs as they stood just before `before`: money pledges paid and not yet refunded, matches
    made and not yet released, counted grants, hours delivered and materials not yet withdrawn; every id gets an
    entry (the same answer for a past date today as on that date)."""
    ids = list(project_ids)
    if not ids:
        return {}
    totals: dict[uuid.UUID, dict[str, int]] = {pid: {} for pid in ids}
    mine = col(Pledge.project_id).in_(ids)
    for name, rows in (
        ("paid_pledges_cents", _sum_by_project(
            session, Pledge, Pledge.amount_cents, mine, Pledge.kind == PledgeKind.MONEY,
            col(Pledge.status).in_(PAID_ONCE), col(Pledge.paid_at) < before,
            _still_in(Pledge.closed_at, before))),
        ("minutes", _sum_by_project(
            session, Pledge, Pledge.delivered_minutes, mine, Pledge.kind == PledgeKind.TIME,
            Pledge.status == PledgeStatus.DELIVERED, col(Pledge.delivered_at) < before)),
        ("materials_cents", _sum_by_project(
            session, Pledge, Pledge.value_cents, mine, Pledge.kind == PledgeKind.MATERIALS,
            col(Pledge.status).in_([PledgeStatus.PLEDGED, PledgeStatus.WITHDRAWN]), col(Pledge.created_at) < before,
            _still_in(Pledge.closed_at, before))),
        ("matched_cents", _sum_by_project(
            session, Match, Match.amount_cents, col(Match.project_id).in_(ids), col(Match.created_at) < before,
            or_(col(Match.status).in_(STANDING_MATCHES), col(Match.settled_at) >= before))),
    ):
        for project_id, cents in rows:
            totals[project_id][name] = cents
    for grant in counted_grants(session, project_ids=ids, before=before):
        found = totals[grant.project_id]
        found["granted_cents"] = found.get("granted_cents", 0) + grant.amount_cents
    return {pid: InputTotals(**values) for pid, values in totals.items()}


def counted_grants(session: Session, *, project_ids: list[uuid.UUID], before: datetime,
                   fund_id: uuid.UUID | None = None) -> list[Grant]:
    """Grants approved before `before` and not released back to the fund by then that count for their project
    (payable, or the crowd meets their condition; judged on the crowd's progress now)."""
    query = select(Grant).where(col(Grant.project_id).in_(project_ids), col(Grant.decided_at) < before,
                                or_(col(Grant.status).in_([GrantStatus.APPROVED, GrantStatus.PAYABLE]),
                                    and_(Grant.status == GrantStatus.RELEASED, col(Grant.settled_at) >= before)))
    if fund_id is not None:
        query = query.where(Grant.fund_id == fund_id)
    found = list(session.exec(query).all())
    crowd = progress(session, project_ids={grant.project_id for grant in found})
    return [grant for grant in found
            if grant.status is not GrantStatus.APPROVED or condition_met(grant, crowd[grant.project_id])]


def fund_contributions(session: Session, *, fund_id: uuid.UUID, before: datetime) -> dict[uuid.UUID, int]:
    """Cents a fund put into each project before `before`: its standing matches and counted grants."""
    totals = dict(_sum_by_project(session, Match, Match.amount_cents, Match.fund_id == fund_id,
                                  col(Match.created_at) < before,
                                  or_(col(Match.status).in_(STANDING_MATCHES), col(Match.settled_at) >= before)))
    funded = session.exec(select(Grant.project_id).where(Grant.fund_id == fund_id).distinct()).all()
    for grant in counted_grants(session, project_ids=list(funded), before=before, fund_id=fund_id):
        totals[grant.project_id] = totals.get(grant.project_id, 0) + grant.amount_cents
    return totals


def pledger_contributions(session: Session, *, email: str, before: datetime) -> dict[uuid.UUID, int]:
    """Cents one pledger (by e-mail) paid into each project before `before` and did not get back."""
    return dict(_sum_by_project(session, Pledge, Pledge.amount_cents, Pledge.email == email.lower(),
                                Pledge.kind == PledgeKind.MONEY, col(Pledge.status).in_(PAID_ONCE),
                                col(Pledge.paid_at) < before, _still_in(Pledge.closed_at, before)))


def projects_with_verified_outcomes(session: Session, *, before: datetime, theme: str | None = None) -> list[Project]:
    """Projects (of a theme) with at least one outcome verified before `before`, by municipality and title."""
    verified = (select(OutcomeReport.project_id)
                .where(OutcomeReport.status == OutcomeStatus.VERIFIED, col(OutcomeReport.decided_at) < before))
    query = select(Project).where(col(Project.id).in_(verified), col(Project.status).in_(PUBLISHED))
    if theme is not None:
        query = query.where(Project.theme == theme)
    return list(session.exec(query.order_by(col(Project.municipality_code), col(Project.title),
                                            col(Project.id))).all())

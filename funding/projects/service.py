"""Projects: proposing a campaign, the board's decision, the close, updates, and what each viewer may see.

A project goes draft -> submitted -> live -> succeeded | failed, or is canceled
before it is decided. Once live its goals, campaign dates and funding model are
frozen: pledgers gave on those terms.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlmodel import Session

from coop.audit.service import record
from coop.auth.models import Role
from coop.auth.schemas import CurrentUser
from coop.core.clock import today_amsterdam, utc_now
from coop.core.db import get_row
from coop.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from coop.members.models import MemberStatus
from coop.members.queries import own_member, status_at
from coop.members.service import ensure_member_access, normalise_iban
from funding.pledges.models import Pledge, PledgeKind
from funding.pledges.queries import Progress, pledges_of, progress, recent_public_pledges
from funding.projects.models import Project, ProjectStatus, ProjectUpdate
from funding.projects.queries import PUBLISHED, is_backer, list_projects, updates_of
from funding.projects.schemas import (
    PledgerPublic,
    ProjectCard,
    ProjectDetail,
    ProjectFilters,
    ProjectIn,
    ProjectPage,
    ProjectPatch,
    ProjectPrivate,
    RecentPledge,
    UpdateIn,
)

STAFF = (Role.BOARD, Role.ADMIN)
MEMBERS = (MemberStatus.ACTIVE, MemberStatus.RESIGNING)
MIN_CAMPAIGN_DAYS, MAX_CAMPAIGN_DAYS = 1, 90
EDITABLE = (ProjectStatus.DRAFT, ProjectStatus.SUBMITTED)
PAYEE_FIELDS = frozenset({"payee_name", "payee_iban"})  # needed to pay out: settable while live and after success
EDITABLE_WHILE_LIVE = frozenset({"story", "summary", "wishlist", "default_fund_id"}) | PAYEE_FIELDS
CLEARABLE = frozenset({"story", "payee_name", "payee_iban", "default_fund_id"})
CLOSING: dict[ProjectStatus, tuple[ProjectStatus, ...]] = {
    ProjectStatus.SUCCEEDED: (ProjectStatus.LIVE,),
    ProjectStatus.FAILED: (ProjectStatus.LIVE,),
    ProjectStatus.CANCELED: (ProjectStatus.DRAFT, ProjectStatus.SUBMITTED, ProjectStatus.LIVE),
}
ANONYMOUS = "Anoniem"


def get_project(session: Session, *, project_id: uuid.UUID, for_update: bool = False,
                for_share: bool = False) -> Project:
    """One project, or NotFound (row-locked as `get_row` says)."""
    project = get_row(session, Project, project_id, for_update=for_update, for_share=for_share)
    if project is None:
        raise NotFound("no such project", field="project_id")
    return project


def may_manage(project: Project, user: CurrentUser | None) -> bool:
    """The project's initiator, the board and admins run a project; nobody else does."""
    return user is not None and (user.id == project.initiator_id or user.has_any(*STAFF))


def ensure_project_access(session: Session, *, project: Project, user: CurrentUser) -> None:
    """Let through the project's initiator, the board and admins; Forbidden otherwise."""
    if not may_manage(project, user):
        raise Forbidden("only the project's initiator or the board can do this")


def visible_project(session: Session, *, project_id: uuid.UUID, viewer: CurrentUser | None) -> Project:
    """A published project for anyone; drafts, submitted and canceled ones only for who runs it (else NotFound)."""
    project = get_project(session, project_id=project_id)
    if project.status not in PUBLISHED and not may_manage(project, viewer):
        raise NotFound("no such project", field="project_id")
    return project


# -- proposing and editing -------------------------------------------------------------------------------------


def create_project(session: Session, *, data: ProjectIn, initiator: CurrentUser) -> Project:
    """A draft project by an initiator, an active member (or their representative) or the board."""
    member_id = _member_for(session, user=initiator, member_id=data.member_id)
    _check_campaign(data.starts_on, data.deadline, new_start=True)
    _check_goals(data.goal_cents, data.goal_hours * 60)
    project = Project(
        initiator_id=initiator.id, member_id=member_id, title=data.title, summary=data.summary, story=data.story,
        municipality_code=data.municipality_code, neighbourhood=data.neighbourhood, theme=data.theme,
        goal_cents=data.goal_cents, goal_minutes=data.goal_hours * 60, wishlist=data.wishlist,
        starts_on=data.starts_on, deadline=data.deadline, funding_model=data.funding_model,
        payee_name=data.payee_name, payee_iban=normalise_iban(data.payee_iban, field="payee_iban"),
        default_fund_id=data.default_fund_id)
    session.add(project)
    session.flush()
    record(session, action="project.created", object_type="project", object_id=project.id, actor_id=initiator.id,
           after={"title": project.title, "goal_cents": project.goal_cents, "goal_minutes": project.goal_minutes,
                  "starts_on": project.starts_on.isoformat(), "deadline": project.deadline.isoformat(),
                  "funding_model": project.funding_model.value, "member_id": _text(project.member_id)})
    return project


def _member_for(session: Session, *, user: CurrentUser, member_id: uuid.UUID | None) -> uuid.UUID | None:
    """The member a project is for (given and acted for, else the user's own); Forbidden for non-initiators."""
    if member_id is not None:
        member_id = ensure_member_access(session, member_id=member_id, user=user, staff=STAFF).id
    else:
        own = own_member(session, user_id=user.id)
        member_id = own.id if own is not None else None
    if user.has_any(Role.INITIATOR, *STAFF):
        return member_id
    if member_id is None or status_at(session, member_id=member_id, at=today_amsterdam()) not in MEMBERS:
        raise Forbidden("projects are started by initiators and members of the cooperative")
    return member_id


def update_project(session: Session, *, project_id: uuid.UUID, data: ProjectPatch, user: CurrentUser) -> Project:
    """Change a draft or submitted project; once live only story, summary, wishlist and payee, after success only
    the payee (Conflict naming the field)."""
    project = get_project(session, project_id=project_id, for_update=True)
    ensure_project_access(session, project=project, user=user)
    changes = _changes(project, data)
    if project.status is ProjectStatus.LIVE:
        frozen = next((name for name in changes if name not in EDITABLE_WHILE_LIVE), None)
        if frozen is not None:
            raise Conflict(f"{frozen} cannot change once the campaign is live", field=frozen)
    elif project.status is ProjectStatus.SUCCEEDED and changes.keys() <= PAYEE_FIELDS:
        pass  # where the money goes can still be set (audited) until it is paid out
    elif project.status not in EDITABLE and changes:
        raise Conflict(f"a {project.status.value} project cannot change", field="status")
    stored = dict(changes.values())
    after = {name: stored.get(name, getattr(project, name)) for name in ("starts_on", "deadline", "goal_cents",
                                                                          "goal_minutes")}
    if {"starts_on", "deadline"} & changes.keys():
        _check_campaign(after["starts_on"], after["deadline"], new_start="starts_on" in changes)
    if {"goal_cents", "goal_hours"} & changes.keys():
        _check_goals(after["goal_cents"], after["goal_minutes"])
    before = {name: _text(getattr(project, attribute)) for name, (attribute, _) in changes.items()}
    for attribute, value in stored.items():
        setattr(project, attribute, value)
    if changes:
        session.add(project)
        session.flush()
        record(session, action="project.updated", object_type="project", object_id=project.id, actor_id=user.id,
               before=before, after={name: _text(value) for name, (_, value) in changes.items()})
    return project


def _changes(project: Project, data: ProjectPatch) -> dict[str, tuple[str, Any]]:
    """What `data` really changes: API field -> (column, value as stored: hours in minutes, IBAN compact)."""
    changes: dict[str, tuple[str, Any]] = {}
    for name, value in data.model_dump(exclude_unset=True).items():
        if value is None and name not in CLEARABLE:
            raise InvalidInput(f"{name} cannot be emptied", field=name)
        attribute, stored = name, value
        if name == "goal_hours":
            attribute, stored = "goal_minutes", value * 60
        elif name == "payee_iban":
            stored = normalise_iban(value, field="payee_iban")
        elif name == "story":
            stored = value or ""
        if getattr(project, attribute) != stored:
            changes[name] = (attribute, stored)
    return changes


def _check_campaign(starts_on: date, deadline: date, *, new_start: bool) -> None:
    """A campaign starts today or later (when the start is set now) and ends 1 to 90 days after it starts."""
    if new_start and starts_on < today_amsterdam():
        raise InvalidInput("a campaign cannot start in the past", field="starts_on")
    if not MIN_CAMPAIGN_DAYS <= (deadline - starts_on).days <= MAX_CAMPAIGN_DAYS:
        raise InvalidInput(f"the deadline is {MIN_CAMPAIGN_DAYS} to {MAX_CAMPAIGN_DAYS} days after the start",
                           field="deadline")


def _check_goals(goal_cents: int, goal_minutes: int) -> None:
    """A project asks for money, for hours, or for both."""
    if goal_cents == 0 and goal_minutes == 0:
        raise InvalidInput("a project needs a money goal or an hours goal (or both)", field="goal_cents")


# -- the lifecycle -------------------------------------------------------------------------------------------


def submit_project(session: Session, *, project_id: uuid.UUID, user: CurrentUser) -> Project:
    """The initiator asks the board to let a draft go live."""
    project = get_project(session, project_id=project_id, for_update=True)
    ensure_project_access(session, project=project, user=user)
    _require(project, ProjectStatus.DRAFT, "submitted")
    project.submitted_at = utc_now()
    return _moved(session, project, ProjectStatus.SUBMITTED, actor_id=user.id)


def approve_project(session: Session, *, project_id: uuid.UUID, actor_id: uuid.UUID) -> Project:
    """The board lets a submitted project go live (a start already past is kept); never its own initiator."""
    project = get_project(session, project_id=project_id, for_update=True)
    _require(project, ProjectStatus.SUBMITTED, "approved")
    if actor_id == project.initiator_id:
        raise Forbidden("another board member approves a project you started")
    if project.deadline < today_amsterdam():
        raise Conflict("the campaign's deadline has passed; move it before approving", field="deadline")
    project.went_live_at, project.decided_by, project.decision_reason = utc_now(), actor_id, None
    return _moved(session, project, ProjectStatus.LIVE, actor_id=actor_id)


def reject_project(session: Session, *, project_id: uuid.UUID, reason: str, actor_id: uuid.UUID) -> Project:
    """The board sends a submitted project back to draft, saying why (a reason is required)."""
    if not reason or not reason.strip():
        raise InvalidInput("say why the project is rejected", field="reason")
    project = get_project(session, project_id=project_id, for_update=True)
    _require(project, ProjectStatus.SUBMITTED, "rejected")
    project.decided_by, project.decision_reason = actor_id, reason.strip()
    return _moved(session, project, ProjectStatus.DRAFT, actor_id=actor_id, reason=project.decision_reason)


def set_closed_status(session: Session, *, project: Project, status: ProjectStatus, actor_id: uuid.UUID | None,
                      reason: str | None = None) -> Project:
    """Close a campaign: live -> succeeded | failed, or draft | submitted | live -> canceled (money: the caller)."""
    allowed = CLOSING.get(status)
    if allowed is None or project.status not in allowed:
        raise Conflict(f"a {project.status.value} project cannot become {status.value}", field="status")
    project.closed_at = utc_now()
    if actor_id is not None:  # a close at the deadline keeps the approver as the one who decided
        project.decided_by = actor_id
    if reason is not None:
        project.decision_reason = reason
    return _moved(session, project, status, actor_id=actor_id, reason=reason)


def _require(project: Project, status: ProjectStatus, verb: str) -> None:
    """Conflict unless the project is in `status`."""
    if project.status is not status:
        raise Conflict(f"only a {status.value} project can be {verb} (this one is {project.status.value})",
                       field="status")


def _moved(session: Session, project: Project, status: ProjectStatus, *, actor_id: uuid.UUID | None,
           reason: str | None = None) -> Project:
    """Store a status change and audit it."""
    before = project.status
    project.status = status
    session.add(project)
    session.flush()
    record(session, action=f"project.{status.value}", object_type="project", object_id=project.id,
           actor_id=actor_id, before={"status": before.value}, after={"status": status.value, "reason": reason})
    return project


# -- updates and pledgers ------------------------------------------------------------------------------------


def post_update(session: Session, *, project_id: uuid.UUID, data: UpdateIn, author: CurrentUser) -> ProjectUpdate:
    """The initiator (or the board) tells everyone, or only the backers, how the project is going."""
    project = get_project(session, project_id=project_id)
    ensure_project_access(session, project=project, user=author)
    update = ProjectUpdate(project_id=project.id, author_id=author.id, title=data.title, body=data.body,
                           visibility=data.visibility)
    session.add(update)
    session.flush()
    record(session, action="project.update_posted", object_type="project", object_id=project.id,
           actor_id=author.id, after={"update_id": str(update.id), "visibility": update.visibility.value})
    return update


def updates_for(session: Session, *, project_id: uuid.UUID, viewer: CurrentUser | None) -> list[ProjectUpdate]:
    """Public updates for everyone; backers-only ones also for the initiator, the board and people who pledged."""
    project = visible_project(session, project_id=project_id, viewer=viewer)
    backer = viewer is not None and (may_manage(project, viewer)
                                     or is_backer(session, project_id=project.id, email=viewer.email))
    return updates_of(session, project_id=project.id, backers_too=backer)


def pledgers(session: Session, *, project_id: uuid.UUID, user: CurrentUser) -> list[PledgerPublic]:
    """Everyone who pledged, with contact data: the initiator and the board only.

    An anonymous money or materials pledge stays anonymous to the initiator (only the board knows who gave);
    volunteers are shown, as the initiator has to arrange their hours with them.
    """
    project = get_project(session, project_id=project_id)
    ensure_project_access(session, project=project, user=user)
    board = user.has_any(*STAFF)

    def hidden(p: Pledge) -> bool:
        return p.anonymous and p.kind is not PledgeKind.TIME and not board

    return [PledgerPublic(id=p.id, kind=p.kind, status=p.status, name=ANONYMOUS if hidden(p) else p.name,
                          email=None if hidden(p) else p.email, anonymous=p.anonymous,
                          message=p.message, amount_cents=p.amount_cents, minutes=p.minutes,
                          hours=None if p.minutes is None else _hours(p.minutes),
                          delivered_minutes=p.delivered_minutes, skill=p.skill, availability=p.availability,
                          description=p.description, quantity=p.quantity, value_cents=p.value_cents,
                          created_at=p.created_at)
            for p in pledges_of(session, project_id=project.id)]


# -- what the API shows -----------------------------------------------------------------------------------


def browse_projects(session: Session, *, filters: ProjectFilters, viewer: CurrentUser | None) -> ProjectPage:
    """A page of published projects with their progress; the board and admins also see unpublished ones."""
    items, total = list_projects(session, **filters.model_dump(),
                                 include_unpublished=viewer is not None and viewer.has_any(*STAFF))
    reached = progress(session, project_ids=[project.id for project in items])
    return ProjectPage(items=[_card(project, reached[project.id]) for project in items], total=total,
                       page=filters.page, per_page=filters.per_page)


def show_project(session: Session, *, project_id: uuid.UUID, viewer: CurrentUser | None) -> ProjectDetail:
    """The project page, for whoever may see the project."""
    return describe(session, project=visible_project(session, project_id=project_id, viewer=viewer), viewer=viewer)


def describe(session: Session, *, project: Project, viewer: CurrentUser | None) -> ProjectDetail:
    """A project with its progress and latest public pledges; payee and decision details for who runs it."""
    card = _card(project, progress(session, project_ids=[project.id])[project.id])
    private = ProjectPrivate.model_validate(project, from_attributes=True) if may_manage(project, viewer) else None
    return ProjectDetail(**card.model_dump(), story=project.story, wishlist=project.wishlist, private=private,
                         recent_pledges=[_recent(pledge) for pledge in
                                         recent_public_pledges(session, project_id=project.id)])


def _card(project: Project, reached: Progress) -> ProjectCard:
    """The project's figures: money in cents, time in hours and minutes, days left including today."""
    open_days = (project.deadline - today_amsterdam()).days + 1
    return ProjectCard(
        id=project.id, status=project.status, title=project.title, summary=project.summary,
        municipality_code=project.municipality_code, neighbourhood=project.neighbourhood, theme=project.theme,
        funding_model=project.funding_model, starts_on=project.starts_on, deadline=project.deadline,
        days_left=max(open_days, 0) if project.closed_at is None else 0, goal_cents=project.goal_cents,
        paid_cents=reached.paid_cents, pending_cents=reached.pending_cents,
        refunding_cents=reached.refunding_cents, matched_cents=reached.matched_cents,
        granted_cents=reached.granted_cents, raised_cents=reached.raised_cents,
        percentage=reached.raised_cents * 100 // project.goal_cents if project.goal_cents else None,
        goal_hours=_hours(project.goal_minutes), hours_pledged=_hours(reached.minutes_pledged),
        hours_confirmed=_hours(reached.minutes_confirmed), hours_delivered=_hours(reached.minutes_delivered),
        goal_minutes=project.goal_minutes, minutes_pledged=reached.minutes_pledged,
        minutes_confirmed=reached.minutes_confirmed, minutes_delivered=reached.minutes_delivered,
        materials=reached.materials, materials_value_cents=reached.materials_value_cents, backers=reached.backers)


def _recent(pledge: Pledge) -> RecentPledge:
    """A pledge as the public sees it: what was given, and by whom unless anonymous."""
    return RecentPledge(
        kind=pledge.kind, name=ANONYMOUS if pledge.anonymous else pledge.name, message=pledge.message,
        created_at=pledge.created_at,
        amount_cents=pledge.amount_cents if pledge.kind is PledgeKind.MONEY else None,
        hours=_hours(pledge.minutes) if pledge.kind is PledgeKind.TIME and pledge.minutes is not None else None,
        description=pledge.description if pledge.kind is PledgeKind.MATERIALS else None)


def _hours(minutes: int) -> float:
    """Minutes shown as hours, to 2 decimals (the exact minutes are shown beside them)."""
    return round(minutes / 60, 2)


def _text(value: Any) -> Any:
    """A value the audit log can store as JSON."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value

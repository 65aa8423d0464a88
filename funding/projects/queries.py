"""Reading projects: the public list, a project's updates, and who backs a project."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, col, func, or_, select

from funding.pledges.models import Pledge
from funding.pledges.queries import COUNTED_TIME, MONEY_IN
from funding.projects.models import Project, ProjectStatus, ProjectUpdate, Theme, Visibility
from funding.projects.schemas import MAX_PER_PAGE

PUBLISHED = (ProjectStatus.LIVE, ProjectStatus.SUCCEEDED, ProjectStatus.FAILED)
STANDING = (*MONEY_IN, *COUNTED_TIME)  # pledges that make someone a backer


def list_projects(
    session: Session, *, municipality_code: str | None = None, neighbourhood: str | None = None,
    theme: Theme | None = None, status: ProjectStatus | None = None, q: str | None = None, page: int = 1,
    per_page: int = 20, include_unpublished: bool = False,
) -> tuple[list[Project], int]:
    """One page of projects by deadline (then id, so pages are stable) and the total; drafts only when asked."""
    conditions: list[Any] = []
    if not include_unpublished:
        conditions.append(col(Project.status).in_(PUBLISHED))
    if municipality_code:
        conditions.append(Project.municipality_code == municipality_code.upper())
    if neighbourhood:
        conditions.append(func.lower(Project.neighbourhood) == neighbourhood.lower())
    if theme is not None:
        conditions.append(Project.theme == theme)
    if status is not None:
        conditions.append(Project.status == status)
    if q:
        text = q.lower()
        conditions.append(or_(*(func.lower(column).contains(text, autoescape=True)
                                for column in (col(Project.title), col(Project.summary),
                                               col(Project.neighbourhood)))))
    total = session.exec(select(func.count()).select_from(Project).where(*conditions)).one()
    size = min(max(per_page, 1), MAX_PER_PAGE)
    items = session.exec(select(Project).where(*conditions).order_by(col(Project.deadline), col(Project.id))
                         .offset((max(page, 1) - 1) * size).limit(size)).all()
    return list(items), int(total)


def projects_of_initiator(session: Session, *, user_id: uuid.UUID) -> list[Project]:
    """The projects someone runs, newest first."""
    return list(session.exec(select(Project).where(Project.initiator_id == user_id)
                             .order_by(col(Project.created_at).desc(), col(Project.id))).all())


def updates_of(session: Session, *, project_id: uuid.UUID, backers_too: bool) -> list[ProjectUpdate]:
    """A project's updates, newest first; backers-only ones when `backers_too`."""
    query = select(ProjectUpdate).where(ProjectUpdate.project_id == project_id)
    if not backers_too:
        query = query.where(ProjectUpdate.visibility == Visibility.PUBLIC)
    return list(session.exec(query.order_by(col(ProjectUpdate.created_at).desc(), col(ProjectUpdate.id))).all())


def is_backer(session: Session, *, project_id: uuid.UUID, email: str) -> bool:
    """Whether someone with this e-mail has a standing pledge (paid, pledged, confirmed, delivered) on the project."""
    found = session.exec(select(Pledge.id).where(Pledge.project_id == project_id, Pledge.email == email.lower(),
                                                 col(Pledge.status).in_(STANDING)).limit(1)).first()
    return found is not None

"""Projects: the public list and page, the initiator's proposals and updates, the board's decisions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, status

from coop.auth.dependencies import CurrentUserDep, OptionalUserDep, require_roles
from coop.auth.models import Role
from coop.auth.schemas import CurrentUser
from coop.core.db import SessionDep
from funding.pledges.closing import cancel_project
from funding.projects import service
from funding.projects.schemas import (
    PledgerPublic,
    ProjectDetail,
    ProjectFilters,
    ProjectIn,
    ProjectPage,
    ProjectPatch,
    Reason,
    UpdateIn,
    UpdatePublic,
)

router = APIRouter(tags=["projects"])
Board = Annotated[CurrentUser, Depends(require_roles(Role.BOARD))]
ReasonBody = Annotated[Reason, Body(embed=True)]  # {"reason": "..."}; a missing reason is a 422 naming `reason`


@router.get("/projects", response_model=ProjectPage)
def projects(session: SessionDep, viewer: OptionalUserDep,
             filters: Annotated[ProjectFilters, Query()]) -> ProjectPage:
    """Live, succeeded and failed projects by deadline, filtered and paged (public; the board also sees drafts)."""
    return service.browse_projects(session, filters=filters, viewer=viewer)


@router.post("/projects", response_model=ProjectDetail, status_code=status.HTTP_201_CREATED)
def create(session: SessionDep, user: CurrentUserDep, body: ProjectIn) -> ProjectDetail:
    """Propose a project as a draft (initiators, active members, the board)."""
    return service.describe(session, project=service.create_project(session, data=body, initiator=user), viewer=user)


@router.get("/projects/{project_id}", response_model=ProjectDetail)
def project(session: SessionDep, viewer: OptionalUserDep, project_id: uuid.UUID) -> ProjectDetail:
    """The project page with its progress (public once live; before that its initiator and the board only)."""
    return service.show_project(session, project_id=project_id, viewer=viewer)


@router.patch("/projects/{project_id}", response_model=ProjectDetail)
def edit(session: SessionDep, user: CurrentUserDep, project_id: uuid.UUID, body: ProjectPatch) -> ProjectDetail:
    """Change a draft or submitted project; once live only its story, summary and wishlist."""
    changed = service.update_project(session, project_id=project_id, data=body, user=user)
    return service.describe(session, project=changed, viewer=user)


@router.post("/projects/{project_id}/submit", response_model=ProjectDetail)
def submit(session: SessionDep, user: CurrentUserDep, project_id: uuid.UUID) -> ProjectDetail:
    """Ask the board to let the project go live."""
    submitted = service.submit_project(session, project_id=project_id, user=user)
    return service.describe(session, project=submitted, viewer=user)


@router.post("/projects/{project_id}/approve", response_model=ProjectDetail)
def approve(session: SessionDep, user: Board, project_id: uuid.UUID) -> ProjectDetail:
    """Let a submitted project go live (board)."""
    approved = service.approve_project(session, project_id=project_id, actor_id=user.id)
    return service.describe(session, project=approved, viewer=user)


@router.post("/projects/{project_id}/reject", response_model=ProjectDetail)
def reject(session: SessionDep, user: Board, project_id: uuid.UUID, reason: ReasonBody) -> ProjectDetail:
    """Send a submitted project back to its initiator as a draft, saying why (board)."""
    rejected = service.reject_project(session, project_id=project_id, reason=reason, actor_id=user.id)
    return service.describe(session, project=rejected, viewer=user)


@router.post("/projects/{project_id}/cancel", response_model=ProjectDetail)
def cancel(session: SessionDep, user: Board, project_id: uuid.UUID, reason: ReasonBody) -> ProjectDetail:
    """Stop a project before it is decided; every paid pledge is refunded (board)."""
    canceled = cancel_project(session, project_id=project_id, actor_id=user.id, reason=reason)
    return service.describe(session, project=canceled, viewer=user)


@router.get("/projects/{project_id}/pledgers", response_model=list[PledgerPublic])
def project_pledgers(session: SessionDep, user: CurrentUserDep, project_id: uuid.UUID) -> list[PledgerPublic]:
    """Everyone who pledged, with contact data (the project's initiator and the board)."""
    return service.pledgers(session, project_id=project_id, user=user)


@router.post("/projects/{project_id}/updates", response_model=UpdatePublic, status_code=status.HTTP_201_CREATED)
def post_update(session: SessionDep, user: CurrentUserDep, project_id: uuid.UUID, body: UpdateIn) -> UpdatePublic:
    """Post news for everyone or for backers only (the initiator or the board)."""
    return UpdatePublic.model_validate(service.post_update(session, project_id=project_id, data=body, author=user))


@router.get("/projects/{project_id}/updates", response_model=list[UpdatePublic])
def updates(session: SessionDep, viewer: OptionalUserDep, project_id: uuid.UUID) -> list[UpdatePublic]:
    """The project's news, newest first; backers-only posts for backers, the initiator and the board."""
    return [UpdatePublic.model_validate(update)
            for update in service.updates_for(session, project_id=project_id, viewer=viewer)]

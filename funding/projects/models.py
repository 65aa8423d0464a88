"""Neighbourhood projects: a goal in money and hours, a campaign with a deadline, and updates for backers."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, CheckConstraint, Column, Index, Text
from sqlmodel import Field, SQLModel

from coop.core.clock import utc_now
from coop.core.types import UTCDateTime, str_enum


class Theme(StrEnum):
    """The themes of the cooperative's projects (as on VoorJeBuurt)."""

    ZORG_EN_WELZIJN = "zorg_en_welzijn"
    ENERGIE = "energie"
    SCHOLING = "scholing"
    WONEN_EN_WERK = "wonen_en_werk"
    SPORT_EN_RECREATIE = "sport_en_recreatie"
    GEMEENSCHAP_EN_VEILIGHEID = "gemeenschap_en_veiligheid"
    GROEN_EN_DUURZAAMHEID = "groen_en_duurzaamheid"
    VOEDSEL = "voedsel"
    CULTUUR = "cultuur"


class ProjectStatus(StrEnum):
    """draft -> submitted -> live -> succeeded | failed; canceled from any state before the close."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    LIVE = "live"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


class FundingModel(StrEnum):
    """All-or-nothing refunds everything when a goal is missed; keep-it-all keeps what came in."""

    ALL_OR_NOTHING = "all_or_nothing"
    KEEP_IT_ALL = "keep_it_all"


class Project(SQLModel, table=True):
    """A citizens' initiative for a neighbourhood; goal, deadline and model are frozen once live."""

    __tablename__ = "project"
    __table_args__ = (
        CheckConstraint("goal_cents >= 0", name="ck_project_goal_cents"),
        CheckConstraint("goal_minutes >= 0", name="ck_project_goal_minutes"),
        CheckConstraint("deadline > starts_on", name="ck_project_campaign"),
        Index("ix_project_status_deadline", "status", "deadline"),
        Index("ix_project_theme", "theme"),  # the dashboards' theme filter
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    initiator_id: uuid.UUID = Field(index=True)  # the user who runs the project
    member_id: uuid.UUID | None = Field(default=None, foreign_key="member.id")
    title: str = Field(max_length=120)
    summary: str = Field(max_length=500)
    story: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    municipality_code: str = Field(max_length=6, index=True)  # CBS code, e.g. GM0344
    neighbourhood: str = Field(max_length=100)
    theme: Theme = Field(sa_type=str_enum(Theme))
    goal_cents: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    goal_minutes: int = 0
    wishlist: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    starts_on: date
    deadline: date
    funding_model: FundingModel = Field(sa_type=str_enum(FundingModel))
    status: ProjectStatus = Field(default=ProjectStatus.DRAFT, sa_type=str_enum(ProjectStatus))
    payee_name: str | None = Field(default=None, max_length=70)
    payee_iban: str | None = Field(default=None, max_length=34)
    default_fund_id: uuid.UUID | None = None  # where donate_to_fund pledges go if the pledger picked no fund
    decision_reason: str | None = Field(default=None, max_length=500)
    decided_by: uuid.UUID | None = None
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    went_live_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Visibility(StrEnum):
    """Who may read a project update."""

    PUBLIC = "public"
    BACKERS = "backers"


class ProjectUpdate(SQLModel, table=True):
    """A post by the initiator about how the project is going."""

    __tablename__ = "project_update"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id", index=True)
    author_id: uuid.UUID
    title: str = Field(max_length=120)
    body: str = Field(sa_column=Column(Text, nullable=False))
    visibility: Visibility = Field(default=Visibility.PUBLIC, sa_type=str_enum(Visibility))
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)

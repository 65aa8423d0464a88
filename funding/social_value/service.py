"""Social value rules: the board keeps the catalogue and the rates (versions are added, never edited), initiators
report outcomes, and a board member other than the reporter verifies or rejects them."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from coop.audit.service import record
from coop.auth.models import Role
from coop.auth.schemas import CurrentUser
from coop.core.clock import today_amsterdam, utc_now
from coop.core.db import get_row
from coop.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from funding.projects.queries import PUBLISHED
from funding.projects.service import get_project
from funding.social_value.models import OutcomeReport, OutcomeStatus, OutcomeType, OutcomeValuation, SocialValueRates
from funding.social_value.queries import outcome_type_by_code, outcome_types, rates_versions
from funding.social_value.schemas import OutcomeIn, OutcomeTypeIn, RatesIn, ValuationIn

MILLI = 1000


def _valuation(type_id: uuid.UUID, data: ValuationIn, actor_id: uuid.UUID | None, *,
               example: bool = False) -> OutcomeValuation:
    """A valuation row from the API's fields."""
    return OutcomeValuation(outcome_type_id=type_id, example=example, created_by=actor_id,
                            **data.model_dump(include=set(ValuationIn.model_fields)))


def _add(session: Session, row: object, *, clash: str, field: str) -> None:
    """Insert in a savepoint, so a unique clash is a 409 naming the field and leaves the transaction usable."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise Conflict(clash, field=field) from None


def create_outcome_type(session: Session, *, data: OutcomeTypeIn, actor_id: uuid.UUID | None,
                        example: bool = False) -> OutcomeType:
    """A new outcome type with its first valuation (board); the code is its name for good."""
    if not example:
        _from_today(data.valid_from)
    if outcome_type_by_code(session, data.code) is not None:
        raise Conflict(f"an outcome type {data.code!r} already exists", field="code")
    kind = OutcomeType(code=data.code, name=data.name, name_en=data.name_en, unit=data.unit,
                       themes=[theme.value for theme in data.themes], avoided_public_cost=data.avoided_public_cost,
                       created_by=actor_id)
    _add(session, kind, clash=f"an outcome type {data.code!r} already exists", field="code")
    session.add(_valuation(kind.id, data, actor_id, example=example))
    session.flush()
    record(session, action="outcome_type.created", object_type="outcome_type", object_id=kind.id,
           actor_id=actor_id, after=data.model_dump(mode="json"))
    return kind


def _from_today(valid_from: date) -> None:
    """A new version starts today or later: statements already made (and the index) are never rewritten."""
    if valid_from < today_amsterdam():
        raise InvalidInput("a new version starts today or later; what was reported before keeps its assumptions",
                           field="valid_from")


def add_valuation(session: Session, *, code: str, data: ValuationIn, actor_id: uuid.UUID) -> OutcomeValuation:
    """A new version of a type's valuation from `valid_from` on (board); earlier statements keep theirs."""
    kind = outcome_type_by_code(session, code)
    if kind is None:
        raise NotFound(f"no outcome type {code!r}", field="code")
    _from_today(data.valid_from)
    version = _valuation(kind.id, data, actor_id)
    _add(session, version, clash=f"{code!r} already has a version from {data.valid_from}", field="valid_from")
    record(session, action="outcome_type.valued", object_type="outcome_type", object_id=kind.id, actor_id=actor_id,
           after=data.model_dump(mode="json"))
    return version


def set_rates(session: Session, *, data: RatesIn, actor_id: uuid.UUID | None,
              example: bool = False) -> SocialValueRates:
    """A new version of the hour rate and the discount rate from `valid_from` on (board)."""
    if not example:
        _from_today(data.valid_from)
    version = SocialValueRates(**data.model_dump(), example=example, created_by=actor_id)
    _add(session, version, clash=f"the rates already have a version from {data.valid_from}", field="valid_from")
    record(session, action="social_value.rates", object_type="social_value_rates", object_id=version.id,
           actor_id=actor_id, after=data.model_dump(mode="json"))
    return version


def report_outcome(session: Session, *, project_id: uuid.UUID, data: OutcomeIn, user: CurrentUser) -> OutcomeReport:
    """The project's initiator reports an outcome; it counts once a board member verified it."""
    project = get_project(session, project_id=project_id)
    if user.id != project.initiator_id:
        raise Forbidden("only the project's initiator reports its outcomes")
    if project.status not in PUBLISHED:
        raise Conflict("outcomes are reported for projects that went live", field="project_id")
    kind = outcome_type_by_code(session, data.outcome_type)
    if kind is None:
        raise InvalidInput(f"no outcome type {data.outcome_type!r}", field="outcome_type")
    if data.quantity <= 0:
        raise InvalidInput("the quantity must be more than 0", field="quantity")
    if data.period_end < data.period_start:
        raise InvalidInput("the period ends before it starts", field="period_end")
    if data.period_end > today_amsterdam():
        raise InvalidInput("an outcome is reported once achieved: the period may not end in the future",
                           field="period_end")
    report = OutcomeReport(project_id=project.id, outcome_type_id=kind.id, quantity_milli=to_milli(data.quantity),
                           period_start=data.period_start, period_end=data.period_end, evidence=data.evidence,
                           reported_by=user.id)
    session.add(report)
    session.flush()
    record(session, action="outcome.reported", object_type="outcome_report", object_id=report.id, actor_id=user.id,
           after=data.model_dump(mode="json"))
    return report


def to_milli(quantity: Decimal) -> int:
    """A quantity in thousandths of a unit (the schema allows three decimals, so this is exact)."""
    return int(quantity * MILLI)


def decide_outcome(session: Session, *, outcome_id: uuid.UUID, user: CurrentUser, verify: bool,
                   reason: str | None = None) -> OutcomeReport:
    """A board member who did not report it verifies or rejects a reported outcome, once."""
    if not user.has_any(Role.BOARD):
        raise Forbidden("only the board verifies outcomes")
    report = get_row(session, OutcomeReport, outcome_id, for_update=True)
    if report is None:
        raise NotFound("no such outcome", field="outcome_id")
    if user.id in (report.reported_by, get_project(session, project_id=report.project_id).initiator_id):
        raise Forbidden("four eyes: who reported an outcome, or runs the project, does not verify or reject it")
    if report.status is not OutcomeStatus.REPORTED:
        raise Conflict(f"this outcome was already {report.status.value}", field="outcome_id")
    report.status = OutcomeStatus.VERIFIED if verify else OutcomeStatus.REJECTED
    report.decided_by, report.decided_at, report.reason = user.id, utc_now(), reason
    session.add(report)
    session.flush()
    record(session, action=f"outcome.{report.status.value}", object_type="outcome_report", object_id=report.id,
           actor_id=user.id, after={"status": report.status.value, "reason": reason})
    return report


# -- the example catalogue ---------------------------------------------------------------------------------------

EXAMPLE_SINCE = date(2020, 1, 1)
EXAMPLE = "aanname (voorbeeld; het bestuur vervangt dit door een onderbouwde bron)"


class ExampleType(NamedTuple):
    """An outcome type of the example catalogue, with its valuation (basis points, cents)."""

    code: str
    name: str
    name_en: str
    unit: str
    themes: list[str]
    avoided_public_cost: bool
    value_cents: int
    deadweight_bp: int
    attribution_bp: int
    duration_years: int
    drop_off_bp: int


EXAMPLE_TYPES = [ExampleType(*example) for example in [
    ("eenzaamheid_verminderd", "Bewoner minder eenzaam", "Resident less lonely", "persoon per jaar",
     ["zorg_en_welzijn", "gemeenschap_en_veiligheid"], False, 150_000, 3000, 2000, 2, 5000),
    ("mantelzorg_ontlast", "Mantelzorger ontlast", "Carer given respite", "mantelzorger per jaar",
     ["zorg_en_welzijn"], True, 200_000, 2500, 2500, 1, 0),
    ("energie_bespaard", "Huishouden bespaart energie", "Household saves energy", "huishouden per jaar",
     ["energie"], False, 30_000, 2000, 1000, 5, 1000),
    ("co2_vermeden", "CO₂-uitstoot vermeden", "CO₂ emission avoided", "ton CO₂",
     ["energie", "groen_en_duurzaamheid"], False, 15_000, 1000, 1000, 1, 0),
    ("werk_gevonden", "Bewoner aan het werk uit een uitkering", "Resident into work from benefits", "persoon",
     ["wonen_en_werk"], True, 1_500_000, 5000, 3000, 3, 3000),
    ("taal_geleerd", "Volwassene taalvaardiger", "Adult speaks Dutch better", "deelnemer",
     ["scholing"], False, 100_000, 3000, 3000, 2, 5000),
    ("jongere_sport", "Jongere sport wekelijks", "Young person does sport weekly", "jongere per jaar",
     ["sport_en_recreatie"], True, 50_000, 4000, 2000, 1, 0),
    ("groen_aangelegd", "Openbaar groen aangelegd", "Public green space created", "m² per jaar",
     ["groen_en_duurzaamheid"], False, 1_000, 1000, 1000, 5, 1000),
    ("maaltijd_gered", "Maaltijd van gered voedsel", "Meal from rescued food", "maaltijd",
     ["voedsel"], False, 400, 2000, 1000, 1, 0),
    ("cultuur_deelname", "Bewoner doet mee aan cultuur", "Resident takes part in culture", "deelnemer",
     ["cultuur"], False, 10_000, 3000, 2000, 1, 0),
    ("overlast_voorkomen", "Overlastmelding voorkomen", "Nuisance report prevented", "melding",
     ["gemeenschap_en_veiligheid"], True, 50_000, 3000, 3000, 1, 0),
]]
EXAMPLE_RATES = RatesIn(hour_rate_cents=1500, discount_rate_bp=225, valid_from=EXAMPLE_SINCE,
                        source="uurtarief: aanname (voorbeeld); discontovoet 2,25 %: Rapport Werkgroep discontovoet "
                               "2020 (Ministerie van Financiën), de standaard voor MKBA's")


def seed_catalogue(session: Session) -> int:
    """Add the example outcome types and rates that are missing (idempotent; the board's versions are kept)."""
    known = {kind.code for kind in outcome_types(session)}
    added = 0
    for example in EXAMPLE_TYPES:
        if example.code in known:
            continue
        create_outcome_type(session, actor_id=None, example=True, data=OutcomeTypeIn.model_validate(
            {**example._asdict(), "source": EXAMPLE, "valid_from": EXAMPLE_SINCE}))
        added += 1
    if not rates_versions(session):
        set_rates(session, data=EXAMPLE_RATES, actor_id=None, example=True)
    return added

"""Demo crowdfunding: projects across Dutch municipalities and every theme, live, succeeded and failed.

Made through the real services on a simulated clock (create, submit, approve,
pledge, pay on the sandbox, confirm and deliver hours, close, refund), so the
ledger and the dashboards show a true history. Deterministic for a seed and day.
"""

from __future__ import annotations

import random
import uuid
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlmodel import Session, col, select

from coop.auth.models import Role
from coop.auth.schemas import CurrentUser
from coop.auth.service import create_user, user_by_email
from coop.core.clock import frozen_clock
from coop.core.jobs import Job, JobStatus
from coop.payments.models import PaymentStatus, ProviderName
from coop.payments.providers.sandbox import SandboxProvider
from coop.payments.service import receive_notification
from funding.funds import matching  # noqa: F401  (the demo's pledges are matched)
from funding.funds.models import FundKind
from funding.funds.schemas import DepositIn, FundIn, MatchRuleIn
from funding.funds.service import add_match_rule, create_fund, record_deposit
from funding.pledges.closing import close_project, refund_pledge
from funding.pledges.models import PledgeKind
from funding.pledges.queries import progress
from funding.pledges.schemas import PledgeIn
from funding.pledges.service import REFUND_JOB, confirm_time, deliver_time, make_pledge
from funding.projects.models import FundingModel, Project, ProjectStatus, Theme
from funding.projects.schemas import ProjectIn
from funding.projects.service import approve_project, create_project, submit_project
from funding.social_value.schemas import OutcomeIn
from funding.social_value.service import EXAMPLE_TYPES, decide_outcome, report_outcome, seed_catalogue

DEMO_INITIATOR = "initiator@demo.kracht.nl"  # the demo users of coop.demo
DEMO_APPROVER = "board@demo.kracht.nl"
PLACES = (("GM0363", "Amsterdam", "Indische Buurt"), ("GM0599", "Rotterdam", "Delfshaven"),
          ("GM0518", "'s-Gravenhage", "Transvaal"), ("GM0344", "Utrecht", "Lombok"),
          ("GM0772", "Eindhoven", "Woensel-Noord"), ("GM0014", "Groningen", "Paddepoel"),
          ("GM0855", "Tilburg", "Groenewoud"), ("GM0268", "Nijmegen", "Hatert"),
          ("GM0193", "Zwolle", "Holtenbroek"), ("GM0080", "Leeuwarden", "Heechterp"),
          ("GM0935", "Maastricht", "Malberg"), ("GM0202", "Arnhem", "Presikhaaf"))
IDEAS: dict[Theme, tuple[str, str]] = {
    Theme.ZORG_EN_WELZIJN: ("Huiskamer voor ouderen", "Een warme plek waar buurtgenoten elkaar elke week treffen"),
    Theme.ENERGIE: ("Zonnepanelen op het buurthuis", "Samen opgewekte stroom voor het buurthuis"),
    Theme.SCHOLING: ("Huiswerkklas", "Vrijwilligers helpen kinderen na school met hun huiswerk"),
    Theme.WONEN_EN_WERK: ("Klusbus", "Gereedschap en handige buren voor kleine reparaties"),
    Theme.SPORT_EN_RECREATIE: ("Pannakooi", "Een veilig voetbalveldje tussen de flats"),
    Theme.GEMEENSCHAP_EN_VEILIGHEID: ("Buurtpreventie-app en lampen", "Beter licht in de steegjes"),
    Theme.GROEN_EN_DUURZAAMHEID: ("Geveltuinen", "Honderd geveltuinen in één zomer"),
    Theme.VOEDSEL: ("Buurtmoestuin", "Groente kweken en samen koken"),
    Theme.CULTUUR: ("Zomerfestival op het plein", "Muziek en theater van en voor de buurt"),
}
SKILLS = ("timmeren", "tuinieren", "koken", "bijles geven", "fietsen repareren", "organiseren", "schilderen")


def seed_demo_projects(session: Session, *, today: date, seed: int, public_url: str, count: int = 30) -> int:
    """Add the demo projects once (none are added when the demo initiator already has projects)."""
    initiator = _user(session, DEMO_INITIATOR, Role.INITIATOR)
    if session.exec(select(Project.id).where(Project.initiator_id == initiator.id)).first() is not None:
        return 0
    approver = _user(session, DEMO_APPROVER, Role.BOARD)
    _funds(session, approver, today - timedelta(days=720))
    pick = random.Random(seed)  # noqa: S311  (demo data, not secrets)
    themes = list(Theme)
    for n in range(count):
        starts_on = today - timedelta(days=pick.randint(0, 700))
        _one_project(session, pick, n, themes[n % len(themes)], PLACES[n % len(PLACES)], starts_on, today,
                     initiator, approver, public_url)
    seed_catalogue(session)
    _outcomes(session, random.Random(seed + 1), today, initiator, approver)  # noqa: S311
    return count


def _funds(session: Session, board: CurrentUser, since: date) -> None:
    """Two funds that back the demo projects: a municipality's 1:1 matchfund and a foundation's threshold prize."""
    with _at(since):
        for name, kind, codes, deposit, rule in (
            ("Initiatievenfonds Utrecht", FundKind.MUNICIPALITY, ["GM0344"], 2_000_000,
             MatchRuleIn(ratio_bp=10_000, cap_per_pledge_cents=10_000, cap_per_project_cents=100_000,
                         budget_cents=1_500_000)),
            ("Stichting Buurtkracht", FundKind.FOUNDATION, [], 1_000_000,
             MatchRuleIn(ratio_bp=10_000, cap_per_pledge_cents=50_000, cap_per_project_cents=50_000,
                         budget_cents=800_000, lump_sum_cents=50_000, threshold_percent=75, min_backers=10)),
        ):
            fund = create_fund(session, creator=board, data=FundIn(name=name, kind=kind, municipality_codes=codes))
            record_deposit(session, fund_id=fund.id, by=board.id,
                           data=DepositIn(amount_cents=deposit, reference=f"Storting {name}"))
            add_match_rule(session, fund_id=fund.id, data=rule, user=board)


def _one_project(session: Session, pick: random.Random, n: int, theme: Theme, place: tuple[str, str, str],
                 starts_on: date, today: date, initiator: CurrentUser, approver: CurrentUser, public_url: str) -> None:
    """One project's whole campaign up to today."""
    code, city, neighbourhood = place
    title, summary = IDEAS[theme]
    deadline = starts_on + timedelta(days=pick.choice((21, 30, 45, 60, 90)))
    goal_cents = pick.choice((0, 50_000, 150_000, 250_000, 500_000)) if n % 7 else 0
    goal_hours = pick.choice((0, 20, 40, 80)) if goal_cents else pick.choice((20, 40))
    model = FundingModel.KEEP_IT_ALL if n % 4 == 3 else FundingModel.ALL_OR_NOTHING
    with _at(starts_on):
        project = create_project(session, initiator=initiator, data=ProjectIn(
            title=f"{title} {neighbourhood}", summary=summary, municipality_code=code, neighbourhood=neighbourhood,
            theme=theme, goal_cents=goal_cents, goal_hours=goal_hours, starts_on=starts_on, deadline=deadline,
            funding_model=model, story=f"{summary}. Een initiatief van bewoners uit {neighbourhood}, {city}.",
            wishlist=["verf", "gereedschap"] if n % 3 == 0 else []))
        submit_project(session, project_id=project.id, user=initiator)
        approve_project(session, project_id=project.id, actor_id=approver.id)
    ambition = pick.choice((0.4, 0.8, 1.1, 1.3))  # how far the neighbourhood gets towards the goals
    last_day = min(deadline, today)
    _money(session, pick, project, ambition, starts_on, last_day, public_url)
    _time(session, pick, project, ambition, starts_on, last_day, initiator)
    if pick.random() < 0.5:
        with _at(starts_on):
            make_pledge(session, project_id=project.id, data=PledgeIn(
                kind=PledgeKind.MATERIALS, name="Bouwmarkt om de hoek", email=f"bouwmarkt{n}@example.org",
                description="Hout, schroeven en verf", quantity=1, value_cents=pick.choice((5_000, 12_500, 30_000))))
    if deadline < today:
        closed_on = deadline + timedelta(days=1)
        with _at(closed_on):
            close_project(session, project_id=project.id, today=closed_on)
            _run_refunds(session)


def _money(session: Session, pick: random.Random, project: Project, ambition: float, first: date, last: date,
           public_url: str) -> None:
    """Neighbours and local companies pledge and (mostly) pay until `ambition` of the money goal."""
    target = int(project.goal_cents * ambition) if project.goal_cents else pick.choice((0, 10_000))
    raised, k = 0, 0
    while raised < target:
        cents = pick.choice((1_000, 2_500, 2_500, 5_000, 10_000, 25_000, 50_000))
        day = first + timedelta(days=pick.randint(0, max(0, (last - first).days)))
        with _at(day):
            _, payment = make_pledge(session, project_id=project.id, data=PledgeIn(
                kind=PledgeKind.MONEY, amount_cents=cents, name=f"Buurtgenoot {k}", anonymous=pick.random() < 0.2,
                email=f"buur{k}.{str(project.id)[:6]}@example.org", provider=ProviderName.SANDBOX))
            assert payment is not None and payment.provider_reference is not None
            outcome = PaymentStatus.PAID if pick.random() < 0.92 else PaymentStatus.FAILED
            sandbox = SandboxProvider(session, public_url)
            sandbox.choose(payment.provider_reference, outcome)
            receive_notification(session, provider=sandbox, provider_reference=payment.provider_reference, raw="demo")
        raised += cents if outcome is PaymentStatus.PAID else 0
        k += 1


def _time(session: Session, pick: random.Random, project: Project, ambition: float, first: date, last: date,
          initiator: CurrentUser) -> None:
    """Volunteers offer hours; the initiator confirms most and logs what was given."""
    target = int(project.goal_minutes * ambition)
    offered, k = 0, 0
    while offered < target:
        hours = pick.choice((2, 4, 4, 8, 10))
        day = first + timedelta(days=pick.randint(0, max(0, (last - first).days)))
        with _at(day):
            pledge, _ = make_pledge(session, project_id=project.id, data=PledgeIn(
                kind=PledgeKind.TIME, hours=hours, skill=pick.choice(SKILLS), name=f"Vrijwilliger {k}",
                email=f"vrijwilliger{k}.{str(project.id)[:6]}@example.org"))
            if pick.random() < 0.85:
                confirm_time(session, pledge_id=pledge.id, user=initiator)
                if pick.random() < 0.6:
                    deliver_time(session, pledge_id=pledge.id, hours=Decimal(hours - pick.choice((0, 0, 1))),
                                 user=initiator)
        offered += hours * 60
        k += 1


def _outcomes(session: Session, pick: random.Random, today: date, initiator: CurrentUser,
              approver: CurrentUser) -> None:
    """What succeeded projects achieved: after the close the initiator reports an outcome of the theme about every
    quarter, and the board verifies most of the reports."""
    kinds: dict[str, list[str]] = {}
    for example in EXAMPLE_TYPES:
        for theme in example.themes:
            kinds.setdefault(theme, []).append(example.code)
    proxies = {example.code: example.value_cents for example in EXAMPLE_TYPES}
    succeeded = session.exec(select(Project).where(Project.status == ProjectStatus.SUCCEEDED)
                             .order_by(col(Project.deadline), col(Project.id))).all()
    reached = progress(session, project_ids=[project.id for project in succeeded])
    for project in succeeded:
        code = pick.choice(kinds[project.theme.value])
        since = project.deadline
        for _quarter in range(4):  # a report about every three months after the close, while there is time
            reported_on = since + timedelta(days=pick.randint(60, 120))
            if reported_on >= today:
                break
            worth = reached[project.id].raised_cents * pick.uniform(0.3, 1.5) / 0.6  # ratios of about 0.8-4 a year
            _report(session, pick, project, code, Decimal(max(1, round(worth / proxies[code]))), since,
                    reported_on, today, initiator, approver)
            since = reported_on


def _report(session: Session, pick: random.Random, project: Project, code: str, quantity: Decimal, since: date,
            reported_on: date, today: date, initiator: CurrentUser, approver: CurrentUser) -> None:
    """One outcome report over [since, reported_on]; the board verifies most a few days later, leaves one of six
    open and rejects one of twelve."""
    with _at(reported_on):
        report = report_outcome(session, project_id=project.id, user=initiator, data=OutcomeIn(
            outcome_type=code, quantity=quantity, period_start=since, period_end=reported_on,
            evidence="Presentielijsten, foto's en een verslag van de bewonersavond"))
    decided_on = reported_on + timedelta(days=pick.randint(3, 20))
    chance = pick.random()
    if decided_on >= today or chance < 1 / 6:
        return
    verify = chance >= 1 / 6 + 1 / 12
    with _at(decided_on):
        decide_outcome(session, outcome_id=report.id, user=approver, verify=verify,
                       reason=None if verify else "Geen bewijs bijgevoegd")


def _run_refunds(session: Session) -> None:
    """What the worker's refund jobs do after a failed campaign."""
    for job in session.exec(select(Job).where(Job.name == REFUND_JOB, Job.status == JobStatus.QUEUED)).all():
        refund_pledge(session, pledge_id=uuid.UUID(job.args["pledge_id"]))
        job.status = JobStatus.DONE
        session.add(job)
    session.flush()


def _user(session: Session, email: str, role: Role) -> CurrentUser:
    """A demo user (made by coop.demo, or here when missing) as the services see a signed-in user."""
    user = user_by_email(session, email=email) or create_user(session, email=email, roles=[role])
    return CurrentUser(id=user.id, email=user.email, roles=frozenset({role}))


def _at(day: date) -> AbstractContextManager[datetime]:
    """Act at 10:00 UTC on `day`."""
    return frozen_clock(datetime.combine(day, time(10, 0), tzinfo=UTC))

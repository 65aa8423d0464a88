"""Every number the board dashboards show, as SQL aggregates (SQLite and PostgreSQL alike).

Each function takes a read-only session, a period or a date and the page's filters, and
returns a few aggregated rows: the database groups and sums, Python only accumulates
per-month totals into running totals. Money is integer cents; hours are minutes.
Statuses that the domains derive (a member's, a subscription's) are derived here in SQL
by the same rules as `coop.members.queries` and `coop.subscriptions.queries`.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache, wraps
from typing import Any, Concatenate, ParamSpec, TypeVar, TypeVarTuple

from sqlalchemy import Row, Select, and_, bindparam, case, event, func, literal, or_, select, union_all
from sqlalchemy.sql.expression import ColumnElement
from sqlmodel import Session, col

from coop.core.sql import earlier, month_key, week_key
from coop.ledger.chart import AccountCode
from coop.ledger.models import Account, JournalEntry, Posting
from coop.ledger.queries import trial_balance
from coop.ledger.schemas import TrialBalance
from coop.members.models import STATUS_AFTER, FactKind, Member, MemberKind, MembershipFact
from coop.members.queries import LIFECYCLE
from coop.payments.models import ProviderName
from coop.shares.models import OperationKind, ShareOperation
from coop.shares.queries import classes_in_force
from coop.subscriptions.models import (
    EndReason,
    Invoice,
    StepKind,
    Subscription,
    SubscriptionPeriod,
    SubscriptionStatus,
    SubscriptionStep,
)
from funding.funds.models import Fund, FundKind
from funding.pledges.models import Pledge, PledgeKind, PledgeStatus
from funding.pledges.queries import progress
from funding.projects.models import Project, ProjectStatus, Theme

AnySelect = TypeVar("AnySelect", bound=Select)  # any row shape
Columns = TypeVarTuple("Columns")
Asked = ParamSpec("Asked")
Answer = TypeVar("Answer")
ANSWERS = "kracht_dashboard_answers"  # in Session.info: this snapshot's answers by question
LEAVING = (FactKind.RESIGNED, FactKind.EXPELLED, FactKind.DECEASED)
BEFORE = "0000-00"  # the bucket of everything before a period: sorts first, is no month
CLEARING = (AccountCode.STRIPE_CLEARING, AccountCode.MOLLIE_CLEARING, AccountCode.SANDBOX_CLEARING,
            AccountCode.BANK)


def per_snapshot(query: Callable[Concatenate[Session, Asked], Answer]) -> Callable[Concatenate[Session, Asked], Answer]:
    """Answer each question once per snapshot: a page's key figures and the charts beneath them ask the same ones.

    The answers live in the session until its transaction ends, so a new snapshot asks again. They are
    shared, so nobody may change them (they are frozen dataclasses, tuples and dicts that figures only read).
    """

    @wraps(query)
    def answer(session: Session, *args: Asked.args, **kwargs: Asked.kwargs) -> Answer:
        if ANSWERS not in session.info:
            session.info[ANSWERS] = {}
            event.listen(session, "after_transaction_end", forget_answers)
        answers: dict[tuple[Any, ...], Any] = session.info[ANSWERS]
        question = (query.__name__, args, tuple(sorted(kwargs.items())))
        if question not in answers:
            answers[question] = query(session, *args, **kwargs)
        return answers[question]

    return answer


def forget_answers(session: Session, _transaction: Any = None) -> None:
    """The snapshot ended (or a benchmark asks afresh): what it answered may no longer hold."""
    session.info[ANSWERS] = {}


@dataclass(frozen=True)
class Period:
    """From `start` to `end`, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError(f"a period ends on or after its start ({self.start} > {self.end})")

    @property
    def months(self) -> tuple[str, ...]:
        """'YYYY-MM' of every month the period touches, in order."""
        keys, year, month = [], self.start.year, self.start.month
        while (year, month) <= (self.end.year, self.end.month):
            keys.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return tuple(keys)

    @property
    def weeks(self) -> tuple[str, ...]:
        """'YYYY-MM-DD' of the Monday of every week the period touches, in order."""
        monday = self.start - timedelta(days=self.start.weekday())
        return tuple((monday + timedelta(weeks=n)).isoformat()
                     for n in range((self.end - monday).days // 7 + 1))

    @property
    def since(self) -> datetime:
        """The first instant of the period (UTC)."""
        return datetime.combine(self.start, time(), UTC)

    @property
    def until(self) -> datetime:
        """The first instant after the period (UTC)."""
        return datetime.combine(self.end + timedelta(days=1), time(), UTC)


@dataclass(frozen=True)
class Selection:
    """The filters a page offers; None means all."""

    kind: MemberKind | None = None
    municipality_code: str | None = None
    theme: Theme | None = None


EVERYTHING = Selection()


@dataclass(frozen=True)
class Series:
    """Values per bucket (month 'YYYY-MM' or week 'YYYY-MM-DD') for each group, all of one unit."""

    buckets: tuple[str, ...]
    groups: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def total(self, group: str) -> int:
        """The sum of one group over all buckets (0 for a group without values)."""
        return sum(self.groups.get(group, ()))

    def last(self, group: str) -> int:
        """The value of one group in the last bucket (a running total's closing value)."""
        values = self.groups.get(group)
        return values[-1] if values else 0


def _per_bucket(buckets: Sequence[str], rows: Iterable[tuple[str, str, Any]], *,
                running: bool = False) -> Series:
    """(bucket, group, value) rows into a Series; with `running`, values accumulate (BEFORE opens)."""
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for bucket, group, value in rows:
        found[str(group)][bucket] = found[str(group)].get(bucket, 0) + int(value or 0)
    groups = {}
    for group in sorted(found):
        by_bucket, total, values = found[group], found[group].get(BEFORE, 0), []
        for bucket in buckets:
            total = total + by_bucket.get(bucket, 0) if running else by_bucket.get(bucket, 0)
            values.append(total)
        groups[group] = tuple(values)
    return Series(buckets=tuple(buckets), groups=groups)


def _bucket(column: Any, period: Period) -> ColumnElement[str]:
    """The month of `column`, or BEFORE when it lies before the period (opening balances)."""
    return case((column < period.start, literal(BEFORE)), else_=month_key(column))


def _member_filters(selection: Selection) -> list[ColumnElement[bool]]:
    """Conditions on Member for the page's kind and municipality filters."""
    conditions: list[ColumnElement[bool]] = []
    if selection.kind is not None:
        conditions.append(col(Member.kind) == selection.kind)
    if selection.municipality_code:
        conditions.append(col(Member.municipality_code) == selection.municipality_code)
    return conditions


def _project_filters(selection: Selection) -> list[ColumnElement[bool]]:
    """Conditions on Project for the page's municipality and theme filters."""
    conditions: list[ColumnElement[bool]] = []
    if selection.municipality_code:
        conditions.append(col(Project.municipality_code) == selection.municipality_code)
    if selection.theme is not None:
        conditions.append(col(Project.theme) == selection.theme)
    return conditions


# -- membership -------------------------------------------------------------------------------------------


def _membership_events(until: date, selection: Selection) -> Any:
    """(member kind, day, +1 joined / -1 left) for every admission and every first departure up to `until`."""
    joined = (select(col(MembershipFact.member_id), func.min(col(MembershipFact.effective_on)).label("day"))
              .where(col(MembershipFact.kind) == FactKind.ACTIVATED, col(MembershipFact.effective_on) <= until)
              .group_by(col(MembershipFact.member_id)).subquery())
    left = (select(col(MembershipFact.member_id), func.min(col(MembershipFact.effective_on)).label("day"))
            .where(col(MembershipFact.kind).in_(LEAVING), col(MembershipFact.effective_on) <= until)
            .group_by(col(MembershipFact.member_id)).subquery())
    events = union_all(select(joined.c.member_id, joined.c.day, literal(1).label("delta")),
                       select(left.c.member_id, left.c.day, literal(-1).label("delta"))).subquery()
    return (select(col(Member.kind).label("kind"), events.c.day, events.c.delta)
            .join(Member, col(Member.id) == events.c.member_id).where(*_member_filters(selection)).subquery())


@per_snapshot
def members_over_time(session: Session, period: Period, selection: Selection = EVERYTHING) -> Series:
    """Members (admitted, not yet left) at the end of each month, per member kind."""
    events = _membership_events(period.end, selection)
    bucket = _bucket(events.c.day, period)
    rows = session.execute(select(bucket, events.c.kind, func.sum(events.c.delta))
                           .group_by(bucket, events.c.kind)).all()
    return _per_bucket(period.months, rows, running=True)


@per_snapshot
def joins_and_leavers(session: Session, period: Period, selection: Selection = EVERYTHING) -> Series:
    """Members admitted (`joined`) and members who left (`left`, as a positive count) per month."""
    events = _membership_events(period.end, selection)
    what = case((events.c.delta > 0, literal("joined")), else_=literal("left"))
    bucket = month_key(events.c.day)
    rows = session.execute(select(bucket, what, func.count()).where(events.c.day >= period.start)
                           .group_by(bucket, what)).all()
    return _per_bucket(period.months, rows)


def _latest_facts(at: date) -> Any:
    """Each member's last fact on or before `at` (its status), ordered as `coop.members.queries` orders them."""
    order = case({kind: index for index, kind in enumerate(LIFECYCLE)}, value=col(MembershipFact.kind))
    newest_first = (col(MembershipFact.effective_on).desc(), col(MembershipFact.recorded_at).desc(), order.desc())
    rank = func.row_number().over(partition_by=col(MembershipFact.member_id), order_by=newest_first)
    return (select(col(MembershipFact.member_id), col(MembershipFact.kind), rank.label("rank"))
            .where(col(MembershipFact.effective_on) <= at).subquery())


@per_snapshot
def members_by_status(session: Session, at: date, selection: Selection = EVERYTHING) -> dict[str, int]:
    """How many members have each status on `at` (applicant, active, resigning, former, expelled, deceased)."""
    latest = _latest_facts(at)
    statement = select(latest.c.kind, func.count()).select_from(latest).where(latest.c.rank == 1)
    if filters := _member_filters(selection):  # unfiltered, the facts alone answer (from one index)
        statement = statement.join(Member, col(Member.id) == latest.c.member_id).where(*filters)
    rows = session.execute(statement.group_by(latest.c.kind)).all()
    counts: dict[str, int] = {}
    for kind, count in rows:
        status = STATUS_AFTER[FactKind(kind)].value
        counts[status] = counts.get(status, 0) + int(count)
    return counts


@per_snapshot
def top_municipalities(session: Session, at: date, selection: Selection = EVERYTHING,
                       limit: int = 10) -> list[tuple[str | None, int]]:
    """Municipalities with the most members (active or resigning) on `at`, largest first."""
    latest = _latest_facts(at)
    count = func.count().label("members")
    code = col(Member.municipality_code)
    rows = session.execute(
        select(code, count).select_from(latest).join(Member, col(Member.id) == latest.c.member_id)
        .where(latest.c.rank == 1, latest.c.kind.in_([FactKind.ACTIVATED, FactKind.RESIGNATION_REQUESTED]),
               *_member_filters(selection))
        .group_by(code).order_by(count.desc(), code).limit(limit)).all()
    return [(code, int(members)) for code, members in rows]


def _rows(session: Session, statement: Select[*Columns], **values: Any) -> Sequence[Row[*Columns]]:
    """The rows of a statement built once, executed through Core: for the small queries of a page, building the
    statement and the ORM's execution layer would cost more than the database's own work."""
    return session.connection().execute(statement, values).all()


def _postings(query: AnySelect) -> AnySelect:
    """Postings with their entry (for the booking date) and account (for the code)."""
    return (query.join(JournalEntry, col(JournalEntry.id) == col(Posting.entry_id))
            .join(Account, col(Account.id) == col(Posting.account_id)))


def _ledger_by_month(session: Session, codes: Sequence[str], period: Period,
                     conditions: Sequence[ColumnElement[bool]] = (), join_member: bool = False) -> Series:
    """Running balances (debit positive) of accounts at each month's end, one group per account code."""
    bucket = _bucket(col(JournalEntry.booked_on), period)
    query = (_postings(select(bucket, col(Account.code), func.sum(col(Posting.amount_cents))))
             .where(col(Account.code).in_(list(codes)), col(JournalEntry.booked_on) <= period.end, *conditions))
    if join_member:
        query = query.join(Member, col(Member.id) == col(Posting.member_id))
    return _per_bucket(period.months, session.execute(query.group_by(bucket, col(Account.code))).all(), running=True)


@per_snapshot
def share_capital_over_time(session: Session, period: Period, selection: Selection = EVERYTHING) -> Series:
    """Member share capital (0500, as a positive amount) at the end of each month, group `capital`."""
    filters = _member_filters(selection)
    balances = _ledger_by_month(session, [AccountCode.SHARE_CAPITAL], period, filters, join_member=bool(filters))
    values = balances.groups.get(AccountCode.SHARE_CAPITAL, (0,) * len(period.months))
    return Series(buckets=balances.buckets, groups={"capital": tuple(-v for v in values)})


@dataclass(frozen=True)
class ClassHolding:
    """What is held of one share class on a date."""

    code: str
    name: str
    holders: int
    quantity: int
    capital_cents: int


@per_snapshot
def holdings_by_class(session: Session, at: date, selection: Selection = EVERYTHING) -> list[ClassHolding]:
    """Per share class on `at`: members holding it, shares held and their nominal value (the share register)."""
    quantity, cents = col(ShareOperation.quantity), col(ShareOperation.quantity) * col(ShareOperation.nominal_cents)
    until = col(ShareOperation.effective_on) <= at
    received: Any = (
        select(col(ShareOperation.to_member_id).label("member_id"), col(ShareOperation.class_code),
               quantity.label("quantity"), cents.label("cents"))
        .where(col(ShareOperation.kind).in_([OperationKind.ISSUE, OperationKind.TRANSFER]),
               col(ShareOperation.to_member_id).is_not(None), until))
    given = (select(col(ShareOperation.from_member_id), col(ShareOperation.class_code), -quantity, -cents)
                          .where(col(ShareOperation.from_member_id).is_not(None), until))
    moves = union_all(received, given).subquery()
    per_member = (select(moves.c.member_id, moves.c.class_code, func.sum(moves.c.quantity).label("quantity"),
                         func.sum(moves.c.cents).label("cents"))
                  .join(Member, col(Member.id) == moves.c.member_id).where(*_member_filters(selection))
                  .group_by(moves.c.member_id, moves.c.class_code).having(func.sum(moves.c.quantity) > 0).subquery())
    rows = session.execute(select(per_member.c.class_code, func.count(), func.sum(per_member.c.quantity),
                                  func.sum(per_member.c.cents))
                           .group_by(per_member.c.class_code).order_by(per_member.c.class_code)).all()
    names = {share_class.code: share_class.name for share_class in classes_in_force(session, at=at)}
    return [ClassHolding(code=code, name=names.get(code, code), holders=int(holders), quantity=int(quantity),
                         capital_cents=int(cents)) for code, holders, quantity, cents in rows]


# -- subscriptions ----------------------------------------------------------------------------------------


def _covered_intervals(selection: Selection) -> Any:
    """Per paid period: tier, yearly amount, and [start, stop) in which it makes its subscription active.

    Active from the later of its start and its payment, until the earliest of its end, its voiding
    and a cancellation's end (the rules of `coop.subscriptions.queries.derive_status`).
    """
    paid_on, begins = col(SubscriptionPeriod.paid_on), col(SubscriptionPeriod.period_start)
    start = case((paid_on > begins, paid_on), else_=begins)
    canceled_end = case((col(Subscription.end_reason) == EndReason.CANCELED, col(Subscription.ends_on)), else_=None)
    stop = earlier(earlier(col(SubscriptionPeriod.period_end), col(SubscriptionPeriod.voided_on)), canceled_end)
    return (select(col(SubscriptionPeriod.tier_code), col(SubscriptionPeriod.amount_cents), start.label("start"),
                   stop.label("stop"))
            .join(Subscription, col(Subscription.id) == col(SubscriptionPeriod.subscription_id))
            .join(Member, col(Member.id) == col(Subscription.member_id))
            .where(col(SubscriptionPeriod.paid_on).is_not(None), start < stop, *_member_filters(selection)).subquery())


@per_snapshot
def recurring_revenue_over_time(session: Session, period: Period, selection: Selection = EVERYTHING) -> Series:
    """Yearly recurring subscription revenue (cents, VAT included) of the active subscriptions at each month's
    end, per tier: each paid period counts from when it made its subscription active until it stopped."""
    covered = _covered_intervals(selection)
    events = union_all(select(covered.c.tier_code, covered.c.start.label("day"), covered.c.amount_cents),
                       select(covered.c.tier_code, covered.c.stop, -covered.c.amount_cents)).subquery()
    bucket = _bucket(events.c.day, period)
    rows = session.execute(select(bucket, events.c.tier_code, func.sum(events.c.amount_cents))
                           .where(events.c.day <= period.end).group_by(bucket, events.c.tier_code)).all()
    return _per_bucket(period.months, rows, running=True)


def _subscription_states(at: date, grace_days: int, selection: Selection) -> Any:
    """Every subscription started by `at` with its status then and the due date of an unpaid renewal."""
    begins, ends, voided = (col(SubscriptionPeriod.period_start), col(SubscriptionPeriod.period_end),
                            col(SubscriptionPeriod.voided_on))
    paid = (col(SubscriptionPeriod.paid_on) <= at) & (voided.is_(None) | (voided > at))
    per = (select(col(SubscriptionPeriod.subscription_id),
                  func.max(case((paid & (begins <= at) & (ends > at), 1), else_=0)).label("covered"),
                  func.max(case((paid & (ends <= at), ends), else_=None)).label("due"))
           .group_by(col(SubscriptionPeriod.subscription_id)).subquery())
    ended = col(Subscription.ends_on).is_not(None) & (col(Subscription.ends_on) <= at) & (
        col(Subscription.end_reason) == EndReason.CANCELED)
    status = case((ended, literal(SubscriptionStatus.CANCELED.value)),
                  (per.c.covered == 1, literal(SubscriptionStatus.ACTIVE.value)),
                  (per.c.due.is_(None), literal(SubscriptionStatus.PENDING.value)),
                  (per.c.due > at - timedelta(days=grace_days), literal(SubscriptionStatus.PAST_DUE.value)),
                  else_=literal(SubscriptionStatus.LAPSED.value))
    return (select(col(Subscription.id), col(Subscription.tier_code), col(Subscription.provider),
                   col(Subscription.member_id), per.c.due, status.label("status"))
            .outerjoin(per, per.c.subscription_id == col(Subscription.id))
            .join(Member, col(Member.id) == col(Subscription.member_id))
            .where(col(Subscription.started_on) <= at, *_member_filters(selection)).subquery())


@per_snapshot
def subscriptions_by_status(session: Session, at: date, *, grace_days: int,
                            selection: Selection = EVERYTHING) -> dict[tuple[str, str], int]:
    """(tier, status) -> how many subscriptions had that status on `at`."""
    states = _subscription_states(at, grace_days, selection)
    rows = session.execute(select(states.c.tier_code, states.c.status, func.count())
                           .group_by(states.c.tier_code, states.c.status)).all()
    return {(tier, status): int(count) for tier, status, count in rows}


@dataclass(frozen=True)
class PastDue:
    """A subscription whose renewal is unpaid but still within the grace period."""

    member_id: uuid.UUID
    member_number: int | None
    name: str
    tier: str
    provider: str
    due_on: date
    days_overdue: int
    amount_cents: int


@per_snapshot
def past_due(session: Session, at: date, *, grace_days: int, selection: Selection = EVERYTHING,
             limit: int = 200) -> list[PastDue]:
    """Past-due subscriptions on `at`, longest overdue first, with what the unpaid renewal costs."""
    states = _subscription_states(at, grace_days, selection)
    renewal = (select(col(SubscriptionPeriod.amount_cents))
               .where(col(SubscriptionPeriod.subscription_id) == states.c.id,
                      col(SubscriptionPeriod.period_start) == states.c.due).limit(1).scalar_subquery())
    rows = session.execute(
        select(col(Member.id), col(Member.member_number), col(Member.name), states.c.tier_code, states.c.provider,
               states.c.due, renewal)
        .join(Member, col(Member.id) == states.c.member_id)
        .where(states.c.status == SubscriptionStatus.PAST_DUE.value)
        .order_by(states.c.due, col(Member.member_number)).limit(limit)).all()
    return [PastDue(member_id=member_id, member_number=number, name=name, tier=tier, provider=ProviderName(provider),
                    due_on=_as_date(due), days_overdue=(at - _as_date(due)).days, amount_cents=int(amount or 0))
            for member_id, number, name, tier, provider, due, amount in rows]


def _as_date(value: Any) -> date:
    """A date column read through an aggregate (SQLite hands back its text)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


@per_snapshot
def renewals_and_lapses(session: Session, period: Period, selection: Selection = EVERYTHING) -> Series:
    """Per month: renewals paid (`renewed`, by renewal date), subscriptions that `lapsed` and that were
    `canceled` (by their last day + 1)."""
    renewed_month = month_key(col(SubscriptionPeriod.period_start))
    renewed = (select(renewed_month.label("month"), literal("renewed").label("what"))
               .join(Subscription, col(Subscription.id) == col(SubscriptionPeriod.subscription_id))
               .join(Member, col(Member.id) == col(Subscription.member_id))
               .where(col(SubscriptionPeriod.period_start) > col(Subscription.started_on),
                      col(SubscriptionPeriod.paid_on).is_not(None), col(SubscriptionPeriod.voided_on).is_(None),
                      col(SubscriptionPeriod.period_start).between(period.start, period.end),
                      *_member_filters(selection)))
    lapsed = (select(month_key(col(SubscriptionStep.on)), literal("lapsed"))
              .join(Subscription, col(Subscription.id) == col(SubscriptionStep.subscription_id))
              .join(Member, col(Member.id) == col(Subscription.member_id))
              .where(col(SubscriptionStep.kind) == StepKind.LAPSED,
                     col(SubscriptionStep.on).between(period.start, period.end), *_member_filters(selection)))
    canceled = (select(month_key(col(Subscription.ends_on)), literal("canceled"))
                .join(Member, col(Member.id) == col(Subscription.member_id))
                .where(col(Subscription.end_reason) == EndReason.CANCELED,
                       col(Subscription.ends_on).between(period.start, period.end), *_member_filters(selection)))
    events = union_all(renewed, lapsed, canceled).subquery()
    rows = session.execute(select(events.c.month, events.c.what, func.count())
                           .group_by(events.c.month, events.c.what)).all()
    return _per_bucket(period.months, rows)


@per_snapshot
def invoiced_by_provider(session: Session, period: Period, selection: Selection = EVERYTHING) -> Series:
    """Subscription revenue invoiced per month (cents excluding VAT, credit notes subtracted) per provider."""
    bucket = month_key(col(Invoice.issued_on))
    rows = session.execute(
        select(bucket, col(Subscription.provider), func.sum(col(Invoice.net_cents)))
        .join(Subscription, col(Subscription.id) == col(Invoice.subscription_id))
        .join(Member, col(Member.id) == col(Invoice.member_id))
        .where(col(Invoice.issued_on).between(period.start, period.end), *_member_filters(selection))
        .group_by(bucket, col(Subscription.provider))).all()
    return _per_bucket(period.months, rows)


# -- the ledger -------------------------------------------------------------------------------------------


@per_snapshot
def books(session: Session, period: Period) -> TrialBalance:
    """The trial balance of the period: the same figures as `GET /api/v1/ledger/trial-balance`."""
    return trial_balance(session, start=period.start, end=period.end)


@per_snapshot
def cash_over_time(session: Session, period: Period) -> Series:
    """Money at each provider's clearing account and at the bank at the end of each month (cents)."""
    return _ledger_by_month(session, CLEARING, period)


@per_snapshot
def refunds_and_chargebacks(session: Session, period: Period) -> Series:
    """Money that went back to payers per month (cents): `refunds` we made and `chargebacks` payers forced."""
    bucket = month_key(col(JournalEntry.booked_on))
    what = case((col(JournalEntry.idempotency_key).like("payment:%:charged_back_cents:%"), literal("chargebacks")),
                else_=literal("refunds"))
    rows = session.execute(
        _postings(select(bucket, what, -func.sum(col(Posting.amount_cents))))
        .where(col(JournalEntry.source_type) == "payment", col(Account.code).in_(list(CLEARING)),
               or_(col(JournalEntry.idempotency_key).like("payment:%:refunded_cents:%"),
                   col(JournalEntry.idempotency_key).like("payment:%:charged_back_cents:%")),
               col(JournalEntry.booked_on).between(period.start, period.end))
        .group_by(bucket, what)).all()
    return _per_bucket(period.months, rows)


# -- crowdfunding and gift funds --------------------------------------------------------------------------

MEMBER_SOURCE = {MemberKind.PERSON: "Leden", MemberKind.INITIATIVE: "Leden", MemberKind.SOCIAL_ENTERPRISE: "Leden",
                 MemberKind.COMPANY: "Bedrijven en organisaties", MemberKind.GOVERNMENT: "Bedrijven en organisaties",
                 MemberKind.ORGANISATION: "Bedrijven en organisaties"}


@dataclass(frozen=True)
class Link:
    """Money that went from one node of the flow to the next in a period (cents, positive)."""

    source: str
    target: str
    cents: int


@per_snapshot
def money_flows(session: Session, period: Period, selection: Selection = EVERYTHING) -> list[Link]:
    """Where the money booked in the period came from, what it was for, and where it went.

    Payers (members, companies and organisations, residents, funds) -> shares, subscriptions, pledges,
    matches, grants and fund deposits -> share capital, revenue, projects, funds, refunds. One grouped
    query over the period's postings; with a theme filter only project money, with a municipality filter
    only members and projects of that municipality.
    """
    sign = case((col(Posting.amount_cents) > 0, 1), else_=-1)
    query = (_postings(select(col(JournalEntry.source_type), col(Account.code), sign, col(Member.kind),
                              func.sum(col(Posting.amount_cents))))
             .outerjoin(Member, col(Member.id) == col(Posting.member_id))
             .outerjoin(Project, col(Project.id) == col(Posting.project_id))
             .where(col(JournalEntry.booked_on).between(period.start, period.end),
                    col(Account.code).in_([AccountCode.SHARE_CAPITAL, AccountCode.MEMBER_RECEIVABLES,
                                      AccountCode.PLEDGES_HELD, AccountCode.FUNDS_AVAILABLE,
                                      AccountCode.FUNDS_RESERVED, AccountCode.PAYABLE_TO_PROJECTS]))
             .group_by(col(JournalEntry.source_type), col(Account.code), sign, col(Member.kind)))
    if selection.municipality_code:
        query = query.where(or_(col(Member.municipality_code) == selection.municipality_code,
                                col(Project.municipality_code) == selection.municipality_code))
    if selection.theme is not None:
        query = query.where(col(Project.theme) == selection.theme)
    sums: dict[tuple[str, str, int], int] = defaultdict(int)
    by_payer: dict[tuple[str, str], int] = defaultdict(int)  # (account, payer) -> cents members paid in
    for source_type, code, direction, kind, cents in session.execute(query).all():
        sums[(source_type or "manual", code, direction)] += int(cents)
        if kind is not None and direction < 0 and source_type in ("payment", "member_import"):
            by_payer[(code, MEMBER_SOURCE[MemberKind(kind)])] -= int(cents)
    return _links(sums, by_payer)


def _links(sums: dict[tuple[str, str, int], int], by_payer: dict[tuple[str, str], int]) -> list[Link]:
    """The flow's links from the period's sums per (source type, account, direction) (credits negative)."""
    def credit(source: str, code: str) -> int:
        return -sums.get((source, code, -1), 0)

    def debit(source: str, code: str) -> int:
        return sums.get((source, code, 1), 0)

    links: list[Link] = []
    for payer in ("Leden", "Bedrijven en organisaties"):
        links.append(Link(payer, "Aandelen", by_payer.get((AccountCode.SHARE_CAPITAL, payer), 0)))
        links.append(Link(payer, "Contributie", by_payer.get((AccountCode.MEMBER_RECEIVABLES, payer), 0)))
    shares_in = credit("payment", AccountCode.SHARE_CAPITAL) + credit("member_import", AccountCode.SHARE_CAPITAL)
    shares_back = debit("payment", AccountCode.SHARE_CAPITAL)
    links += [Link("Aandelen", "Ledenkapitaal", shares_in - shares_back), Link("Aandelen", "Terugbetaald", shares_back)]
    dues_in, dues_back = credit("payment", AccountCode.MEMBER_RECEIVABLES), debit("payment",
                                                                                  AccountCode.MEMBER_RECEIVABLES)
    links += [Link("Contributie", "Opbrengst", dues_in - dues_back), Link("Contributie", "Terugbetaald", dues_back)]
    pledged, refunded = credit("payment", AccountCode.PLEDGES_HELD), debit("payment", AccountCode.PLEDGES_HELD)
    donated = debit("pledge", AccountCode.PLEDGES_HELD) - credit("pledge", AccountCode.PAYABLE_TO_PROJECTS)
    links += [Link("Bewoners", "Bijdragen", pledged), Link("Bijdragen", "Terugbetaald", refunded),
              Link("Bijdragen", "Fondsvermogen", donated),
              Link("Bijdragen", "Projecten", pledged - refunded - donated)]
    for source, via in (("fund_match", "Verdubbeling"), ("fund_grant", "Giften")):
        reserved = credit(source, AccountCode.FUNDS_RESERVED)
        returned = (debit(source, AccountCode.FUNDS_RESERVED) - credit(source, AccountCode.PAYABLE_TO_PROJECTS)
                    + debit(source, AccountCode.PAYABLE_TO_PROJECTS))
        links += [Link("Fondsen", via, reserved), Link(via, "Terug naar fonds", returned),
                  Link(via, "Projecten", reserved - returned)]
    links += [Link("Fondsen", "Fondsinleg", credit("fund_deposit", AccountCode.FUNDS_AVAILABLE)),
              Link("Bewoners", "Fondsinleg", credit("payment", AccountCode.FUNDS_AVAILABLE)),
              Link("Fondsinleg", "Fondsvermogen", credit("fund_deposit", AccountCode.FUNDS_AVAILABLE)
                   + credit("payment", AccountCode.FUNDS_AVAILABLE))]
    return [link for link in links if link.cents > 0]


@dataclass(frozen=True)
class ProjectProgress:
    """A live project against its goals: money in cents, time in minutes."""

    id: uuid.UUID
    title: str
    municipality_code: str
    theme: str
    deadline: date
    goal_cents: int
    paid_cents: int
    matched_cents: int
    granted_cents: int
    goal_minutes: int
    minutes_pledged: int
    minutes_confirmed: int

    @property
    def raised_cents(self) -> int:
        """What counts towards the money goal."""
        return self.paid_cents + self.matched_cents + self.granted_cents


@per_snapshot
def live_projects(session: Session, selection: Selection = EVERYTHING, limit: int = 50) -> list[ProjectProgress]:
    """Live projects (soonest deadline first) with their progress, counted as the projects' own pages count it."""
    projects = session.execute(select(Project).where(col(Project.status) == ProjectStatus.LIVE,
                                                     *_project_filters(selection))
                               .order_by(col(Project.deadline), col(Project.id)).limit(limit)).scalars().all()
    found = progress(session, project_ids=[p.id for p in projects])
    return [ProjectProgress(id=p.id, title=p.title, municipality_code=p.municipality_code, theme=p.theme.value,
                            deadline=p.deadline, goal_cents=p.goal_cents, paid_cents=found[p.id].paid_cents,
                            matched_cents=found[p.id].matched_cents, granted_cents=found[p.id].granted_cents,
                            goal_minutes=p.goal_minutes, minutes_pledged=found[p.id].minutes_pledged,
                            minutes_confirmed=found[p.id].minutes_confirmed) for p in projects]


@per_snapshot
def pledges_per_week(session: Session, period: Period, selection: Selection = EVERYTHING) -> Series:
    """Pledges made per week by kind (money that got paid, time and materials not withdrawn)."""
    bucket = week_key(col(Pledge.created_at))
    counted = or_(and_(col(Pledge.kind) == PledgeKind.MONEY, col(Pledge.paid_at).is_not(None)),
                  and_(col(Pledge.kind) != PledgeKind.MONEY, col(Pledge.status) != PledgeStatus.WITHDRAWN))
    rows = session.execute(
        select(bucket, col(Pledge.kind), func.count()).join(Project, col(Project.id) == col(Pledge.project_id))
        .where(counted, col(Pledge.created_at) >= period.since, col(Pledge.created_at) < period.until,
               *_project_filters(selection))
        .group_by(bucket, col(Pledge.kind))).all()
    return _per_bucket(period.weeks, rows)


@per_snapshot
def hours_per_month(session: Session, period: Period, selection: Selection = EVERYTHING) -> Series:
    """Volunteer time per month in minutes: `pledged` (by pledge date, not withdrawn) and `delivered` (by
    delivery date)."""
    pledged: Any = (select(month_key(col(Pledge.created_at)).label("month"), literal("pledged").label("what"),
                      col(Pledge.minutes).label("minutes"))
               .join(Project, col(Project.id) == col(Pledge.project_id))
               .where(col(Pledge.kind) == PledgeKind.TIME, col(Pledge.status) != PledgeStatus.WITHDRAWN,
                      col(Pledge.created_at) >= period.since, col(Pledge.created_at) < period.until,
                      *_project_filters(selection)))
    delivered = (select(month_key(col(Pledge.delivered_at)), literal("delivered"), col(Pledge.delivered_minutes))
                 .join(Project, col(Project.id) == col(Pledge.project_id))
                 .where(col(Pledge.kind) == PledgeKind.TIME, col(Pledge.status) == PledgeStatus.DELIVERED,
                        col(Pledge.delivered_at) >= period.since, col(Pledge.delivered_at) < period.until,
                        *_project_filters(selection)))
    events = union_all(pledged, delivered).subquery()
    rows = session.execute(select(events.c.month, events.c.what, func.sum(events.c.minutes))
                           .group_by(events.c.month, events.c.what)).all()
    return _per_bucket(period.months, rows)


@per_snapshot
def success_by(session: Session, period: Period, *, by: str,
               selection: Selection = EVERYTHING) -> list[tuple[str, int, int]]:
    """(theme or municipality code, succeeded, failed) of campaigns whose deadline fell in the period."""
    rows = _rows(session, _success_statement(by, selection), start=period.start, end=period.end)
    return [(str(getattr(key, "value", key)), int(won), int(lost)) for key, won, lost in rows]


@lru_cache(maxsize=256)
def _success_statement(by: str, selection: Selection) -> Select[*tuple[Any, ...]]:
    """success_by's statement for one grouping and filter, built once (its period is bound at each call)."""
    column = {"theme": col(Project.theme), "municipality": col(Project.municipality_code)}[by]
    succeeded = func.sum(case((col(Project.status) == ProjectStatus.SUCCEEDED, 1), else_=0))
    failed = func.sum(case((col(Project.status) == ProjectStatus.FAILED, 1), else_=0))
    return (select(column, succeeded, failed)
            .where(col(Project.status).in_([ProjectStatus.SUCCEEDED, ProjectStatus.FAILED]),
                   col(Project.deadline).between(bindparam("start"), bindparam("end")), *_project_filters(selection))
            .group_by(column).order_by(column))


@dataclass(frozen=True)
class FundBalance:
    """A gift fund's money on a date (cents): free to give, and promised to projects not yet closed."""

    id: uuid.UUID
    name: str
    kind: FundKind
    available_cents: int
    reserved_cents: int


@per_snapshot
def fund_balances(session: Session, at: date) -> list[FundBalance]:
    """Every fund's available (2300) and reserved (2310) money on `at`, from the ledger, by name."""
    return [FundBalance(id=fund_id, name=name, kind=FundKind(kind), available_cents=-int(free or 0),
                        reserved_cents=-int(promised or 0))
            for fund_id, name, kind, free, promised in _rows(session, _fund_balances_statement(), at=at)]


@cache
def _fund_balances_statement() -> Select[*tuple[Any, ...]]:
    """fund_balances's statement, built once (its date is bound at each call)."""
    free = and_(col(Account.code) == AccountCode.FUNDS_AVAILABLE, col(Posting.project_id).is_(None))
    available = func.sum(case((free, col(Posting.amount_cents)), else_=0))
    reserved = func.sum(case((col(Account.code) == AccountCode.FUNDS_RESERVED, col(Posting.amount_cents)), else_=0))
    money = (_postings(select(col(Posting.fund_id), available.label("available"), reserved.label("reserved")))
             .where(col(Posting.fund_id).is_not(None), col(JournalEntry.booked_on) <= bindparam("at"),
                    col(Account.code).in_([AccountCode.FUNDS_AVAILABLE, AccountCode.FUNDS_RESERVED]))
             .group_by(col(Posting.fund_id)).subquery())
    return (select(col(Fund.id), col(Fund.name), col(Fund.kind), money.c.available, money.c.reserved)
            .outerjoin(money, money.c.fund_id == col(Fund.id)).order_by(col(Fund.name), col(Fund.id)))


@per_snapshot
def municipalities_in_use(session: Session) -> list[str]:
    """Every municipality code that members or projects carry, for the filters."""
    code = col(Member.municipality_code)
    members: Any = select(code.label("code")).where(code.is_not(None))
    projects = select(col(Project.municipality_code))
    codes = union_all(members, projects).subquery()
    return [code for (code,) in session.execute(select(codes.c.code).distinct().order_by(codes.c.code)).all()]

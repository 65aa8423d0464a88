"""Every dashboard aggregate equals what the domains compute row by row, on SQLite and PostgreSQL.

The demo cooperative (joins over three years, resignations and expulsions, renewals, lapses and
cancellations, projects that succeeded and failed, matchfunding) is read by the SQL aggregates of
`dashboards.queries` and by the domains' own Python derivations; the two must agree on every date.
"""

from __future__ import annotations

import io
import uuid
from collections import Counter, defaultdict
from datetime import date, timedelta

import pytest
from sqlalchemy import event
from sqlmodel import Session, col, func, select

from coop.core.clock import today_amsterdam
from coop.core.settings import get_settings
from coop.ledger.chart import AccountCode
from coop.ledger.models import Account, JournalEntry, Posting
from coop.ledger.queries import balance, trial_balance
from coop.members.importer import import_members
from coop.members.models import FactKind, Member, MemberKind, MembershipFact, MemberStatus
from coop.members.queries import members_with_status, search_members
from coop.shares.queries import holdings_at
from coop.subscriptions.models import Invoice, StepKind, Subscription, SubscriptionStatus, SubscriptionStep
from coop.subscriptions.queries import derive_status, periods_of
from dashboards import queries
from dashboards.queries import Period, Selection
from funding.funds.queries import available_cents, list_funds, reserved_cents
from funding.pledges.models import Pledge, PledgeKind, PledgeStatus
from funding.pledges.queries import progress
from funding.projects.models import Project, ProjectStatus, Theme
from tests.demo_db import Demo

TODAY = today_amsterdam()
THREE_YEARS = Period(date(TODAY.year - 3, TODAY.month, 1), TODAY)
GRACE = get_settings().subscription_grace_days


def month_end(key: str) -> date:
    """The last day of a 'YYYY-MM' month, or today for the current one."""
    year, month = (int(part) for part in key.split("-"))
    following = date(year + (month == 12), month % 12 + 1, 1)
    return min(following - timedelta(days=1), TODAY)


SAMPLE_MONTHS = THREE_YEARS.months[::7] + THREE_YEARS.months[-1:]
SAMPLE_DAYS = [month_end(key) for key in SAMPLE_MONTHS]


def test_the_demo_has_the_history_the_dashboards_show(reader: Session) -> None:
    statuses = queries.members_by_status(reader, TODAY)
    assert statuses["active"] > 30 and statuses.get("former", 0) + statuses.get("expelled", 0) > 0
    assert len(queries.live_projects(reader)) > 0 and queries.success_by(reader, THREE_YEARS, by="theme")
    subscriptions = Counter(status for (_, status), _ in queries.subscriptions_by_status(
        reader, TODAY, grace_days=GRACE).items())
    assert {"active", "lapsed"} <= set(subscriptions)


@pytest.mark.parametrize("day", SAMPLE_DAYS)
def test_members_by_status_equals_the_replayed_facts(reader: Session, day: date) -> None:
    expected = Counter(status.value for _, status, _ in search_members(reader, at=day) if status is not None)

    assert queries.members_by_status(reader, day) == dict(expected)


def test_members_over_time_counts_who_was_admitted_and_had_not_left_each_month(reader: Session) -> None:
    series = queries.members_over_time(reader, THREE_YEARS)

    for key in SAMPLE_MONTHS:
        members = Counter(member.kind.value for member, status, _ in members_with_status(reader, at=month_end(key))
                          if status in (MemberStatus.ACTIVE, MemberStatus.RESIGNING))
        position = series.buckets.index(key)
        assert {kind: values[position] for kind, values in series.groups.items() if values[position]} == members


def test_joins_and_leavers_count_each_admission_and_departure_once(reader: Session) -> None:
    series = queries.joins_and_leavers(reader, THREE_YEARS)
    facts = reader.exec(select(MembershipFact).where(col(MembershipFact.effective_on) >= THREE_YEARS.start,
                                                     col(MembershipFact.effective_on) <= TODAY)).all()

    assert series.total("joined") == sum(1 for f in facts if f.kind is FactKind.ACTIVATED)
    assert series.total("left") == len({f.member_id for f in facts if f.kind in queries.LEAVING}) > 0
    assert len(series.groups["joined"]) == len(THREE_YEARS.months)


def test_share_capital_over_time_is_the_ledger_at_each_month_end(reader: Session) -> None:
    series = queries.share_capital_over_time(reader, THREE_YEARS)

    for key in SAMPLE_MONTHS:
        at = month_end(key)
        assert series.groups["capital"][series.buckets.index(key)] == -balance(
            reader, account=AccountCode.SHARE_CAPITAL, at=at)


@pytest.mark.parametrize("day", SAMPLE_DAYS)
def test_holdings_by_class_is_the_share_register(reader: Session, day: date) -> None:
    register: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for holding in holdings_at(reader, at=day):
        register[holding.class_code][0] += 1
        register[holding.class_code][1] += holding.quantity
        register[holding.class_code][2] += holding.quantity * holding.nominal_cents

    found = {h.code: [h.holders, h.quantity, h.capital_cents] for h in queries.holdings_by_class(reader, day)}

    assert found == dict(register)
    assert sum(cents for _, _, cents in found.values()) == -balance(reader, account=AccountCode.SHARE_CAPITAL, at=day)


def test_a_member_filter_keeps_only_that_kind_and_municipality(reader: Session) -> None:
    utrecht = Selection(kind=MemberKind.PERSON, municipality_code="GM0344")
    expected = [m for m, status, _ in members_with_status(reader, at=TODAY)
                if m.kind is MemberKind.PERSON and m.municipality_code == "GM0344"
                and status in (MemberStatus.ACTIVE, MemberStatus.RESIGNING)]

    series = queries.members_over_time(reader, THREE_YEARS, utrecht)

    assert set(series.groups) <= {"person"} and series.last("person") == len(expected) > 0
    assert queries.top_municipalities(reader, TODAY, utrecht) == [("GM0344", len(expected))]
    capital = sum(h.quantity * h.nominal_cents for h in holdings_at(reader, at=TODAY)
                  if h.member_id in {m.id for m in expected})
    assert queries.share_capital_over_time(reader, THREE_YEARS, utrecht).last("capital") == capital


def _statuses(reader: Session, day: date) -> dict[tuple[str, str], int]:
    """Subscription statuses by tier as the subscriptions domain derives them (row by row)."""
    found: Counter[tuple[str, str]] = Counter()
    for subscription in reader.exec(select(Subscription).where(col(Subscription.started_on) <= day)).all():
        state = derive_status(subscription, periods_of(reader, subscription_id=subscription.id), at=day,
                              grace=timedelta(days=GRACE))
        found[(subscription.tier_code, state.status.value)] += 1
    return dict(found)


@pytest.mark.parametrize("day", SAMPLE_DAYS)
def test_subscriptions_by_status_equals_the_derived_status(reader: Session, day: date) -> None:
    assert queries.subscriptions_by_status(reader, day, grace_days=GRACE) == _statuses(reader, day)


@pytest.mark.parametrize("day", SAMPLE_DAYS)
def test_recurring_revenue_is_the_price_of_the_periods_that_keep_subscriptions_active(reader: Session,
                                                                                     day: date) -> None:
    expected: Counter[str] = Counter()
    for subscription in reader.exec(select(Subscription)).all():
        periods = periods_of(reader, subscription_id=subscription.id)
        if derive_status(subscription, periods, at=day, grace=timedelta(days=GRACE)).status is \
                SubscriptionStatus.ACTIVE:
            covering = next(p for p in periods if p.period_start <= day < p.period_end and p.paid_on
                            and p.paid_on <= day and (p.voided_on is None or p.voided_on > day))
            expected[covering.tier_code] += covering.amount_cents
    series = queries.recurring_revenue_over_time(reader, THREE_YEARS)
    key = f"{day:%Y-%m}"

    assert {tier: values[series.buckets.index(key)] for tier, values in series.groups.items()
            if values[series.buckets.index(key)]} == dict(expected)


def test_past_due_lists_exactly_the_subscriptions_in_their_grace_period(reader: Session) -> None:
    for day in SAMPLE_DAYS:
        rows = queries.past_due(reader, day, grace_days=GRACE)
        expected = sum(n for (_, status), n in _statuses(reader, day).items() if status == "past_due")
        assert len(rows) == expected
        assert all(0 <= row.days_overdue < GRACE and row.due_on + timedelta(days=row.days_overdue) == day
                   for row in rows)
        assert [row.days_overdue for row in rows] == sorted((row.days_overdue for row in rows), reverse=True)


def test_renewals_and_lapses_count_the_steps_and_paid_renewals(reader: Session) -> None:
    series = queries.renewals_and_lapses(reader, THREE_YEARS)
    lapsed = reader.exec(select(func.count()).select_from(SubscriptionStep).where(
        SubscriptionStep.kind == StepKind.LAPSED, col(SubscriptionStep.on) >= THREE_YEARS.start)).one()
    canceled = [s for s in reader.exec(select(Subscription)).all()
                if s.end_reason is not None and s.end_reason.value == "canceled" and s.ends_on
                and THREE_YEARS.start <= s.ends_on <= TODAY]

    assert series.total("lapsed") == lapsed > 0
    assert series.total("canceled") == len(canceled)
    assert series.total("renewed") > series.total("lapsed")


def test_invoiced_by_provider_adds_up_to_the_invoices_and_credit_notes(reader: Session) -> None:
    series = queries.invoiced_by_provider(reader, THREE_YEARS)
    expected: Counter[str] = Counter()
    for invoice, provider in reader.exec(select(Invoice, Subscription.provider).join(
            Subscription, col(Subscription.id) == col(Invoice.subscription_id))
            .where(col(Invoice.issued_on).between(THREE_YEARS.start, THREE_YEARS.end))).all():
        expected[provider.value] += invoice.net_cents

    assert {provider: series.total(provider) for provider in series.groups} == dict(expected)
    assert set(expected) == {"sandbox", "bank_transfer"}


def test_cash_and_money_back_are_the_ledger(reader: Session) -> None:
    cash = queries.cash_over_time(reader, THREE_YEARS)
    for code in queries.CLEARING:
        if code in cash.groups:
            assert cash.last(code) == balance(reader, account=code, at=TODAY)
    back = queries.refunds_and_chargebacks(reader, THREE_YEARS)
    refunded = reader.exec(
        select(func.coalesce(func.sum(Posting.amount_cents), 0))
        .join(JournalEntry, col(JournalEntry.id) == col(Posting.entry_id))
        .join(Account, col(Account.id) == col(Posting.account_id))
        .where(col(JournalEntry.idempotency_key).like("payment:%:refunded_cents:%"),
               col(Account.code).in_(list(queries.CLEARING)), col(JournalEntry.booked_on) >= THREE_YEARS.start)).one()

    assert back.total("refunds") == -refunded > 0
    assert back.total("chargebacks") == 0


def test_fund_balances_are_the_funds_own_balances(reader: Session) -> None:
    expected = {fund.id: (available_cents(reader, fund_id=fund.id), reserved_cents(reader, fund_id=fund.id))
                for fund in list_funds(reader)}

    found = {f.id: (f.available_cents, f.reserved_cents) for f in queries.fund_balances(reader, TODAY)}

    assert found == expected and len(found) == 2
    books = {row.code: -row.balance_cents for row in trial_balance(reader, start=TODAY, end=TODAY).accounts}
    assert sum(a for a, _ in found.values()) == books[AccountCode.FUNDS_AVAILABLE]
    assert sum(r for _, r in found.values()) == books.get(AccountCode.FUNDS_RESERVED, 0)


def test_live_projects_show_the_progress_the_project_pages_show(reader: Session) -> None:
    live = queries.live_projects(reader)
    counted = progress(reader, project_ids=[p.id for p in live])

    assert live and all(p.raised_cents == counted[p.id].raised_cents for p in live)
    assert all(p.minutes_confirmed == counted[p.id].minutes_confirmed for p in live)
    assert [p.deadline for p in live] == sorted(p.deadline for p in live)


def test_success_rates_count_the_closed_campaigns(reader: Session) -> None:
    closed = reader.exec(select(Project).where(col(Project.status).in_([ProjectStatus.SUCCEEDED,
                                                                        ProjectStatus.FAILED]))).all()

    by_theme = queries.success_by(reader, Period(date(2000, 1, 1), TODAY), by="theme")
    by_place = queries.success_by(reader, Period(date(2000, 1, 1), TODAY), by="municipality")

    assert sum(won for _, won, _ in by_theme) == sum(p.status is ProjectStatus.SUCCEEDED for p in closed)
    assert sum(lost for _, _, lost in by_place) == sum(p.status is ProjectStatus.FAILED for p in closed)
    assert {key for key, _, _ in by_place} == {p.municipality_code for p in closed}


def test_pledges_and_hours_per_period(reader: Session) -> None:
    weeks = queries.pledges_per_week(reader, THREE_YEARS)
    pledges = reader.exec(select(Pledge)).all()
    paid_money = [p for p in pledges if p.kind is PledgeKind.MONEY and p.paid_at is not None]
    hours = queries.hours_per_month(reader, THREE_YEARS)

    assert weeks.total("money") == len(paid_money) > 0
    assert weeks.total("time") == sum(p.kind is PledgeKind.TIME and p.status is not PledgeStatus.WITHDRAWN
                                      for p in pledges)
    assert all(date.fromisoformat(key).weekday() == 0 for key in weeks.buckets)
    assert hours.total("delivered") == sum(p.delivered_minutes or 0 for p in pledges
                                           if p.status is PledgeStatus.DELIVERED) > 0


def test_a_project_filter_keeps_that_theme_or_municipality_only(reader: Session) -> None:
    live = queries.live_projects(reader)
    place = live[0].municipality_code
    themed = queries.live_projects(reader, Selection(theme=Theme(live[0].theme)))

    assert {p.theme for p in themed} == {live[0].theme}
    assert {p.municipality_code for p in queries.live_projects(reader, Selection(municipality_code=place))} == {place}
    everywhere = queries.pledges_per_week(reader, THREE_YEARS)
    there = queries.pledges_per_week(reader, THREE_YEARS, Selection(municipality_code=place))
    assert 0 < there.total("money") + there.total("time") < everywhere.total("money") + everywhere.total("time")


def test_municipalities_in_use_come_from_members_and_projects(reader: Session) -> None:
    codes = queries.municipalities_in_use(reader)
    members = set(reader.exec(select(Member.municipality_code).where(col(Member.municipality_code).is_not(None))))
    projects = set(reader.exec(select(Project.municipality_code)))

    assert codes == sorted(members | projects)


def test_a_snapshot_answers_each_question_once_and_the_next_snapshot_reads_again(sqlite_copy: Demo) -> None:
    statements: list[str] = []
    event.listen(sqlite_copy.reader, "before_cursor_execute", lambda *args: statements.append(args[2]))
    row = ("kind;name;email;joined_on;membership_shares\n"
           f"person;Sanne de Wit;sanne.{uuid.uuid4().hex[:8]}@example.org;{TODAY.isoformat()};1\n")

    with Session(sqlite_copy.reader) as reader:
        first = queries.members_by_status(reader, TODAY)
        read = len(statements)
        assert queries.members_by_status(reader, TODAY) is first  # the key figures and the chart share it
        assert len(statements) == read
        queries.members_by_status(reader, TODAY - timedelta(days=1))  # another question is read
        assert len(statements) > read
        reader.commit()  # the snapshot ends (a redraw's session does so when it closes)
        with Session(sqlite_copy.engine) as writer:
            assert import_members(writer, rows_source=io.StringIO(row), dry_run=False).imported == 1
            writer.commit()

        again = queries.members_by_status(reader, TODAY)

    assert again["active"] == first["active"] + 1

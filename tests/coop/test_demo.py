"""Demo data: members of every kind through the importer, seeded once, consistent with the ledger."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from schwifty import IBAN
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from coop.core.clock import today_amsterdam
from coop.core.db import make_engine
from coop.core.settings import get_settings
from coop.demo import DEMO_MEMBERS, demo_member_rows, seed_demo
from coop.ledger.chart import AccountCode
from coop.ledger.models import JournalEntry
from coop.ledger.queries import balance
from coop.members.models import KVK_REQUIRED, Member, MemberKind, MemberStatus
from coop.members.queries import members_with_status
from coop.shares.models import ShareOperation
from coop.shares.queries import holdings_at
from coop.subscriptions.models import Invoice, RevenueDeferral, Subscription, SubscriptionStatus
from coop.subscriptions.queries import latest_subscription
from coop.subscriptions.service import status_of
from tests.coop.test_cli import clear_caches, count, kracht, ok


@pytest.fixture
def dev_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A development environment on an empty SQLite file (as in test_cli)."""
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    monkeypatch.setenv("KRACHT_DATABASE_URL", url)
    monkeypatch.setenv("KRACHT_ENV", "development")
    clear_caches()
    engine = make_engine(url)
    yield engine
    engine.dispose()
    monkeypatch.undo()
    clear_caches()


def written(session: Session) -> list[int]:
    """Members, register operations and journal entries."""
    return [session.exec(select(func.count()).select_from(model)).one()
            for model in (Member, ShareOperation, JournalEntry)]


def test_the_rows_are_the_same_people_every_time() -> None:
    first = demo_member_rows(80, today=date(2026, 1, 1))
    again = demo_member_rows(80, today=date(2026, 1, 1))
    later = demo_member_rows(80, today=date(2027, 6, 1))

    assert first == again
    emails = [row["email"] for row in csv.DictReader(io.StringIO(first), delimiter=";")]
    assert emails == [row["email"] for row in csv.DictReader(io.StringIO(later), delimiter=";")]
    assert len(set(emails)) == 80 and all(re.search(r"@([a-z0-9-]+\.)?example\.(org|net|com)$", e) for e in emails)
    assert demo_member_rows(DEMO_MEMBERS).splitlines()[:81] == demo_member_rows(80).splitlines()


def test_seeding_twice_creates_members_once_and_the_books_agree(session: Session) -> None:
    settings = get_settings()
    report = seed_demo(session, settings=settings, members=60)
    assert report.members == 60
    after_first = written(session)

    again = seed_demo(session, settings=settings, members=60)

    assert again.members == 0 and again.created == 0
    assert written(session) == after_first
    today = today_amsterdam()
    register = members_with_status(session, at=today)
    statuses = Counter(status for _, status, _ in register)
    assert len(register) == 60 and statuses[MemberStatus.ACTIVE] > 50
    assert set(statuses) <= {MemberStatus.ACTIVE, MemberStatus.RESIGNING, MemberStatus.FORMER, MemberStatus.EXPELLED}
    assert report.leavers == 60 - statuses[MemberStatus.ACTIVE]
    for member, status, _ in register:  # those who left stopped paying first, and gave their shares back
        if status is not MemberStatus.ACTIVE:
            assert status_of(session, subscription=latest_subscription(session, member_id=member.id),
                             at=today).status in (SubscriptionStatus.CANCELED, SubscriptionStatus.LAPSED,
                                                  SubscriptionStatus.ACTIVE)
        if status in (MemberStatus.FORMER, MemberStatus.EXPELLED):
            assert not [h for h in holdings_at(session, at=today) if h.member_id == member.id]
    assert all(today - timedelta(days=3 * 365) <= joined <= today for _, _, joined in register)
    numbers = [member.member_number for member, _, _ in register]
    assert numbers == list(range(1, 61))  # in the order they joined
    for day in (today - timedelta(days=2 * 365), today - timedelta(days=365), today):
        total = sum(h.quantity * h.nominal_cents for h in holdings_at(session, at=day))
        assert total == -balance(session, account=AccountCode.SHARE_CAPITAL, at=day)


def test_kracht_demo_seed_twice_adds_the_members_once(dev_db: Engine) -> None:
    engine = dev_db
    ok(kracht("db", "upgrade"))

    first = ok(kracht("demo", "seed"))

    added = re.search(r"(\d+) demo member\(s\) \((\d+) of whom left again\), (\d+) subscription\(s\) and (\d+) "
                      r"project\(s\) added", first.output)
    assert added is not None and (added[1], added[3], added[4]) == (str(DEMO_MEMBERS), str(DEMO_MEMBERS), "30")
    assert 0 < int(added[2]) < DEMO_MEMBERS // 10
    assert count(engine, Member) == DEMO_MEMBERS
    written_once = (count(engine, ShareOperation), count(engine, JournalEntry))
    with Session(engine) as session:
        members = session.exec(select(Member)).all()
        kinds = Counter(member.kind for member in members)
        assert set(kinds) == set(MemberKind) and kinds[MemberKind.PERSON] > DEMO_MEMBERS // 2
        for member in members:
            if member.kind in KVK_REQUIRED or member.kind in (MemberKind.GOVERNMENT, MemberKind.ORGANISATION):
                assert member.kvk_number is not None and re.fullmatch(r"[0-9]{8}", member.kvk_number)
            if member.kind is MemberKind.PERSON:
                assert member.kvk_number is None
        ibans = [member.iban for member in members if member.iban]
        assert DEMO_MEMBERS // 3 < len(ibans) < DEMO_MEMBERS
        assert all(IBAN(iban).country_code == "NL" for iban in ibans)
        assert {member.city for member in members} and all(member.postcode for member in members)
        today = today_amsterdam()
        assert -balance(session, account=AccountCode.SHARE_CAPITAL, at=today) == sum(
            h.quantity * h.nominal_cents for h in holdings_at(session, at=today))
        # Three years of subscriptions: mostly renewed, some lapsed or cancelled; last year's deferral released.
        statuses = Counter(status_of(session, subscription=s, at=today).status
                           for s in session.exec(select(Subscription)).all())
        assert statuses[SubscriptionStatus.ACTIVE] > DEMO_MEMBERS * 3 // 4
        assert statuses[SubscriptionStatus.LAPSED] > 0 and statuses[SubscriptionStatus.CANCELED] > 0
        assert {i.issued_on.year for i in session.exec(select(Invoice)).all()} >= {today.year - 2, today.year}
        deferred = session.exec(select(RevenueDeferral)).all()
        assert all(d.released_at is not None for d in deferred if d.release_on <= today)
        assert -balance(session, account=AccountCode.DEFERRED_SUBSCRIPTIONS, at=today) == sum(
            d.amount_cents for d in deferred if d.release_on > today)

    second = ok(kracht("demo", "seed"))

    assert "0 demo member(s) (0 of whom left again), 0 subscription(s) and 0 project(s) added" in second.output
    assert "already present" in second.output
    assert count(engine, Member) == DEMO_MEMBERS
    assert (count(engine, ShareOperation), count(engine, JournalEntry)) == written_once

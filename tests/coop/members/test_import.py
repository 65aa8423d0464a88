"""Importing members from a spreadsheet: every row checked first, all or nothing, idempotent, dated registers."""

from __future__ import annotations

import io
import threading
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from coop.auth.models import Role
from coop.core.clock import today_amsterdam
from coop.core.db import make_engine, unit_of_work
from coop.core.sequences import peek_last_number
from coop.ledger.chart import AccountCode
from coop.ledger.models import JournalEntry
from coop.ledger.queries import balance, entry_by_key
from coop.members.importer import import_members, move_series_past
from coop.members.models import Member, MembershipFact, MemberStatus
from coop.members.queries import facts_until, joined_on, status_at
from coop.shares.models import ShareOperation
from coop.shares.queries import holdings_at
from tests.conftest import empty_postgres_database, migrate
from tests.coop.members.support import PERSON, join_and_pay
from tests.coop.test_cli import clear_caches, count, kracht, ok, refused

FIXTURES = Path(__file__).parents[2] / "fixtures"
GOOD = FIXTURES / "members_import.csv"
BAD = FIXTURES / "members_import_bad.csv"
HEADER = ("member_number,kind,name,email,joined_on,street,postcode,city,iban,kvk_number,membership_shares,"
          "social_shares\n")
# Who is in the good file, when they joined, the old number they bring and the shares they hold.
JOINED = {
    "fatima@example.org": date(2021, 3, 15), "jan.devries@example.org": date(2020, 6, 1),
    "info@devries.example.org": date(2022, 9, 15), "sanne.bakker@example.org": date(2024, 1, 10),
    "energie@zwolle.example.org": date(2021, 1, 4), "bestuur@buurtkracht.example.org": date(2023, 5, 1),
    "hallo@wipstrik.example.org": date(2022, 11, 20), "post@fietsfabriek.example.org": date(2025, 2, 3),
    "henk@example.org": date(2022, 11, 20),
}
SOCIAL = {"info@devries.example.org": 10, "energie@zwolle.example.org": 20, "bestuur@buurtkracht.example.org": 4}


def csv_text(*rows: str) -> io.StringIO:
    """A comma-separated file without BOM (the good fixture is `;` with BOM)."""
    return io.StringIO(HEADER + "".join(row + "\n" for row in rows))


def counts(session: Session) -> dict[str, int]:
    """What an import writes: members, facts, register operations, journal entries, member numbers."""
    return {"members": session.exec(select(func.count()).select_from(Member)).one(),
            "facts": session.exec(select(func.count()).select_from(MembershipFact)).one(),
            "operations": session.exec(select(func.count()).select_from(ShareOperation)).one(),
            "entries": session.exec(select(func.count()).select_from(JournalEntry)).one(),
            "member_numbers": peek_last_number(session, series="member_number")}


def members_by_email(session: Session) -> dict[str, Member]:
    return {m.email: m for m in session.exec(select(Member)).all()}


@pytest.fixture
def empty(session: Session) -> dict[str, int]:
    before = counts(session)
    assert before["members"] == before["operations"] == before["entries"] == 0
    return before


# --- refusing ------------------------------------------------------------------------------------------


def test_one_bad_row_imports_nothing_and_names_row_and_field(session, empty) -> None:
    report = import_members(session, rows_source=BAD, dry_run=False)

    assert [(e.row, e.field) for e in report.errors] == [(4, "iban")]
    assert "IBAN" in report.errors[0].message
    assert report.imported == 0 and not report.ok
    assert counts(session) == empty


def test_every_bad_row_is_reported_at_once(session, empty) -> None:
    future = (today_amsterdam() + timedelta(days=1)).isoformat()
    source = csv_text(
        "1,person,Goed Lid,goed@example.org,2021-01-01,,,,,,,",                             # 2: fine
        ",alien,Marsmannetje,mars@example.org,2021-01-01,,,,,,,",                          # 3: kind
        ",person,Geen Adres,not-an-address,2021-01-01,,,,,,,",                             # 4: email
        f",person,Te Vroeg,vroeg@example.org,{future},,,,,,,",                             # 5: future date
        ",person,Rare Datum,datum@example.org,31-02-2021,,,,,,,",                          # 6: no such date
        ",company,Bouw BV,bouw@example.org,2021-01-01,,,,,,1,1",                           # 7: KvK missing
        ",person,Met KvK,kvk@example.org,2021-01-01,,,,,69599084,,",                       # 8: person with KvK
        ",person,Maatschappelijk,ms@example.org,2021-01-01,,,,,,1,3",                      # 9: class not for kind
        ",person,Twee Aandelen,twee@example.org,2021-01-01,,,,,,2,0",                      # 10: max 1
        ",government,Gemeente Groot,groot@example.org,2021-01-01,,,,,,1,1001",             # 11: max 1000
        "1,person,Dubbel Nummer,dubbel@example.org,2021-01-01,,,,,,,",                     # 12: old number twice
        ",person,Nog Een Keer,GOED@example.org,2021-01-01,,,,,,,",                         # 13: e-mail twice
        "nul,person,Vreemd Nummer,nummer@example.org,2021-01-01,,,,,,,",                   # 14: member number
        ",person,Oud Lid,oud@example.org,2019-12-31,,,,,,,",                               # 15: before the class
        ",person,X,x@example.org,2021-01-01,,,,,,,",                                       # 16: name too short
        ",person,Fout Rekening,iban@example.org,2021-01-01,,,,NL00ABNA0417164300,,,",      # 17: IBAN
        ",person,Halve Aandelen,half@example.org,2021-01-01,,,,,,1.5,",                    # 18: whole numbers
        ",person,Lange Postcode,post@example.org,2021-01-01,,12345678901,,,,,",            # 19: postcode length
        ",person,Te Veel Cellen,cellen@example.org,2021-01-01,,,,,,,,extra",               # 20: extra cell
    )

    report = import_members(session, rows_source=source, dry_run=False)

    assert {(e.row, e.field) for e in report.errors} == {
        (3, "kind"), (4, "email"), (5, "joined_on"), (6, "joined_on"), (7, "kvk_number"), (8, "kvk_number"),
        (9, "social_shares"), (10, "membership_shares"), (11, "social_shares"), (12, "member_number"),
        (13, "email"), (14, "member_number"), (15, "joined_on"), (16, "name"), (17, "iban"),
        (18, "membership_shares"), (19, "postcode"), (20, "row")}
    assert report.errors == sorted(report.errors)
    messages = {(e.row, e.field): e.message for e in report.errors}
    assert "future" in messages[(5, "joined_on")]
    assert "row 2" in messages[(12, "member_number")] and "row 2" in messages[(13, "email")]
    assert "at most 1000" in messages[(11, "social_shares")]
    assert counts(session) == empty


def test_a_bad_header_is_reported_on_row_one(session, empty) -> None:
    source = io.StringIO("kind;naam;email;joined_on;iban;iban\nperson;Jan;jan@example.org;2021-01-01;;\n")

    report = import_members(session, rows_source=source, dry_run=False)

    assert {(e.row, e.field) for e in report.errors} == {(1, "naam"), (1, "iban"), (1, "name")}
    assert counts(session) == empty


def test_a_trailing_unnamed_column_is_ignored_while_empty(session, empty) -> None:
    header = "Kind;Name;Email;Joined on;;\n"  # headers as people type them: capitals, spaces
    source = io.StringIO(header + "person;Jan Smit;jan@example.org;2021-01-01;;\n"
                                  "person;Piet Smit;piet@example.org;2021-01-01;;iets\n")

    report = import_members(session, rows_source=source, dry_run=False)

    assert [(e.row, e.field) for e in report.errors] == [(3, "row")]
    assert "column 6" in report.errors[0].message


def test_the_issue_cap_is_checked_over_the_whole_file(session, empty) -> None:
    # 2,000 social shares of EUR 250 fill the EUR 500,000 issue exactly; the third government is one too many.
    source = csv_text(*(f",government,Gemeente {n},g{n}@example.org,2021-01-0{n},,,,,,1,1000" for n in (1, 2, 3)))

    report = import_members(session, rows_source=source, dry_run=False)

    assert [(e.row, e.field) for e in report.errors] == [(4, "social_shares")]
    assert "cap" in report.errors[0].message
    assert counts(session) == empty


# --- importing -----------------------------------------------------------------------------------------


def test_the_corrected_file_imports_active_members_with_shares_and_capital(session, empty) -> None:
    report = import_members(session, rows_source=GOOD, dry_run=False)

    assert report.ok and (report.imported, report.skipped) == (9, 0) and report.renumbered == []
    members = members_by_email(session)
    assert set(members) == set(JOINED)
    for email, member in members.items():
        day = JOINED[email]
        assert status_at(session, member_id=member.id, at=day - timedelta(days=1)) is None
        assert status_at(session, member_id=member.id, at=day) is MemberStatus.ACTIVE
        assert joined_on(facts_until(session, at=today_amsterdam(), member_id=member.id)) == day
        held = {h.class_code: h.quantity for h in holdings_at(session, at=day) if h.member_id == member.id}
        assert held == {"lidmaatschap": 1, **({"maatschappelijk": SOCIAL[email]} if email in SOCIAL else {})}
        capital = 5000 + 25000 * SOCIAL.get(email, 0)
        assert balance(session, account=AccountCode.SHARE_CAPITAL, member_id=member.id) == -capital
        assert balance(session, account=AccountCode.SHARE_CAPITAL, member_id=member.id,
                       at=day - timedelta(days=1)) == 0
        assert balance(session, account=AccountCode.BANK, member_id=member.id) == capital
        entry = entry_by_key(session, f"import:member:{member.id}")
        assert entry is not None and entry.booked_on == day and "import" in entry.description
    fatima, company = members["fatima@example.org"], members["info@devries.example.org"]
    assert fatima.iban == "NL91ABNA0417164300" and fatima.kvk_number is None and fatima.postcode == "8011 AB"
    assert members["jan.devries@example.org"].postcode == "8012 CD"
    assert company.kvk_number == "69599084" and company.iban == "NL20INGB0001234567"
    assert members["hallo@wipstrik.example.org"].name == "Energiecoöperatie Wipstrik"
    assert counts(session)["entries"] == 9


def test_a_second_run_changes_nothing(session, empty) -> None:
    import_members(session, rows_source=GOOD, dry_run=False)
    after_first = counts(session)

    again = import_members(session, rows_source=GOOD, dry_run=False)

    assert again.ok and (again.imported, again.skipped) == (0, 9)
    assert counts(session) == after_first


def test_a_dry_run_reports_but_writes_nothing(session, empty) -> None:
    report = import_members(session, rows_source=GOOD, dry_run=True)

    assert report.ok and report.dry_run and (report.imported, report.skipped) == (9, 0)
    assert counts(session) == empty


def test_comma_separated_day_month_year_without_bom(session, empty) -> None:
    report = import_members(session, rows_source=csv_text(
        ",person,Anouk Visser,Anouk.Visser@Example.org,5-3-2024,Dorpsstraat 1,1234ab,Ede,,,,",
        ",,,,,,,,,,,",  # the blank rows Excel leaves at the end
    ), dry_run=False)

    assert report.ok and report.imported == 1
    [member] = members_by_email(session).values()
    assert member.email == "anouk.visser@example.org" and member.postcode == "1234 AB"
    assert status_at(session, member_id=member.id, at=date(2024, 3, 5)) is MemberStatus.ACTIVE


# --- registers and numbers -----------------------------------------------------------------------------


def test_the_registers_follow_joined_on_and_match_the_ledger(client, session, auth_headers, empty) -> None:
    board = auth_headers(Role.BOARD)
    import_members(session, rows_source=GOOD, dry_run=False)
    ids = {email: str(member.id) for email, member in members_by_email(session).items()}

    for day in (date(2020, 5, 31), date(2020, 6, 1), date(2021, 12, 31), date(2022, 9, 14), date(2022, 9, 15),
                date(2024, 6, 30), today_amsterdam()):
        expected = {ids[email] for email, joined in JOINED.items() if joined <= day}
        register = client.get(f"/api/v1/registers/members?at={day}", headers=board).json()
        assert {m["id"] for m in register["members"]} == expected
        assert all(m["status"] == "active" and date.fromisoformat(m["joined_on"]) == JOINED[email]
                   for email in JOINED for m in register["members"] if m["id"] == ids[email])
        shares = client.get(f"/api/v1/registers/shares?at={day}", headers=board).json()
        assert {h["member_id"] for h in shares["holdings"]} == expected
        assert shares["total_nominal_cents"] == -balance(session, account=AccountCode.SHARE_CAPITAL, at=day)
        assert shares["total_nominal_cents"] == sum(5000 + 25000 * SOCIAL.get(email, 0)
                                                    for email, joined in JOINED.items() if joined <= day)


def test_old_numbers_are_kept_and_later_joins_get_numbers_above_them(client, session, auth_headers, empty) -> None:
    import_members(session, rows_source=GOOD, dry_run=False)

    numbers = {email: member.member_number for email, member in members_by_email(session).items()}
    assert {numbers[e] for e in ("energie@zwolle.example.org", "jan.devries@example.org", "fatima@example.org",
                                 "info@devries.example.org")} == {3, 7, 12, 31}
    assert numbers["energie@zwolle.example.org"] == 3 and numbers["info@devries.example.org"] == 31
    # Without an old number: next above the highest kept one, in the order they joined (ties by row).
    assert [numbers[e] for e in ("hallo@wipstrik.example.org", "henk@example.org",
                                 "bestuur@buurtkracht.example.org", "sanne.bakker@example.org",
                                 "post@fietsfabriek.example.org")] == [32, 33, 34, 35, 36]

    joined = join_and_pay(client, PERSON | {"email": "nieuw@example.org"})

    member = session.get(Member, uuid.UUID(joined["member"]["id"]))
    assert member is not None and member.member_number == 37


def test_an_old_number_already_taken_gets_the_next_free_one(session, empty) -> None:
    first = import_members(session, rows_source=csv_text(",person,Eerste Lid,eerste@example.org,2020-02-01,,,,,,,",
                                                         "12,person,Twaalf,twaalf@example.org,2020-03-01,,,,,,,"),
                           dry_run=False)
    # The kept 12 moves the series past it, so the member without an old number gets 13.
    assert first.ok and members_by_email(session)["eerste@example.org"].member_number == 13

    report = import_members(session, rows_source=GOOD, dry_run=False)

    assert report.ok and report.imported == 9
    fatima = members_by_email(session)["fatima@example.org"]
    assert report.renumbered == [(2, 12, fatima.member_number)]
    assert fatima.member_number == 32  # the series was moved past 31, the highest number kept from the file
    numbers = [m.member_number for m in session.exec(select(Member)).all()]
    assert len(numbers) == len(set(numbers)) == 11


def test_the_series_is_moved_forward_only(session) -> None:
    move_series_past(session, series="test-series", number=40)
    move_series_past(session, series="test-series", number=10)

    assert peek_last_number(session, series="test-series") == 40


@pytest.fixture
def own_postgres() -> Iterator[Engine]:
    """A migrated PostgreSQL database of this test's own: the imports below really commit."""
    with empty_postgres_database("kracht_import") as url:
        engine = migrate(url)
        try:
            yield engine
        finally:
            engine.dispose()


def test_two_imports_of_one_file_at_once_make_its_members_once(own_postgres: Engine) -> None:
    barrier = threading.Barrier(2)
    reports = []

    def work() -> None:
        with unit_of_work(own_postgres) as session:
            barrier.wait()
            reports.append(import_members(session, rows_source=GOOD, dry_run=False))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted((report.imported, report.skipped) for report in reports) == [(0, 9), (9, 0)]
    assert count(own_postgres, Member) == 9 and count(own_postgres, JournalEntry) == 9


# --- the command ---------------------------------------------------------------------------------------


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A development environment on a throw-away SQLite file, migrated with `kracht db upgrade`."""
    url = f"sqlite:///{tmp_path / 'import.db'}"
    monkeypatch.setenv("KRACHT_DATABASE_URL", url)
    monkeypatch.setenv("KRACHT_ENV", "development")
    ok(kracht("db", "upgrade"))
    yield url
    monkeypatch.undo()
    clear_caches()


def test_the_command_refuses_a_bad_file_then_dry_runs_then_imports(cli_db: str) -> None:
    engine = make_engine(cli_db)
    try:
        bad = refused(kracht("members", "import", str(BAD)), "iban", "nothing imported")
        assert any(line.strip().startswith("│ 4") for line in bad.output.splitlines()), bad.output
        assert count(engine, Member) == 0

        dry = ok(kracht("members", "import", str(GOOD), "--dry-run"))
        assert "would import 9" in dry.output
        assert count(engine, Member) == count(engine, JournalEntry) == count(engine, ShareOperation) == 0

        done = ok(kracht("members", "import", str(GOOD)))
        assert "imported 9 member(s), skipped 0" in done.output
        assert count(engine, Member) == 9 and count(engine, JournalEntry) == 9

        again = ok(kracht("members", "import", str(GOOD)))
        assert "imported 0 member(s), skipped 9" in again.output
        assert count(engine, Member) == 9 and count(engine, JournalEntry) == 9
    finally:
        engine.dispose()

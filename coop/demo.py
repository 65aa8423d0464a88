"""Demo data for development and demos: loaded once, never in production."""

from __future__ import annotations

import csv
import io
import random
import re
import unicodedata
import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from faker import Faker
from sqlmodel import Session

from coop.auth.models import Role
from coop.auth.service import create_user, user_by_email
from coop.core.clock import frozen_clock, today_amsterdam
from coop.core.errors import Conflict, Forbidden
from coop.core.municipalities import MUNICIPALITIES
from coop.core.settings import Settings
from coop.members.importer import COLUMNS, import_members
from coop.members.models import FactKind, MemberKind, MemberStatus
from coop.members.queries import members_with_status
from coop.members.service import end_membership, resign
from coop.reference_data import seed_reference_data
from coop.shares.service import approve_mutation
from coop.subscriptions.demo import seed_demo_subscriptions
from coop.subscriptions.models import EndReason
from coop.subscriptions.queries import latest_subscription

DEMO_DOMAIN = "demo.kracht.nl"
DEMO_MEMBERS = 300
DEMO_SEED = 2026
# Roughly how a local energy and neighbourhood cooperative's members are made up.
DEMO_KINDS = ((MemberKind.PERSON, 76), (MemberKind.INITIATIVE, 5), (MemberKind.SOCIAL_ENTERPRISE, 4),
              (MemberKind.COMPANY, 9), (MemberKind.GOVERNMENT, 2), (MemberKind.ORGANISATION, 4))
# Where the demo members live: the cooperative started in Utrecht and grew across the country.
_DEMO_MUNICIPALITIES = sorted(MUNICIPALITIES)
_DEMO_WEIGHTS = [12 if code == "GM0344" else 5 if code in ("GM0363", "GM0599", "GM0518") else 2
                 for code in _DEMO_MUNICIPALITIES]


@dataclass(frozen=True)
class DemoUser:
    """A demo sign-in."""

    role: str
    email: str
    password: str


@dataclass
class DemoReport:
    """What `seed_demo` did."""

    created: int = 0
    users: list[DemoUser] = field(default_factory=list)
    members: int = 0
    subscriptions: int = 0
    leavers: int = 0


def demo_password(role: Role, settings: Settings) -> str:
    """The demo password of a role: predictable on purpose, refused in production."""
    return f"kracht-{role.value}-{settings.demo_password_suffix.get_secret_value()}"


def seed_demo(session: Session, *, settings: Settings, members: int = DEMO_MEMBERS) -> DemoReport:
    """One user per role and `members` members (idempotent: existing demo users and members are left alone)."""
    if settings.is_production:
        raise Forbidden("demo data is refused in production")
    seed_reference_data(session)
    report = DemoReport()
    for role in Role:
        email = f"{role.value.replace('_', '-')}@{DEMO_DOMAIN}"
        password = demo_password(role, settings)
        if user_by_email(session, email=email) is None:
            create_user(session, email=email, roles=[role], password=password)
            report.created += 1
        report.users.append(DemoUser(role=role.value, email=email, password=password))
    imported = import_members(session, rows_source=io.StringIO(demo_member_rows(members)), dry_run=False)
    if imported.errors:
        raise Conflict(f"the demo members could not be imported: {imported.errors[:3]}")
    report.members = imported.imported
    report.subscriptions = seed_demo_subscriptions(session, today=today_amsterdam(), seed=DEMO_SEED,
                                                   public_url=settings.public_url)
    if imported.imported:
        board = user_by_email(session, email=f"board@{DEMO_DOMAIN}")
        report.leavers = _demo_leavers(session, today=today_amsterdam(), board_id=board.id if board else None)
        _link_demo_member(session)
    return report


def _link_demo_member(session: Session) -> None:
    """The demo member's sign-in is the first person who is still a member, so "my page" has something to show."""
    user = user_by_email(session, email=f"member@{DEMO_DOMAIN}")
    for member, status, _ in members_with_status(session, at=today_amsterdam()):
        if user is not None and member.kind is MemberKind.PERSON and status is MemberStatus.ACTIVE:
            member.user_id = user.id
            session.add(member)
            session.flush()
            return


def _demo_leavers(session: Session, *, today: date, board_id: uuid.UUID | None) -> int:
    """Members who cancelled their subscription resign when it ends; a third of those whose subscription lapsed
    are expelled a month later. Every share goes back with the board's approval, as the real steps would."""
    left = 0
    for member, status, _ in members_with_status(session, at=today):
        subscription = latest_subscription(session, member_id=member.id)
        if status is not MemberStatus.ACTIVE or subscription is None or subscription.ends_on is None:
            continue
        if subscription.end_reason is EndReason.CANCELED:
            asked_on = min(subscription.ends_on - timedelta(days=31), today)
            with _at(asked_on):
                mutations = resign(session, member_id=member.id, requested_by=None,
                                   effective_on=subscription.ends_on)
        elif subscription.end_reason is EndReason.LAPSED and (member.member_number or 0) % 3 == 0:
            expelled_on = subscription.ends_on + timedelta(days=30)
            if expelled_on > today:
                continue
            with _at(expelled_on):
                mutations = end_membership(session, member_id=member.id, kind=FactKind.EXPELLED,
                                           effective_on=expelled_on, note="contributie niet betaald",
                                           recorded_by=None)
        else:
            continue
        left += 1
        if board_id is not None:
            for mutation in mutations:
                with _at(min(mutation.effective_on, today)):
                    approve_mutation(session, mutation_id=mutation.id, approver_id=board_id)
    return left


def _at(day: date) -> AbstractContextManager[datetime]:
    """Act at 10:00 UTC on `day`."""
    return frozen_clock(datetime.combine(day, time(10, 0), tzinfo=UTC))


def demo_member_rows(count: int, *, today: date | None = None) -> str:
    """A members' spreadsheet (CSV) of `count` Dutch members who joined over the three years before `today`.

    Deterministic: the same people (so importing it again skips everyone), joined the same number of days
    before `today`. Names and addresses are made up; e-mail addresses use the reserved example domains.
    """
    fake = Faker("nl_NL")
    fake.seed_instance(DEMO_SEED)
    pick = fake.random
    end = today or today_amsterdam()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, delimiter=";", lineterminator="\n")
    writer.writeheader()
    emails: set[str] = set()
    for _ in range(count):
        # One draw after another from one seeded generator: the first n rows are the same for any count.
        kind = pick.choices([kind for kind, _ in DEMO_KINDS], weights=[weight for _, weight in DEMO_KINDS])[0]
        municipality = pick.choices(_DEMO_MUNICIPALITIES, weights=_DEMO_WEIGHTS)[0]
        city = MUNICIPALITIES[municipality]
        name, local, domain = _demo_name(fake, kind, city)
        email = f"{local}@{domain}"
        while email in emails:
            email = f"{local}{pick.randint(2, 99)}@{domain}"
        emails.add(email)
        organised = kind is not MemberKind.PERSON
        writer.writerow({
            "kind": kind.value, "name": name, "email": email,
            "joined_on": (end - timedelta(days=pick.randint(0, 3 * 365))).isoformat(),
            "street": fake.street_address(), "postcode": fake.postcode(), "city": city,
            "municipality_code": municipality,
            "iban": fake.iban() if pick.random() < (0.9 if organised else 0.6) else "",
            "kvk_number": str(pick.randint(10_000_000, 99_999_999))
            if organised and (kind is not MemberKind.INITIATIVE or pick.random() < 0.5) else "",
            "membership_shares": 1,
            "social_shares": _demo_social_shares(pick, kind),
        })
    return out.getvalue()


def _demo_name(fake: Faker, kind: MemberKind, city: str) -> tuple[str, str, str]:
    """A name that fits the kind of member, with an e-mail local part and domain."""
    pick = fake.random
    if kind is MemberKind.PERSON:
        name = fake.name()
        return name, _slug(name, "."), pick.choice(("example.com", "example.net", "example.org"))
    first, last = (pick.choice(words) for words in _DEMO_NAME_PARTS[kind])
    place = city if kind in (MemberKind.INITIATIVE, MemberKind.GOVERNMENT, MemberKind.ORGANISATION) \
        else fake.last_name()
    name = f"{first} {place} {last}".strip()
    return name, pick.choice(("info", "bestuur", "administratie", "hallo")), f"{_slug(name, '-')}.example.org"


_DEMO_NAME_PARTS: dict[MemberKind, tuple[tuple[str, ...], tuple[str, ...]]] = {
    MemberKind.INITIATIVE: (("Energiecoöperatie", "Buurtinitiatief", "Repair Café", "Voedselbos", "Zonnedak",
                             "Buurtmoestuin"), ("",)),
    MemberKind.SOCIAL_ENTERPRISE: (("Kringloop", "Fietswerkplaats", "Koffiebranderij", "Schoonmaakcoöperatie",
                                    "Leerwerkbedrijf"), ("",)),
    MemberKind.COMPANY: (("Bouwbedrijf", "Installatiebedrijf", "Schildersbedrijf", "Hoveniersbedrijf",
                          "Adviesbureau", "Bakkerij", "Garage"), ("B.V.", "BV", "V.O.F.")),
    MemberKind.GOVERNMENT: (("Gemeente", "Gemeente", "Waterschap", "Provincie"), ("",)),
    MemberKind.ORGANISATION: (("Stichting Dorpsbelangen", "Stichting Duurzaam", "Vereniging Wijkraad",
                               "Vereniging Sportpark", "Stichting Woonzorg"), ("",)),
}


def _demo_social_shares(pick: random.Random, kind: MemberKind) -> int:
    """Social shares only for those who may hold them: most companies a few, governments more."""
    if kind is MemberKind.COMPANY:
        return pick.choice((0, 1, 2, 4, 5, 10, 20))
    if kind is MemberKind.GOVERNMENT:
        return pick.choice((10, 20, 40))
    if kind is MemberKind.ORGANISATION:
        return pick.choice((0, 1, 2, 4))
    return 0


def _slug(text: str, separator: str) -> str:
    """`Aimée van Susa-Timmermans` -> `aimee.van.susa.timmermans` (ASCII, for e-mail addresses)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return separator.join(re.findall(r"[a-z0-9]+", ascii_text))

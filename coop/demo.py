"""Demo data for development and demos: loaded once, never in production."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session

from coop.auth.models import Role
from coop.auth.service import create_user, user_by_email
from coop.core.errors import Forbidden
from coop.core.settings import Settings
from coop.reference_data import seed_reference_data

DEMO_DOMAIN = "demo.kracht.nl"


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


def demo_password(role: Role, settings: Settings) -> str:
    """The demo password of a role: predictable on purpose, refused in production."""
    return f"kracht-{role.value}-{settings.demo_password_suffix.get_secret_value()}"


def seed_demo(session: Session, *, settings: Settings) -> DemoReport:
    """One user per role (idempotent: existing demo users are left alone)."""
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
    return report

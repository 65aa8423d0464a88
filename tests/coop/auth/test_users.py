"""Creating users: unique case-insensitive e-mail, a real password, stored only as an argon2 hash."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from coop.auth.models import Role, User, UserRole
from coop.auth.service import MIN_PASSWORD_LENGTH, create_user, grant_roles, roles_of, user_by_email
from coop.core.errors import Conflict, InvalidInput

PASSWORD = "a-long-enough-password"


def test_create_user_stores_lowercase_email_roles_and_an_argon2_hash(session: Session) -> None:
    user = create_user(session, email="  Maria.Jansen@Example.NL ", roles=[Role.TREASURER, Role.BOARD],
                       password=PASSWORD)

    stored = session.exec(select(User).where(User.id == user.id)).one()
    assert stored.email == "maria.jansen@example.nl"
    assert stored.active is True
    assert stored.password_hash is not None
    assert stored.password_hash.startswith("$argon2")
    assert PASSWORD not in stored.password_hash
    assert roles_of(session, user_id=user.id) == [Role.BOARD, Role.TREASURER]


def test_same_password_gives_different_hashes(session: Session) -> None:
    first = create_user(session, email="salt-1@example.org", roles=[Role.MEMBER], password=PASSWORD)
    second = create_user(session, email="salt-2@example.org", roles=[Role.MEMBER], password=PASSWORD)

    assert first.password_hash != second.password_hash


def test_user_without_password_has_no_hash(session: Session) -> None:
    user = create_user(session, email="link@example.org", roles=[Role.MEMBER])

    assert user.password_hash is None


@pytest.mark.parametrize(
    "again", ["dup@example.org", "DUP@example.org", "Dup@Example.Org", " dup@example.org\t"]
)
def test_duplicate_email_is_a_conflict_naming_email(session: Session, again: str) -> None:
    create_user(session, email="dup@example.org", roles=[Role.MEMBER], password=PASSWORD)

    with pytest.raises(Conflict) as refused:
        create_user(session, email=again, roles=[Role.BOARD], password=PASSWORD)

    assert refused.value.field == "email"
    assert refused.value.status == 409
    assert len(session.exec(select(User).where(User.email == "dup@example.org")).all()) == 1


@pytest.mark.parametrize("password", ["", "short", "x" * (MIN_PASSWORD_LENGTH - 1)])
def test_short_password_is_invalid_input_naming_password(session: Session, password: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        create_user(session, email="shorty@example.org", roles=[Role.MEMBER], password=password)

    assert refused.value.field == "password"
    assert user_by_email(session, email="shorty@example.org") is None


def test_password_of_minimum_length_is_accepted(session: Session) -> None:
    password = "x" * MIN_PASSWORD_LENGTH
    user = create_user(session, email="exact@example.org", roles=[Role.MEMBER], password=password)

    assert user.password_hash is not None and user.password_hash.startswith("$argon2")


@pytest.mark.parametrize(
    "email",
    ["", "   ", "no-at-sign", "@example.org", "someone@", "@", "x" * 250 + "@example.org"],
    ids=["empty", "blank", "no-at", "no-local-part", "no-domain", "only-at", "too-long"],
)
def test_bad_email_is_invalid_input_naming_email(session: Session, email: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        create_user(session, email=email, roles=[Role.MEMBER], password=PASSWORD)

    assert refused.value.field == "email"
    assert session.exec(select(User).where(User.email == email.strip().lower())).first() is None


def test_user_by_email_is_case_insensitive(session: Session) -> None:
    user = create_user(session, email="finder@example.org", roles=[Role.MEMBER], password=PASSWORD)

    assert user_by_email(session, email="FINDER@Example.org") == user
    assert user_by_email(session, email="nobody@example.org") is None


def test_grant_roles_adds_only_missing_roles(session: Session) -> None:
    user = create_user(session, email="grow@example.org", roles=[Role.MEMBER], password=PASSWORD)

    grant_roles(session, user=user, roles=[Role.MEMBER, Role.INITIATOR, Role.INITIATOR])

    rows = session.exec(select(UserRole).where(UserRole.user_id == user.id)).all()
    assert sorted(r.role for r in rows) == [Role.INITIATOR, Role.MEMBER]

"""Sign-in, tokens and roles."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from pwdlib import PasswordHash
from sqlalchemy import func
from sqlmodel import Session, col, select

from coop.auth.models import AccessToken, LoginAttempt, Role, User, UserRole
from coop.auth.schemas import CurrentUser
from coop.core.clock import utc_now
from coop.core.errors import Conflict, InvalidInput, NotFound, TooManyRequests, Unauthorized

_hasher = PasswordHash.recommended()  # argon2id
# Verified against when the e-mail is unknown, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash("kracht-timing-equaliser")
MIN_PASSWORD_LENGTH = 10
EMAIL_MAX_LENGTH = 254  # RFC 5321, and the width of the e-mail columns


class InvalidCredentials(Unauthorized):
    """Wrong e-mail or password; the attempt itself is kept, so the refusal commits."""

    keeps_changes = True


def normalise_email(email: str) -> str:
    """E-mail addresses compare case-insensitively."""
    return email.strip().lower()


def hash_token(token: str) -> str:
    """Tokens are stored as SHA-256: they are long random strings, so no salt or slow hash is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    session: Session, *, email: str, roles: Iterable[Role], password: str | None = None,
) -> User:
    """A new active user with `roles`; a password is optional (sign-in by e-mail link comes later)."""
    address = normalise_email(email)
    if len(address) > EMAIL_MAX_LENGTH:
        raise InvalidInput(f"an e-mail address has at most {EMAIL_MAX_LENGTH} characters", field="email")
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidInput(f"not an e-mail address: {error}", field="email") from None
    if session.exec(select(User).where(User.email == address)).first() is not None:
        raise Conflict("a user with this e-mail exists", field="email")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD_LENGTH} characters", field="password")
    user = User(email=address, password_hash=_hasher.hash(password) if password is not None else None)
    session.add(user)
    session.flush()
    grant_roles(session, user=user, roles=roles)
    return user


def grant_roles(session: Session, *, user: User, roles: Iterable[Role]) -> None:
    """Add roles the user does not hold yet."""
    held = set(roles_of(session, user_id=user.id))
    for role in sorted(set(roles) - held):
        session.add(UserRole(user_id=user.id, role=role))
    session.flush()


def roles_of(session: Session, *, user_id: uuid.UUID) -> list[Role]:
    """The roles a user holds, sorted."""
    return sorted(Role(role) for role in session.exec(select(UserRole.role).where(UserRole.user_id == user_id)))


def user_by_email(session: Session, *, email: str) -> User | None:
    """The user with this e-mail, or None."""
    return session.exec(select(User).where(User.email == normalise_email(email))).first()


def _recent_failures(session: Session, *, email: str, since: datetime) -> int:
    """Failed sign-ins for `email` since `since`."""
    count = session.exec(
        select(func.count()).select_from(LoginAttempt)
        .where(LoginAttempt.email == email, col(LoginAttempt.at) >= since)
    ).one()
    return int(count)


def issue_token(
    session: Session, *, email: str, password: str, ttl: timedelta, max_failures: int, window: timedelta,
) -> tuple[str, AccessToken]:
    """Check the password and hand out a new opaque token (the only time the plain token exists).

    After `max_failures` failed attempts for the e-mail within `window`, every
    further attempt is refused with 429 until the window has passed.
    """
    address = normalise_email(email)
    now = utc_now()
    if _recent_failures(session, email=address, since=now - window) >= max_failures:
        raise TooManyRequests("too many failed sign-ins; try again later", field="username",
                              headers={"Retry-After": str(int(window.total_seconds()))})
    user = user_by_email(session, email=address)
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    valid = _hasher.verify(password, stored)
    if user is None or not user.active or not user.password_hash or not valid:
        if len(address) <= EMAIL_MAX_LENGTH:  # a longer one is nobody's address and would not fit the column
            session.add(LoginAttempt(email=address, at=now))
            session.flush()
        raise InvalidCredentials("wrong e-mail or password", field="username",
                                 headers={"WWW-Authenticate": "Bearer"})
    return create_token(session, user_id=user.id, ttl=ttl)


def create_token(session: Session, *, user_id: uuid.UUID, ttl: timedelta) -> tuple[str, AccessToken]:
    """A new opaque token for a user: the plain value is returned once and stored only as a hash."""
    plain = secrets.token_urlsafe(32)
    token = AccessToken(token_hash=hash_token(plain), user_id=user_id, expires_at=utc_now() + ttl)
    session.add(token)
    session.flush()
    return plain, token


def authenticate(session: Session, *, token: str) -> CurrentUser:
    """The user behind a bearer token, if it is known, unexpired, unrevoked and the user active."""
    found = session.exec(select(AccessToken).where(AccessToken.token_hash == hash_token(token))).first()
    if found is None or found.revoked_at is not None or found.expires_at <= utc_now():
        raise Unauthorized("invalid or expired token", headers={"WWW-Authenticate": "Bearer"})
    user = session.get(User, found.user_id)
    if user is None or not user.active:
        raise Unauthorized("invalid or expired token", headers={"WWW-Authenticate": "Bearer"})
    return CurrentUser(id=user.id, email=user.email, roles=frozenset(roles_of(session, user_id=user.id)))


def revoke_token(session: Session, *, token: str) -> None:
    """Sign out: the token stops working at once."""
    found = session.exec(select(AccessToken).where(AccessToken.token_hash == hash_token(token))).first()
    if found is None:
        raise NotFound("unknown token")
    if found.revoked_at is None:
        found.revoked_at = utc_now()
        session.add(found)
        session.flush()


def erase_user(session: Session, *, user_id: uuid.UUID) -> bool:
    """Anonymise a login that exists only for a membership (role member alone): False if it has other roles.

    The account is deactivated, its password removed and every token revoked.
    """
    user = session.get(User, user_id)
    if user is None or set(roles_of(session, user_id=user_id)) - {Role.MEMBER}:
        return False
    user.email = f"erased-{user.id.hex}@invalid.example"
    user.password_hash = None
    user.active = False
    session.add(user)
    now = utc_now()
    for token in session.exec(select(AccessToken).where(AccessToken.user_id == user.id,
                                                        col(AccessToken.revoked_at).is_(None))).all():
        token.revoked_at = now
        session.add(token)
    session.flush()
    return True

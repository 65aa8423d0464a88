"""FastAPI dependencies: who is calling, and may they?"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer

from coop.auth.models import Role
from coop.auth.schemas import CurrentUser
from coop.auth.service import authenticate
from coop.core.db import SessionDep
from coop.core.errors import Forbidden, Unauthorized

bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
BearerToken = Annotated[str | None, Depends(bearer)]


def current_user(session: SessionDep, token: BearerToken) -> CurrentUser:
    """The authenticated caller; 401 without a valid token."""
    if not token:
        raise Unauthorized("sign in first: this endpoint needs a bearer token",
                           headers={"WWW-Authenticate": "Bearer"})
    return authenticate(session, token=token)


CurrentUserDep = Annotated[CurrentUser, Depends(current_user)]


def optional_user(session: SessionDep, token: BearerToken) -> CurrentUser | None:
    """The caller of a public endpoint that shows more to some users: None when anonymous, 401 for a bad token."""
    return authenticate(session, token=token) if token else None


OptionalUserDep = Annotated[CurrentUser | None, Depends(optional_user)]


def require_roles(*roles: Role) -> Callable[[CurrentUser], CurrentUser]:
    """A dependency that lets through callers holding any of `roles` (401 anonymous, 403 otherwise)."""
    allowed = frozenset(roles)

    def check(user: CurrentUserDep) -> CurrentUser:
        if not user.roles & allowed:
            raise Forbidden(f"needs one of the roles: {', '.join(sorted(allowed))}")
        return user

    return check

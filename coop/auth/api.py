"""Sign in, sign out, who am I."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.security import OAuth2PasswordRequestForm

from coop.auth.dependencies import BearerToken, CurrentUserDep
from coop.auth.schemas import TokenOut, UserPublic
from coop.auth.service import issue_token, revoke_token
from coop.core.db import SessionDep
from coop.core.errors import Unauthorized
from coop.core.http import rate_limited
from coop.core.settings import get_settings

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", response_model=TokenOut, dependencies=[Depends(rate_limited("sign_in"))])
def sign_in(session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> TokenOut:
    """OAuth2 password flow: e-mail as `username`, returns an opaque bearer token."""
    settings = get_settings()
    ttl = timedelta(minutes=settings.token_ttl_minutes)
    plain, _ = issue_token(
        session, email=form.username, password=form.password, ttl=ttl,
        max_failures=settings.login_max_failures, window=timedelta(minutes=settings.login_window_minutes),
    )
    return TokenOut(access_token=plain, expires_in=int(ttl.total_seconds()))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def sign_out(session: SessionDep, user: CurrentUserDep, token: BearerToken) -> None:
    """Revoke the token used for this request."""
    if token is None:
        raise Unauthorized("no token")
    revoke_token(session, token=token)


@router.get("/me", response_model=UserPublic)
def me(user: CurrentUserDep) -> UserPublic:
    """The signed-in user and their roles."""
    return UserPublic(id=user.id, email=user.email, roles=sorted(user.roles), active=True)

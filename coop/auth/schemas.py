"""Auth request and response shapes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from pydantic import BaseModel

from coop.auth.models import Role


class TokenOut(BaseModel):
    """OAuth2 bearer token response."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105  (the OAuth2 token type, not a secret)
    expires_in: int


class UserPublic(BaseModel):
    """A user as others may see it: never the password hash."""

    id: uuid.UUID
    email: str
    roles: list[Role]
    active: bool


@dataclass(frozen=True)
class CurrentUser:
    """The authenticated caller of a request."""

    id: uuid.UUID
    email: str
    roles: frozenset[Role]

    def has_any(self, *roles: Role) -> bool:
        """True if the caller holds at least one of `roles`."""
        return bool(self.roles.intersection(roles))

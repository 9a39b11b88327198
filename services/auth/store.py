"""The auth store: what the auth service keeps, in the domain's words.

One implementation (:mod:`services.auth.store_sql`) serves SQLite and PostgreSQL; the
contract suite in ``tests/auth/test_auth_store_contract.py`` runs against both.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from services.auth.records import LoginHistoryPage, LoginRecord, UserAccount
from services.auth.refresh import IssuedRefreshToken, PresentedRefreshToken
from services.kit.keyring import SigningKey


class LoginTaken(Exception):
    """Another user already has this login (compared case-insensitively)."""


class AuthStore(Protocol):
    async def create_user(self, user: UserAccount) -> None:
        """Adds ``user``; raises :class:`LoginTaken` when the login is in use."""

    async def user_by_login(self, login: str) -> UserAccount | None:
        """The user with this login, compared case-insensitively."""

    async def user_by_id(self, user_id: str) -> UserAccount | None: ...

    async def set_roles(self, user_id: str, roles: Sequence[str]) -> None:
        """Replaces the user's roles; their next access token carries them."""

    async def record_login(self, user_id: str, login: LoginRecord) -> None: ...

    async def login_history(
        self, user_id: str, page_size: int, before: int | None
    ) -> LoginHistoryPage:
        """``user_id``'s logins, newest first, starting after cursor ``before``."""

    async def start_token_family(self, token: IssuedRefreshToken) -> None:
        """Saves the first refresh token of a new family (a login)."""

    async def refresh_token(self, token_hash: str) -> PresentedRefreshToken | None: ...

    async def rotate_refresh_token(
        self, spent_hash: str, successor: IssuedRefreshToken, now: datetime
    ) -> bool:
        """Atomically marks ``spent_hash`` used and saves ``successor`` in its family.

        False, changing nothing, when the token was already spent (a concurrent or
        repeated use) or its family is revoked: at most one caller ever wins.
        """

    async def revoke_token_family(self, family_id: str, now: datetime) -> None:
        """Revokes every refresh token of the family; idempotent."""

    async def signing_keys(self) -> list[SigningKey]: ...

    async def add_signing_key(self, key: SigningKey) -> None: ...

    async def remove_signing_keys(self, kids: Sequence[str]) -> None: ...

    async def close(self) -> None: ...


async def open_store(dsn: str) -> AuthStore:
    """The backend named by ``CINEMA_AUTH_DSN`` (``sqlite:///`` or ``postgresql://``, both
    through SQLAlchemy), with its schema in place."""
    from services.auth.store_sql import SqlAuthStore

    return await SqlAuthStore.open(dsn)

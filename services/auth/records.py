"""The auth service's data types: accounts and their logins, as the store keeps them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class UserAccount:
    """A user as stored; ``password_hash`` is None for service accounts (no password)."""

    id: str
    login: str
    email: str | None
    roles: tuple[str, ...]
    created_at: datetime
    password_hash: str | None


@dataclass(frozen=True)
class LoginRecord:
    """One successful login."""

    login_time: datetime
    user_agent: str
    peer_address: str


@dataclass(frozen=True)
class LoginHistoryPage:
    """Logins newest first; ``next_cursor`` continues after the last one, None at the end."""

    logins: list[LoginRecord]
    next_cursor: int | None

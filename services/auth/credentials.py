"""Operator commands straight against the auth store: service credentials and roles."""

from __future__ import annotations

from datetime import UTC, datetime

from services.auth.service import open_accounts
from services.auth.settings import AuthSettings
from services.kit.config import MeshSettings
from services.kit.keyring import KeyRing


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def issue_service_token(
    config: AuthSettings, mesh: MeshSettings, name: str
) -> tuple[str, datetime]:
    """A ``service``-role access token for service ``name``, signed with a stored key.

    Running auth services read the stored keys, so they (and every service that fetches
    their JWKS) accept the token without a restart. Rotating keys stays their job: this
    signs with the current key and makes one only when the store has none.
    """
    accounts, store = await open_accounts(config, mesh, KeyRing(), _utc_now, rotate=False)
    try:
        return await accounts.issue_service_token(name)
    finally:
        await store.close()


async def grant_role(
    config: AuthSettings, mesh: MeshSettings, login: str, role: str
) -> tuple[str, ...]:
    """Gives a registered user a role (``admin``); their next token carries it."""
    accounts, store = await open_accounts(config, mesh, KeyRing(), _utc_now, rotate=False)
    try:
        return await accounts.grant_role(login, role)
    finally:
        await store.close()

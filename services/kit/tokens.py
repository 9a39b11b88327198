"""Access token verification against the auth service's published keys (JWKS).

Every service verifies tokens locally: keys are fetched from the auth service, cached by
``kid``, and fetched again when a token names a key the cache does not know (that is how
a key rotation reaches every service without a restart).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import jwt
import structlog

from services.kit.context import Caller
from services.kit.errors import Unauthenticated, Unavailable

#: The only signature algorithm we issue; anything else (``none`` included) is refused.
ALGORITHM = "EdDSA"

JwksFetcher = Callable[[], Awaitable[Mapping[str, Any]]]

log = structlog.get_logger(__name__)


class JwksCache:
    """Public keys by ``kid``, fetched on demand and refreshed on an unknown ``kid``."""

    def __init__(
        self,
        fetch: JwksFetcher,
        max_age_seconds: float = 300.0,
        min_refetch_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._max_age = max_age_seconds
        self._min_refetch = min_refetch_seconds
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> jwt.PyJWK | None:
        """The key with this id, or None when the auth service does not publish it."""
        if self._stale() or kid not in self._keys:
            await self._refresh(seen=self._fetched_at)
        return self._keys.get(kid)

    def _stale(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at > self._max_age

    async def _refresh(self, seen: float | None) -> None:
        async with self._lock:
            if self._fetched_at != seen:
                return  # fetched while this caller waited for the lock: that answer stands
            # At most one fetch per `min_refetch_seconds`, so a burst of tokens with bogus
            # key ids cannot become a burst of fetches; a caller within that floor waits
            # for it rather than failing, so a key that just rotated in is still learned.
            if self._fetched_at is not None:
                wait = self._min_refetch - (self._clock() - self._fetched_at)
                if wait > 0:
                    await asyncio.sleep(wait)
            jwks = await self._fetch()
            keys: dict[str, jwt.PyJWK] = {}
            for entry in jwks.get("keys", []):
                try:
                    keys[entry["kid"]] = jwt.PyJWK(dict(entry))
                except (KeyError, jwt.PyJWKError) as error:
                    log.warning("jwks_key_skipped", kid=entry.get("kid"), error=str(error))
            self._keys = keys
            self._fetched_at = self._clock()


class TokenVerifier:
    """Turns a bearer token into a :class:`Caller`, or raises :class:`Unauthenticated`."""

    def __init__(self, keys: JwksCache, issuer: str, audience: str, leeway: float = 10.0):
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway

    async def verify(self, token: str) -> Caller:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as error:
            raise Unauthenticated("malformed access token") from error
        if header.get("alg") != ALGORITHM:
            raise Unauthenticated("access token signed with an unsupported algorithm")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise Unauthenticated("access token has no key id")
        try:
            key = await self._keys.key(kid)
        except Exception as error:
            log.warning("jwks_fetch_failed", error=repr(error))
            raise Unavailable("cannot verify the access token now; try again") from error
        if key is None:
            raise Unauthenticated("access token signed by an unknown key")
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                audience=self._audience,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise Unauthenticated("access token expired") from error
        except jwt.InvalidTokenError as error:
            raise Unauthenticated("invalid access token") from error
        roles = claims.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
            raise Unauthenticated("invalid access token")
        return Caller(user_id=str(claims["sub"]), roles=frozenset(roles))

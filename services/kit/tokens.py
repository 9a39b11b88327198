"""Access token verification against the auth service's published keys (JWKS).

Every service verifies tokens locally: keys are fetched from the auth service, cached by
``kid``, and fetched again when a token names a key the cache does not know (that is how
a key rotation reaches every service without a restart) or when the cache is older than
its refresh interval (that is how a retired key stops verifying).

The auth service being down must not take every other service down with it: keys
already known keep verifying (a retired key signed only tokens that have expired), and
fetches are shared and rate-limited, so neither an outage nor a flood of made-up key
ids becomes a flood of fetches or of callers waiting for one.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
import structlog

from services.kit import metrics
from services.kit.context import Caller
from services.kit.errors import Unauthenticated, Unavailable

#: The only signature algorithm we issue; anything else (``none`` included) is refused.
ALGORITHM = "EdDSA"

#: Verified tokens remembered (a few hundred bytes each): about one per active session.
VERIFIED_TOKENS_KEPT = 10_000

JwksFetcher = Callable[[], Awaitable[Mapping[str, Any]]]

log = structlog.get_logger(__name__)


class JwksCache:
    """Public keys by ``kid``: fetched on demand, refreshed when stale or on an unknown ``kid``.

    At most one fetch runs at a time. An unknown ``kid`` triggers one at most once per
    ``min_refetch_seconds`` (a flood of made-up ids is refused from the cache), and so
    does a failed fetch (an outage is not hammered). A caller waits for a running fetch
    at most ``wait_seconds`` after it started; past that, a known key is served stale.
    Only an empty cache waits for the fetch to end: it has nothing else to go on.
    """

    def __init__(
        self,
        fetch: JwksFetcher,
        max_age_seconds: float = 300.0,
        min_refetch_seconds: float = 1.0,
        wait_seconds: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._max_age = max_age_seconds
        self._min_refetch = min_refetch_seconds
        self._wait = wait_seconds
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] | None = None  # None: never fetched
        self._fetched_at: float | None = None  # the last fetch that succeeded
        self._attempted_at = 0.0  # the end of the last fetch, either way
        self._failed = False  # the last fetch failed: an unknown kid cannot be judged
        self._refetched_at: float | None = None  # the last fetch for an unknown kid
        self._fetching: asyncio.Task[None] | None = None
        self._fetching_since = 0.0

    async def key(self, kid: str) -> jwt.PyJWK | None:
        """The key with this id, or None when the auth service does not publish it.

        Raises :class:`Unavailable` when the auth service cannot be asked and the cache
        does not know the key.
        """
        unknown = self._keys is not None and kid not in self._keys
        if self._stale() or unknown:
            await self._refresh(for_unknown_kid=unknown and not self._stale())
        keys = self._keys or {}
        if kid in keys:
            if self._stale():
                metrics.JWKS_STALE_VERIFICATIONS.inc()
            return keys[kid]
        if self._keys is None or self._failed or self._fetching is not None:
            raise Unavailable("cannot verify the access token now; try again")
        return None

    def _stale(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at > self._max_age

    async def _refresh(self, for_unknown_kid: bool) -> None:
        """Starts a fetch if one may start, then waits for the running one, boundedly."""
        now = self._clock()
        if self._fetching is None and self._may_fetch(now, for_unknown_kid):
            # A context of its own: the fetch is shared, not bound by whichever RPC's
            # deadline happened to start it.
            self._fetching = asyncio.create_task(self._fetch_keys(), context=contextvars.Context())
            self._fetching_since = now
            if for_unknown_kid:
                self._refetched_at = now
        if self._fetching is None:
            return
        if self._keys is None:
            await asyncio.shield(self._fetching)
            return
        wait = self._fetching_since + self._wait - now
        if wait > 0:
            await asyncio.wait([self._fetching], timeout=wait)

    def _may_fetch(self, now: float, for_unknown_kid: bool) -> bool:
        if self._failed and now - self._attempted_at < self._min_refetch:
            return False
        recently = self._refetched_at is not None and now - self._refetched_at < self._min_refetch
        return not (for_unknown_kid and recently)

    async def _fetch_keys(self) -> None:
        try:
            keys = _parsed(await self._fetch())
        except Exception as error:
            self._failed = True
            metrics.JWKS_FETCHES.labels("failed").inc()
            age = None if self._fetched_at is None else round(self._clock() - self._fetched_at)
            log.warning("jwks_refresh_failed", error=repr(error), keys_age_seconds=age)
        else:
            self._keys, self._fetched_at, self._failed = keys, self._clock(), False
            metrics.JWKS_FETCHES.labels("ok").inc()
            metrics.JWKS_FETCHED.set_to_current_time()
        finally:
            self._attempted_at = self._clock()
            self._fetching = None


def _parsed(jwks: Mapping[str, Any]) -> dict[str, jwt.PyJWK]:
    keys: dict[str, jwt.PyJWK] = {}
    for entry in jwks.get("keys", []):
        try:
            keys[entry["kid"]] = jwt.PyJWK(dict(entry))
        except (KeyError, jwt.PyJWKError) as error:
            log.warning("jwks_key_skipped", kid=entry.get("kid"), error=str(error))
    return keys


class TokenVerifier:
    """Turns a bearer token into a :class:`Caller`, or raises :class:`Unauthenticated`."""

    def __init__(self, keys: JwksCache, issuer: str, audience: str, leeway: float = 10.0):
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway
        self._verified: OrderedDict[str, _Verified] = OrderedDict()

    async def verify(self, token: str) -> Caller:
        """The token's caller. A client sends the same token with every call, so a token
        verified before is answered from memory while it has not expired and the key
        that signed it is still the one the JWKS holds for its ``kid``."""
        known = self._verified.get(token)
        if known is not None:
            if time.time() < known.expires_at + self._leeway and (
                await self._keys.key(known.kid) is known.key
            ):
                self._verified.move_to_end(token)
                return known.caller
            del self._verified[token]
        caller, verified = await self._verify_signature(token)
        self._verified[token] = verified
        if len(self._verified) > VERIFIED_TOKENS_KEPT:
            self._verified.popitem(last=False)
        return caller

    async def _verify_signature(self, token: str) -> tuple[Caller, _Verified]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as error:
            raise Unauthenticated("malformed access token") from error
        if header.get("alg") != ALGORITHM:
            raise Unauthenticated("access token signed with an unsupported algorithm")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise Unauthenticated("access token has no key id")
        key = await self._keys.key(kid)
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
        caller = Caller(user_id=str(claims["sub"]), roles=frozenset(roles))
        return caller, _Verified(caller, kid, key, float(claims["exp"]))


@dataclass(frozen=True)
class _Verified:
    """A token whose signature and claims were checked: who it names, until when, by
    which key."""

    caller: Caller
    kid: str
    key: jwt.PyJWK
    expires_at: float

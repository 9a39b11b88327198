"""Access token rules, without a server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from services.auth.keys import new_signing_key
from services.kit.errors import Unauthenticated, Unavailable
from services.kit.keyring import AccessTokenRules, KeyRing
from services.kit.tokens import JwksCache, TokenVerifier

RULES = AccessTokenRules(issuer="cinema-auth", audience="cinema", ttl=timedelta(minutes=15))


class CountingJwks:
    """A JWKS source that counts how often it is asked; it can be down, or hang."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring
        self.fetches = 0
        self.down = False
        self.hung: asyncio.Event | None = None

    async def __call__(self) -> Mapping[str, Any]:
        self.fetches += 1
        await asyncio.sleep(0.01)  # a network round trip: other callers run meanwhile
        if self.hung is not None:
            await self.hung.wait()
        if self.down:
            raise ConnectionError("auth service down")
        return self.ring.jwks()


def verifier_for(
    source: CountingJwks, min_refetch: float = 0.0, max_age: float = 300
) -> TokenVerifier:
    cache = JwksCache(source, max_age_seconds=max_age, min_refetch_seconds=min_refetch)
    return TokenVerifier(cache, issuer=RULES.issuer, audience=RULES.audience)


def _token(ring: KeyRing, user_id: str = "u1") -> str:
    token, _ = ring.issue_access_token(user_id, ["user"], RULES, datetime.now(UTC))
    return token


async def test_token_carries_user_and_roles() -> None:
    ring = KeyRing([new_signing_key(datetime.now(UTC))])
    token, _ = ring.issue_access_token("u1", ["user", "admin"], RULES, datetime.now(UTC))
    caller = await verifier_for(CountingJwks(ring)).verify(token)
    assert caller.user_id == "u1" and caller.roles == {"user", "admin"}


async def test_keys_are_fetched_once_and_cached_by_kid() -> None:
    source = CountingJwks(KeyRing([new_signing_key(datetime.now(UTC))]))
    verifier = verifier_for(source)
    for _ in range(5):
        token, _ = source.ring.issue_access_token("u1", ["user"], RULES, datetime.now(UTC))
        await verifier.verify(token)
    assert source.fetches == 1


async def test_a_rotated_key_is_learned_on_its_first_token() -> None:
    now = datetime.now(UTC)
    old = new_signing_key(now - timedelta(days=1))
    source = CountingJwks(KeyRing([old]))
    verifier = verifier_for(source)
    old_token, _ = source.ring.issue_access_token("u1", ["user"], RULES, now)
    await verifier.verify(old_token)

    source.ring = KeyRing([old, new_signing_key(now)])
    new_token, _ = source.ring.issue_access_token("u1", ["user"], RULES, now)
    assert (await verifier.verify(new_token)).user_id == "u1"
    assert (await verifier.verify(old_token)).user_id == "u1"
    assert source.fetches == 2


async def test_a_burst_of_unknown_kids_costs_one_fetch() -> None:
    source = CountingJwks(KeyRing([new_signing_key(datetime.now(UTC))]))
    verifier = verifier_for(source, min_refetch=60.0)
    foreign = KeyRing([new_signing_key(datetime.now(UTC))])
    token, _ = foreign.issue_access_token("u1", ["user"], RULES, datetime.now(UTC))
    results = await asyncio.gather(
        *(verifier.verify(token) for _ in range(20)), return_exceptions=True
    )
    assert all(isinstance(result, Unauthenticated) for result in results)
    assert source.fetches == 1


async def test_a_key_rotated_in_right_after_a_fetch_is_still_learned() -> None:
    now = datetime.now(UTC)
    old = new_signing_key(now)
    source = CountingJwks(KeyRing([old]))
    verifier = verifier_for(source, min_refetch=0.2)
    old_token, _ = source.ring.issue_access_token("u1", ["user"], RULES, now)
    await verifier.verify(old_token)
    source.ring = KeyRing([old, new_signing_key(now + timedelta(seconds=1))])
    new_token, _ = source.ring.issue_access_token("u2", ["user"], RULES, now)
    assert (await verifier.verify(new_token)).user_id == "u2"
    assert source.fetches == 2


async def test_a_stream_of_unknown_kids_costs_one_fetch_per_floor_and_no_waiting() -> None:
    source = CountingJwks(KeyRing([new_signing_key(datetime.now(UTC))]))
    verifier = verifier_for(source, min_refetch=60.0)
    await verifier.verify(_token(source.ring))
    foreign = KeyRing([new_signing_key(datetime.now(UTC))])
    started = time.monotonic()
    for _ in range(400):
        with pytest.raises(Unauthenticated):
            await verifier.verify(_token(foreign))
    assert time.monotonic() - started < 10  # 400 refusals; each one used to wait ~1 s
    assert source.fetches <= 2


async def test_known_keys_keep_verifying_while_auth_is_down() -> None:
    source = CountingJwks(KeyRing([new_signing_key(datetime.now(UTC))]))
    verifier = verifier_for(source, min_refetch=0.05, max_age=0.05)
    assert (await verifier.verify(_token(source.ring))).user_id == "u1"
    source.down = True
    stale_before = REGISTRY.get_sample_value("cinema_jwks_stale_verifications_total") or 0
    for _ in range(5):
        await asyncio.sleep(0.06)  # past the refresh interval, and past the refetch floor
        assert (await verifier.verify(_token(source.ring))).user_id == "u1"
    assert (REGISTRY.get_sample_value("cinema_jwks_stale_verifications_total") or 0) > stale_before
    source.down = False
    await asyncio.sleep(0.06)
    assert (await verifier.verify(_token(source.ring))).user_id == "u1"
    assert (REGISTRY.get_sample_value("cinema_jwks_fetches_total", {"outcome": "failed"}) or 0) > 0


async def test_known_keys_keep_verifying_while_auth_hangs() -> None:
    source = CountingJwks(KeyRing([new_signing_key(datetime.now(UTC))]))
    verifier = verifier_for(source, min_refetch=0.05, max_age=0.05)
    await verifier.verify(_token(source.ring))
    source.hung = asyncio.Event()
    await asyncio.sleep(0.06)
    started = time.monotonic()
    for _ in range(20):
        assert (await verifier.verify(_token(source.ring))).user_id == "u1"
    assert time.monotonic() - started < 5  # bounded by one short wait, not per token
    assert source.fetches == 2  # one fetch in flight, shared
    source.hung.set()


async def test_unknown_kids_while_auth_is_down_are_unavailable_at_once() -> None:
    source = CountingJwks(KeyRing([new_signing_key(datetime.now(UTC))]))
    verifier = verifier_for(source, min_refetch=60.0)
    await verifier.verify(_token(source.ring))
    source.down = True
    foreign = KeyRing([new_signing_key(datetime.now(UTC))])
    results = await asyncio.gather(
        *(verifier.verify(_token(foreign)) for _ in range(50)), return_exceptions=True
    )
    # The first fetch after the floor fails: whether the key exists cannot be told.
    assert all(isinstance(result, Unauthenticated | Unavailable) for result in results)
    assert source.fetches <= 2


async def test_a_key_retired_by_auth_is_refused_once_the_cache_is_refreshed() -> None:
    now = datetime.now(UTC)
    old, new = new_signing_key(now - timedelta(days=1)), new_signing_key(now)
    source = CountingJwks(KeyRing([old]))
    verifier = verifier_for(source, min_refetch=0.05, max_age=0.05)
    old_token = _token(source.ring)
    await verifier.verify(old_token)
    source.ring = KeyRing([new])  # every token of the old key has expired: it is retired
    await asyncio.sleep(0.06)
    with pytest.raises(Unauthenticated):
        await verifier.verify(old_token)


async def test_an_unreachable_auth_service_is_unavailable_not_a_bad_token() -> None:
    async def down() -> Mapping[str, Any]:
        raise ConnectionError("auth service down")

    ring = KeyRing([new_signing_key(datetime.now(UTC))])
    token, _ = ring.issue_access_token("u1", ["user"], RULES, datetime.now(UTC))
    verifier = TokenVerifier(JwksCache(down), issuer=RULES.issuer, audience=RULES.audience)
    with pytest.raises(Unavailable):
        await verifier.verify(token)


async def test_token_for_another_audience_is_refused() -> None:
    ring = KeyRing([new_signing_key(datetime.now(UTC))])
    other = AccessTokenRules(issuer=RULES.issuer, audience="someone-else", ttl=RULES.ttl)
    token, _ = ring.issue_access_token("u1", ["user"], other, datetime.now(UTC))
    with pytest.raises(Unauthenticated):
        await verifier_for(CountingJwks(ring)).verify(token)


async def test_a_token_verified_before_is_refused_once_it_expires() -> None:
    ring = KeyRing([new_signing_key(datetime.now(UTC))])
    short = AccessTokenRules(issuer=RULES.issuer, audience=RULES.audience, ttl=timedelta(seconds=1))
    token, _ = ring.issue_access_token("u1", ["user"], short, datetime.now(UTC))
    cache = JwksCache(CountingJwks(ring))
    verifier = TokenVerifier(cache, issuer=RULES.issuer, audience=RULES.audience, leeway=0)
    assert (await verifier.verify(token)).user_id == "u1"
    assert (await verifier.verify(token)).user_id == "u1"  # again, as every RPC asks
    await asyncio.sleep(1.1)
    with pytest.raises(Unauthenticated, match="expired"):
        await verifier.verify(token)


async def test_a_token_verified_before_is_refused_once_its_key_is_retired() -> None:
    now = datetime.now(UTC)
    old, new = new_signing_key(now - timedelta(days=1)), new_signing_key(now)
    source = CountingJwks(KeyRing([old]))
    verifier = verifier_for(source, min_refetch=0.05, max_age=0.05)
    old_token = _token(source.ring)
    for _ in range(3):
        await verifier.verify(old_token)
    source.ring = KeyRing([new])  # withdrawn, say after a leak: its tokens must stop at once
    await asyncio.sleep(0.06)
    with pytest.raises(Unauthenticated):
        await verifier.verify(old_token)

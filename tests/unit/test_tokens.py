"""Access token rules, without a server."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.auth.keys import AccessTokenRules, KeyRing, new_signing_key
from services.kit.errors import Unauthenticated, Unavailable
from services.kit.tokens import JwksCache, TokenVerifier

RULES = AccessTokenRules(issuer="cinema-auth", audience="cinema", ttl=timedelta(minutes=15))


class CountingJwks:
    """A JWKS source that counts how often it is asked."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring
        self.fetches = 0

    async def __call__(self) -> Mapping[str, Any]:
        self.fetches += 1
        await asyncio.sleep(0.01)  # a network round trip: other callers run meanwhile
        return self.ring.jwks()


def verifier_for(source: CountingJwks, min_refetch: float = 0.0) -> TokenVerifier:
    cache = JwksCache(source, max_age_seconds=300, min_refetch_seconds=min_refetch)
    return TokenVerifier(cache, issuer=RULES.issuer, audience=RULES.audience)


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

"""The auth service down: tokens of known keys still verify, made-up key ids cost nothing."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from prometheus_client import REGISTRY

from cinema.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from cinema.likes.v1 import likes_pb2, likes_pb2_grpc
from services.auth.keys import new_signing_key
from services.kit import clients
from services.kit.keyring import AccessTokenRules, KeyRing
from services.stack import Stack
from tests.fixtures.stack import bearer, embedded_settings, mint_token

REFRESH_SECONDS = 0.3


@pytest.fixture
async def auth(tmp_path: Path) -> AsyncIterator[Stack]:
    running = Stack(embedded_settings(tmp_path / "auth"), ("auth",), gateway=False)
    await running.start()
    yield running
    await running.stop()


async def _others(tmp_path: Path, auth: Stack, **overrides: object) -> Stack:
    """Catalog and likes in a process of their own, verifying tokens with auth's keys."""
    settings = embedded_settings(tmp_path / "others", auth_target=auth.grpc_address, **overrides)
    running = Stack(settings, ("catalog", "likes"), gateway=False)
    await running.start()
    return running


def _foreign_token(stack: Stack) -> str:
    """Well formed, but signed by a key the auth service never published."""
    settings = stack.settings
    rules = AccessTokenRules(
        settings.mesh.jwt_issuer, settings.mesh.jwt_audience, timedelta(minutes=5)
    )
    foreign = KeyRing([new_signing_key(datetime.now(UTC))])
    token, _ = foreign.issue_access_token("intruder", ["user"], rules, datetime.now(UTC))
    return token


def _fetches() -> float:
    return sum(
        REGISTRY.get_sample_value("cinema_jwks_fetches_total", {"outcome": outcome}) or 0
        for outcome in ("ok", "failed")
    )


async def _codes(likes: likes_pb2_grpc.LikesServiceStub, tokens: list[str]) -> set[str]:
    async def code(token: str) -> str:
        try:
            await likes.ListMyRatings(likes_pb2.ListMyRatingsRequest(), metadata=bearer(token))
        except grpc.aio.AioRpcError as error:
            return str(error.code().name)
        return "OK"

    return set(await asyncio.gather(*(code(token) for token in tokens)))


async def test_tokens_of_known_keys_verify_while_auth_is_down(tmp_path: Path, auth: Stack) -> None:
    others = await _others(tmp_path, auth, jwks_refresh_seconds=REFRESH_SECONDS)
    token = mint_token(auth, user_id=str(uuid.uuid4()))
    try:
        async with clients.channel(others.grpc_address) as channel:
            likes = likes_pb2_grpc.LikesServiceStub(channel)
            catalog = catalog_pb2_grpc.CatalogServiceStub(channel)
            assert await _codes(likes, [token]) == {"OK"}

            await auth.stop()
            for _ in range(3):
                await asyncio.sleep(REFRESH_SECONDS * 1.5)  # the keys are older than trusted
                assert await _codes(likes, [token]) == {"OK"}
                films = catalog_pb2.BatchGetFilmsRequest(film_ids=[str(uuid.uuid4())])
                await catalog.BatchGetFilms(films, metadata=bearer(token))

            # A key the cache does not know cannot be checked now: say so, at once.
            before, started = _fetches(), time.monotonic()
            assert await _codes(likes, [_foreign_token(auth) for _ in range(200)]) <= {
                "UNAVAILABLE",
                "UNAUTHENTICATED",
            }
            assert time.monotonic() - started < 15
            assert _fetches() - before <= 2
    finally:
        await others.stop()


async def test_a_flood_of_unknown_key_ids_costs_a_fetch_or_two(tmp_path: Path, auth: Stack) -> None:
    others = await _others(tmp_path, auth)
    try:
        async with clients.channel(others.grpc_address) as channel:
            likes = likes_pb2_grpc.LikesServiceStub(channel)
            assert await _codes(likes, [mint_token(auth, user_id=str(uuid.uuid4()))]) == {"OK"}
            before, started = _fetches(), time.monotonic()
            assert await _codes(likes, [_foreign_token(auth) for _ in range(300)]) == {
                "UNAUTHENTICATED"
            }
            for _ in range(100):  # one after another, each used to wait about a second
                assert await _codes(likes, [_foreign_token(auth)]) == {"UNAUTHENTICATED"}
            elapsed = time.monotonic() - started
            assert elapsed < 20
            assert _fetches() - before <= 1 + elapsed  # one refetch a second at most
    finally:
        await others.stop()

"""The embedded stack with a small catalog, tuned for fast refreshes, and a fake GigaChat."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import grpc
import pytest

from cinema.likes.v1 import likes_pb2, likes_pb2_grpc
from cinema.recommendations.v1 import recommendations_pb2 as pb
from cinema.recommendations.v1 import recommendations_pb2_grpc
from etl.pipeline import run_import
from services.kit import clients
from services.stack import SERVICES, Stack
from tests.fakes.gigachat import CREDENTIALS, FakeGigaChat, running_fake_gigachat
from tests.fixtures.stack import bearer, embedded_settings, mint_token
from tests.recommendations.service.films import FILMS, build_catalog_file

FAST = {
    "likes_poll_seconds": 0.05,
    "recommendations_debounce_seconds": 0.1,
    "recommendations_model_rebuild_seconds": 0.2,
    "recommendations_model_rebuild_interactions": 1,
}
StartStack = Callable[..., Awaitable[Stack]]


@pytest.fixture
async def start_stack(tmp_path: Path) -> AsyncIterator[StartStack]:
    """Starts the whole stack (gateway included) with the test films; overrides by keyword."""
    started: list[Stack] = []

    async def start(**overrides: object) -> Stack:
        settings = embedded_settings(tmp_path / f"data{len(started)}", **{**FAST, **overrides})
        settings.process.data_dir.mkdir(parents=True)
        await run_import(
            settings.catalog, build_catalog_file(tmp_path / f"legacy{len(started)}.db")
        )
        stack = Stack(settings, SERVICES, gateway=True)
        await stack.start()
        started.append(stack)
        return stack

    yield start
    for stack in started:
        await stack.stop()


@pytest.fixture
async def fake_gigachat() -> AsyncIterator[FakeGigaChat]:
    async with running_fake_gigachat() as fake:
        fake.catalog = [(title, year) for title, year, *_ in FILMS]
        yield fake


def gigachat_settings(fake: FakeGigaChat, **overrides: object) -> dict[str, object]:
    return {
        "gigachat_credentials": CREDENTIALS,
        "gigachat_base_url": fake.base_url,
        "gigachat_auth_url": fake.auth_url,
        "gigachat_verify_ssl": False,
        "gigachat_timeout_seconds": 2.0,
        "llm_retry_attempts": 2,
        "llm_retry_backoff_seconds": 0.01,
        "llm_retry_max_backoff_seconds": 0.02,
        "recommendations_llm_on_events": False,
        **overrides,
    }


class Client:
    """One signed-in user of the stack, with the recommendation and likes stubs."""

    def __init__(self, stack: Stack, channel: grpc.aio.Channel, user_id: str) -> None:
        self.stack = stack
        self.user_id = user_id
        self.metadata = bearer(mint_token(stack, user_id=user_id))
        self.service_metadata = bearer(mint_token(stack, user_id="svc-ops", roles=("service",)))
        self.recommendations = recommendations_pb2_grpc.RecommendationServiceStub(channel)
        self.likes = likes_pb2_grpc.LikesServiceStub(channel)

    async def rate(self, film_id: str, like: bool = True) -> None:
        rating = likes_pb2.RATING_LIKE if like else likes_pb2.RATING_DISLIKE
        request = likes_pb2.RateFilmRequest(film_id=film_id, rating=rating)
        await self.likes.RateFilm(request, metadata=self.metadata)

    async def exclude(self, film_id: str) -> None:
        request = likes_pb2.ExcludeFilmRequest(film_id=film_id)
        await self.likes.ExcludeFilm(request, metadata=self.metadata)

    async def more_like_this(self, film_id: str) -> None:
        request = likes_pb2.RequestMoreLikeThisRequest(film_id=film_id)
        await self.likes.RequestMoreLikeThis(request, metadata=self.metadata)

    async def my_list(
        self, page_size: int = 0, page_token: str = ""
    ) -> pb.GetMyRecommendationsResponse:
        request = pb.GetMyRecommendationsRequest(page_size=page_size, page_token=page_token)
        return await self.recommendations.GetMyRecommendations(request, metadata=self.metadata)

    async def list_until(
        self, condition: Callable[[pb.GetMyRecommendationsResponse], bool], seconds: float = 2.0
    ) -> pb.GetMyRecommendationsResponse:
        """Polls GetMyRecommendations until ``condition`` holds (fails after ``seconds``)."""
        async with asyncio.timeout(seconds):
            found = await self.my_list(page_size=100)
            while not condition(found):
                await asyncio.sleep(0.02)
                found = await self.my_list(page_size=100)
        return found

    async def settled(self, quiet: float = 0.3, seconds: float = 5.0) -> None:
        """Waits until the list is not a fallback and has stood ``quiet`` seconds (3 debounces)
        without being made again: every event already sent has been folded and refreshed, so
        no late event refresh replaces what the test does next."""
        async with asyncio.timeout(seconds):
            await self.list_until(lambda r: not r.fallback, seconds)
            made = (await self.my_list()).generate_time.ToNanoseconds()
            while True:
                await asyncio.sleep(quiet)
                latest = (await self.my_list()).generate_time.ToNanoseconds()
                if latest == made:
                    return
                made = latest


@pytest.fixture
async def connect() -> AsyncIterator[Callable[[Stack], Client]]:
    channels: list[grpc.aio.Channel] = []

    def make(stack: Stack, user_id: str | None = None) -> Client:
        channel = clients.channel(stack.grpc_address)
        channels.append(channel)
        return Client(stack, channel, user_id or str(uuid.uuid4()))

    yield make
    for channel in channels:
        await channel.close()


def film_ids(response: pb.GetMyRecommendationsResponse) -> list[str]:
    return [item.film.id for item in response.items]

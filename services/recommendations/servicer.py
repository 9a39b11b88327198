"""RecommendationService RPCs: check the request, call the domain, map the answer."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import grpc

from cinema.catalog.v1 import catalog_pb2
from cinema.recommendations.v1 import recommendations_pb2 as pb
from cinema.recommendations.v1 import recommendations_pb2_grpc
from services.kit.context import caller, current_caller
from services.kit.errors import NotFound, ResourceExhausted, Unavailable
from services.kit.limits import SlidingWindow
from services.kit.signals import WakeUp
from services.kit.timestamps import timestamp
from services.kit.validation import page_size, required_uuid
from services.recommendations import convert
from services.recommendations.catalog import CatalogClient
from services.recommendations.engines_state import EngineState
from services.recommendations.operator_stats import OperatorStats
from services.recommendations.records import StoredList, Taste, visible_page
from services.recommendations.refresher import Refresher, RefreshResult, RefreshStatus
from services.recommendations.store import RecommendationStore

WATCH_RECHECK_SECONDS = 5.0  # lists stored by other replicas are seen at least this often
MAX_STREAM_PENDING = 1000  # StreamRefreshes: unanswered requests before reading pauses
#: GetMyRecommendations answers kept, one per (user, page): each holds its list (~90 KB).
ANSWERS_KEPT = 500


class AnswerCache:
    """The GetMyRecommendations answer last built for a (user, offset, size), kept for as
    long as the list, the user's taste and the film summaries it was built from are.

    A warm main page is asked for far more often than its list changes; building it
    filters, converts and copies up to 100 films into protobuf each time.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._answers: OrderedDict[
            tuple[str, int, int],
            tuple[
                StoredList,
                Taste,
                Mapping[str, catalog_pb2.FilmSummary],
                pb.GetMyRecommendationsResponse,
            ],
        ] = OrderedDict()

    def get(
        self,
        key: tuple[str, int, int],
        stored: StoredList,
        taste: Taste,
        summaries: Mapping[str, catalog_pb2.FilmSummary],
    ) -> pb.GetMyRecommendationsResponse | None:
        found = self._answers.get(key)
        if found is None or found[2] is not summaries:
            return None
        # Identity first: the embedded store hands out the same objects until it reads again.
        if found[0] is stored and found[1] is taste:
            self._answers.move_to_end(key)
            return found[3]
        if found[0] != stored or found[1] != taste:
            return None
        self.put(key, stored, taste, summaries, found[3])  # same values: compare refs next time
        return found[3]

    def put(
        self,
        key: tuple[str, int, int],
        stored: StoredList,
        taste: Taste,
        summaries: Mapping[str, catalog_pb2.FilmSummary],
        answer: pb.GetMyRecommendationsResponse,
    ) -> None:
        self._answers[key] = (stored, taste, summaries, answer)
        self._answers.move_to_end(key)
        if len(self._answers) > self._size:
            self._answers.popitem(last=False)


class RefreshLimiter:
    """At most ``per_minute`` manual refreshes per user in any sliding minute.

    A user is held only while they have refreshes in the minute, so memory follows the
    users of the last minute, not every user who ever refreshed.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._window = SlidingWindow(per_minute, 60.0, clock)

    def __len__(self) -> int:
        """How many users are held."""
        return len(self._window)

    def check(self, user_id: str) -> None:
        """Counts a refresh for ``user_id``, or raises ResourceExhausted (not counted)."""
        wait = self._window.retry_after(user_id)
        if wait is not None:
            raise ResourceExhausted("too many refreshes: try again later", wait)
        self._window.record(user_id)


class RecommendationServicer(recommendations_pb2_grpc.RecommendationServiceServicer):
    def __init__(
        self,
        store: RecommendationStore,
        engines: EngineState,
        refresher: Refresher,
        watchers: WakeUp,
        catalog: CatalogClient,
        limiter: RefreshLimiter,
        operator: OperatorStats,
    ) -> None:
        self._store = store
        self._engines = engines
        self._refresher = refresher
        self._watchers = watchers
        self._catalog = catalog
        self._limiter = limiter
        self._operator = operator
        self._answers = AnswerCache(ANSWERS_KEPT)

    async def _current(self, user_id: str) -> StoredList:
        stored = await self._refresher.current(user_id)
        if stored is None:
            raise Unavailable("recommendations are not ready yet; try again")
        return stored

    async def _page(
        self, user_id: str, stored: StoredList, size: int, offset: int
    ) -> tuple[list[pb.Recommendation], str]:
        taste = await self._store.taste(user_id)
        return self._build_page(stored, taste, self._engines.summaries(), size, offset)

    @staticmethod
    def _build_page(
        stored: StoredList,
        taste: Taste,
        summaries: Mapping[str, catalog_pb2.FilmSummary],
        size: int,
        offset: int,
    ) -> tuple[list[pb.Recommendation], str]:
        page, more = visible_page(stored, taste, offset, size)
        token = convert.encode_page_token(stored.generate_us, offset + size) if more else ""
        return convert.recommendations(page, summaries), token

    async def GetMyRecommendations(
        self, request: pb.GetMyRecommendationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetMyRecommendationsResponse:
        size = page_size(request.page_size)
        user_id = caller().user_id
        stored = await self._current(user_id)
        offset = convert.decode_page_token(request.page_token, stored.generate_us)
        taste = await self._store.taste(user_id)
        summaries = self._engines.summaries()
        key = (user_id, offset, size)
        answer = self._answers.get(key, stored, taste, summaries)
        if answer is None:
            items, token = self._build_page(stored, taste, summaries, size, offset)
            answer = pb.GetMyRecommendationsResponse(
                items=items,
                generate_time=timestamp(stored.generate_us),
                fallback=stored.fallback,
                next_page_token=token,
            )
            self._answers.put(key, stored, taste, summaries, answer)
        return answer

    async def GetSimilarFilms(
        self, request: pb.GetSimilarFilmsRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetSimilarFilmsResponse:
        film_id = required_uuid(request.film_id, "film_id")
        size = page_size(request.page_size)
        try:
            recommender = await self._engines.current()
        except TimeoutError as error:
            raise Unavailable("recommendations are not ready yet; try again") from error
        if film_id not in recommender.films:
            # Maybe a film added since the models were fitted: then it has no neighbours yet.
            if not await self._catalog.films([film_id]):
                raise NotFound(f"film {film_id} not found")
            return pb.GetSimilarFilmsResponse()
        signed_in = current_caller.get()
        hidden = (await self._store.taste(signed_in.user_id)).hidden if signed_in else frozenset()
        items = await asyncio.to_thread(recommender.similar, film_id, size, hidden)
        return pb.GetSimilarFilmsResponse(
            items=convert.recommendations(items, self._engines.summaries())
        )

    async def RefreshMyRecommendations(
        self, request: pb.RefreshMyRecommendationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.RefreshMyRecommendationsResponse:
        size = page_size(request.page_size)
        user_id = caller().user_id
        self._limiter.check(user_id)
        result = await self._refresher.refresh(user_id, trigger="user")
        if result.stored is None or result.status is RefreshStatus.FAILED:
            raise Unavailable("could not refresh the list; try again")
        self._refresher.refresh_with_llm_later(user_id)
        items, token = await self._page(user_id, result.stored, size, 0)
        return pb.RefreshMyRecommendationsResponse(
            items=items,
            generate_time=timestamp(result.stored.generate_us),
            fallback=result.stored.fallback,
            next_page_token=token,
        )

    async def WatchMyRecommendations(
        self, request: pb.WatchMyRecommendationsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.WatchMyRecommendationsResponse]:
        size = page_size(request.page_size)
        user_id = caller().user_id
        last: tuple[Any, ...] | None = None
        while True:
            signal = self._watchers.snapshot(user_id)
            stored = await self._current(user_id)
            items, token = await self._page(user_id, stored, size, 0)
            shown = (tuple(i.film.id for i in items), stored.fallback)
            if shown != last:
                last = shown
                yield pb.WatchMyRecommendationsResponse(
                    items=items,
                    generate_time=timestamp(stored.generate_us),
                    fallback=stored.fallback,
                    next_page_token=token,
                )
            await self._watchers.wait(signal, WATCH_RECHECK_SECONDS)

    async def StreamRefreshes(
        self,
        request_iterator: AsyncIterator[pb.StreamRefreshesRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[pb.StreamRefreshesResponse]:
        answers: asyncio.Queue[pb.StreamRefreshesResponse | Exception | None] = asyncio.Queue()
        pending: set[asyncio.Task[None]] = set()
        room = asyncio.Semaphore(MAX_STREAM_PENDING)

        async def answer(user_id: str, seed: str | None, allow_llm: bool) -> None:
            try:
                result = await self._refresher.refresh(user_id, seed, allow_llm, "stream")
                await answers.put(refresh_response(result))
            finally:
                room.release()

        async def read() -> None:
            try:
                async for request in request_iterator:
                    user_id = required_uuid(request.user_id, "user_id")
                    seed = (
                        required_uuid(request.seed_film_id, "seed_film_id")
                        if request.HasField("seed_film_id")
                        else None
                    )
                    await room.acquire()
                    task = asyncio.create_task(answer(user_id, seed, request.allow_llm))
                    pending.add(task)
                    task.add_done_callback(pending.discard)
                await asyncio.gather(*pending)
                await answers.put(None)
            except Exception as error:
                await answers.put(error)

        reader = asyncio.create_task(read())
        try:
            while (item := await answers.get()) is not None:
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            reader.cancel()
            for task in pending:
                task.cancel()

    async def GetOperatorStats(
        self, request: pb.GetOperatorStatsRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetOperatorStatsResponse:
        operator = self._operator
        return convert.operator_stats(
            operator.report(), operator.sample_seconds, operator.window_seconds
        )


def refresh_response(result: RefreshResult) -> pb.StreamRefreshesResponse:
    response = pb.StreamRefreshesResponse(
        user_id=result.user_id,
        status=pb.RefreshStatus.ValueType(result.status),
        item_count=len(result.stored.items) if result.stored else 0,
        sources=[convert.SOURCES[s] for s in (result.stored.sources if result.stored else ())],
        llm_used=result.llm_used,
        detail=result.detail,
    )
    response.latency.FromNanoseconds(int(result.latency_seconds * 1e9))
    return response

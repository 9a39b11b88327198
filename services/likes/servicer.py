"""LikesService RPCs: validate the request, check the film, call the rules or the store, map."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime

import grpc

from cinema.catalog.v1 import catalog_pb2
from cinema.likes.v1 import likes_pb2, likes_pb2_grpc
from services.kit.context import caller
from services.kit.errors import InvalidArgument
from services.kit.signals import WakeUp
from services.kit.timestamps import timestamp, to_micros
from services.kit.validation import page_size, required_uuid, required_uuids
from services.likes.feedback import Feedback
from services.likes.films import FilmDirectory
from services.likes.paging import decode_token, encode_token
from services.likes.records import Event, EventKind, Rating
from services.likes.store import LikesStore

MAX_STATS_IDS = 500
MAX_MY_RATINGS_IDS = 100
STREAM_BATCH = 500


def _rating(value: int, field: str = "rating") -> Rating:
    try:
        return Rating(value)
    except ValueError as error:
        raise InvalidArgument(
            {field: "must be RATING_LIKE or RATING_DISLIKE (ClearRating removes a rating)"}
        ) from error


def event_message(event: Event) -> likes_pb2.Event:
    return likes_pb2.Event(
        sequence=event.sequence,
        user_id=event.user_id,
        film_id=event.film_id,
        kind=likes_pb2.EventKind.ValueType(event.kind),
        event_time=timestamp(event.time_us),
    )


class LikesServicer(likes_pb2_grpc.LikesServiceServicer):
    def __init__(
        self,
        store: LikesStore,
        films: FilmDirectory,
        clock: Callable[[], datetime],
        poll_seconds: float,
    ) -> None:
        self._store = store
        self._feedback = Feedback(store)
        self._films = films
        self._clock = clock
        self._poll_seconds = poll_seconds

    def _now_us(self) -> int:
        return to_micros(self._clock())

    async def RateFilm(
        self, request: likes_pb2.RateFilmRequest, context: grpc.aio.ServicerContext
    ) -> likes_pb2.RateFilmResponse:
        film_id = required_uuid(request.film_id, "film_id")
        if request.rating == likes_pb2.RATING_UNSPECIFIED:
            raise InvalidArgument({"rating": "is required (ClearRating removes a rating)"})
        rating = _rating(request.rating)
        await self._films.require(film_id)
        result = await self._feedback.rate(caller().user_id, film_id, rating, self._now_us())
        stored = likes_pb2.FilmRating(
            film_id=film_id,
            rating=likes_pb2.Rating.ValueType(result.rating.rating),
            update_time=timestamp(result.rating.updated_us),
        )
        return likes_pb2.RateFilmResponse(rating=stored, changed=result.changed)

    async def ClearRating(
        self, request: likes_pb2.ClearRatingRequest, context: grpc.aio.ServicerContext
    ) -> likes_pb2.ClearRatingResponse:
        film_id = required_uuid(request.film_id, "film_id")
        changed = await self._feedback.clear_rating(caller().user_id, film_id, self._now_us())
        return likes_pb2.ClearRatingResponse(changed=changed)

    async def ExcludeFilm(
        self, request: likes_pb2.ExcludeFilmRequest, context: grpc.aio.ServicerContext
    ) -> likes_pb2.ExcludeFilmResponse:
        film_id = required_uuid(request.film_id, "film_id")
        await self._films.require(film_id)
        changed = await self._feedback.exclude(caller().user_id, film_id, self._now_us())
        return likes_pb2.ExcludeFilmResponse(changed=changed)

    async def IncludeFilm(
        self, request: likes_pb2.IncludeFilmRequest, context: grpc.aio.ServicerContext
    ) -> likes_pb2.IncludeFilmResponse:
        film_id = required_uuid(request.film_id, "film_id")
        changed = await self._feedback.include(caller().user_id, film_id, self._now_us())
        return likes_pb2.IncludeFilmResponse(changed=changed)

    async def RequestMoreLikeThis(
        self, request: likes_pb2.RequestMoreLikeThisRequest, context: grpc.aio.ServicerContext
    ) -> likes_pb2.RequestMoreLikeThisResponse:
        film_id = required_uuid(request.film_id, "film_id")
        await self._films.require(film_id)
        now_us = self._now_us()
        await self._feedback.record_more_like_this(caller().user_id, film_id, now_us)
        return likes_pb2.RequestMoreLikeThisResponse(request_time=timestamp(now_us))

    async def ListMyRatings(
        self, request: likes_pb2.ListMyRatingsRequest, context: grpc.aio.ServicerContext
    ) -> likes_pb2.ListMyRatingsResponse:
        wanted = None if request.rating == likes_pb2.RATING_UNSPECIFIED else _rating(request.rating)
        limit = page_size(request.page_size)
        list_filter = f"ratings:{int(wanted or 0)}"
        after = decode_token(request.page_token, list_filter)
        page = await self._store.list_ratings(caller().user_id, wanted, after, limit)
        films = await self._summaries([r.film_id for r in page.items])
        ratings = []
        for item in page.items:
            rating = likes_pb2.FilmRating(
                film_id=item.film_id,
                rating=likes_pb2.Rating.ValueType(item.rating),
                update_time=timestamp(item.updated_us),
            )
            if (film := films.get(item.film_id)) is not None:
                rating.film.CopyFrom(film)
            ratings.append(rating)
        return likes_pb2.ListMyRatingsResponse(
            ratings=ratings, next_page_token=encode_token(page.next_cursor, list_filter)
        )

    async def BatchGetMyRatings(
        self, request: likes_pb2.BatchGetMyRatingsRequest, context: grpc.aio.ServicerContext
    ) -> likes_pb2.BatchGetMyRatingsResponse:
        film_ids = required_uuids(request.film_ids, "film_ids", at_most=MAX_MY_RATINGS_IDS)
        states = await self._store.film_states(caller().user_id, film_ids)
        response = likes_pb2.BatchGetMyRatingsResponse()
        for film_id in film_ids:
            state = states.get(film_id)
            if state is None:
                continue
            if state.rating is not None and state.rated_us is not None:
                response.ratings.add(
                    film_id=film_id,
                    rating=likes_pb2.Rating.ValueType(state.rating),
                    update_time=timestamp(state.rated_us),
                )
            if state.excluded_us is not None:
                response.excluded_film_ids.append(film_id)
        return response

    async def ListMyExclusions(
        self, request: likes_pb2.ListMyExclusionsRequest, context: grpc.aio.ServicerContext
    ) -> likes_pb2.ListMyExclusionsResponse:
        limit = page_size(request.page_size)
        after = decode_token(request.page_token, "exclusions")
        page = await self._store.list_exclusions(caller().user_id, after, limit)
        films = await self._summaries([e.film_id for e in page.items])
        exclusions = []
        for item in page.items:
            exclusion = likes_pb2.Exclusion(
                film_id=item.film_id, create_time=timestamp(item.created_us)
            )
            if (film := films.get(item.film_id)) is not None:
                exclusion.film.CopyFrom(film)
            exclusions.append(exclusion)
        return likes_pb2.ListMyExclusionsResponse(
            exclusions=exclusions, next_page_token=encode_token(page.next_cursor, "exclusions")
        )

    async def _summaries(self, film_ids: list[str]) -> dict[str, catalog_pb2.FilmSummary]:
        """Films for display; none when the catalog does not answer (they are optional)."""
        if not film_ids:
            return {}
        try:
            found = await self._films.lookup(film_ids)
        except grpc.aio.AioRpcError:
            return {}
        return {i: s for i, s in found.items() if s is not None}

    async def GetFilmStats(
        self, request: likes_pb2.GetFilmStatsRequest, context: grpc.aio.ServicerContext
    ) -> likes_pb2.GetFilmStatsResponse:
        film_ids = required_uuids(request.film_ids, "film_ids", at_most=MAX_STATS_IDS)
        counted = await self._store.film_stats(film_ids)
        stats = []
        for film_id in film_ids:
            found = counted.get(film_id)
            likes, dislikes = (found.likes, found.dislikes) if found else (0, 0)
            stats.append(likes_pb2.FilmStats(film_id=film_id, likes=likes, dislikes=dislikes))
        return likes_pb2.GetFilmStatsResponse(stats=stats)

    async def StreamEvents(
        self, request: likes_pb2.StreamEventsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[likes_pb2.StreamEventsResponse]:
        if request.after_sequence < 0:
            raise InvalidArgument({"after_sequence": "must not be negative"})
        kinds = set()
        for index, value in enumerate(request.kinds):
            try:
                kinds.add(EventKind(value))
            except ValueError as error:
                raise InvalidArgument({f"kinds[{index}]": "not an event kind"}) from error
        after = request.after_sequence
        # replay_only ends at the log's end as of the request, even while writes go on.
        end = await self._store.last_sequence() if request.replay_only else None
        while True:
            appended = self._store.appended.snapshot()
            batch = await self._store.events_after(after, STREAM_BATCH, kinds)
            more = len(batch) == STREAM_BATCH
            if end is not None:
                within = [event for event in batch if event.sequence <= end]
                more = more and len(within) == len(batch)
                batch = within
            for event in batch:
                yield likes_pb2.StreamEventsResponse(event=event_message(event))
                after = event.sequence
            if more:
                continue
            if end is not None:
                return
            # Woken at once by this process's appends; other replicas' by the poll.
            await WakeUp.wait(appended, self._poll_seconds)

"""LikesService over real sockets on the embedded stack, on each store backend."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from cinema.likes.v1 import likes_pb2, likes_pb2_grpc
from services.stack import Stack
from tests.etl import legacy_catalog as lc
from tests.fixtures.stack import bearer, mint_token

Stub = likes_pb2_grpc.LikesServiceStub
ALICE, BOB = str(uuid.uuid4()), str(uuid.uuid4())
LIKE, DISLIKE = likes_pb2.RATING_LIKE, likes_pb2.RATING_DISLIKE


def as_user(stack: Stack, user_id: str = ALICE) -> tuple[tuple[str, str]]:
    return bearer(mint_token(stack, user_id=user_id))


def as_service(stack: Stack) -> tuple[tuple[str, str]]:
    return bearer(mint_token(stack, user_id="svc-recommendations", roles=("service",)))


async def logged_events(
    stack: Stack, likes: Stub, count: int, kinds: tuple[likes_pb2.EventKind.ValueType, ...] = ()
) -> list[likes_pb2.Event]:
    """The stored log once it holds ``count`` events (the outbox relay runs behind writes)."""
    request = likes_pb2.StreamEventsRequest(kinds=kinds, replay_only=True)
    async with asyncio.timeout(10):
        while True:
            stream = likes.StreamEvents(request, metadata=as_service(stack))
            events = [response.event async for response in stream]
            if len(events) >= count:
                return events
            await asyncio.sleep(0.02)


def violations(error: grpc.aio.AioRpcError) -> dict[str, str]:
    status = rpc_status.from_call(error)
    assert status is not None
    found = {}
    for detail in status.details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            found.update({v.field: v.description for v in bad.field_violations})
    return found


async def test_same_rating_twice_is_one_change_and_one_event(
    likes_stack: Stack, likes: Stub
) -> None:
    me = as_user(likes_stack)
    request = likes_pb2.RateFilmRequest(film_id=lc.MATRIX, rating=LIKE)
    first = await likes.RateFilm(request, metadata=me)
    again = await likes.RateFilm(request, metadata=me)
    assert first.changed and not again.changed
    assert again.rating.update_time == first.rating.update_time
    events = await logged_events(likes_stack, likes, 1)
    assert [(e.user_id, e.film_id, e.kind) for e in events] == [
        (ALICE, lc.MATRIX, likes_pb2.EVENT_KIND_FILM_LIKED)
    ]


async def test_like_is_replaced_by_dislike_then_cleared(likes_stack: Stack, likes: Stub) -> None:
    me = as_user(likes_stack)
    await likes.RateFilm(likes_pb2.RateFilmRequest(film_id=lc.HEAT, rating=LIKE), metadata=me)
    replaced = await likes.RateFilm(
        likes_pb2.RateFilmRequest(film_id=lc.HEAT, rating=DISLIKE), metadata=me
    )
    assert replaced.changed and replaced.rating.rating == DISLIKE
    listed = await likes.ListMyRatings(likes_pb2.ListMyRatingsRequest(), metadata=me)
    assert [(r.film_id, r.rating) for r in listed.ratings] == [(lc.HEAT, DISLIKE)]
    clear = likes_pb2.ClearRatingRequest(film_id=lc.HEAT)
    assert (await likes.ClearRating(clear, metadata=me)).changed
    assert not (await likes.ClearRating(clear, metadata=me)).changed
    assert not (await likes.ListMyRatings(likes_pb2.ListMyRatingsRequest(), metadata=me)).ratings
    kinds = [e.kind for e in await logged_events(likes_stack, likes, 3)]
    assert kinds == [
        likes_pb2.EVENT_KIND_FILM_LIKED,
        likes_pb2.EVENT_KIND_FILM_DISLIKED,
        likes_pb2.EVENT_KIND_RATING_CLEARED,
    ]


async def test_excluded_films_are_listed_until_included(likes_stack: Stack, likes: Stub) -> None:
    me = as_user(likes_stack)
    for film in (lc.AMELIE, lc.HEAT):
        assert (
            await likes.ExcludeFilm(likes_pb2.ExcludeFilmRequest(film_id=film), metadata=me)
        ).changed
    again = await likes.ExcludeFilm(likes_pb2.ExcludeFilmRequest(film_id=lc.AMELIE), metadata=me)
    assert not again.changed
    listed = await likes.ListMyExclusions(likes_pb2.ListMyExclusionsRequest(), metadata=me)
    assert [(x.film_id, x.film.title) for x in listed.exclusions] == [
        (lc.HEAT, "Heat"),
        (lc.AMELIE, "Amélie"),
    ]
    include = likes_pb2.IncludeFilmRequest(film_id=lc.AMELIE)
    assert (await likes.IncludeFilm(include, metadata=me)).changed
    assert not (await likes.IncludeFilm(include, metadata=me)).changed
    listed = await likes.ListMyExclusions(likes_pb2.ListMyExclusionsRequest(), metadata=me)
    assert [x.film_id for x in listed.exclusions] == [lc.HEAT]


async def test_more_like_this_is_recorded_for_the_recommender(
    likes_stack: Stack, likes: Stub
) -> None:
    request = likes_pb2.RequestMoreLikeThisRequest(film_id=lc.MATRIX)
    answer = await likes.RequestMoreLikeThis(request, metadata=as_user(likes_stack))
    assert answer.request_time.seconds > 0
    wanted = (likes_pb2.EVENT_KIND_MORE_LIKE_THIS_REQUESTED,)
    events = await logged_events(likes_stack, likes, 1, kinds=wanted)
    assert [(e.user_id, e.film_id) for e in events] == [(ALICE, lc.MATRIX)]


async def test_ratings_page_newest_first_with_films_and_kind_filter(
    likes_stack: Stack, likes: Stub
) -> None:
    me = as_user(likes_stack)
    rated = [(lc.MATRIX, LIKE), (lc.HEAT, DISLIKE), (lc.AMELIE, LIKE), (lc.SERIES, LIKE)]
    for film, rating in rated:
        await likes.RateFilm(likes_pb2.RateFilmRequest(film_id=film, rating=rating), metadata=me)
    pages, token = [], ""
    while True:
        page = await likes.ListMyRatings(
            likes_pb2.ListMyRatingsRequest(page_size=3, page_token=token), metadata=me
        )
        pages.append([(r.film_id, r.film.title) for r in page.ratings])
        if not (token := page.next_page_token):
            break
    assert pages == [
        [(lc.SERIES, "Ёлки"), (lc.AMELIE, "Amélie"), (lc.HEAT, "Heat")],
        [(lc.MATRIX, "The Matrix")],
    ]
    liked = await likes.ListMyRatings(likes_pb2.ListMyRatingsRequest(rating=LIKE), metadata=me)
    assert [r.film_id for r in liked.ratings] == [lc.SERIES, lc.AMELIE, lc.MATRIX]


async def test_another_users_data_is_invisible(likes_stack: Stack, likes: Stub) -> None:
    alice, bob = as_user(likes_stack, ALICE), as_user(likes_stack, BOB)
    await likes.RateFilm(likes_pb2.RateFilmRequest(film_id=lc.HEAT, rating=LIKE), metadata=alice)
    await likes.ExcludeFilm(likes_pb2.ExcludeFilmRequest(film_id=lc.AMELIE), metadata=alice)
    assert not (await likes.ListMyRatings(likes_pb2.ListMyRatingsRequest(), metadata=bob)).ratings
    exclusions = await likes.ListMyExclusions(likes_pb2.ListMyExclusionsRequest(), metadata=bob)
    assert not exclusions.exclusions
    cleared = await likes.ClearRating(likes_pb2.ClearRatingRequest(film_id=lc.HEAT), metadata=bob)
    assert not cleared.changed


async def test_stats_count_every_users_ratings_for_many_films(
    likes_stack: Stack, likes: Stub
) -> None:
    for n in range(3):
        user = as_user(likes_stack, f"user-{n}")
        rating = LIKE if n < 2 else DISLIKE
        await likes.RateFilm(
            likes_pb2.RateFilmRequest(film_id=lc.MATRIX, rating=rating), metadata=user
        )
    await likes.RateFilm(
        likes_pb2.RateFilmRequest(film_id=lc.HEAT, rating=DISLIKE), metadata=as_user(likes_stack)
    )
    others = [str(uuid.uuid4()) for _ in range(496)]
    ids = [lc.HEAT, *others, lc.MATRIX, lc.HEAT, lc.AMELIE]
    stats = (await likes.GetFilmStats(likes_pb2.GetFilmStatsRequest(film_ids=ids))).stats
    assert len(stats) == 499  # 500 ids, one of them twice
    counts = {s.film_id: (s.likes, s.dislikes) for s in stats}
    assert [stats[0].film_id, stats[-2].film_id] == [lc.HEAT, lc.MATRIX]
    assert counts[lc.MATRIX] == (2, 1) and counts[lc.HEAT] == (0, 1)
    assert counts[lc.AMELIE] == (0, 0) and counts[others[0]] == (0, 0)


async def test_my_ratings_of_given_films_in_one_call(likes_stack: Stack, likes: Stub) -> None:
    me = as_user(likes_stack)
    await likes.RateFilm(likes_pb2.RateFilmRequest(film_id=lc.MATRIX, rating=LIKE), metadata=me)
    await likes.RateFilm(likes_pb2.RateFilmRequest(film_id=lc.HEAT, rating=DISLIKE), metadata=me)
    await likes.ExcludeFilm(likes_pb2.ExcludeFilmRequest(film_id=lc.HEAT), metadata=me)
    await likes.ExcludeFilm(likes_pb2.ExcludeFilmRequest(film_id=lc.AMELIE), metadata=me)
    other = as_user(likes_stack, BOB)
    await likes.RateFilm(likes_pb2.RateFilmRequest(film_id=lc.AMELIE, rating=LIKE), metadata=other)
    unknown = str(uuid.uuid4())
    ids = [lc.HEAT, unknown, lc.AMELIE, lc.MATRIX, lc.HEAT]
    reply = await likes.BatchGetMyRatings(
        likes_pb2.BatchGetMyRatingsRequest(film_ids=ids), metadata=me
    )
    assert [(r.film_id, r.rating) for r in reply.ratings] == [
        (lc.HEAT, DISLIKE),
        (lc.MATRIX, LIKE),
    ]
    assert all(r.update_time.seconds > 0 and not r.HasField("film") for r in reply.ratings)
    assert list(reply.excluded_film_ids) == [lc.HEAT, lc.AMELIE]
    theirs = await likes.BatchGetMyRatings(
        likes_pb2.BatchGetMyRatingsRequest(film_ids=ids), metadata=other
    )
    assert [r.film_id for r in theirs.ratings] == [lc.AMELIE] and not theirs.excluded_film_ids


async def test_unknown_film_is_not_found(likes_stack: Stack, likes: Stub) -> None:
    me = as_user(likes_stack)
    for call in (
        likes.RateFilm(likes_pb2.RateFilmRequest(film_id=lc.NO_TITLE, rating=LIKE), metadata=me),
        likes.ExcludeFilm(likes_pb2.ExcludeFilmRequest(film_id=str(uuid.uuid4())), metadata=me),
        likes.RequestMoreLikeThis(
            likes_pb2.RequestMoreLikeThisRequest(film_id=lc.NO_TITLE), metadata=me
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert not await logged_events(likes_stack, likes, 0)


@pytest.mark.parametrize(
    ("method", "request_message", "field"),
    [
        ("RateFilm", likes_pb2.RateFilmRequest(film_id="tt0133093", rating=LIKE), "film_id"),
        ("RateFilm", likes_pb2.RateFilmRequest(film_id=lc.MATRIX), "rating"),
        ("RateFilm", likes_pb2.RateFilmRequest(film_id=lc.MATRIX, rating=9), "rating"),  # type: ignore[arg-type]
        ("ClearRating", likes_pb2.ClearRatingRequest(), "film_id"),
        ("ListMyRatings", likes_pb2.ListMyRatingsRequest(page_size=-1), "page_size"),
        ("ListMyRatings", likes_pb2.ListMyRatingsRequest(page_token="garbage"), "page_token"),
        ("ListMyExclusions", likes_pb2.ListMyExclusionsRequest(page_token="e30"), "page_token"),
        ("BatchGetMyRatings", likes_pb2.BatchGetMyRatingsRequest(), "film_ids"),
        (
            "BatchGetMyRatings",
            likes_pb2.BatchGetMyRatingsRequest(film_ids=[lc.HEAT, "tt0133093"]),
            "film_ids[1]",
        ),
        (
            "BatchGetMyRatings",
            likes_pb2.BatchGetMyRatingsRequest(film_ids=[str(uuid.uuid4()) for _ in range(101)]),
            "film_ids",
        ),
        ("GetFilmStats", likes_pb2.GetFilmStatsRequest(), "film_ids"),
        ("GetFilmStats", likes_pb2.GetFilmStatsRequest(film_ids=[lc.HEAT, "x"]), "film_ids[1]"),
        (
            "GetFilmStats",
            likes_pb2.GetFilmStatsRequest(film_ids=[str(uuid.uuid4()) for _ in range(501)]),
            "film_ids",
        ),
    ],
)
async def test_invalid_request_names_the_field(
    likes_stack: Stack, likes: Stub, method: str, request_message: object, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await getattr(likes, method)(request_message, metadata=as_user(likes_stack))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in violations(raised.value)


async def test_page_token_of_another_filter_is_refused(likes_stack: Stack, likes: Stub) -> None:
    me = as_user(likes_stack)
    for film in (lc.MATRIX, lc.HEAT):
        await likes.RateFilm(likes_pb2.RateFilmRequest(film_id=film, rating=LIKE), metadata=me)
    first = await likes.ListMyRatings(likes_pb2.ListMyRatingsRequest(page_size=1), metadata=me)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await likes.ListMyRatings(
            likes_pb2.ListMyRatingsRequest(rating=LIKE, page_token=first.next_page_token),
            metadata=me,
        )
    assert "page_token" in violations(raised.value)


async def test_event_stream_rejects_negative_sequence(likes_stack: Stack, likes: Stub) -> None:
    stream = likes.StreamEvents(
        likes_pb2.StreamEventsRequest(after_sequence=-1), metadata=as_service(likes_stack)
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stream.read()
    assert "after_sequence" in violations(raised.value)

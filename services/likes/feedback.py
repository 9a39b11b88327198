"""The likes service's rules: which feedback changes what a user said of a film.

Each call decides, from the (user, film) state as stored, the state after it, or that
nothing changes; a change is stored with its event in one step by the backend, which
does I/O only. The rules, once for every backend:

- the same rating again, clearing a rating that is not there, excluding an excluded film
  and including one that is not excluded change nothing and log no event;
- every "more like this" is logged: each request is a signal of its own.
"""

from __future__ import annotations

from dataclasses import replace

from services.likes.records import (
    Decision,
    EventKind,
    FilmRating,
    FilmState,
    RateResult,
    Rating,
    rated_kind,
)
from services.likes.store import LikesStore


def rating(wanted: Rating, now_us: int) -> Decision:
    def decide(state: FilmState) -> FilmState | None:
        if state.rating is wanted:
            return None
        return replace(state, rating=wanted, rated_us=now_us)

    return decide


def cleared(state: FilmState) -> FilmState | None:
    return None if state.rating is None else replace(state, rating=None, rated_us=None)


def exclusion(now_us: int) -> Decision:
    def decide(state: FilmState) -> FilmState | None:
        return None if state.excluded_us is not None else replace(state, excluded_us=now_us)

    return decide


def included(state: FilmState) -> FilmState | None:
    return None if state.excluded_us is None else replace(state, excluded_us=None)


def more_like_this(state: FilmState) -> FilmState:
    return state


class Feedback:
    """Ratings, exclusions and "more like this" of the calling user, on a store."""

    def __init__(self, store: LikesStore) -> None:
        self._store = store

    async def rate(self, user_id: str, film_id: str, wanted: Rating, now_us: int) -> RateResult:
        """The rating as stored afterwards, and whether this call changed it."""
        kind = rated_kind(wanted)
        state, changed = await self._store.change(
            user_id, film_id, rating(wanted, now_us), kind, now_us
        )
        assert state.rated_us is not None  # rated: by this call or before it
        return RateResult(FilmRating(film_id, wanted, state.rated_us), changed)

    async def clear_rating(self, user_id: str, film_id: str, now_us: int) -> bool:
        kind = EventKind.RATING_CLEARED
        return (await self._store.change(user_id, film_id, cleared, kind, now_us))[1]

    async def exclude(self, user_id: str, film_id: str, now_us: int) -> bool:
        kind = EventKind.FILM_EXCLUDED
        return (await self._store.change(user_id, film_id, exclusion(now_us), kind, now_us))[1]

    async def include(self, user_id: str, film_id: str, now_us: int) -> bool:
        kind = EventKind.FILM_INCLUDED
        return (await self._store.change(user_id, film_id, included, kind, now_us))[1]

    async def record_more_like_this(self, user_id: str, film_id: str, now_us: int) -> None:
        kind = EventKind.MORE_LIKE_THIS_REQUESTED
        await self._store.change(user_id, film_id, more_like_this, kind, now_us)

"""The likes service's data types: ratings, exclusions, "more like this" and their events.

Times are integer microseconds since the epoch (UTC) in every store: exact, ordered,
and the same in SQLite and MongoDB (whose dates stop at milliseconds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Generic, NamedTuple, TypeVar

T = TypeVar("T")


class Rating(IntEnum):
    """A user's opinion of a film; the numbers are the proto's ``Rating`` values."""

    LIKE = 1
    DISLIKE = 2


class EventKind(IntEnum):
    """What an event records; the numbers are the proto's ``EventKind`` values."""

    FILM_LIKED = 1
    FILM_DISLIKED = 2
    RATING_CLEARED = 3
    FILM_EXCLUDED = 4
    FILM_INCLUDED = 5
    MORE_LIKE_THIS_REQUESTED = 6


def rated_kind(rating: Rating) -> EventKind:
    return EventKind.FILM_LIKED if rating is Rating.LIKE else EventKind.FILM_DISLIKED


@dataclass(frozen=True, slots=True)
class FilmRating:
    """A user's current rating of a film."""

    film_id: str
    rating: Rating
    updated_us: int


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A film a user marked "not interested"."""

    film_id: str
    created_us: int


@dataclass(frozen=True, slots=True)
class FilmState:
    """What one user has said of one film: a rating (and when) and an exclusion (when)."""

    rating: Rating | None = None
    rated_us: int | None = None
    excluded_us: int | None = None


#: A feedback rule (``services.likes.feedback``): the state after a call from the state
#: before it, or None when the call changes nothing (and logs no event).
Decision = Callable[[FilmState], "FilmState | None"]


class Changed(NamedTuple):
    """A store's answer to a change: the state as stored afterwards, and whether it moved."""

    state: FilmState
    changed: bool


@dataclass(frozen=True, slots=True)
class RateResult:
    """The rating as stored after RateFilm, and whether the call changed it."""

    rating: FilmRating
    changed: bool


@dataclass(frozen=True, slots=True)
class FilmStats:
    film_id: str
    likes: int
    dislikes: int


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of the event log; ``sequence`` is its position (strictly increasing)."""

    sequence: int
    event_id: str
    user_id: str
    film_id: str
    kind: EventKind
    time_us: int


@dataclass(frozen=True, slots=True)
class PageCursor:
    """Where a newest-first page continues: strictly after (time, film id) in that order."""

    time_us: int
    film_id: str


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    #: Where the next page starts; None when this page is the last.
    next_cursor: PageCursor | None

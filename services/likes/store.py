"""What the likes service keeps: one interface, a backend per DSN scheme.

Every change and the event that records it are written together (an outbox), so the
log never misses a change and never holds an event whose change was lost:

* SQLite appends the event in the change's own transaction; the log's sequence is an
  AUTOINCREMENT key, and SQLite serialises writers, so commit order is sequence order.
* MongoDB (FerretDB in tests: no transactions, no atomic updates) writes the change
  and its pending event as one inserted document; a relay copies pending events into
  the log and numbers them (see ``store_mongo``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from services.kit.config import Settings, dsn_scheme, sqlite_path
from services.kit.signals import WakeUp
from services.likes.records import (
    Event,
    EventKind,
    Exclusion,
    FilmRating,
    FilmStats,
    Page,
    PageCursor,
    RateResult,
    Rating,
)


class LikesStore(Protocol):
    """Ratings, exclusions and "more like this" per user, and the event log."""

    #: Notified whenever this process appends events to the log.
    appended: WakeUp

    async def rate(self, user_id: str, film_id: str, rating: Rating, now_us: int) -> RateResult:
        """Sets the rating; the same rating again changes nothing and appends no event."""
        ...

    async def clear_rating(self, user_id: str, film_id: str, now_us: int) -> bool:
        """Removes the rating; False (and no event) when there was none."""
        ...

    async def exclude(self, user_id: str, film_id: str, now_us: int) -> bool:
        """Marks the film "not interested"; False (and no event) when it already was."""
        ...

    async def include(self, user_id: str, film_id: str, now_us: int) -> bool:
        """Undoes an exclusion; False (and no event) when there was none."""
        ...

    async def record_more_like_this(self, user_id: str, film_id: str, now_us: int) -> None:
        """Appends a "more like this" event: every request is a signal of its own."""
        ...

    async def list_ratings(
        self, user_id: str, rating: Rating | None, after: PageCursor | None, limit: int
    ) -> Page[FilmRating]:
        """The user's ratings, most recently changed first."""
        ...

    async def list_exclusions(
        self, user_id: str, after: PageCursor | None, limit: int
    ) -> Page[Exclusion]:
        """The user's exclusions, newest first."""
        ...

    async def film_stats(self, film_ids: Sequence[str]) -> dict[str, FilmStats]:
        """Like and dislike counts of the films somebody rated; others are absent."""
        ...

    async def events_after(
        self, sequence: int, limit: int, kinds: Collection[EventKind] = ()
    ) -> list[Event]:
        """Up to ``limit`` logged events with a greater sequence, in order; ``kinds`` filters."""
        ...

    async def last_sequence(self) -> int:
        """The sequence of the newest logged event; 0 for an empty log."""
        ...

    async def relay_outbox(self) -> int:
        """Moves the pending events of committed changes into the log; how many it moved.

        Only a backend with a separate outbox has work here; it is safe to call from any
        number of processes at once.
        """
        ...

    async def run_outbox_relay(self, poll_seconds: float) -> None:
        """Relays the outbox until cancelled: at once after local writes, else every poll."""
        ...

    async def acquire_lease(self, name: str, owner: str, seconds: float) -> bool:
        """Takes or renews the lease ``name`` for ``owner``; False while another holds it."""
        ...

    async def get_cursor(self, name: str) -> int:
        """A consumer's persisted position in the log (0 when it never saved one)."""
        ...

    async def set_cursor(self, name: str, sequence: int) -> None: ...

    async def close(self) -> None: ...


async def open_store(settings: Settings) -> LikesStore:
    """The backend named by ``CINEMA_LIKES_DSN``, with its schema in place."""
    scheme = dsn_scheme(settings.likes_dsn)
    if scheme == "sqlite":
        from services.likes.store_sqlite import SqliteLikesStore

        return await SqliteLikesStore.open(sqlite_path(settings.likes_dsn))
    if scheme in ("mongodb", "mongodb+srv"):
        from services.likes.store_mongo import MongoLikesStore

        return await MongoLikesStore.open(settings.likes_dsn, settings.likes_relay_lease_seconds)
    raise ValueError(
        f"CINEMA_LIKES_DSN: no likes store for {scheme}:// (use sqlite:/// or mongodb://)"
    )

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

from services.kit.config import dsn_scheme, sqlite_path
from services.kit.signals import WakeUp
from services.likes.records import (
    Changed,
    Decision,
    Event,
    EventKind,
    Exclusion,
    FilmRating,
    FilmState,
    FilmStats,
    Page,
    PageCursor,
    Rating,
)


class LikesStore(Protocol):
    """Ratings, exclusions and "more like this" per user, and the event log."""

    #: Notified whenever this process appends events to the log.
    appended: WakeUp

    @property
    def outbox(self) -> WakeUp | None:
        """Notified whenever this process writes a change that :meth:`relay_outbox` is to
        log; None for a backend that logs each change in its own transaction."""
        ...

    async def change(
        self, user_id: str, film_id: str, decide: Decision, kind: EventKind, now_us: int
    ) -> Changed:
        """Applies ``decide`` to the (user, film) state as stored, atomically.

        When it returns a new state, that state and an event of ``kind`` at ``now_us`` are
        stored together; when it returns None, nothing is written. A backend may call
        ``decide`` more than once (after losing a race): it must be a pure function.
        """
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

    async def film_states(self, user_id: str, film_ids: Sequence[str]) -> dict[str, FilmState]:
        """What the user said of each of the films: those they rated or excluded; the
        others are absent."""
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

    async def acquire_lease(self, name: str, owner: str, seconds: float) -> bool:
        """Takes or renews the lease ``name`` for ``owner``; False while another holds it."""
        ...

    async def get_cursor(self, name: str) -> int:
        """A consumer's persisted position in the log (0 when it never saved one)."""
        ...

    async def set_cursor(self, name: str, sequence: int) -> None: ...

    async def close(self) -> None: ...


async def open_store(dsn: str, *, lease_seconds: float = 10.0) -> LikesStore:
    """The backend named by ``CINEMA_LIKES_DSN``, with its schema in place;
    ``lease_seconds`` is the MongoDB relay's lease (``CINEMA_LIKES_RELAY_LEASE_SECONDS``)."""
    scheme = dsn_scheme(dsn)
    if scheme == "sqlite":
        from services.likes.store_sqlite import SqliteLikesStore

        return await SqliteLikesStore.open(sqlite_path(dsn))
    if scheme in ("mongodb", "mongodb+srv"):
        from services.likes.store_mongo import MongoLikesStore

        return await MongoLikesStore.open(dsn, lease_seconds)
    raise ValueError(
        f"CINEMA_LIKES_DSN: no likes store for {scheme}:// (use sqlite:/// or mongodb://)"
    )

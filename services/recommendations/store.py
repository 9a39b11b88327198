"""What the recommendation service keeps, behind one interface; the DSN picks the backend.

One SQLAlchemy implementation serves ``sqlite:///`` (embedded) and ``postgresql://``
(production): the current list per user, the event cursor, the projection of the
likes log the engines learn from, and GigaChat's cached answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

from services.recommendations.engines import Interaction
from services.recommendations.records import LikesEvent, StoredList, Taste


class StaleList(NamedTuple):
    """A list due for the sweep; also the sweep's position in the order of such lists."""

    generate_us: int
    user_id: str


class RecommendationStore(Protocol):
    async def get_list(self, user_id: str) -> StoredList | None:
        """The user's current list; None before their first refresh."""
        ...

    async def put_list(self, stored: StoredList) -> None:
        """Replaces the user's list."""
        ...

    async def stale_lists(
        self, older_than_us: int, limit: int, after: StaleList | None = None
    ) -> list[StaleList]:
        """Lists generated before ``older_than_us``, oldest first, from just ``after`` one."""
        ...

    async def apply_events(self, events: Sequence[LikesEvent], cursor: str) -> None:
        """Folds events into the projection and moves ``cursor`` to the last one, atomically."""
        ...

    async def get_cursor(self, cursor: str) -> int:
        """The sequence of the last event consumed under ``cursor`` (0: none yet)."""
        ...

    async def taste(self, user_id: str) -> Taste:
        """The user's likes, dislikes (newest first) and exclusions."""
        ...

    async def interactions(self) -> list[Interaction]:
        """Everyone's current likes (+1) and dislikes (-1), for fitting the models."""
        ...

    async def cache_get(self, key: str, now_us: int) -> str | None:
        """A cached value that has not expired by ``now_us``."""
        ...

    async def cache_put(self, key: str, value: str, expires_us: int) -> None: ...

    async def close(self) -> None: ...


async def open_store(dsn: str) -> RecommendationStore:
    """The backend for ``CINEMA_RECOMMENDATIONS_DSN`` with its schema in place."""
    from services.recommendations.store_sql import SqlRecommendationStore

    return await SqlRecommendationStore.open(dsn)

"""The recommendation store on SQLAlchemy 2 async: SQLite (aiosqlite) or PostgreSQL (asyncpg).

The schema comes from the Alembic migrations in ``migrations/``, applied when the store
opens (the tables below describe it for queries; a change to them needs a migration).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.kit.cancellation import completes
from services.kit.sql import migrated_engine
from services.recommendations.engines import Interaction, Source
from services.recommendations.records import (
    Change,
    LikesEvent,
    StoredList,
    Taste,
    decode_items,
    encode_items,
)
from services.recommendations.store import StaleList

MIGRATIONS = Path(__file__).parent / "migrations"
#: Serializes migrations of replicas starting together on one PostgreSQL database.
LOCK_ID = 0x52454353  # "RECS"

metadata = sa.MetaData()
MICROS = sa.BigInteger()

lists = sa.Table(
    "recommendation_lists",
    metadata,
    sa.Column("user_id", sa.String(64), primary_key=True),
    sa.Column("items", sa.Text, nullable=False),
    sa.Column("generate_us", MICROS, nullable=False, index=True),
    sa.Column("fallback", sa.Boolean, nullable=False),
    sa.Column("sources", sa.String(200), nullable=False),
    sa.Column("llm_used", sa.Boolean, nullable=False),
)

cursors = sa.Table(
    "event_cursors",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("sequence", MICROS, nullable=False),
)

interactions = sa.Table(
    "interactions",
    metadata,
    sa.Column("user_id", sa.String(64), primary_key=True),
    sa.Column("film_id", sa.String(64), primary_key=True),
    sa.Column("value", sa.SmallInteger, nullable=False),  # +1 like, -1 dislike, 0 none
    sa.Column("excluded", sa.Boolean, nullable=False),
    sa.Column("updated_us", MICROS, nullable=False),  # the last verdict or exclusion change
    sa.Column("seeded_us", MICROS, nullable=True),  # the last "more like this" on the film
)

llm_cache = sa.Table(
    "llm_cache",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("expires_us", MICROS, nullable=False),
)

#: Users whose list is kept in memory: a 100-film list decoded is ~90 KB.
MEMO_LISTS = 500
#: Users whose taste is kept in memory (~100 bytes a verdict).
MEMO_TASTES = 2_000
#: How late a write by another process to the same SQLite file may be seen.
MEMO_TRUST_SECONDS = 1.0

V = TypeVar("V")


class Memo(Generic[V]):
    """Per-user values read from the store, dropped whenever this process writes them.

    A read memoizes only if no write of that user started or was running meanwhile, so
    a read racing a write never keeps the older row. Writes of other processes (none in
    the embedded stack, which alone opens its file) are seen within ``trust_seconds``.
    """

    def __init__(
        self, size: int, trust_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._values: OrderedDict[str, tuple[float, V]] = OrderedDict()
        self._size, self._trust, self._clock = size, trust_seconds, clock
        self._writes: dict[str, int] = {}  # writes running per user
        self._generation = 0  # bumped when any write starts or ends

    async def get(self, user_id: str, read: Callable[[], Awaitable[V]]) -> V:
        found = self._values.get(user_id)
        if found is not None and self._clock() - found[0] < self._trust:
            self._values.move_to_end(user_id)
            return found[1]
        generation, started = self._generation, self._clock()
        value = await read()
        trusted = self._trust > 0 and generation == self._generation
        if trusted and user_id not in self._writes:
            self._values[user_id] = (started, value)
            self._values.move_to_end(user_id)
            if len(self._values) > self._size:
                self._values.popitem(last=False)
        return value

    async def writing(self, users: Iterable[str], write: Awaitable[None]) -> None:
        """``await write``, forgetting ``users`` before it starts and after it ends."""
        users = set(users)
        self._changing(users, +1)
        try:
            await write  # a @completes write: ends only when the commit or rollback has
        finally:
            self._changing(users, -1)

    def _changing(self, users: set[str], step: int) -> None:
        self._generation += 1
        for user_id in users:
            self._values.pop(user_id, None)
            count = self._writes.get(user_id, 0) + step
            if count:
                self._writes[user_id] = count
            else:
                self._writes.pop(user_id, None)


_VALUES = {Change.LIKED: 1, Change.DISLIKED: -1, Change.CLEARED: 0}
_EXCLUDED = {Change.EXCLUDED: True, Change.INCLUDED: False}


def fold(events: Sequence[LikesEvent]) -> dict[tuple[str, str], dict[str, Any]]:
    """The columns each (user, film) ends with after ``events``, in log order.

    A verdict or an exclusion stamps ``updated_us`` (the order of the user's history); a
    "more like this" stamps only ``seeded_us``, so pressing it does not reorder the likes.
    """
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for event in events:
        row = rows.setdefault((event.user_id, event.film_id), {})
        if event.change in _VALUES:
            row["value"] = _VALUES[event.change]
            row["updated_us"] = event.time_us
        elif event.change in _EXCLUDED:
            row["excluded"] = _EXCLUDED[event.change]
            row["updated_us"] = event.time_us
        elif event.change is Change.MORE_LIKE_THIS:
            row["seeded_us"] = event.time_us
    return {key: row for key, row in rows.items() if row}


class SqlRecommendationStore:
    """Writes run to completion (``@completes``): a cancellation never splits a fold
    from its cursor nor hands a pooled connection back mid-transaction.

    On SQLite (the embedded stack: one process owns the file) lists and tastes are read
    from memory between this process's writes: they are read on every recommendations
    request, and a round trip through aiosqlite's thread plus decoding a 100-film list
    cost most of its time. PostgreSQL is shared by replicas, so it is read every time.

    On SQLite this process's writes also take turns on a lock of their own, first come
    first served: SQLite's busy handler only polls the file lock, and while the pipeline
    folds a long backlog, one write transaction after another, a list written meanwhile
    (a new user's first page, say) waited for the whole backlog.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        shared = engine.dialect.name == "postgresql"
        self._insert = postgresql.insert if shared else sqlite.insert
        trust = 0.0 if shared else MEMO_TRUST_SECONDS
        self._lists: Memo[StoredList | None] = Memo(MEMO_LISTS, trust)
        self._tastes: Memo[Taste] = Memo(MEMO_TASTES, trust)
        self._turns = contextlib.nullcontext() if shared else asyncio.Lock()

    @classmethod
    async def open(cls, dsn: str) -> SqlRecommendationStore:
        setting, version_table = "CINEMA_RECOMMENDATIONS_DSN", "recommendations_schema_version"
        return cls(await migrated_engine(dsn, setting, MIGRATIONS, version_table, LOCK_ID))

    @contextlib.asynccontextmanager
    async def _begin(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction, in its turn."""
        async with self._turns, self._engine.begin() as connection:
            yield connection

    async def get_list(self, user_id: str) -> StoredList | None:
        return await self._lists.get(user_id, lambda: self._read_list(user_id))

    async def _read_list(self, user_id: str) -> StoredList | None:
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(sa.select(lists).where(lists.c.user_id == user_id))
            ).first()
        if row is None:
            return None
        return StoredList(
            user_id=row.user_id,
            items=decode_items(row.items),
            generate_us=row.generate_us,
            fallback=row.fallback,
            sources=tuple(Source(s) for s in row.sources.split(",") if s),
            llm_used=row.llm_used,
        )

    async def put_list(self, stored: StoredList) -> None:
        await self._lists.writing([stored.user_id], self._write_list(stored))

    @completes
    async def _write_list(self, stored: StoredList) -> None:
        values = {
            "items": encode_items(stored.items),
            "generate_us": stored.generate_us,
            "fallback": stored.fallback,
            "sources": ",".join(s.value for s in stored.sources),
            "llm_used": stored.llm_used,
        }
        statement = self._insert(lists).values(user_id=stored.user_id, **values)
        async with self._begin() as connection:
            await connection.execute(
                statement.on_conflict_do_update(index_elements=[lists.c.user_id], set_=values)
            )

    async def stale_lists(
        self, older_than_us: int, limit: int, after: StaleList | None = None
    ) -> list[StaleList]:
        query = (
            sa.select(lists.c.generate_us, lists.c.user_id)
            .where(lists.c.generate_us < older_than_us)
            .order_by(lists.c.generate_us, lists.c.user_id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(
                sa.or_(
                    lists.c.generate_us > after.generate_us,
                    sa.and_(
                        lists.c.generate_us == after.generate_us, lists.c.user_id > after.user_id
                    ),
                )
            )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [StaleList(row.generate_us, row.user_id) for row in rows]

    async def apply_events(self, events: Sequence[LikesEvent], cursor: str) -> None:
        if events:
            users = {event.user_id for event in events}
            await self._tastes.writing(users, self._fold(events, cursor))

    @completes
    async def _fold(self, events: Sequence[LikesEvent], cursor: str) -> None:
        async with self._begin() as connection:
            for (user_id, film_id), changed in fold(events).items():
                statement = self._insert(interactions).values(
                    user_id=user_id,
                    film_id=film_id,
                    value=changed.get("value", 0),
                    excluded=changed.get("excluded", False),
                    updated_us=changed.get("updated_us", changed.get("seeded_us")),
                    seeded_us=changed.get("seeded_us"),
                )
                await connection.execute(
                    statement.on_conflict_do_update(
                        index_elements=[interactions.c.user_id, interactions.c.film_id],
                        set_=changed,
                    )
                )
            await self._set_cursor(connection, cursor, events[-1].sequence)

    async def _set_cursor(self, connection: AsyncConnection, name: str, sequence: int) -> None:
        statement = self._insert(cursors).values(name=name, sequence=sequence)
        await connection.execute(
            statement.on_conflict_do_update(
                index_elements=[cursors.c.name], set_={"sequence": sequence}
            )
        )

    async def get_cursor(self, cursor: str) -> int:
        async with self._engine.connect() as connection:
            found = await connection.scalar(
                sa.select(cursors.c.sequence).where(cursors.c.name == cursor)
            )
        return int(found or 0)

    async def taste(self, user_id: str) -> Taste:
        return await self._tastes.get(user_id, lambda: self._read_taste(user_id))

    async def _read_taste(self, user_id: str) -> Taste:
        query = (
            sa.select(interactions)
            .where(interactions.c.user_id == user_id)
            .order_by(interactions.c.updated_us.desc(), interactions.c.film_id)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        seeded = sorted((r for r in rows if r.seeded_us is not None), key=lambda r: -r.seeded_us)
        return Taste(
            liked=tuple(r.film_id for r in rows if r.value > 0),
            disliked=tuple(r.film_id for r in rows if r.value < 0),
            excluded=frozenset(r.film_id for r in rows if r.excluded),
            seeds=tuple((r.film_id, int(r.seeded_us)) for r in seeded),
            rated_us=tuple(int(r.updated_us) for r in rows if r.value != 0),
        )

    async def interactions(self) -> list[Interaction]:
        query = sa.select(
            interactions.c.user_id, interactions.c.film_id, interactions.c.value
        ).where(interactions.c.value != 0)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [Interaction(r.user_id, r.film_id, int(r.value)) for r in rows]

    async def cache_get(self, key: str, now_us: int) -> str | None:
        query = sa.select(llm_cache.c.value).where(
            llm_cache.c.key == key, llm_cache.c.expires_us > now_us
        )
        async with self._engine.connect() as connection:
            found = await connection.scalar(query)
        return None if found is None else str(found)

    @completes
    async def cache_put(self, key: str, value: str, expires_us: int) -> None:
        statement = self._insert(llm_cache).values(key=key, value=value, expires_us=expires_us)
        async with self._begin() as connection:
            await connection.execute(
                statement.on_conflict_do_update(
                    index_elements=[llm_cache.c.key],
                    set_={"value": value, "expires_us": expires_us},
                )
            )

    async def close(self) -> None:
        await self._engine.dispose()

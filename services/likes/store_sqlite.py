"""The embedded likes store: SQLite through aiosqlite.

A change and its event commit in one transaction. The log's sequence is the events
table's AUTOINCREMENT key: SQLite lets one writer at a time in (also across
processes), so a sequence is never committed after a greater one and a reader that
resumes after its last sequence can never skip an event that commits later.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite
import structlog

from services.kit.cancellation import completes
from services.likes.model import (
    Event,
    EventKind,
    Exclusion,
    FilmRating,
    FilmStats,
    Page,
    PageCursor,
    RateResult,
    Rating,
    rated_kind,
)
from services.likes.store import AppendSignal

log = structlog.get_logger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS ratings (
    user_id TEXT NOT NULL, film_id TEXT NOT NULL,
    rating INTEGER NOT NULL, updated_us INTEGER NOT NULL,
    PRIMARY KEY (user_id, film_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ratings_newest ON ratings (user_id, updated_us DESC, film_id DESC);
CREATE INDEX IF NOT EXISTS ratings_by_film ON ratings (film_id, rating);
CREATE TABLE IF NOT EXISTS exclusions (
    user_id TEXT NOT NULL, film_id TEXT NOT NULL, created_us INTEGER NOT NULL,
    PRIMARY KEY (user_id, film_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS exclusions_newest
    ON exclusions (user_id, created_us DESC, film_id DESC);
CREATE TABLE IF NOT EXISTS events (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL, film_id TEXT NOT NULL,
    kind INTEGER NOT NULL, time_us INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_us INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, sequence INTEGER NOT NULL);
"""

# Keyset paging, newest first: rows strictly after the cursor in (time, film) order.
AFTER_CURSOR = " AND ({time} < ? OR ({time} = ? AND film_id < ?))"


def _after(cursor: PageCursor | None, time_column: str) -> tuple[str, list[object]]:
    if cursor is None:
        return "", []
    clause = AFTER_CURSOR.format(time=time_column)
    return clause, [cursor.time_us, cursor.time_us, cursor.film_id]


class SqliteLikesStore:
    def __init__(self, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self._writer = writer
        self._reader = reader
        # One connection serves every writing coroutine: a transaction must not interleave.
        self._write_lock = asyncio.Lock()
        self.appended = AppendSignal()

    @classmethod
    async def open(cls, path: str) -> SqliteLikesStore:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        writer = await aiosqlite.connect(path, isolation_level=None)
        await writer.execute("PRAGMA journal_mode=WAL")
        await writer.execute("PRAGMA busy_timeout=10000")
        await writer.executescript(SCHEMA)
        # A separate reader never sees the writer's uncommitted rows (WAL snapshots).
        reader = await aiosqlite.connect(path, isolation_level=None)
        await reader.execute("PRAGMA busy_timeout=10000")
        return cls(writer, reader)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction on the shared connection; callers are ``@completes``.

        Every writing method runs to completion, so a cancellation never strands a
        transaction; a BEGIN left open anyway (a failed ROLLBACK) is rolled back first,
        so one bad write cannot fail every later one.
        """
        async with self._write_lock:
            if self._writer.in_transaction:
                log.warning("likes_store_rolled_back_stranded_transaction")
                await self._writer.execute("ROLLBACK")
            # IMMEDIATE takes the write lock up front: read-then-write without upgrade races.
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
                await self._writer.execute("COMMIT")
            except BaseException:
                if self._writer.in_transaction:
                    await self._writer.execute("ROLLBACK")
                raise

    @staticmethod
    async def _append(
        db: aiosqlite.Connection, user_id: str, film_id: str, kind: EventKind, now_us: int
    ) -> None:
        await db.execute(
            "INSERT INTO events (event_id, user_id, film_id, kind, time_us) VALUES (?, ?, ?, ?, ?)",
            (uuid.uuid4().hex, user_id, film_id, int(kind), now_us),
        )

    @completes
    async def rate(self, user_id: str, film_id: str, rating: Rating, now_us: int) -> RateResult:
        async with self._transaction() as db:
            async with db.execute(
                "SELECT rating, updated_us FROM ratings WHERE user_id = ? AND film_id = ?",
                (user_id, film_id),
            ) as cursor:
                row = await cursor.fetchone()
            if row is not None and row[0] == rating:
                return RateResult(FilmRating(film_id, rating, row[1]), changed=False)
            await db.execute(
                "INSERT INTO ratings (user_id, film_id, rating, updated_us) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (user_id, film_id)"
                " DO UPDATE SET rating = excluded.rating, updated_us = excluded.updated_us",
                (user_id, film_id, int(rating), now_us),
            )
            await self._append(db, user_id, film_id, rated_kind(rating), now_us)
        self.appended.notify()
        return RateResult(FilmRating(film_id, rating, now_us), changed=True)

    @completes
    async def _delete(
        self, table: str, user_id: str, film_id: str, kind: EventKind, now_us: int
    ) -> bool:
        async with self._transaction() as db:
            cursor = await db.execute(
                f"DELETE FROM {table} WHERE user_id = ? AND film_id = ?", (user_id, film_id)
            )
            if cursor.rowcount == 0:
                return False
            await self._append(db, user_id, film_id, kind, now_us)
        self.appended.notify()
        return True

    async def clear_rating(self, user_id: str, film_id: str, now_us: int) -> bool:
        return await self._delete("ratings", user_id, film_id, EventKind.RATING_CLEARED, now_us)

    @completes
    async def exclude(self, user_id: str, film_id: str, now_us: int) -> bool:
        async with self._transaction() as db:
            cursor = await db.execute(
                "INSERT INTO exclusions (user_id, film_id, created_us) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (user_id, film_id, now_us),
            )
            if cursor.rowcount == 0:
                return False
            await self._append(db, user_id, film_id, EventKind.FILM_EXCLUDED, now_us)
        self.appended.notify()
        return True

    async def include(self, user_id: str, film_id: str, now_us: int) -> bool:
        return await self._delete("exclusions", user_id, film_id, EventKind.FILM_INCLUDED, now_us)

    @completes
    async def record_more_like_this(self, user_id: str, film_id: str, now_us: int) -> None:
        async with self._transaction() as db:
            await self._append(db, user_id, film_id, EventKind.MORE_LIKE_THIS_REQUESTED, now_us)
        self.appended.notify()

    async def _rows(self, sql: str, params: Sequence[object]) -> list[aiosqlite.Row]:
        async with self._reader.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def list_ratings(
        self, user_id: str, rating: Rating | None, after: PageCursor | None, limit: int
    ) -> Page[FilmRating]:
        clause, params = _after(after, "updated_us")
        if rating is not None:
            clause += " AND rating = ?"
            params.append(int(rating))
        rows = await self._rows(
            "SELECT film_id, rating, updated_us FROM ratings WHERE user_id = ?"
            f"{clause} ORDER BY updated_us DESC, film_id DESC LIMIT ?",
            [user_id, *params, limit + 1],
        )
        items = [FilmRating(r[0], Rating(r[1]), r[2]) for r in rows[:limit]]
        more = len(rows) > limit
        return Page(items, PageCursor(items[-1].updated_us, items[-1].film_id) if more else None)

    async def list_exclusions(
        self, user_id: str, after: PageCursor | None, limit: int
    ) -> Page[Exclusion]:
        clause, params = _after(after, "created_us")
        rows = await self._rows(
            "SELECT film_id, created_us FROM exclusions WHERE user_id = ?"
            f"{clause} ORDER BY created_us DESC, film_id DESC LIMIT ?",
            [user_id, *params, limit + 1],
        )
        items = [Exclusion(r[0], r[1]) for r in rows[:limit]]
        more = len(rows) > limit
        return Page(items, PageCursor(items[-1].created_us, items[-1].film_id) if more else None)

    async def film_stats(self, film_ids: Sequence[str]) -> dict[str, FilmStats]:
        if not film_ids:
            return {}
        marks = ", ".join("?" * len(film_ids))
        rows = await self._rows(
            "SELECT film_id, SUM(rating = 1), SUM(rating = 2) FROM ratings"
            f" WHERE film_id IN ({marks}) GROUP BY film_id",
            list(film_ids),
        )
        return {r[0]: FilmStats(r[0], r[1], r[2]) for r in rows}

    async def events_after(
        self, sequence: int, limit: int, kinds: Collection[EventKind] = ()
    ) -> list[Event]:
        clause, params = "", []
        if kinds:
            clause = f" AND kind IN ({', '.join('?' * len(kinds))})"
            params = [int(k) for k in kinds]
        rows = await self._rows(
            "SELECT sequence, event_id, user_id, film_id, kind, time_us FROM events"
            f" WHERE sequence > ?{clause} ORDER BY sequence LIMIT ?",
            [sequence, *params, limit],
        )
        return [Event(r[0], r[1], r[2], r[3], EventKind(r[4]), r[5]) for r in rows]

    async def last_sequence(self) -> int:
        rows = await self._rows("SELECT COALESCE(MAX(sequence), 0) FROM events", [])
        return int(rows[0][0])

    async def relay_outbox(self) -> int:
        return 0  # events are logged in the change's own transaction

    async def run_outbox_relay(self, poll_seconds: float) -> None:
        return None

    @completes
    async def acquire_lease(self, name: str, owner: str, seconds: float) -> bool:
        now_us = time.time_ns() // 1000
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO leases (name, owner, expires_us) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner,"
                " expires_us = excluded.expires_us"
                " WHERE leases.owner = excluded.owner OR leases.expires_us < ?",
                (name, owner, now_us + int(seconds * 1_000_000), now_us),
            )
            async with db.execute("SELECT owner FROM leases WHERE name = ?", (name,)) as cursor:
                row = await cursor.fetchone()
        return row is not None and row[0] == owner

    async def get_cursor(self, name: str) -> int:
        rows = await self._rows("SELECT sequence FROM cursors WHERE name = ?", [name])
        return int(rows[0][0]) if rows else 0

    @completes
    async def set_cursor(self, name: str, sequence: int) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO cursors (name, sequence) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET sequence = excluded.sequence",
                (name, sequence),
            )

    async def close(self) -> None:
        await self._writer.close()
        await self._reader.close()

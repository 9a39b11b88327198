"""The embedded likes store: SQLite through aiosqlite.

A change and its event commit in one transaction (with the other writes queued at the
same time: group commit, see :class:`SqliteLikesStore`). The log's sequence is the events
table's AUTOINCREMENT key: SQLite lets one writer at a time in (also across
processes), so a sequence is never committed after a greater one and a reader that
resumes after its last sequence can never skip an event that commits later.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
import structlog

from services.kit.cancellation import completes
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

log = structlog.get_logger(__name__)
T = TypeVar("T")
GROUP_MAX = 512  # writes committed together at most

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

# A (user, film)'s whole state in one statement: always one row, NULL where unset.
STATE_OF = """
SELECT r.rating, r.updated_us, e.created_us FROM (SELECT ? AS user_id, ? AS film_id) AS k
LEFT JOIN ratings AS r ON r.user_id = k.user_id AND r.film_id = k.film_id
LEFT JOIN exclusions AS e ON e.user_id = k.user_id AND e.film_id = k.film_id
"""

# Keyset paging, newest first: rows strictly after the cursor in (time, film) order.
AFTER_CURSOR = " AND ({time} < ? OR ({time} = ? AND film_id < ?))"


def _after(cursor: PageCursor | None, time_column: str) -> tuple[str, list[object]]:
    if cursor is None:
        return "", []
    clause = AFTER_CURSOR.format(time=time_column)
    return clause, [cursor.time_us, cursor.time_us, cursor.film_id]


Work = Callable[[sqlite3.Connection], T]


class SqliteLikesStore:
    """Writes go through one connection in one thread, committed in groups.

    Each write is a function of the connection, queued; a flusher runs every write
    queued meanwhile in ONE transaction (one thread hop, one commit and WAL sync for
    all), so concurrent writers share the commit instead of queueing for a lock and
    six thread hops each. When one write of a group fails, the group rolls back and
    each of its writes runs again in a transaction of its own, so the failure stays
    with its writer. A write's functions only touch the database, so running one again
    after a rollback is safe.
    """

    def __init__(
        self, writer: sqlite3.Connection, reader: aiosqlite.Connection, thread: ThreadPoolExecutor
    ) -> None:
        self._writer = writer
        self._reader = reader
        self._thread = thread  # the writer connection's only thread
        self._queue: list[_Queued] = []
        self._flusher: asyncio.Task[None] | None = None
        self._closed = False
        self.appended = WakeUp()
        self.outbox = None  # each change is logged in its own transaction

    @classmethod
    async def open(cls, path: str) -> SqliteLikesStore:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        thread = ThreadPoolExecutor(1, thread_name_prefix="likes-sqlite-writer")

        def connect() -> sqlite3.Connection:
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=10000")
            db.executescript(SCHEMA)
            return db

        writer = await asyncio.get_running_loop().run_in_executor(thread, connect)
        # A separate reader never sees the writer's uncommitted rows (WAL snapshots).
        try:
            # sqlite3's timeout is the busy timeout: no statement, so nothing left to fail.
            reader = await aiosqlite.connect(path, isolation_level=None, timeout=10)
        except BaseException:
            writer.close()
            thread.shutdown(wait=False)
            raise
        return cls(writer, reader, thread)

    async def _write(self, work: Work[T], appends: bool = True) -> T:
        """``work`` committed (with whatever other writes were queued meanwhile).

        Callers are ``@completes``: a cancelled caller still waits for the commit.
        """
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append(_Queued(work, future, appends))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queue:
            group, self._queue = self._queue[:GROUP_MAX], self._queue[GROUP_MAX:]
            running = loop.run_in_executor(self._thread, self._commit, [q.work for q in group])
            try:
                outcomes = await asyncio.shield(running)
            except asyncio.CancelledError:
                # The loop is closing: the group commits or not, but nobody waits for it.
                for queued in group:
                    queued.future.cancel()
                raise
            for queued, (ok, value) in zip(group, outcomes, strict=True):
                if queued.future.done():
                    continue
                if ok:
                    queued.future.set_result(value)
                else:
                    queued.future.set_exception(value)
            if any(q.appends and ok for q, (ok, _) in zip(group, outcomes, strict=True)):
                self.appended.notify()

    def _commit(self, works: list[Work[object]]) -> list[tuple[bool, Any]]:
        """In the writer thread: the group in one transaction, else each write alone."""
        try:
            return [(True, result) for result in self._transaction(works)]
        except Exception as error:
            if len(works) == 1:
                return [(False, error)]
        outcomes: list[tuple[bool, Any]] = []
        for work in works:
            try:
                outcomes.append((True, self._transaction([work])[0]))
            except Exception as error:
                outcomes.append((False, error))
        return outcomes

    def _transaction(self, works: list[Work[object]]) -> list[object]:
        db = self._writer
        if db.in_transaction:
            log.warning("likes_store_rolled_back_stranded_transaction")
            db.execute("ROLLBACK")
        # IMMEDIATE takes the write lock up front: read-then-write without upgrade races.
        db.execute("BEGIN IMMEDIATE")
        try:
            results = [work(db) for work in works]
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return results

    @staticmethod
    def _append(
        db: sqlite3.Connection, user_id: str, film_id: str, kind: EventKind, now_us: int
    ) -> None:
        db.execute(
            "INSERT INTO events (event_id, user_id, film_id, kind, time_us) VALUES (?, ?, ?, ?, ?)",
            (uuid.uuid4().hex, user_id, film_id, int(kind), now_us),
        )

    @completes
    async def change(
        self, user_id: str, film_id: str, decide: Decision, kind: EventKind, now_us: int
    ) -> Changed:
        key = (user_id, film_id)

        def work(db: sqlite3.Connection) -> Changed:
            rating, rated_us, excluded_us = db.execute(STATE_OF, key).fetchone()
            before = FilmState(None if rating is None else Rating(rating), rated_us, excluded_us)
            after = decide(before)
            if after is None:
                return Changed(before, changed=False)
            if (after.rating, after.rated_us) != (before.rating, before.rated_us):
                if after.rating is None:
                    db.execute("DELETE FROM ratings WHERE user_id = ? AND film_id = ?", key)
                else:
                    db.execute(
                        "INSERT INTO ratings (user_id, film_id, rating, updated_us)"
                        " VALUES (?, ?, ?, ?) ON CONFLICT (user_id, film_id)"
                        " DO UPDATE SET rating = excluded.rating,"
                        " updated_us = excluded.updated_us",
                        (*key, int(after.rating), after.rated_us),
                    )
            if after.excluded_us != before.excluded_us:
                if after.excluded_us is None:
                    db.execute("DELETE FROM exclusions WHERE user_id = ? AND film_id = ?", key)
                else:
                    db.execute(
                        "INSERT OR REPLACE INTO exclusions (user_id, film_id, created_us)"
                        " VALUES (?, ?, ?)",
                        (*key, after.excluded_us),
                    )
            self._append(db, user_id, film_id, kind, now_us)
            return Changed(after, changed=True)

        return await self._write(work)

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

    async def film_states(self, user_id: str, film_ids: Sequence[str]) -> dict[str, FilmState]:
        if not film_ids:
            return {}
        marks = ", ".join("?" * len(film_ids))
        # Both halves use a primary key (user_id, film_id): one seek per film.
        rows = await self._rows(
            "SELECT film_id, rating, updated_us, NULL FROM ratings"
            f" WHERE user_id = ? AND film_id IN ({marks})"
            " UNION ALL SELECT film_id, NULL, NULL, created_us FROM exclusions"
            f" WHERE user_id = ? AND film_id IN ({marks})",
            [user_id, *film_ids, user_id, *film_ids],
        )
        states: dict[str, FilmState] = {}
        for film_id, rating, rated_us, excluded_us in rows:
            before = states.get(film_id, FilmState())
            states[film_id] = FilmState(
                Rating(rating) if rating is not None else before.rating,
                rated_us if rated_us is not None else before.rated_us,
                excluded_us if excluded_us is not None else before.excluded_us,
            )
        return states

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

    @completes
    async def acquire_lease(self, name: str, owner: str, seconds: float) -> bool:
        now_us = time.time_ns() // 1000

        def work(db: sqlite3.Connection) -> bool:
            db.execute(
                "INSERT INTO leases (name, owner, expires_us) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner,"
                " expires_us = excluded.expires_us"
                " WHERE leases.owner = excluded.owner OR leases.expires_us < ?",
                (name, owner, now_us + int(seconds * 1_000_000), now_us),
            )
            row = db.execute("SELECT owner FROM leases WHERE name = ?", (name,)).fetchone()
            return row is not None and row[0] == owner

        return await self._write(work, appends=False)

    async def get_cursor(self, name: str) -> int:
        rows = await self._rows("SELECT sequence FROM cursors WHERE name = ?", [name])
        return int(rows[0][0]) if rows else 0

    @completes
    async def set_cursor(self, name: str, sequence: int) -> None:
        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO cursors (name, sequence) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET sequence = excluded.sequence",
                (name, sequence),
            )

        await self._write(work, appends=False)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._flusher is not None and not self._flusher.done():
            await asyncio.wait({self._flusher})  # the writes queued before close commit
        await asyncio.get_running_loop().run_in_executor(self._thread, self._writer.close)
        self._thread.shutdown(wait=False)
        await self._reader.close()


@dataclass(frozen=True)
class _Queued:
    work: Work[Any]
    future: asyncio.Future[Any]
    appends: bool  # whether the write may append to the log (wakes its readers)

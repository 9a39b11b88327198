"""Import target of production: the ``content`` schema in PostgreSQL (source of truth).

Triggers log every change (``etl.change_log``); that log, not ``updated_at``, is what
``cinema etl sync`` follows to carry changes, deletions included, to the search index.
A first load (into an empty catalog) is one transaction of COPY statements. Its insert
triggers are disabled inside that transaction, which locks the tables against other
writers until it commits (readers are not blocked), and it logs every film, person and
genre itself, in one statement, before it enables them again and commits: the same
log, numbered at commit as always, without staging every COPY's rows (with them, a
COPY of a 10k-film catalog took a fifth to a half longer). Without the right to alter
the tables, the triggers log it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg

from etl.change_log import CHANGE_LOG
from etl.importer import FirstLoadConflict
from etl.legacy import (
    FilmRecord,
    GenreLinkRecord,
    GenreRecord,
    PersonLinkRecord,
    PersonRecord,
    Record,
)
from services.kit.text import fold

SCHEMA = """
CREATE SCHEMA IF NOT EXISTS content;
CREATE TABLE IF NOT EXISTS content.film_work (
    id uuid PRIMARY KEY,
    title text NOT NULL,
    sort_title text NOT NULL,
    description text NOT NULL DEFAULT '',
    -- YYYY, YYYY-MM or YYYY-MM-DD: legacy rows often know only the year.
    creation_date text CHECK (creation_date ~ '^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$'),
    year integer,
    certificate text NOT NULL DEFAULT '',
    file_path text NOT NULL DEFAULT '',
    rating double precision CHECK (rating BETWEEN 0 AND 10),
    type text NOT NULL CHECK (type IN ('movie', 'tv_show')),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    etl_hash text
);
CREATE INDEX IF NOT EXISTS film_work_updated ON content.film_work (updated_at, id);
CREATE TABLE IF NOT EXISTS content.genre (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    description text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    etl_hash text
);
CREATE INDEX IF NOT EXISTS genre_updated ON content.genre (updated_at, id);
CREATE TABLE IF NOT EXISTS content.person (
    id uuid PRIMARY KEY,
    full_name text NOT NULL,
    birth_date text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    etl_hash text
);
CREATE INDEX IF NOT EXISTS person_updated ON content.person (updated_at, id);
CREATE TABLE IF NOT EXISTS content.genre_film_work (
    id uuid PRIMARY KEY,
    film_work_id uuid NOT NULL REFERENCES content.film_work (id) ON DELETE CASCADE,
    genre_id uuid NOT NULL REFERENCES content.genre (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    etl_hash text,
    UNIQUE (film_work_id, genre_id)
);
CREATE INDEX IF NOT EXISTS genre_film_work_genre ON content.genre_film_work (genre_id);
CREATE TABLE IF NOT EXISTS content.person_film_work (
    id uuid PRIMARY KEY,
    film_work_id uuid NOT NULL REFERENCES content.film_work (id) ON DELETE CASCADE,
    person_id uuid NOT NULL REFERENCES content.person (id) ON DELETE CASCADE,
    role text NOT NULL CHECK (role IN ('actor', 'director', 'writer')),
    created_at timestamptz NOT NULL,
    etl_hash text,
    UNIQUE (film_work_id, person_id, role)
);
CREATE INDEX IF NOT EXISTS person_film_work_person ON content.person_film_work (person_id);
"""

_COLUMNS = {
    "film_work": (
        "id", "title", "sort_title", "description", "creation_date", "year", "certificate",
        "file_path", "rating", "type", "created_at", "etl_hash",
    ),
    "genre": ("id", "name", "description", "created_at", "etl_hash"),
    "person": ("id", "full_name", "birth_date", "created_at", "etl_hash"),
    "genre_film_work": ("id", "film_work_id", "genre_id", "created_at", "etl_hash"),
    "person_film_work": ("id", "film_work_id", "person_id", "role", "created_at", "etl_hash"),
}  # fmt: skip
_LINKS = ("genre_film_work", "person_film_work")
_COPY_ROWS = 10_000
_TABLES = ("genre", "person", "film_work", *_LINKS)
_EMPTY = " AND ".join(f"NOT EXISTS (SELECT FROM content.{t})" for t in _TABLES)
# What the insert triggers would have logged for a first load: its links point only at
# films, persons and genres it loads, which are logged themselves. flush_changes numbers
# the staged ids at commit, under the commit-order lock, as for any other transaction.
_LOG_FIRST_LOAD = """
INSERT INTO content.change_pending (tx, stream, id)
SELECT pg_current_xact_id(), 'films', id FROM content.film_work
UNION ALL SELECT pg_current_xact_id(), 'persons', id FROM content.person
UNION ALL SELECT pg_current_xact_id(), 'genres', id FROM content.genre;
INSERT INTO content.change_flush (tx) VALUES (pg_current_xact_id()) ON CONFLICT DO NOTHING;
"""
# Deleting a person or genre cascades to these links, and so changes their films.
_OWNED_LINKS = {
    "person": ("person_film_work", "person_id"),
    "genre": ("genre_film_work", "genre_id"),
}


def asyncpg_dsn(dsn: str) -> str:
    """asyncpg wants ``postgresql://``; the settings may say ``postgresql+asyncpg://``."""
    scheme, rest = dsn.split("://", 1)
    return f"{scheme.split('+', 1)[0]}://{rest}"


def _row(record: Record, digest: str) -> tuple[object, ...]:
    if isinstance(record, FilmRecord):
        date = record.creation_date
        return (
            record.id, record.title, fold(record.title), record.description,
            str(date) if date else None, date.year if date else None, record.certificate,
            record.file_path, record.rating, str(record.type), record.created_at, digest,
        )  # fmt: skip
    if isinstance(record, GenreRecord):
        return (record.id, record.name, record.description, record.created_at, digest)
    if isinstance(record, PersonRecord):
        birth = str(record.birth_date) if record.birth_date else None
        return (record.id, record.full_name, birth, record.created_at, digest)
    if isinstance(record, GenreLinkRecord):
        return (record.id, record.film_work_id, record.genre_id, record.created_at, digest)
    assert isinstance(record, PersonLinkRecord)
    return (
        record.id, record.film_work_id, record.person_id, str(record.role),
        record.created_at, digest,
    )  # fmt: skip


class PostgresCatalogWriter:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self._db = connection
        self._scratch: set[str] = set()  # the temporary tables made on this connection
        self._first_load: asyncpg.transaction.Transaction | None = None
        self._logs_first_load = False  # its insert triggers are off: it logs in bulk

    @classmethod
    async def open(cls, dsn: str) -> PostgresCatalogWriter:
        connection = await asyncpg.connect(asyncpg_dsn(dsn))
        await ensure_schema(connection)
        return cls(connection)

    async def begin_first_load(self) -> bool:
        """Lock the tables against other writers (until commit), then look: whatever an
        earlier writer committed is seen, and nobody can add to it meanwhile."""
        transaction = self._db.transaction()
        await transaction.start()
        try:
            tables = ", ".join(f"content.{table}" for table in _TABLES)
            await self._db.execute(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")
            empty = bool(await self._db.fetchval(f"SELECT {_EMPTY}"))
            if empty:
                self._logs_first_load = await self._set_insert_triggers("DISABLE")
        except BaseException:
            await transaction.rollback()
            raise
        if not empty:
            await transaction.rollback()
            return False
        self._first_load = transaction
        return True

    async def _set_insert_triggers(self, action: str) -> bool:
        """ENABLE or DISABLE the change log's insert triggers in this transaction;
        False if this role may not (it does not own the tables)."""
        try:
            async with self._db.transaction():
                for table in _TABLES:
                    await self._db.execute(
                        f"ALTER TABLE content.{table} {action} TRIGGER {table}_inserted"
                    )
        except asyncpg.InsufficientPrivilegeError:
            return False
        return True

    async def load(self, table: str, batches: AsyncIterator[list[tuple[Record, str]]]) -> None:
        """COPY, fed batch by batch as they are prepared: the server stores one batch
        while the next is parsed. A new COPY every ``_COPY_ROWS`` rows, so that the
        foreign keys, checked at the end of each, are checked while the next rows are
        prepared rather than all at the end. An id twice in the file is a conflict."""

        more = True

        async def rows() -> AsyncIterator[tuple[object, ...]]:
            nonlocal more
            count, more = 0, False
            async for batch in batches:
                for record, digest in batch:
                    yield _row(record, digest)
                count += len(batch)
                if count >= _COPY_ROWS:
                    more = True
                    return

        try:
            while more:
                await self._db.copy_records_to_table(
                    table, schema_name="content", columns=_COLUMNS[table], records=rows()
                )
        except (asyncpg.UniqueViolationError, asyncpg.DeadlockDetectedError) as error:
            raise FirstLoadConflict(f"{table}: {error}") from error

    async def abandon_first_load(self) -> None:
        """The rollback also undoes the disabling of the triggers."""
        if self._first_load is not None:
            transaction, self._first_load = self._first_load, None
            self._logs_first_load = False
            await transaction.rollback()

    async def hashes(self, table: str, ids: list[str]) -> dict[str, str]:
        rows = await self._db.fetch(
            f"SELECT id::text, etl_hash FROM content.{table} WHERE id = ANY($1::uuid[])", ids
        )
        return {row[0]: row[1] for row in rows}

    async def write(
        self, table: str, records: list[Record], hashes: dict[str, str], new: set[str]
    ) -> None:
        """One batch, one transaction: rows not stored yet are COPYed into the table;
        the others are COPYed into a scratch table and upserted from it in one statement.

        Statements, not rows: the change log's statement triggers fire once per
        statement, and COPY is the fastest way in. A plain COPY skips the upsert's
        per-row conflict check (most of a first import's time); should a "new" row have
        been written meanwhile, by another import, the batch is upserted instead.
        """
        fresh = [_row(r, hashes[r.id]) for r in records if r.id in new]
        known = [_row(r, hashes[r.id]) for r in records if r.id not in new]
        try:
            async with self._db.transaction():
                if fresh:
                    await self._db.copy_records_to_table(
                        table, schema_name="content", columns=_COLUMNS[table], records=fresh
                    )
                if known:
                    await self._upsert(table, known)
        except asyncpg.UniqueViolationError:
            self._scratch.clear()  # the rollback took any scratch table made in it
            async with self._db.transaction():
                await self._upsert(table, fresh + known)
        except BaseException:
            self._scratch.clear()
            raise

    async def _upsert(self, table: str, rows: list[tuple[object, ...]]) -> None:
        """COPY into a scratch table, then one INSERT ... ON CONFLICT from it."""
        columns = _COLUMNS[table]
        names = ", ".join(columns)
        updates = [f"{c} = excluded.{c}" for c in columns if c not in ("id", "created_at")]
        if table not in _LINKS:
            updates.append("updated_at = now()")
        scratch = f"etl_{table}"
        if table not in self._scratch:
            await self._db.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {scratch}"
                f" (LIKE content.{table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            )
            self._scratch.add(table)
        await self._db.copy_records_to_table(scratch, columns=list(columns), records=rows)
        await self._db.execute(
            f"INSERT INTO content.{table} ({names}) SELECT {names} FROM {scratch}"
            f" ON CONFLICT (id) DO UPDATE SET {', '.join(updates)}"
        )

    async def finish(self, films: set[str], persons: set[str], genres: set[str]) -> set[str]:
        """Touch every film whose document changed, so that sync re-indexes it.

        A first load commits instead: every film in it was inserted by its transaction,
        which logs it, and whose ``now()`` its ``updated_at`` already holds.
        """
        if self._first_load is not None:
            if self._logs_first_load:
                await self._db.execute(_LOG_FIRST_LOAD)
                # Before the commit, or later writes would go unlogged; should this
                # fail, the rollback restores the triggers as well.
                if not await self._set_insert_triggers("ENABLE"):
                    raise RuntimeError("the change log's triggers could not be enabled")
            transaction, self._first_load = self._first_load, None
            self._logs_first_load = False
            await transaction.commit()
            return set(films)
        rows = await self._db.fetch(
            """
            SELECT film_work_id::text FROM content.person_film_work
             WHERE person_id = ANY($1::uuid[])
            UNION
            SELECT film_work_id::text FROM content.genre_film_work
             WHERE genre_id = ANY($2::uuid[])
            """,
            list(persons),
            list(genres),
        )
        affected = films | {row[0] for row in rows}
        await self._db.execute(
            "UPDATE content.film_work SET updated_at = now() WHERE id = ANY($1::uuid[])",
            list(affected),
        )
        return affected

    async def ids(self, table: str) -> set[str]:
        return {row[0] for row in await self._db.fetch(f"SELECT id::text FROM content.{table}")}

    async def delete(self, table: str, ids: set[str]) -> set[str]:
        """Delete rows (links cascade; the change log tells sync); the films affected."""
        async with self._db.transaction():
            if table in _OWNED_LINKS:
                links, column = _OWNED_LINKS[table]
                affected = await self._db.fetch(
                    f"SELECT film_work_id::text FROM content.{links}"
                    f" WHERE {column} = ANY($1::uuid[])",
                    list(ids),
                )
                await self._db.execute(
                    f"DELETE FROM content.{table} WHERE id = ANY($1::uuid[])", list(ids)
                )
            else:
                key = "film_work_id" if table in _LINKS else "id"
                affected = await self._db.fetch(
                    f"DELETE FROM content.{table} WHERE id = ANY($1::uuid[]) RETURNING {key}::text",
                    list(ids),
                )
        return {row[0] for row in affected}

    async def film_count(self) -> int:
        return int(await self._db.fetchval("SELECT count(*) FROM content.film_work"))

    async def close(self) -> None:
        await self._db.close()


async def ensure_schema(connection: asyncpg.Connection) -> None:
    # Only when missing: CREATE INDEX IF NOT EXISTS still takes a SHARE lock on its
    # table first, so running it every time would make sync wait for any open writer.
    # content.change_flush is the last thing CHANGE_LOG creates.
    if await connection.fetchval("SELECT to_regclass('content.change_flush')") is not None:
        return
    # Concurrent first runs would race on CREATE ... IF NOT EXISTS; serialise them.
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock(5105)")
        await connection.execute(SCHEMA)
        await connection.execute(CHANGE_LOG)

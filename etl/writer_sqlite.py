"""Import target of the embedded setup: the SQLite catalog, with its FTS5 rows.

A first load is one transaction (``BEGIN IMMEDIATE``: the catalog's write lock is held
until it commits, and readers see the whole catalog or none of it, search rows
included). Its writes are plain inserts, in batches.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiosqlite

from etl.importer import FirstLoadConflict
from etl.legacy import (
    FilmRecord,
    GenreLinkRecord,
    GenreRecord,
    PersonLinkRecord,
    PersonRecord,
    Record,
)
from services.catalog import sqlite_index
from services.kit.text import fold


def _marks(count: int) -> str:
    return ",".join("?" * count)


def _row(record: Record, digest: str, now: str) -> tuple[object, ...]:
    created = record.created_at.isoformat()
    if isinstance(record, FilmRecord):
        return (
            record.id,
            record.title,
            fold(record.title),
            record.description,
            str(record.creation_date) if record.creation_date else None,
            record.creation_date.year if record.creation_date else None,
            record.certificate,
            record.file_path,
            record.rating,
            str(record.type),
            created,
            now,
            digest,
        )
    if isinstance(record, GenreRecord):
        return (record.id, record.name, record.description, created, now, digest)
    if isinstance(record, PersonRecord):
        birth = str(record.birth_date) if record.birth_date else None
        return (record.id, record.full_name, birth, created, now, digest)
    if isinstance(record, GenreLinkRecord):
        return (record.id, record.film_work_id, record.genre_id, created, digest)
    assert isinstance(record, PersonLinkRecord)
    return (record.id, record.film_work_id, record.person_id, str(record.role), created, digest)


_COLUMNS = {
    "film_work": "id, title, sort_title, description, creation_date, year, certificate,"
    " file_path, rating, type, created_at, updated_at, etl_hash",
    "genre": "id, name, description, created_at, updated_at, etl_hash",
    "person": "id, full_name, birth_date, created_at, updated_at, etl_hash",
    "genre_film_work": "id, film_work_id, genre_id, created_at, etl_hash",
    "person_film_work": "id, film_work_id, person_id, role, created_at, etl_hash",
}


# The links that point at a row of each table: SQLite has no ON DELETE CASCADE here.
_LINKS_TO = {
    "film_work": (("genre_film_work", "film_work_id"), ("person_film_work", "film_work_id")),
    "person": (("person_film_work", "person_id"),),
    "genre": (("genre_film_work", "genre_id"),),
}


# The page cache of the ETL's connection, in KiB (SQLite's default is 2 MiB). Inserting
# random UUIDs touches pages all over each index; with the default cache a 100k-film load
# spent most of its time moving them between the cache and the WAL.
_CACHE_KIB = 256 * 1024
# Search rows too: a first load adds search rows without deleting any first.
_EMPTY = "SELECT " + " AND ".join(
    f"NOT EXISTS (SELECT 1 FROM {table})"
    for table in (*sqlite_index.TABLES, "film_fts", "person_fts")
)


class SqliteCatalogWriter:
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._db = connection
        self._first_load = False

    @classmethod
    async def open(cls, path: str) -> SqliteCatalogWriter:
        connection = await sqlite_index.connect(path)
        await connection.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
        return cls(connection)

    async def begin_first_load(self) -> bool:
        # Checked under the write lock: no other writer can fill the catalog meanwhile.
        await self._db.execute("BEGIN IMMEDIATE")
        cursor = await self._db.execute(_EMPTY)
        row = await cursor.fetchone()
        if not (row and row[0]):
            await self._db.rollback()
            return False
        self._first_load = True
        return True

    async def load(self, table: str, batches: AsyncIterator[list[tuple[Record, str]]]) -> None:
        """Plain inserts, a batch at a time, in the first load's transaction; an id twice
        in the file is a conflict."""
        now = datetime.now(UTC).isoformat()
        columns = _COLUMNS[table]
        sql = f"INSERT INTO {table} ({columns}) VALUES ({_marks(columns.count(',') + 1)})"
        try:
            async for batch in batches:
                await self._db.executemany(sql, [_row(r, digest, now) for r, digest in batch])
        except sqlite3.IntegrityError as error:
            raise FirstLoadConflict(f"{table}: {error}") from error

    async def abandon_first_load(self) -> None:
        if self._first_load:
            self._first_load = False
            await self._db.rollback()

    async def hashes(self, table: str, ids: list[str]) -> dict[str, str]:
        if not ids:
            return {}
        cursor = await self._db.execute(
            f"SELECT id, etl_hash FROM {table} WHERE id IN ({_marks(len(ids))})", ids
        )
        return {row[0]: row[1] for row in await cursor.fetchall()}

    async def write(
        self, table: str, records: list[Record], hashes: dict[str, str], new: set[str]
    ) -> None:
        # One upsert for both kinds: SQLite's costs no more than a plain insert.
        now = datetime.now(UTC).isoformat()
        columns = _COLUMNS[table]
        width = columns.count(",") + 1
        # Links are keyed by id too, so a re-run never duplicates them.
        updates = ", ".join(
            f"{c.strip()} = excluded.{c.strip()}"
            for c in columns.split(",")
            if c.strip() not in ("id", "created_at")
        )
        await self._db.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({_marks(width)})"
            f" ON CONFLICT (id) DO UPDATE SET {updates}",
            [_row(r, hashes[r.id], now) for r in records],
        )
        await self._db.commit()

    async def finish(self, films: set[str], persons: set[str], genres: set[str]) -> set[str]:
        if self._first_load:
            # Every film and person is new, and so is every link: no search row to drop,
            # no film to find through a person or a genre.
            await sqlite_index.reindex_films(self._db, films, fresh=True)
            await sqlite_index.reindex_persons(self._db, persons, fresh=True)
            await self._db.commit()
            self._first_load = False
            return set(films)
        affected = set(films)
        for table, column, ids in (
            ("person_film_work", "person_id", persons),
            ("genre_film_work", "genre_id", genres),
        ):
            listed = list(ids)
            for start in range(0, len(listed), 500):
                chunk = listed[start : start + 500]
                cursor = await self._db.execute(
                    f"SELECT film_work_id FROM {table} WHERE {column} IN ({_marks(len(chunk))})",
                    chunk,
                )
                affected |= {row[0] for row in await cursor.fetchall()}
        await sqlite_index.reindex_films(self._db, affected)
        await sqlite_index.reindex_persons(self._db, persons)
        await self._db.commit()
        return affected

    async def ids(self, table: str) -> set[str]:
        cursor = await self._db.execute(f"SELECT id FROM {table}")
        return {row[0] for row in await cursor.fetchall()}

    async def delete(self, table: str, ids: set[str]) -> set[str]:
        """Delete rows and the links to them (no cascades here); search rows follow in
        ``finish``, which rebuilds the affected films and drops the deleted ones."""
        affected: set[str] = set()
        listed = list(ids)
        for start in range(0, len(listed), 500):
            chunk = listed[start : start + 500]
            marks = _marks(len(chunk))
            for links, column in _LINKS_TO.get(table, ()):
                cursor = await self._db.execute(
                    f"DELETE FROM {links} WHERE {column} IN ({marks}) RETURNING film_work_id",
                    chunk,
                )
                affected |= {row[0] for row in await cursor.fetchall()}
            key = "film_work_id" if table.endswith("_film_work") else "id"
            cursor = await self._db.execute(
                f"DELETE FROM {table} WHERE id IN ({marks}) RETURNING {key}", chunk
            )
            deleted = {row[0] for row in await cursor.fetchall()}
            if table not in ("person", "genre"):
                affected |= deleted
        await self._db.commit()
        return affected

    async def film_count(self) -> int:
        cursor = await self._db.execute("SELECT count(*) FROM film_work")
        row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def close(self) -> None:
        await self._db.close()

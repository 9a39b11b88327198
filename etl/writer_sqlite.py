"""Import target of the embedded setup: the SQLite catalog, with its FTS5 rows."""

from __future__ import annotations

from datetime import UTC, datetime

import aiosqlite

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


class SqliteCatalogWriter:
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._db = connection

    @classmethod
    async def open(cls, path: str) -> SqliteCatalogWriter:
        return cls(await sqlite_index.connect(path))

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

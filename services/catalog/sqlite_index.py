"""The embedded catalog's SQLite schema and its FTS5 search tables.

The same file is the embedded source of truth (written by the ETL) and the search
index (read by the service), so the schema and the way search rows are built live
here, next to each other.
"""

from __future__ import annotations

from collections.abc import Iterable

import aiosqlite

from services.catalog.text import fold

TABLES = ("genre", "person", "film_work", "genre_film_work", "person_film_work")

SCHEMA = """
CREATE TABLE IF NOT EXISTS film_work (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    sort_title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    creation_date TEXT,
    year INTEGER,
    certificate TEXT NOT NULL DEFAULT '',
    file_path TEXT NOT NULL DEFAULT '',
    rating REAL,
    type TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    etl_hash TEXT
);
CREATE INDEX IF NOT EXISTS film_work_rating ON film_work (rating, id);
CREATE INDEX IF NOT EXISTS film_work_year ON film_work (year, id);
CREATE INDEX IF NOT EXISTS film_work_sort_title ON film_work (sort_title, id);
CREATE TABLE IF NOT EXISTS genre (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    etl_hash TEXT
);
CREATE TABLE IF NOT EXISTS person (
    id TEXT PRIMARY KEY,
    full_name TEXT NOT NULL,
    birth_date TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    etl_hash TEXT
);
CREATE TABLE IF NOT EXISTS genre_film_work (
    id TEXT PRIMARY KEY,
    film_work_id TEXT NOT NULL REFERENCES film_work (id),
    genre_id TEXT NOT NULL REFERENCES genre (id),
    created_at TEXT NOT NULL,
    etl_hash TEXT,
    UNIQUE (film_work_id, genre_id)
);
CREATE INDEX IF NOT EXISTS genre_film_work_genre ON genre_film_work (genre_id);
CREATE TABLE IF NOT EXISTS person_film_work (
    id TEXT PRIMARY KEY,
    film_work_id TEXT NOT NULL REFERENCES film_work (id),
    person_id TEXT NOT NULL REFERENCES person (id),
    role TEXT NOT NULL,
    created_at TEXT NOT NULL,
    etl_hash TEXT,
    UNIQUE (film_work_id, person_id, role)
);
CREATE INDEX IF NOT EXISTS person_film_work_person ON person_film_work (person_id);
-- etl_hash: hash of the source record a row was loaded from (the ETL's idempotence).
-- Folded text (see services.catalog.text.fold), so that case, accents and "ё" never
-- decide a match; the column weights of bm25() rank title above people above plot.
CREATE VIRTUAL TABLE IF NOT EXISTS film_fts USING fts5 (
    film_id UNINDEXED, title, people, description, tokenize = 'unicode61'
);
CREATE VIRTUAL TABLE IF NOT EXISTS film_vocab USING fts5vocab (film_fts, row);
CREATE VIRTUAL TABLE IF NOT EXISTS person_fts USING fts5 (
    person_id UNINDEXED, full_name, tokenize = 'unicode61'
);
CREATE VIRTUAL TABLE IF NOT EXISTS person_vocab USING fts5vocab (person_fts, row);
"""


async def connect(path: str) -> aiosqlite.Connection:
    """Open the catalog, creating the schema; WAL lets the ETL write while it is read."""
    connection = await aiosqlite.connect(path)
    await connection.execute("PRAGMA journal_mode = WAL")
    await connection.execute("PRAGMA busy_timeout = 10000")
    await connection.executescript(SCHEMA)
    await connection.commit()
    return connection


def _placeholders(count: int) -> str:
    return ",".join("?" * count)


async def reindex_films(connection: aiosqlite.Connection, film_ids: Iterable[str]) -> None:
    """Rebuild the search rows of these films from the tables (caller commits)."""
    ids = list(film_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = _placeholders(len(chunk))
        await connection.execute(f"DELETE FROM film_fts WHERE film_id IN ({marks})", chunk)
        cursor = await connection.execute(
            f"""
            SELECT f.id, f.title, f.description,
                   (SELECT group_concat(p.full_name, ' ')
                      FROM person_film_work pfw JOIN person p ON p.id = pfw.person_id
                     WHERE pfw.film_work_id = f.id)
              FROM film_work f WHERE f.id IN ({marks})
            """,
            chunk,
        )
        rows = [
            (film_id, fold(title), fold(people or ""), fold(description or ""))
            for film_id, title, description, people in await cursor.fetchall()
        ]
        await connection.executemany(
            "INSERT INTO film_fts (film_id, title, people, description) VALUES (?, ?, ?, ?)", rows
        )


async def reindex_persons(connection: aiosqlite.Connection, person_ids: Iterable[str]) -> None:
    """Rebuild the search rows of these persons (caller commits)."""
    ids = list(person_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = _placeholders(len(chunk))
        await connection.execute(f"DELETE FROM person_fts WHERE person_id IN ({marks})", chunk)
        cursor = await connection.execute(
            f"SELECT id, full_name FROM person WHERE id IN ({marks})", chunk
        )
        rows = [(pid, fold(name)) for pid, name in await cursor.fetchall()]
        await connection.executemany(
            "INSERT INTO person_fts (person_id, full_name) VALUES (?, ?)", rows
        )

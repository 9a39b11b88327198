"""The embedded catalog's SQLite schema and its FTS5 search tables.

The same file is the embedded source of truth (written by the ETL) and the search
index (read by the service), so the schema and the way search rows are built live
here, next to each other.
"""

from __future__ import annotations

from collections.abc import Iterable

import aiosqlite

from services.catalog.matching import normalise
from services.kit.text import fold

TABLES = ("genre", "person", "film_work", "genre_film_work", "person_film_work")

FILM_FTS = (
    """CREATE VIRTUAL TABLE IF NOT EXISTS film_fts USING fts5 (
    film_id UNINDEXED, title, people, description, rating UNINDEXED, title_key UNINDEXED,
    tokenize = 'unicode61'
)""",
    "CREATE VIRTUAL TABLE IF NOT EXISTS film_vocab USING fts5vocab (film_fts, row)",
)

SCHEMA = f"""
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
-- Folded text (see services.kit.text.fold), so that case, accents and "ё" never
-- decide a match; the column weights of bm25() rank title above people above plot.
-- What search orders by besides relevance rides along, unindexed: the film's rating and
-- its title in matching's normal form (services.catalog.matching.normalise), so ranking
-- tens of thousands of matches never joins film_work or calls into Python per match.
{FILM_FTS[0]};
{FILM_FTS[1]};
CREATE VIRTUAL TABLE IF NOT EXISTS person_fts USING fts5 (
    person_id UNINDEXED, full_name, tokenize = 'unicode61'
);
CREATE VIRTUAL TABLE IF NOT EXISTS person_vocab USING fts5vocab (person_fts, row);
"""


#: Columns of ``film_fts`` that older catalogs lack: such a catalog is re-indexed once.
_FILM_FTS_ADDED = "title_key"


async def connect(path: str) -> aiosqlite.Connection:
    """Open the catalog, creating the schema; WAL lets the ETL write while it is read."""
    connection = await aiosqlite.connect(path)
    try:
        await connection.execute("PRAGMA journal_mode = WAL")
        await connection.execute("PRAGMA busy_timeout = 10000")
        await connection.executescript(SCHEMA)
        await connection.commit()
        if not await _film_fts_current(connection):
            await _rebuild_film_fts(connection)
    except BaseException:
        await connection.close()  # its thread would otherwise wait forever (and so would exit)
        raise
    return connection


async def _film_fts_current(connection: aiosqlite.Connection) -> bool:
    cursor = await connection.execute("SELECT sql FROM sqlite_master WHERE name = 'film_fts'")
    row = await cursor.fetchone()
    return row is not None and _FILM_FTS_ADDED in str(row[0])


async def _rebuild_film_fts(connection: aiosqlite.Connection) -> None:
    """A catalog indexed before ``film_fts`` had its ranking columns: built again, once
    (whoever opens it first; the write lock keeps a second opener waiting, then it sees
    the new table)."""
    await connection.execute("BEGIN IMMEDIATE")
    try:
        if not await _film_fts_current(connection):
            await connection.execute("DROP TABLE IF EXISTS film_vocab")
            await connection.execute("DROP TABLE IF EXISTS film_fts")
            for statement in FILM_FTS:
                await connection.execute(statement)
            cursor = await connection.execute("SELECT id FROM film_work")
            await reindex_films(connection, [row[0] for row in await cursor.fetchall()])
        await connection.commit()
    except BaseException:
        await connection.rollback()
        raise


def _placeholders(count: int) -> str:
    return ",".join("?" * count)


async def reindex_films(
    connection: aiosqlite.Connection, film_ids: Iterable[str], fresh: bool = False
) -> None:
    """Rebuild the search rows of these films from the tables (caller commits); ``fresh``:
    they have none yet (the ETL's first load), so there is nothing to delete first, which
    costs a scan of ``film_fts`` per chunk (``film_id`` is not indexed)."""
    ids = list(film_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = _placeholders(len(chunk))
        if not fresh:
            await connection.execute(f"DELETE FROM film_fts WHERE film_id IN ({marks})", chunk)
        cursor = await connection.execute(
            f"""
            SELECT f.id, f.title, f.description, f.rating,
                   (SELECT group_concat(p.full_name, ' ')
                      FROM person_film_work pfw JOIN person p ON p.id = pfw.person_id
                     WHERE pfw.film_work_id = f.id)
              FROM film_work f WHERE f.id IN ({marks})
            """,
            chunk,
        )
        rows = [
            (
                film_id,
                fold(title),
                fold(people or ""),
                fold(description or ""),
                rating,
                normalise(title),
            )
            for film_id, title, description, rating, people in await cursor.fetchall()
        ]
        await connection.executemany(
            "INSERT INTO film_fts (film_id, title, people, description, rating, title_key)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )


async def reindex_persons(
    connection: aiosqlite.Connection, person_ids: Iterable[str], fresh: bool = False
) -> None:
    """Rebuild the search rows of these persons (caller commits); ``fresh`` as above."""
    ids = list(person_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = _placeholders(len(chunk))
        if not fresh:
            await connection.execute(f"DELETE FROM person_fts WHERE person_id IN ({marks})", chunk)
        cursor = await connection.execute(
            f"SELECT id, full_name FROM person WHERE id IN ({marks})", chunk
        )
        rows = [(pid, fold(name)) for pid, name in await cursor.fetchall()]
        await connection.executemany(
            "INSERT INTO person_fts (person_id, full_name) VALUES (?, ?)", rows
        )

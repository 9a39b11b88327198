"""Writing files in the legacy schema: the demo catalog, synthetic catalogs, tests.

The files look like the business's real exports, quirks included: ``+00`` timestamp
offsets, and whatever NULLs the caller leaves in.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

LEGACY_SCHEMA = """
CREATE TABLE film_work (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, description TEXT, creation_date DATE,
    certificate TEXT, file_path TEXT, rating FLOAT, type TEXT NOT NULL,
    created_at timestamp with time zone, updated_at timestamp with time zone
);
CREATE TABLE genre (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT,
    created_at timestamp with time zone, updated_at timestamp with time zone
);
CREATE TABLE person (
    id TEXT PRIMARY KEY, full_name TEXT NOT NULL, birth_date DATE,
    created_at timestamp with time zone, updated_at timestamp with time zone
);
CREATE TABLE genre_film_work (
    id TEXT PRIMARY KEY, film_work_id TEXT NOT NULL, genre_id TEXT NOT NULL,
    created_at timestamp with time zone
);
CREATE TABLE person_film_work (
    id TEXT PRIMARY KEY, film_work_id TEXT NOT NULL, person_id TEXT NOT NULL,
    role TEXT NOT NULL, created_at timestamp with time zone
);
"""

COLUMNS = {
    "film_work": (
        "id", "title", "description", "creation_date", "certificate", "file_path", "rating",
        "type", "created_at", "updated_at",
    ),
    "genre": ("id", "name", "description", "created_at", "updated_at"),
    "person": ("id", "full_name", "birth_date", "created_at", "updated_at"),
    "genre_film_work": ("id", "film_work_id", "genre_id", "created_at"),
    "person_film_work": ("id", "film_work_id", "person_id", "role", "created_at"),
}  # fmt: skip


def legacy_timestamp(seconds: int) -> str:
    """A timestamp the way the legacy export writes it: ``2021-06-16 20:14:09.000000+00``."""
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    days, hour = divmod(hours, 24)
    date = f"2021-{1 + days // 28 % 12:02d}-{1 + days % 28:02d}"
    return f"{date} {hour:02d}:{minute:02d}:{second:02d}.000000+00"


def create_legacy_file(path: Path) -> sqlite3.Connection:
    """A new, empty legacy file (an existing one is replaced)."""
    path.unlink(missing_ok=True)
    connection = sqlite3.connect(path)
    connection.executescript(LEGACY_SCHEMA)
    return connection


def insert(connection: sqlite3.Connection, table: str, rows: Iterable[Sequence[object]]) -> None:
    columns = COLUMNS[table]
    connection.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        rows,
    )

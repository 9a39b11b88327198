"""The legacy movie database (SQLite) and the validation of its rows.

Real files have NULL descriptions, dates and ratings, ``+00`` timestamp offsets and
links to rows that do not exist. A row that cannot be loaded is rejected with a
reason; everything else is normalised into the records below, ids unchanged.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.catalog.records import FilmType, PartialDate, Role

TABLES = ("genre", "person", "film_work", "genre_film_work", "person_film_work")


class BadRow(ValueError):
    """A source row that is skipped; the message says why."""


@dataclass(frozen=True)
class GenreRecord:
    id: str
    name: str
    description: str
    created_at: datetime


@dataclass(frozen=True)
class PersonRecord:
    id: str
    full_name: str
    birth_date: PartialDate | None
    created_at: datetime


@dataclass(frozen=True)
class FilmRecord:
    id: str
    title: str
    description: str
    creation_date: PartialDate | None
    certificate: str
    file_path: str
    rating: float | None
    type: FilmType
    created_at: datetime


@dataclass(frozen=True)
class GenreLinkRecord:
    id: str
    film_work_id: str
    genre_id: str
    created_at: datetime


@dataclass(frozen=True)
class PersonLinkRecord:
    id: str
    film_work_id: str
    person_id: str
    role: Role
    created_at: datetime


Record = GenreRecord | PersonRecord | FilmRecord | GenreLinkRecord | PersonLinkRecord


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def normalise_id(value: Any, column: str = "id") -> str:
    """An id as ``str(uuid.UUID(value))`` spells it, or :class:`BadRow`.

    Ids already in that spelling (nearly all of them) are returned as they are: building
    a ``UUID`` for each of them was a tenth of an import.
    """
    if isinstance(value, str) and _CANONICAL_UUID.fullmatch(value):
        return value
    try:
        return str(uuid.UUID(str(value)))
    except ValueError as error:
        raise BadRow(f"{column} is not a UUID: {value!r}") from error


_id = normalise_id


def _text(value: Any, column: str, required: bool = False) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise BadRow(f"{column} is empty")
    return text


def _date(value: Any, column: str) -> PartialDate | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        return PartialDate.parse(str(value))
    except ValueError as error:
        raise BadRow(f"{column}: {error}") from error


def parse_timestamp(value: Any) -> datetime:
    """``2021-06-16 20:14:09.22+00`` (PostgreSQL's export style) or ISO; UTC if naive."""
    if value is None or str(value).strip() == "":
        return datetime(1970, 1, 1, tzinfo=UTC)
    text = str(value).strip()
    if text[-3:] in ("+00", "-00"):
        text += ":00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as error:
        raise BadRow(f"bad timestamp {value!r}") from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _rating(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        rating = float(value)
    except (TypeError, ValueError) as error:
        raise BadRow(f"rating is not a number: {value!r}") from error
    if not 0.0 <= rating <= 10.0:
        raise BadRow(f"rating {rating} is outside 0-10")
    return round(rating, 2)


# By value: Enum's own lookups (a mapping proxy and a call a row) were a sixth of parsing.
_FILM_TYPES = {member.value: member for member in FilmType}
_ROLES = {member.value: member for member in Role}


def parse(table: str, row: sqlite3.Row) -> Record:
    """One source row as a record, or :class:`BadRow`."""
    created = parse_timestamp(row["created_at"])
    if table == "genre":
        return GenreRecord(
            _id(row["id"]), _text(row["name"], "name", True), _text(row["description"], ""), created
        )
    if table == "person":
        return PersonRecord(
            _id(row["id"]),
            _text(row["full_name"], "full_name", True),
            _date(row["birth_date"], "birth_date"),
            created,
        )
    if table == "film_work":
        kind = _text(row["type"], "type")
        film_type = _FILM_TYPES.get(kind)
        if film_type is None:
            raise BadRow(f"type {kind!r} is not movie or tv_show")
        return FilmRecord(
            _id(row["id"]),
            _text(row["title"], "title", True),
            _text(row["description"], "description"),
            _date(row["creation_date"], "creation_date"),
            _text(row["certificate"], "certificate"),
            _text(row["file_path"], "file_path"),
            _rating(row["rating"]),
            film_type,
            created,
        )
    if table == "genre_film_work":
        return GenreLinkRecord(
            _id(row["id"]),
            _id(row["film_work_id"], "film_work_id"),
            _id(row["genre_id"], "genre_id"),
            created,
        )
    role = _text(row["role"], "role")
    member = _ROLES.get(role)
    if member is None:
        raise BadRow(f"role {role!r} is not actor, director or writer")
    return PersonLinkRecord(
        _id(row["id"]),
        _id(row["film_work_id"], "film_work_id"),
        _id(row["person_id"], "person_id"),
        member,
        created,
    )


class LegacySource:
    """Reads a legacy file table by table, in batches, without loading it whole."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise FileNotFoundError(f"no legacy database at {path}")
        # Read-only: the ETL must never change the business's file. The import reads it
        # from a worker thread (one at a time), so the connection may change threads.
        self._connection = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, check_same_thread=False
        )
        self._connection.row_factory = sqlite3.Row

    def count(self, table: str) -> int:
        return int(self._connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def rows(self, table: str, batch_size: int) -> Iterator[list[sqlite3.Row]]:
        cursor = self._connection.execute(f"SELECT * FROM {table} ORDER BY rowid")
        while batch := cursor.fetchmany(batch_size):
            yield batch

    def close(self) -> None:
        self._connection.close()

"""``cinema etl import-sqlite``: legacy rows -> the catalog's source of truth.

Batched and idempotent: each target row keeps a hash of the record it came from, so
a second run classifies every row as unchanged and writes nothing. Bad rows (invalid
values, links to rows that do not exist, duplicate links) are reported and skipped.

Rows that vanished from the file stay unless ``prune`` is asked for: whether a film
missing from a newer export was withdrawn or merely left out is the business's call,
not the loader's. Pruning deletes only ids absent from the file; a row present but
now invalid keeps its last good version.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from etl.legacy import (
    TABLES,
    BadRow,
    FilmRecord,
    GenreLinkRecord,
    GenreRecord,
    LegacySource,
    PersonLinkRecord,
    PersonRecord,
    Record,
    normalise_id,
    parse,
)
from services.catalog.records import PartialDate

OUTCOMES = ("inserted", "updated", "unchanged", "skipped", "deleted")
# Links before what they point at, so that the films a removed link changes are known.
_PRUNE_ORDER = ("genre_film_work", "person_film_work", "film_work", "person", "genre")


class CatalogWriter(Protocol):
    """A target of the import: the embedded SQLite catalog or PostgreSQL."""

    async def hashes(self, table: str, ids: list[str]) -> dict[str, str]:
        """The stored record hash of each of these ids that exists."""
        ...

    async def write(
        self, table: str, records: list[Record], hashes: dict[str, str], new: set[str]
    ) -> None:
        """Insert or update ``records`` (one batch, one transaction); ``new`` holds the
        ids that were not stored when the batch was read (a writer may insert those
        plainly, and must still cope if one has appeared since)."""
        ...

    async def finish(self, films: set[str], persons: set[str], genres: set[str]) -> set[str]:
        """Propagate changes (search rows, updated_at of affected films); their ids."""
        ...

    async def ids(self, table: str) -> set[str]:
        """Every id stored in ``table``."""
        ...

    async def delete(self, table: str, ids: set[str]) -> set[str]:
        """Delete these rows and the links to them; the ids of the films affected."""
        ...

    async def film_count(self) -> int: ...

    async def close(self) -> None: ...


_FIELDS: dict[type, tuple[str, ...]] = {
    kind: tuple(f.name for f in dataclasses.fields(kind))
    for kind in (GenreRecord, PersonRecord, FilmRecord, GenreLinkRecord, PersonLinkRecord)
}
_ENCODE = json.JSONEncoder(default=str, sort_keys=True).encode


def _plain(value: object) -> object:
    if isinstance(value, PartialDate):
        return {"year": value.year, "month": value.month, "day": value.day}
    return value


def record_hash(record: Record) -> str:
    """The digest of a record's content, stored with its row (the import's idempotence).

    The same text as ``json.dumps(dataclasses.asdict(record), default=str,
    sort_keys=True)``, which earlier imports stored, built without ``asdict``'s deep
    copies (they were half of an import's time).
    """
    content = {name: _plain(getattr(record, name)) for name in _FIELDS[type(record)]}
    return hashlib.sha256(_ENCODE(content).encode()).hexdigest()[:32]


@dataclass
class ImportReport:
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    changed_films: set[str] = field(default_factory=set)

    @property
    def changes(self) -> int:
        return sum(c["inserted"] + c["updated"] + c["deleted"] for c in self.counts.values())

    def render(self, max_problems: int = 20) -> str:
        lines = [f"{'table':<18}" + "".join(f"{o:>11}" for o in OUTCOMES)]
        for table in TABLES:
            counts = self.counts.get(table, Counter())
            lines.append(f"{table:<18}" + "".join(f"{counts[o]:>11}" for o in OUTCOMES))
        lines.extend(f"skipped: {p}" for p in self.problems[:max_problems])
        if len(self.problems) > max_problems:
            lines.append(f"... and {len(self.problems) - max_problems} more skipped rows")
        lines.append(f"{self.changes} changes, {len(self.changed_films)} films to refresh")
        return "\n".join(lines)


class _Checker:
    """Cross-row rules: links must point at loaded rows and must not repeat."""

    def __init__(self) -> None:
        self.ids: dict[str, set[str]] = {"genre": set(), "person": set(), "film_work": set()}
        self._pairs: set[tuple[str, ...]] = set()

    def check(self, record: Record) -> None:
        if isinstance(record, GenreLinkRecord | PersonLinkRecord):
            if record.film_work_id not in self.ids["film_work"]:
                raise BadRow(f"film_work_id {record.film_work_id} does not exist")
            pair: tuple[str, ...]
            if isinstance(record, GenreLinkRecord):
                target, pair = record.genre_id, (record.film_work_id, record.genre_id)
                if target not in self.ids["genre"]:
                    raise BadRow(f"genre_id {target} does not exist")
            else:
                target = record.person_id
                pair = (record.film_work_id, record.person_id, record.role)
                if target not in self.ids["person"]:
                    raise BadRow(f"person_id {target} does not exist")
            if pair in self._pairs:
                raise BadRow("duplicate link")
            self._pairs.add(pair)

    def accept(self, table: str, record: Record) -> None:
        if table in self.ids:
            self.ids[table].add(record.id)


def _affected(table: str, records: Iterable[Record], changed: set[str]) -> dict[str, set[str]]:
    """Which films, persons and genres a batch of changed records touches."""
    touched: dict[str, set[str]] = {"films": set(), "persons": set(), "genres": set()}
    for record in records:
        if record.id not in changed:
            continue
        if isinstance(record, FilmRecord):
            touched["films"].add(record.id)
        elif isinstance(record, PersonRecord):
            touched["persons"].add(record.id)
        elif isinstance(record, GenreRecord):
            touched["genres"].add(record.id)
        elif isinstance(record, GenreLinkRecord | PersonLinkRecord):
            # A new link changes its film's document; the person or genre row is as it was.
            touched["films"].add(record.film_work_id)
    return touched


def _source_id(row: Any) -> str | None:
    """A source row's id as stored, even when the row itself is bad."""
    try:
        return normalise_id(row["id"])
    except BadRow:
        return None


async def _prune(
    writer: CatalogWriter,
    seen: dict[str, set[str]],
    report: ImportReport,
    touched: dict[str, set[str]],
) -> None:
    for table in _PRUNE_ORDER:
        stale = await writer.ids(table) - seen[table]
        if not stale:
            continue
        touched["films"] |= await writer.delete(table, stale)
        report.counts[table]["deleted"] += len(stale)
        if table == "film_work":
            touched["films"] |= stale
        elif table == "person":
            touched["persons"] |= stale  # so the embedded index drops their search rows


@dataclass
class _Batch:
    """A batch of source rows, parsed, checked and hashed: what the writer gets."""

    rows: int
    valid: list[Record]
    hashes: dict[str, str]
    problems: list[str]


def _prepared(
    source: LegacySource,
    table: str,
    batch_size: int,
    checker: _Checker,
    seen: set[str],
) -> Iterator[_Batch]:
    """``table``'s batches in order; the cross-row checks see every earlier row."""
    for rows in source.rows(table, batch_size):
        valid: list[Record] = []
        problems: list[str] = []
        for row in rows:
            if (source_id := _source_id(row)) is not None:
                seen.add(source_id)
            try:
                record = parse(table, row)
                checker.check(record)
            except BadRow as problem:
                problems.append(f"{table} {row['id']}: {problem}")
                continue
            checker.accept(table, record)
            valid.append(record)
        yield _Batch(len(rows), valid, {r.id: record_hash(r) for r in valid}, problems)


async def _one_ahead(batches: Iterator[_Batch]) -> AsyncIterator[_Batch]:
    """The batches, each next one prepared in a thread while the caller writes this one.

    Parsing and hashing are CPU; writing waits on the database: overlapped, an import
    takes about the longer of the two instead of their sum. One thread, so batches stay
    in order and the source is read by one thread at a time.
    """
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(1, thread_name_prefix="etl-prepare") as thread:
        upcoming = loop.run_in_executor(thread, next, batches, None)
        while (batch := await upcoming) is not None:
            upcoming = loop.run_in_executor(thread, next, batches, None)
            yield batch


async def import_legacy(
    path: Path,
    writer: CatalogWriter,
    batch_size: int = 1000,
    progress: Callable[[str, int, int], None] | None = None,
    prune: bool = False,
) -> ImportReport:
    """Load a legacy file into ``writer``; ``progress(table, done, total)`` per batch.

    With ``prune``, rows whose ids are no longer in the file are deleted.
    """
    source = LegacySource(path)
    report, checker = ImportReport(), _Checker()
    touched: dict[str, set[str]] = {"films": set(), "persons": set(), "genres": set()}
    seen: dict[str, set[str]] = {table: set() for table in TABLES}
    try:
        for table in TABLES:
            counts = report.counts.setdefault(table, Counter())
            total, done = source.count(table), 0
            batches = _prepared(source, table, batch_size, checker, seen[table])
            async for batch in _one_ahead(batches):
                counts["skipped"] += len(batch.problems)
                report.problems.extend(batch.problems)
                hashes = batch.hashes
                stored = await writer.hashes(table, list(hashes))
                changed = [r for r in batch.valid if stored.get(r.id) != hashes[r.id]]
                new = {r.id for r in changed if r.id not in stored}
                counts["inserted"] += len(new)
                counts["updated"] += len(changed) - len(new)
                counts["unchanged"] += len(batch.valid) - len(changed)
                if changed:
                    await writer.write(table, changed, hashes, new)
                    for kind, ids in _affected(table, changed, {r.id for r in changed}).items():
                        touched[kind] |= ids
                done += batch.rows
                if progress is not None:
                    progress(table, done, total)
        if prune:
            await _prune(writer, seen, report, touched)
        report.changed_films = await writer.finish(
            touched["films"], touched["persons"], touched["genres"]
        )
    finally:
        source.close()
    return report

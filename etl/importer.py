"""``cinema etl import-sqlite``: legacy rows -> the catalog's source of truth.

Batched and idempotent: each target row keeps a hash of the record it came from, so
a second run classifies every row as unchanged and writes nothing. Bad rows (invalid
values, links to rows that do not exist, duplicate links) are reported and skipped.

Rows that vanished from the file stay unless ``prune`` is asked for: whether a film
missing from a newer export was withdrawn or merely left out is the business's call,
not the loader's. Pruning deletes only ids absent from the file; a row present but
now invalid keeps its last good version.

An import into an empty catalog is a *first load*: nothing is stored, so nothing is
looked up, every table is written in bulk (COPY on PostgreSQL, plain inserts on SQLite)
and the whole import commits once, at the end. Should a row turn out to be there after
all (an id twice in the file, in two spellings), the first load is rolled back and the
import runs again batch by batch, as into any other catalog.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
from collections import Counter, deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import aclosing, contextmanager
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

OUTCOMES = ("inserted", "updated", "unchanged", "skipped", "deleted")
# Links before what they point at, so that the films a removed link changes are known.
_PRUNE_ORDER = ("genre_film_work", "person_film_work", "film_work", "person", "genre")


class FirstLoadConflict(Exception):
    """A first load met a row that is stored already: it is rolled back and retried."""


class CatalogWriter(Protocol):
    """A target of the import: the embedded SQLite catalog or PostgreSQL."""

    async def begin_first_load(self) -> bool:
        """If the catalog is empty, open the one transaction of a first load (True);
        otherwise change nothing (False)."""
        ...

    async def load(self, table: str, batches: AsyncIterator[list[tuple[Record, str]]]) -> None:
        """First load: insert every (record, hash) of ``batches`` into ``table``, which
        this load found empty; :class:`FirstLoadConflict` if a row is there already."""
        ...

    async def abandon_first_load(self) -> None:
        """Roll the first load back (after a conflict or an error)."""
        ...

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
        """Propagate changes (search rows, updated_at of affected films); their ids.
        Commits a first load."""
        ...

    async def ids(self, table: str) -> set[str]:
        """Every id stored in ``table``."""
        ...

    async def delete(self, table: str, ids: set[str]) -> set[str]:
        """Delete these rows and the links to them; the ids of the films affected."""
        ...

    async def film_count(self) -> int: ...

    async def close(self) -> None: ...


# The fields that hold a PartialDate, which the digest spells as asdict() does.
_DATE_FIELDS: dict[type, tuple[str, ...]] = {
    PersonRecord: ("birth_date",),
    FilmRecord: ("creation_date",),
}
_ENCODE = json.JSONEncoder(default=str, sort_keys=True).encode


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def record_hash(record: Record) -> str:
    """The digest of a record's content, stored with its row (the import's idempotence).

    The same text as ``json.dumps(dataclasses.asdict(record), default=str,
    sort_keys=True)``, which earlier imports stored, built without ``asdict``'s deep
    copies (they were half of an import's time). Links, most of the rows, are spelled
    out directly: every value in one is a canonical UUID (``normalise_id``), a role or a
    timestamp, none of which JSON escapes, so the text is the encoder's, at a fraction
    of its cost.
    """
    if isinstance(record, PersonLinkRecord):
        return _digest(
            f'{{"created_at": "{record.created_at}", "film_work_id": "{record.film_work_id}",'
            f' "id": "{record.id}", "person_id": "{record.person_id}",'
            f' "role": "{record.role}"}}'
        )
    if isinstance(record, GenreLinkRecord):
        return _digest(
            f'{{"created_at": "{record.created_at}", "film_work_id": "{record.film_work_id}",'
            f' "genre_id": "{record.genre_id}", "id": "{record.id}"}}'
        )
    content = record.__dict__.copy()
    for name in _DATE_FIELDS.get(type(record), ()):
        date = content[name]
        if date is not None:
            content[name] = {"year": date.year, "month": date.month, "day": date.day}
    return _digest(_ENCODE(content))


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


def _affected(records: Iterable[Record], touched: dict[str, set[str]]) -> None:
    """Add the films, persons and genres these changed records touch to ``touched``."""
    for record in records:
        if isinstance(record, FilmRecord):
            touched["films"].add(record.id)
        elif isinstance(record, PersonRecord):
            touched["persons"].add(record.id)
        elif isinstance(record, GenreRecord):
            touched["genres"].add(record.id)
        elif isinstance(record, GenreLinkRecord | PersonLinkRecord):
            # A new link changes its film's document; the person or genre row is as it was.
            touched["films"].add(record.film_work_id)


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
    seen: set[str] | None = None,
) -> Iterator[_Batch]:
    """``table``'s batches in order; the cross-row checks see every earlier row.
    ``seen`` collects the ids in the file, valid or not (what pruning keeps)."""
    for rows in source.rows(table, batch_size):
        valid: list[Record] = []
        problems: list[str] = []
        for row in rows:
            if seen is not None and (source_id := _source_id(row)) is not None:
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


async def _prepared_ahead(
    batches: Iterator[_Batch], depth: int = 1
) -> AsyncGenerator[_Batch, None]:
    """The batches, up to ``depth`` of them prepared in a thread while the caller writes.

    Parsing and hashing are CPU; writing waits on the database: overlapped, an import
    takes about the longer of the two instead of their sum. One thread, so batches stay
    in order and the source is read by one thread at a time.
    """
    loop = asyncio.get_running_loop()
    thread = ThreadPoolExecutor(1, thread_name_prefix="etl-prepare")
    try:
        upcoming = deque(loop.run_in_executor(thread, next, batches, None) for _ in range(depth))
        while (batch := await upcoming.popleft()) is not None:
            upcoming.append(loop.run_in_executor(thread, next, batches, None))
            yield batch
    finally:
        # What is queued is not wanted; what runs finishes before the source is reused.
        thread.shutdown(wait=True, cancel_futures=True)


# A first load's batches prepared ahead: enough to keep the thread busy while the
# database checks a COPY's foreign keys, which it does once the statement's rows are in.
_FIRST_LOAD_AHEAD = 32


_KINDS = {"film_work": "films", "person": "persons", "genre": "genres"}


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for an import: the records, links and sets
    it keeps are many and acyclic, and the full passes their number set off (22 at 100k
    films, finding nothing) were a fifth of the CPU spent preparing the rows."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def _first_load_rows(
    batches: AsyncGenerator[_Batch, None],
    table: str,
    report: ImportReport,
    touched: dict[str, set[str]],
    progress: Callable[[str, int, int], None] | None,
    total: int,
) -> AsyncGenerator[list[tuple[Record, str]], None]:
    """A first load's batches for the writer, counted and reported on the way."""
    counts, done = report.counts.setdefault(table, Counter()), 0
    async with aclosing(batches):
        async for batch in batches:
            counts["skipped"] += len(batch.problems)
            counts["inserted"] += len(batch.valid)
            report.problems.extend(batch.problems)
            if kind := _KINDS.get(table):  # a link's film is in the load already
                touched[kind].update(record.id for record in batch.valid)
            done += batch.rows
            yield [(record, batch.hashes[record.id]) for record in batch.valid]
            if progress is not None:
                progress(table, done, total)


async def _first_load(
    source: LegacySource,
    writer: CatalogWriter,
    batch_size: int,
    progress: Callable[[str, int, int], None] | None,
) -> ImportReport:
    """Every table in bulk, in the transaction ``begin_first_load`` opened; committed by
    ``finish``. Nothing to prune: the catalog was empty."""
    report, checker = ImportReport(), _Checker()
    touched: dict[str, set[str]] = {"films": set(), "persons": set(), "genres": set()}
    for table in TABLES:
        batches = _prepared_ahead(_prepared(source, table, batch_size, checker), _FIRST_LOAD_AHEAD)
        rows = _first_load_rows(batches, table, report, touched, progress, source.count(table))
        # Closed here even when the writer stops reading early, so that no thread is
        # left reading the source while a retry reads it again.
        async with aclosing(rows):
            await writer.load(table, rows)
    report.changed_films = await writer.finish(
        touched["films"], touched["persons"], touched["genres"]
    )
    return report


async def _incremental(
    source: LegacySource,
    writer: CatalogWriter,
    batch_size: int,
    progress: Callable[[str, int, int], None] | None,
    prune: bool,
) -> ImportReport:
    """Batch by batch, each in its own transaction: what is stored decides what is written."""
    report, checker = ImportReport(), _Checker()
    touched: dict[str, set[str]] = {"films": set(), "persons": set(), "genres": set()}
    seen: dict[str, set[str]] = {table: set() for table in TABLES}
    for table in TABLES:
        counts = report.counts.setdefault(table, Counter())
        total, done = source.count(table), 0
        batches = _prepared(source, table, batch_size, checker, seen[table])
        async for batch in _prepared_ahead(batches):
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
                _affected(changed, touched)
            done += batch.rows
            if progress is not None:
                progress(table, done, total)
    if prune:
        await _prune(writer, seen, report, touched)
    report.changed_films = await writer.finish(
        touched["films"], touched["persons"], touched["genres"]
    )
    return report


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
    try:
        with _collector_paused():
            return await _import(source, writer, batch_size, progress, prune)
    finally:
        source.close()


async def _import(
    source: LegacySource,
    writer: CatalogWriter,
    batch_size: int,
    progress: Callable[[str, int, int], None] | None,
    prune: bool,
) -> ImportReport:
    """A first load if the catalog is empty (again batch by batch if it conflicts)."""
    if await writer.begin_first_load():
        try:
            return await _first_load(source, writer, batch_size, progress)
        except FirstLoadConflict:
            await writer.abandon_first_load()
        except BaseException:
            await writer.abandon_first_load()
            raise
    return await _incremental(source, writer, batch_size, progress, prune)

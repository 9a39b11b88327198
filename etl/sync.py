"""``cinema etl sync``: PostgreSQL (``content``) -> Elasticsearch, incrementally.

Three streams (films, persons, genres) each follow the change log
(``etl.change_log``: ids numbered in commit order, so a late commit is never
skipped) from where the last run stopped; the position is saved in
``content.sync_position`` after every batch is in the index, so a crash resumes
with the batch that was in flight (index writes are idempotent: documents are keyed
by id). An id in the log whose row is gone is deleted from the index. A changed film
also re-indexes its persons and genres, whose documents show it, and its cached copy
is dropped. While either side is unreachable, the run waits with exponential backoff.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import elasticsearch
import structlog
from elasticsearch import AsyncElasticsearch
from elasticsearch.helpers import BulkIndexError, async_bulk
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

from etl import postgres_reader
from etl.writer_postgres import asyncpg_dsn, ensure_schema
from services.catalog import elastic_schema as schema
from services.catalog.cache import open_cache
from services.catalog.settings import CatalogSettings

log = structlog.get_logger(__name__)

STREAMS = (("films", schema.FILMS), ("persons", schema.PERSONS), ("genres", schema.GENRES))
# What "the other side is down" looks like; anything else is a bug and stops the run.
TRANSIENT = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    elasticsearch.ConnectionError,
    elasticsearch.ConnectionTimeout,
)


@dataclass
class SyncReport:
    indexed: Counter[str] = field(default_factory=Counter)
    deleted: Counter[str] = field(default_factory=Counter)
    batches: int = 0

    def render(self) -> str:
        counts = ", ".join(f"{self.indexed[k]} {k}" for k, _ in STREAMS)
        gone = ", ".join(f"{self.deleted[k]} {k}" for k, _ in STREAMS)
        return f"indexed {counts}; deleted {gone}; in {self.batches} batches"


class _Index:
    def __init__(self, es: AsyncElasticsearch, prefix: str) -> None:
        self.es = es
        self.names = {kind: schema.index_name(prefix, kind) for kind in schema.MAPPINGS}

    async def ensure(self) -> None:
        for kind, name in self.names.items():
            if not await self.es.indices.exists(index=name):
                try:
                    await self.es.indices.create(
                        index=name, settings=schema.SETTINGS, mappings=schema.MAPPINGS[kind]
                    )
                except elasticsearch.BadRequestError as error:
                    if error.error != "resource_already_exists_exception":
                        raise

    async def put(self, kind: str, documents: Sequence[dict[str, Any]]) -> None:
        if documents:
            await async_bulk(
                self.es,
                ({"_index": self.names[kind], "_id": d["id"], "_source": d} for d in documents),
                refresh=False,
            )

    async def replace(
        self, kind: str, ids: Sequence[str], documents: Sequence[dict[str, Any]], report: SyncReport
    ) -> None:
        """The index holds ``documents`` for ``ids``; ids without one were deleted at the source."""
        await self.put(kind, documents)
        gone = sorted(set(ids) - {d["id"] for d in documents})
        await self.drop(kind, gone)
        report.indexed[kind] += len(documents)
        report.deleted[kind] += len(gone)

    async def drop(self, kind: str, ids: Sequence[str]) -> None:
        if not ids:
            return
        _, errors = await async_bulk(
            self.es,
            ({"_op_type": "delete", "_index": self.names[kind], "_id": i} for i in ids),
            refresh=False,
            raise_on_error=False,
        )
        # A document that is already gone is what we wanted (a rerun after a crash).
        listed = errors if isinstance(errors, list) else []
        failures = [e for e in listed if e["delete"]["status"] != 404]
        if failures:
            raise BulkIndexError(f"{len(failures)} deletes failed", failures)

    async def refresh(self) -> None:
        await self.es.indices.refresh(index=list(self.names.values()))


async def _position(db: asyncpg.Connection, stream: str) -> int:
    seq = await db.fetchval("SELECT seq FROM content.sync_position WHERE stream = $1", stream)
    return int(seq) if seq is not None else 0


async def _save_position(db: asyncpg.Connection, stream: str, seq: int) -> None:
    await db.execute(
        "INSERT INTO content.sync_position (stream, seq) VALUES ($1, $2)"
        " ON CONFLICT (stream) DO UPDATE SET seq = $2",
        stream,
        seq,
    )


async def _index_persons(
    db: asyncpg.Connection, index: _Index, ids: Sequence[str], report: SyncReport
) -> None:
    found = await postgres_reader.persons(db, ids)
    await index.replace(schema.PERSONS, ids, [schema.person_document(p) for p in found], report)


async def _index_genres(
    db: asyncpg.Connection, index: _Index, ids: Sequence[str], report: SyncReport
) -> None:
    found = await postgres_reader.genres(db, ids)
    await index.replace(schema.GENRES, ids, [schema.genre_document(g) for g in found], report)


async def _index_films(
    db: asyncpg.Connection, index: _Index, ids: Sequence[str], report: SyncReport
) -> None:
    films = await postgres_reader.films(db, ids)
    await index.replace(schema.FILMS, ids, [schema.film_document(f) for f in films], report)
    people = {p.id for f in films for p in (*f.directors, *f.actors, *f.writers)}
    await _index_persons(db, index, sorted(people), report)
    await _index_genres(db, index, sorted({g.id for f in films for g in f.genres}), report)


async def _sync_once(
    catalog: CatalogSettings,
    report: SyncReport,
    batch_size: int,
    after_batch: Callable[[int], Awaitable[None]] | None,
) -> None:
    db = await asyncpg.connect(asyncpg_dsn(catalog.catalog_dsn))
    es = AsyncElasticsearch(catalog.search_dsn, request_timeout=30)
    cache = open_cache(catalog.cache_url, catalog.cache_ttl_seconds)
    try:
        await ensure_schema(db)
        index = _Index(es, catalog.search_index_prefix)
        await index.ensure()
        for stream, _ in STREAMS:
            position = await _position(db, stream)
            while changes := await postgres_reader.changes_after(db, stream, position, batch_size):
                ids = [changed_id for changed_id, _ in changes]
                if stream == "films":
                    await _index_films(db, index, ids, report)
                    # After the index has the new document, so a reload cannot be stale.
                    await cache.invalidate(ids)
                elif stream == "persons":
                    await _index_persons(db, index, ids, report)
                else:
                    await _index_genres(db, index, ids, report)
                position = changes[-1][1]
                await _save_position(db, stream, position)
                report.batches += 1
                if after_batch is not None:
                    await after_batch(report.batches)
        await index.refresh()
    finally:
        await cache.close()
        await es.close()
        await db.close()


def _log_retry(state: RetryCallState) -> None:
    failure = state.outcome.exception() if state.outcome is not None else None
    wait = state.next_action.sleep if state.next_action is not None else 0.0
    log.warning("sync_retry", attempt=state.attempt_number, wait_seconds=wait, error=repr(failure))


async def run_sync(
    catalog: CatalogSettings,
    batch_size: int = 500,
    give_up_after_seconds: float = 600.0,
    after_batch: Callable[[int], Awaitable[None]] | None = None,
) -> SyncReport:
    """Bring the index up to date with PostgreSQL; ``after_batch(n)`` follows each batch."""
    report = SyncReport()
    retrying = AsyncRetrying(
        retry=retry_if_exception_type(TRANSIENT),
        wait=wait_exponential(multiplier=0.5, max=30),
        stop=stop_after_delay(give_up_after_seconds),
        before_sleep=_log_retry,
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            await _sync_once(catalog, report, batch_size, after_batch)
    return report

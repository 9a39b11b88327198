"""``cinema etl sync``: PostgreSQL (``content``) -> Elasticsearch, incrementally.

Three streams (films, persons, genres) each follow ``(updated_at, id)`` from where
the last run stopped; the cursor is saved in ``content.sync_state`` after every
batch is in the index, so a crash resumes with the batch that was in flight (the
index writes are idempotent: documents are keyed by id). A changed film also
re-indexes its persons and genres, whose documents show it. While either side is
unreachable, the run waits with exponential backoff and then resumes.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import elasticsearch
from elasticsearch import AsyncElasticsearch
from elasticsearch.helpers import async_bulk
from tenacity import (
    AsyncRetrying,
    before_sleep_log,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

from etl import postgres_reader
from etl.writer_postgres import asyncpg_dsn, ensure_schema
from services.catalog import elastic_schema as schema
from services.kit.config import Settings

log = logging.getLogger(__name__)

STREAMS = (("films", "film_work"), ("persons", "person"), ("genres", "genre"))
_START = (datetime(1970, 1, 1, tzinfo=UTC), "00000000-0000-0000-0000-000000000000")
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
    batches: int = 0

    def render(self) -> str:
        counts = ", ".join(f"{self.indexed[k]} {k}" for k, _ in STREAMS)
        return f"indexed {counts} in {self.batches} batches"


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

    async def refresh(self) -> None:
        await self.es.indices.refresh(index=list(self.names.values()))


async def _cursor(db: asyncpg.Connection, stream: str) -> tuple[datetime, str]:
    row = await db.fetchrow(
        "SELECT updated_at, last_id::text FROM content.sync_state WHERE stream = $1", stream
    )
    return (row[0], row[1]) if row else _START


async def _save_cursor(db: asyncpg.Connection, stream: str, cursor: tuple[datetime, str]) -> None:
    await db.execute(
        "INSERT INTO content.sync_state (stream, updated_at, last_id) VALUES ($1, $2, $3::uuid)"
        " ON CONFLICT (stream) DO UPDATE SET updated_at = $2, last_id = $3::uuid",
        stream,
        *cursor,
    )


async def _index_persons(db: asyncpg.Connection, index: _Index, ids: Sequence[str]) -> int:
    found = await postgres_reader.persons(db, ids)
    await index.put(schema.PERSONS, [schema.person_document(p) for p in found])
    return len(found)


async def _index_genres(db: asyncpg.Connection, index: _Index, ids: Sequence[str]) -> int:
    found = await postgres_reader.genres(db, ids)
    await index.put(schema.GENRES, [schema.genre_document(g) for g in found])
    return len(found)


async def _sync_once(
    settings: Settings,
    report: SyncReport,
    batch_size: int,
    after_batch: Callable[[int], Awaitable[None]] | None,
) -> None:
    db = await asyncpg.connect(asyncpg_dsn(settings.catalog_dsn))
    es = AsyncElasticsearch(settings.search_dsn, request_timeout=30)
    try:
        await ensure_schema(db)
        index = _Index(es, settings.search_index_prefix)
        await index.ensure()
        for stream, table in STREAMS:
            cursor = await _cursor(db, stream)
            while rows := await postgres_reader.changed_since(db, table, cursor, batch_size):
                ids = [row_id for row_id, _ in rows]
                if stream == "films":
                    films = await postgres_reader.films(db, ids)
                    await index.put(schema.FILMS, [schema.film_document(f) for f in films])
                    report.indexed["films"] += len(films)
                    people = {p.id for f in films for p in (*f.directors, *f.actors, *f.writers)}
                    report.indexed["persons"] += await _index_persons(db, index, list(people))
                    genre_ids = {g.id for f in films for g in f.genres}
                    report.indexed["genres"] += await _index_genres(db, index, list(genre_ids))
                elif stream == "persons":
                    report.indexed["persons"] += await _index_persons(db, index, ids)
                else:
                    report.indexed["genres"] += await _index_genres(db, index, ids)
                cursor = (rows[-1][1], rows[-1][0])
                await _save_cursor(db, stream, cursor)
                report.batches += 1
                if after_batch is not None:
                    await after_batch(report.batches)
        await index.refresh()
    finally:
        await es.close()
        await db.close()


async def run_sync(
    settings: Settings,
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
        before_sleep=before_sleep_log(log, logging.WARNING),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            await _sync_once(settings, report, batch_size, after_batch)
    return report

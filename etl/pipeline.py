"""The ETL as the CLI and `cinema up` run it, on whatever the settings point at.

Embedded: the legacy file goes into the SQLite catalog (search rows included).
Production: into PostgreSQL, then ``sync`` carries the changes to Elasticsearch.
Either way the cached copies of changed films are dropped: in the cache named by
``CINEMA_CACHE_URL`` (Redis reaches every replica), or in the cache handed in by a
caller that serves from an in-process LRU, which no other process can reach.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from etl.demo import write_demo_legacy_file
from etl.importer import CatalogWriter, ImportReport, import_legacy
from etl.writer_sqlite import SqliteCatalogWriter
from services.catalog.cache import FilmCache, open_cache
from services.catalog.settings import CatalogSettings
from services.kit.config import dsn_scheme, sqlite_path

Progress = Callable[[str, int, int], None]


def is_production(catalog: CatalogSettings) -> bool:
    return dsn_scheme(catalog.catalog_dsn) == "postgresql"


async def open_writer(catalog: CatalogSettings) -> CatalogWriter:
    scheme = dsn_scheme(catalog.catalog_dsn)
    if scheme == "sqlite":
        path = Path(sqlite_path(catalog.catalog_dsn))
        path.parent.mkdir(parents=True, exist_ok=True)
        return await SqliteCatalogWriter.open(str(path))
    if scheme == "postgresql":
        from etl.writer_postgres import PostgresCatalogWriter

        return await PostgresCatalogWriter.open(catalog.catalog_dsn)
    raise ValueError(f"CINEMA_CATALOG_DSN: the ETL cannot write to {scheme}://")


async def run_import(
    catalog: CatalogSettings,
    path: Path,
    progress: Progress | None = None,
    batch_size: int = 1000,
    prune: bool = False,
    cache: FilmCache | None = None,
) -> ImportReport:
    writer = await open_writer(catalog)
    try:
        report = await import_legacy(path, writer, batch_size, progress, prune)
    finally:
        await writer.close()
    if is_production(catalog) and dsn_scheme(catalog.search_dsn) in ("http", "https"):
        from etl.sync import run_sync

        await run_sync(catalog)
    if report.changed_films:
        if cache is not None:
            await cache.invalidate(report.changed_films)
        else:
            opened = open_cache(catalog.cache_url, catalog.cache_ttl_seconds)
            try:
                await opened.invalidate(report.changed_films)
            finally:
                await opened.close()
    return report


async def catalog_is_empty(catalog: CatalogSettings) -> bool:
    writer = await open_writer(catalog)
    try:
        return await writer.film_count() == 0
    finally:
        await writer.close()


async def load_demo_if_empty(catalog: CatalogSettings) -> ImportReport | None:
    """Import the bundled demo catalog into an empty catalog; ``None`` if not empty."""
    if not await catalog_is_empty(catalog):
        return None
    return await run_demo(catalog)


async def run_demo(catalog: CatalogSettings) -> ImportReport:
    """Import the bundled demo catalog (again: unchanged films stay unchanged)."""
    with tempfile.TemporaryDirectory(prefix="cinema-demo-") as scratch:
        legacy = Path(scratch) / "demo-legacy.db"
        write_demo_legacy_file(legacy)
        return await run_import(catalog, legacy)

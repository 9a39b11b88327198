"""Elasticsearch counts a search's matches exactly up to a bound, then says "at least"."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.pipeline import run_import
from services.catalog import store_elastic
from services.catalog.store import open_store
from services.settings import Settings
from tests.etl import legacy_catalog as lc


async def test_search_total_stops_at_the_bound_pages_do_not(
    production_catalog_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = production_catalog_settings
    settings.process.data_dir.mkdir(parents=True, exist_ok=True)
    await run_import(settings.catalog, lc.build_legacy_file(tmp_path / "legacy.db"))
    store = await open_store(
        settings.catalog.search_dsn, index_prefix=settings.catalog.search_index_prefix
    )
    try:
        exact = await store.search_films("matrix", 0, 10)
        assert exact.total == len(exact.items) > 1  # fuzzy: "Machines" too
        monkeypatch.setattr(store_elastic, "SEARCH_TOTAL_HITS", 1)
        bounded = await store.search_films("matrix", 0, 10)
        assert bounded.total == 1
        assert [f.id for f in bounded.items] == [f.id for f in exact.items]
    finally:
        await store.close()

"""A catalog indexed before search ranked from film_fts alone is re-indexed when opened."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from etl.pipeline import run_import
from services.catalog.store import open_store
from services.kit.config import sqlite_path
from services.settings import Settings
from tests.etl import legacy_catalog as lc

_OLD_FILM_FTS = """
CREATE VIRTUAL TABLE film_fts USING fts5 (
    film_id UNINDEXED, title, people, description, tokenize = 'unicode61'
);
CREATE VIRTUAL TABLE film_vocab USING fts5vocab (film_fts, row);
INSERT INTO film_fts (film_id, title, people, description)
    SELECT id, lower(title), '', lower(description) FROM film_work;
"""


def _downgrade(path: str) -> None:
    """The search tables as an older release built them (no rating, no title key)."""
    with sqlite3.connect(path) as db:
        db.executescript("DROP TABLE film_vocab; DROP TABLE film_fts;" + _OLD_FILM_FTS)
    db.close()


async def test_old_search_index_is_rebuilt_on_open(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", demo_catalog=False)
    settings.process.data_dir.mkdir(parents=True)
    await run_import(settings.catalog, lc.build_legacy_file(tmp_path / "legacy.db"))
    _downgrade(sqlite_path(settings.catalog.search_dsn))

    store = await open_store(
        settings.catalog.search_dsn, index_prefix=settings.catalog.search_index_prefix
    )
    try:
        found = await store.search_films("matrix", 0, 10)
        assert [f.id for f in found.items][:2] == [lc.MATRIX, lc.MATRIX_RELOADED]
        by_person = await store.search_films("reeves", 0, 10)  # people are indexed again
        assert {f.id for f in by_person.items} == {lc.MATRIX, lc.MATRIX_RELOADED}
    finally:
        await store.close()

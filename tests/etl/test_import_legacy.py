"""`cinema etl import-sqlite` on a legacy file with real-world quirks, both targets."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]

from etl.importer import import_legacy, record_hash
from etl.legacy import GenreRecord
from etl.pipeline import open_writer
from etl.writer_postgres import asyncpg_dsn
from services.settings import Settings
from tests.etl import legacy_catalog as lc


async def test_quirky_file_loads_valid_rows_and_reports_bad_ones(
    target: Settings, tmp_path: Path
) -> None:
    legacy = lc.build_legacy_file(tmp_path / "legacy.db")
    writer = await open_writer(target.catalog)
    report = await import_legacy(legacy, writer, batch_size=3)
    await writer.close()
    assert report.counts["film_work"]["inserted"] == lc.VALID_FILMS
    assert report.counts["film_work"]["skipped"] == 1  # the film without a title
    assert report.counts["genre_film_work"]["skipped"] == 1  # its genre link
    assert report.counts["person_film_work"]["skipped"] == 1  # the link to a ghost
    assert any("title is empty" in p for p in report.problems)
    assert any(lc.GHOST in p for p in report.problems)


async def test_second_import_changes_nothing(target: Settings, tmp_path: Path) -> None:
    legacy = lc.build_legacy_file(tmp_path / "legacy.db")
    for _ in range(2):
        writer = await open_writer(target.catalog)
        report = await import_legacy(legacy, writer)
        await writer.close()
    assert report.changes == 0
    assert report.counts["film_work"]["unchanged"] == lc.VALID_FILMS
    assert report.changed_films == set()


async def test_postgres_keeps_ids_genres_and_roles(postgres_dsn: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, catalog_dsn=postgres_dsn)
    writer = await open_writer(settings.catalog)
    await import_legacy(lc.build_legacy_file(tmp_path / "legacy.db"), writer)
    await writer.close()
    db = await asyncpg.connect(asyncpg_dsn(postgres_dsn))
    try:
        roles = await db.fetch(
            "SELECT role FROM content.person_film_work WHERE film_work_id = $1::uuid"
            " AND person_id = $2::uuid ORDER BY role",
            lc.MATRIX,
            lc.WACHOWSKI,
        )
        genres = await db.fetch(
            "SELECT g.name FROM content.genre_film_work gfw JOIN content.genre g"
            " ON g.id = gfw.genre_id WHERE gfw.film_work_id = $1::uuid ORDER BY g.name",
            lc.HEAT,
        )
        date = await db.fetchval(
            "SELECT creation_date FROM content.film_work WHERE id = $1::uuid", lc.DOCUMENTARY
        )
    finally:
        await db.close()
    assert [r[0] for r in roles] == ["director", "writer"]
    assert [r[0] for r in genres] == ["Crime", "Drama"]
    assert date == "2016"


async def test_a_row_written_since_it_was_read_as_new_is_updated_not_an_error(
    target: Settings, tmp_path: Path
) -> None:
    # Another import may write a row between this batch's read and its write: the row
    # the writer was told is new is there already, and must be upserted all the same.
    writer = await open_writer(target.catalog)
    try:
        await import_legacy(lc.build_legacy_file(tmp_path / "legacy.db"), writer)
        renamed = GenreRecord(lc.SCI_FI, "Science fiction", "", datetime(2020, 1, 1, tzinfo=UTC))
        digest = record_hash(renamed)
        await writer.write("genre", [renamed], {lc.SCI_FI: digest}, new={lc.SCI_FI})
        assert await writer.hashes("genre", [lc.SCI_FI]) == {lc.SCI_FI: digest}
    finally:
        await writer.close()

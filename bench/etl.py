"""ETL import against a plain executemany (SQLite) / COPY (PostgreSQL) of the same rows.

For each size a synthetic legacy file (``etl.synthetic``) is imported by the project
(``etl.importer.import_legacy``: parse, validate, digest, write, search rows) into an
empty catalog (so as a first load: bulk writes, one transaction), timed. The baseline
then writes the rows that import left in the catalog, read back and held in memory, into
another empty catalog with the same schema:

* SQLite: ``sqlite3`` ``executemany`` in batches of 1000, a commit per batch, the five
  tables and both FTS5 tables (the search rows are part of what the import writes);
  ``one_transaction_seconds`` in the row is the same with one commit at the end (as the
  project's first load commits), for the record;
* PostgreSQL: one ``COPY`` (asyncpg ``copy_records_to_table``) per table into the bare
  tables, without the change-log triggers (the stricter baseline); ``copy_logged`` in
  the row is the same COPY with them, for the record.

PostgreSQL runs when ``CINEMA_TEST_POSTGRES_DSN`` is set (``/tmp/cinema-backends/env``),
each run in databases of its own, dropped after.

    .venv/bin/python -m bench.etl            # 10k and 100k films
    .venv/bin/python -m bench.etl --quick    # 2k films
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from bench.report import Result, emit, progress
from etl.change_log import CHANGE_LOG
from etl.importer import import_legacy
from etl.synthetic import generate
from etl.writer_postgres import SCHEMA as PG_SCHEMA
from etl.writer_postgres import PostgresCatalogWriter, asyncpg_dsn
from etl.writer_sqlite import SqliteCatalogWriter
from services.catalog.sqlite_index import SCHEMA as SQLITE_SCHEMA

TARGET = 0.5
BATCH = 1000
_TABLES = ("genre", "person", "film_work", "genre_film_work", "person_film_work")


def _sqlite_project(legacy: Path, target: Path) -> float:
    async def run() -> float:
        writer = await SqliteCatalogWriter.open(str(target))
        began = time.perf_counter()
        try:
            await import_legacy(legacy, writer, BATCH)
        finally:
            await writer.close()
        return time.perf_counter() - began

    return asyncio.run(run())


def _sqlite_baseline(imported: Path, targets: tuple[Path, Path]) -> tuple[float, float, int]:
    """Seconds with a commit per batch, then with one commit; and the rows written."""
    source = sqlite3.connect(imported)
    data: list[tuple[str, list[str], list[Any]]] = []
    for table in (*_TABLES, "film_fts", "person_fts"):
        cursor = source.execute(f"SELECT * FROM {table}")
        data.append((table, [d[0] for d in cursor.description], cursor.fetchall()))
    source.close()
    timings = []
    for target, commit_per_batch in zip(targets, (True, False), strict=True):
        db = sqlite3.connect(target)
        db.execute("PRAGMA journal_mode = WAL")  # as the project's catalog connection
        db.executescript(SQLITE_SCHEMA)
        db.commit()
        began = time.perf_counter()
        for table, columns, rows in data:
            marks = ",".join("?" * len(columns))
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
            for start in range(0, len(rows), BATCH):
                db.executemany(sql, rows[start : start + BATCH])
                if commit_per_batch:
                    db.commit()
        db.commit()
        timings.append(time.perf_counter() - began)
        db.close()
    return timings[0], timings[1], sum(len(rows) for _, _, rows in data)


def _with_database(dsn: str, name: str) -> str:
    return f"{asyncpg_dsn(dsn).rsplit('/', 1)[0]}/{name}"


async def _postgres(legacy: Path, admin_dsn: str) -> dict[str, float]:
    admin = await asyncpg.connect(asyncpg_dsn(admin_dsn))
    names = [f"bench_etl_{kind}_{uuid.uuid4().hex[:8]}" for kind in ("project", "baseline")]
    for name in names:
        await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        project_dsn, baseline_dsn = (_with_database(admin_dsn, n) for n in names)
        writer = await PostgresCatalogWriter.open(project_dsn)
        began = time.perf_counter()
        try:
            await import_legacy(legacy, writer, BATCH)
        finally:
            await writer.close()
        project = time.perf_counter() - began
        source = await asyncpg.connect(project_dsn)
        data = []
        for table in _TABLES:
            rows = await source.fetch(f"SELECT * FROM content.{table}")
            data.append((table, list(rows[0].keys()), [tuple(r) for r in rows]))
        await source.close()
        db = await asyncpg.connect(baseline_dsn)
        timings = {}
        for label, ddl in (("copy", PG_SCHEMA), ("copy_logged", PG_SCHEMA + CHANGE_LOG)):
            await db.execute("DROP SCHEMA IF EXISTS content CASCADE")
            await db.execute(ddl)
            began = time.perf_counter()
            for table, columns, rows in data:
                async with db.transaction():
                    await db.copy_records_to_table(
                        table, schema_name="content", columns=columns, records=rows
                    )
            timings[label] = time.perf_counter() - began
        await db.close()
        return {"seconds": project, **timings, "rows": sum(len(r) for _, _, r in data)}
    finally:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.etl", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2k films only")
    parser.add_argument("--films", type=int, nargs="*", help="sizes (default 10000 100000)")
    args = parser.parse_args(argv)
    sizes = args.films or ([2000] if args.quick else [10_000, 100_000])
    postgres_dsn = os.environ.get("CINEMA_TEST_POSTGRES_DSN", "")
    project: dict[str, Any] = {}
    baseline: dict[str, Any] = {}
    ratios: dict[str, list[float]] = {"sqlite": [], "postgresql": []}
    with tempfile.TemporaryDirectory(prefix="bench-etl-") as scratch:
        work = Path(scratch)
        for films in sizes:
            legacy = work / f"legacy-{films}.db"
            progress(f"writing a synthetic legacy file of {films} films")
            generate(legacy, films)
            label = f"{films // 1000}k" if films >= 1000 else str(films)
            progress(f"sqlite {label}: project import")
            seconds = _sqlite_project(legacy, work / f"project-{films}.db")
            progress(f"sqlite {label}: baseline executemany")
            base, one_transaction, rows = _sqlite_baseline(
                work / f"project-{films}.db",
                (work / f"base-{films}.db", work / f"base-one-{films}.db"),
            )
            project[f"sqlite {label}"] = {"seconds": round(seconds, 3), "rows": rows}
            baseline[f"sqlite {label}"] = {
                "seconds": round(base, 3),
                "one_transaction_seconds": round(one_transaction, 3),
                "rows": rows,
            }
            ratios["sqlite"].append(base / seconds)
            progress(f"sqlite {label}: {seconds:.2f}s vs {base:.2f}s, ratio {base / seconds:.2f}")
            if postgres_dsn:
                progress(f"postgresql {label}: project import, then COPY")
                pg = asyncio.run(_postgres(legacy, postgres_dsn))
                key = f"postgresql {label}"
                project[key] = {"seconds": round(pg["seconds"], 3), "rows": int(pg["rows"])}
                baseline[key] = {
                    "seconds": round(pg["copy"], 3),
                    "copy_logged_seconds": round(pg["copy_logged"], 3),
                    "rows": int(pg["rows"]),
                }
                ratios["postgresql"].append(pg["copy"] / pg["seconds"])
                progress(f"{key}: {pg['seconds']:.2f}s vs COPY {pg['copy']:.2f}s")
            for path in work.glob(f"*-{films}.db*"):
                path.unlink()
    every = [r for values in ratios.values() for r in values]
    worst = min(every)
    emit(
        Result(
            name="etl.import",
            target=f"ratio >= {TARGET}",
            met=worst >= TARGET,
            ratio=round(worst, 3),
            project=project,
            baseline=baseline,
            series={
                "x_label": "films",
                "x": sizes,
                "y_label": "ratio (baseline seconds / project seconds)",
                "y": {
                    name: [round(r, 3) for r in values] for name, values in ratios.items() if values
                },
            },
            notes="ratio = the worst of the backends and sizes; PostgreSQL baseline COPY into"
            " tables without the change-log triggers (copy_logged_seconds: with them); SQLite"
            " baseline a commit per batch (one_transaction_seconds: one commit)",
        )
    )


if __name__ == "__main__":
    main()

"""``cinema etl ...``: import a legacy file, sync the search index, build catalogs.

The parser imports nothing heavy; a command imports the ETL (SQLAlchemy, the stores,
Elasticsearch's client) only when it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.catalog.settings import CatalogSettings


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    etl = commands.add_parser("etl", help="load the catalog: legacy SQLite -> store -> search")
    etl_commands = etl.add_subparsers(dest="etl_command", required=True)
    imported = etl_commands.add_parser(
        "import-sqlite", help="load a legacy SQLite movie database into the configured catalog"
    )
    imported.add_argument("path", type=Path)
    imported.add_argument("--batch-size", type=int, default=1000)
    imported.add_argument(
        "--prune",
        action="store_true",
        help="delete films, people, genres and links that are no longer in the file",
    )
    etl_commands.add_parser(
        "sync", help="carry PostgreSQL changes to Elasticsearch (incremental, resumable)"
    )
    demo = etl_commands.add_parser("demo", help="load the bundled demo catalog")
    demo.add_argument(
        "--write-legacy", type=Path, metavar="PATH", help="only write it as a legacy file"
    )
    synthetic = etl_commands.add_parser(
        "synthetic", help="write a synthetic legacy catalog of any size (for scale tests)"
    )
    synthetic.add_argument("path", type=Path)
    synthetic.add_argument("--films", type=int, default=10_000)
    synthetic.add_argument("--seed", type=int, default=1)


class _Progress:
    """One line per table, rewritten at most twice a second."""

    def __init__(self) -> None:
        self._shown = 0.0

    def __call__(self, table: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._shown < 0.5:
            return
        self._shown = now
        end = "\n" if done >= total else ""
        print(f"\r{table}: {done}/{total}", end=end, file=sys.stderr, flush=True)


def _sync_unsupported(catalog: CatalogSettings) -> str | None:
    """Why sync cannot run on ``catalog``, or None when it can."""
    from services.kit.config import dsn_scheme

    source, search = dsn_scheme(catalog.catalog_dsn), dsn_scheme(catalog.search_dsn)
    if source == "postgresql" and search in ("http", "https"):
        return None
    return (
        "sync carries the catalog from PostgreSQL to Elasticsearch: set "
        "CINEMA_CATALOG_DSN=postgresql://... and CINEMA_SEARCH_DSN=http(s)://... "
        f"(now {source} and {search}; the embedded SQLite catalog searches itself and "
        "needs no sync)"
    )


def _run(args: argparse.Namespace, catalog: CatalogSettings) -> int:
    command = args.etl_command
    if command == "import-sqlite":
        from etl import pipeline

        report = asyncio.run(
            pipeline.run_import(catalog, args.path, _Progress(), args.batch_size, args.prune)
        )
        print(report.render())
    elif command == "sync":
        unsupported = _sync_unsupported(catalog)
        if unsupported:
            print(f"cinema etl: {unsupported}", file=sys.stderr)
            return 2
        from etl.sync import run_sync

        print(asyncio.run(run_sync(catalog)).render())
    elif command == "demo" and args.write_legacy:
        from etl.demo import write_demo_legacy_file

        films = write_demo_legacy_file(args.write_legacy)
        print(f"wrote {films} demo films to {args.write_legacy}")
    elif command == "demo":
        from etl import pipeline

        print(asyncio.run(pipeline.run_demo(catalog)).render())
    else:
        from etl.synthetic import generate

        generate(args.path, args.films, args.seed)
        print(f"wrote {args.films} synthetic films to {args.path}")
    return 0


def run(args: argparse.Namespace, catalog: CatalogSettings) -> int:
    try:
        return _run(args, catalog)
    except (OSError, ValueError) as error:
        print(f"cinema etl: {error}", file=sys.stderr)
        return 1

"""GetFilm and SearchFilms against a bare grpc.aio servicer answering the same bytes.

The project is the catalog service alone (`cinema serve catalog`), on each backend and
catalog size:

- backends: SQLite + FTS5 (embedded) and Elasticsearch (``CINEMA_TEST_ELASTICSEARCH_URL``,
  from ``/tmp/cinema-backends/env`` or the environment; skipped when unset), in an index
  of this run's own, deleted afterwards;
- catalogs: the demo catalog, and a synthetic one of ``--films`` films (100k; ``--quick``
  10k), written straight into the SQLite tables and indexed by the project's own
  ``sqlite_index`` (the ETL's speed is bench/etl.py's business); Elasticsearch gets the
  same films, read back through the SQLite store, as ``film_document``s.

For each pair, ghz loads the project and a bare grpc.aio server (bench.grpc_load.BareGrpc)
answering with the exact bytes the project returned, interleaved, at ``--concurrency``:

- ``catalog.get_film``: GetFilm of one film (ratio = project RPS / bare RPS, worst pair);
- ``catalog.search``: SearchFilms of a popular query ("matrix" on the demo, a common
  title word on the synthetic catalog), which the service answers from memory after the
  first time; and, project only, a cold run over distinct two-word queries that each
  reach the store (ghz cycles through them; none repeats within the answer cache's TTL
  at the rates seen), whose p99 at half its own maximum rate is what "search p99 <= 50 ms
  at 100k films" is held to, on both backends.

    .venv/bin/python -m bench.catalog [--quick] [--films 100000] [--backends sqlite,elastic]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from bench.grpc_load import BareGrpc, ghz_run, parse_ghz, protoset
from bench.loads import Load, interleaved
from bench.report import Result, emit, progress
from bench.stack import HOST, START_SECONDS, StackError, stop_process, wait_until
from bench.tools import ghz
from cinema.catalog.v1 import catalog_pb2, catalog_pb2_grpc

SERVICE = "/cinema.catalog.v1.CatalogService/"
GET_FILM = SERVICE + "GetFilm"
SEARCH = SERVICE + "SearchFilms"
GET_TARGET = "ratio >= 0.7"
SEARCH_TARGET = "ratio >= 0.5; p99 <= 50 ms at 100k films, both backends"
MIN_GET_RATIO = 0.7
MIN_SEARCH_RATIO = 0.5
MAX_SEARCH_P99_MS = 50.0
BACKENDS_ENV = Path("/tmp/cinema-backends/env")
DEMO_QUERY = "matrix"
#: The synthetic catalog's title words (as etl.synthetic's): one of them is a popular query.
WORDS = (
    "star dark night river lost city storm silent iron golden last first secret winter "
    "summer ghost shadow king queen empire garden ocean fire glass blood moon sun road "
    "home war peace love dream machine heart wolf bird island mountain forest house"
).split()
POPULAR_QUERY = "star"
NAMES = "Anna Boris Clara Dmitri Elena Felix Greta Hugo Irina Jonas Kira Leon Maria".split()
SURNAMES = "Ivanova Smith Petrov Garcia Novak Kowalski Berg Rossi Muller Sato Laine".split()
GENRES = (
    "Action Adventure Animation Comedy Crime Documentary Drama Family Fantasy History "
    "Horror Music Mystery Romance Sci-Fi Thriller War Western"
).split()
STAMP = "2024-01-01T00:00:00+00:00"
_ANNOUNCED = re.compile(r"^gRPC\s+(\S+:\d+)", re.MULTILINE)


def _elasticsearch_url() -> str:
    url = os.environ.get("CINEMA_TEST_ELASTICSEARCH_URL", "")
    if url or not BACKENDS_ENV.exists():
        return url
    for line in BACKENDS_ENV.read_text().splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        if name.strip() == "CINEMA_TEST_ELASTICSEARCH_URL":
            return value.strip().strip("'\"")
    return ""


# -- catalogs -----------------------------------------------------------------------------


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def write_synthetic(path: Path, films: int, seed: int = 11) -> None:
    """``films`` films straight into the catalog's SQLite tables, then its search index."""
    import sqlite3

    from services.catalog.sqlite_index import SCHEMA, connect, reindex_films, reindex_persons
    from services.kit.text import fold

    rng = random.Random(seed)
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    genres = [(_uuid(rng), name) for name in GENRES]
    persons = [
        (_uuid(rng), f"{rng.choice(NAMES)} {rng.choice(SURNAMES)} {i}")
        for i in range(max(10, films // 2))
    ]
    db.executemany(
        "INSERT INTO genre (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)",
        [(g, name, STAMP, STAMP) for g, name in genres],
    )
    db.executemany(
        "INSERT INTO person (id, full_name, created_at, updated_at) VALUES (?, ?, ?, ?)",
        [(p, name, STAMP, STAMP) for p, name in persons],
    )
    film_rows, genre_links, person_links = [], [], []
    for number in range(films):
        film_id = _uuid(rng)
        title = " ".join(rng.sample(WORDS, rng.randint(1, 4))).title() + f" {number}"
        year = rng.randint(1920, 2024)
        rating = None if rng.random() < 0.1 else round(rng.uniform(1, 10), 1)
        kind = "movie" if rng.random() < 0.8 else "tv_show"
        film_rows.append(
            (
                film_id,
                title,
                fold(title),
                f"A story about {title.lower()}.",
                f"{year}-01-01",
                year,
                rating,
                kind,
                STAMP,
                STAMP,
            )
        )
        for genre_id, _ in rng.sample(genres, rng.randint(1, 3)):
            genre_links.append((_uuid(rng), film_id, genre_id, STAMP))
        for role, count in (("director", 1), ("writer", 1), ("actor", rng.randint(2, 6))):
            for person_id, _ in rng.sample(persons, count):
                person_links.append((_uuid(rng), film_id, person_id, role, STAMP))
    db.executemany(
        "INSERT INTO film_work (id, title, sort_title, description, creation_date, year,"
        " rating, type, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        film_rows,
    )
    db.executemany(
        "INSERT INTO genre_film_work (id, film_work_id, genre_id, created_at) VALUES (?, ?, ?, ?)",
        genre_links,
    )
    db.executemany(
        "INSERT INTO person_film_work (id, film_work_id, person_id, role, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        person_links,
    )
    db.commit()
    db.close()

    async def index() -> None:
        connection = await connect(str(path))
        try:
            await reindex_films(connection, [row[0] for row in film_rows])
            await reindex_persons(connection, [p for p, _ in persons])
            await connection.commit()
        finally:
            await connection.close()

    asyncio.run(index())


def write_demo(data_dir: Path) -> Path:
    """The demo catalog, imported by the ETL as `cinema up` does on a first start."""
    from etl.pipeline import run_demo
    from services.settings import Settings

    settings = Settings(data_dir=data_dir, demo_catalog=False)
    asyncio.run(run_demo(settings.catalog))
    return data_dir / "catalog.db"


def index_in_elastic(sqlite_catalog: Path, url: str, prefix: str) -> int:
    """The films of ``sqlite_catalog``, read through its store, as an Elasticsearch index."""
    from elasticsearch import AsyncElasticsearch
    from elasticsearch.helpers import async_bulk

    from services.catalog import elastic_schema as schema
    from services.catalog.store_sqlite import SqliteCatalogStore

    async def run() -> int:
        store = SqliteCatalogStore(str(sqlite_catalog))
        es = AsyncElasticsearch(url, request_timeout=120)
        name = schema.index_name(prefix, schema.FILMS)
        indexed = 0
        try:
            await es.indices.create(
                index=name,
                settings={**schema.SETTINGS, "refresh_interval": "-1"},
                mappings=schema.MAPPINGS[schema.FILMS],
            )
            ids = _film_ids(sqlite_catalog)
            for start in range(0, len(ids), 1000):
                films = await store.batch_get_films(ids[start : start + 1000])
                done, _ = await async_bulk(
                    es,
                    (
                        {"_index": name, "_id": f.id, "_source": schema.film_document(f)}
                        for f in films.values()
                    ),
                    chunk_size=1000,
                )
                indexed += done
            await es.indices.put_settings(index=name, settings={"refresh_interval": "1s"})
            await es.indices.refresh(index=name)
            await es.indices.forcemerge(index=name, max_num_segments=1)
        finally:
            await store.close()
            await es.close()
        return indexed

    return asyncio.run(run())


def drop_elastic(url: str, prefix: str) -> None:
    from elasticsearch import AsyncElasticsearch

    async def run() -> None:
        es = AsyncElasticsearch(url)
        try:
            await es.indices.delete(index=f"{prefix}*", allow_no_indices=True)
        finally:
            await es.close()

    asyncio.run(run())


# -- the service --------------------------------------------------------------------------


class CatalogAlone:
    """`cinema serve catalog` on a given catalog for the life of a ``with`` block."""

    def __init__(self, work: Path, env: Mapping[str, str]) -> None:
        self.work = work
        self.env = {
            **os.environ,
            "CINEMA_GRPC_HOST": HOST,
            "CINEMA_GRPC_PORT": "0",
            "CINEMA_METRICS_PORT": "0",
            "CINEMA_DEMO_CATALOG": "false",
            # Catalog reads are public: the JWKS of auth is never fetched.
            "CINEMA_AUTH_TARGET": f"{HOST}:1",
            **env,
        }
        self.address = ""
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def __enter__(self) -> CatalogAlone:
        cinema = Path(sys.executable).with_name("cinema")
        out, log = self.work / "serve.out", self.work / "serve.log"
        with out.open("wb") as stdout, log.open("wb") as stderr:
            self._process = subprocess.Popen(
                [str(cinema), "serve", "catalog"], env=self.env, stdout=stdout, stderr=stderr
            )

        def announced() -> bool:
            assert self._process is not None
            if self._process.poll() is not None:
                tail = log.read_text(errors="replace")[-3000:]
                raise StackError(f"cinema serve catalog exited: {tail}")
            found = _ANNOUNCED.search(out.read_text(errors="replace"))
            if found:
                self.address = found.group(1)
            return found is not None

        wait_until(announced, START_SECONDS, "cinema serve catalog")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            stop_process(self._process)


# -- load ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    """One method on one backend and catalog: the project and the bare server."""

    project: Load
    baseline: Load

    @property
    def ratio(self) -> float:
        return round(self.project.rps / self.baseline.rps, 3) if self.baseline.rps else 0.0


def cold_queries(seed: int = 5) -> list[dict[str, Any]]:
    """Distinct search requests, shuffled, so that each one reaches the store: two-word
    title queries (both orders) at a few page sizes (a page size is part of the answer)."""
    pairs = [f"{a} {b}" for a, b in itertools.permutations(WORDS, 2)]
    requests = [{"query": q, "page_size": size} for size in range(16, 25) for q in pairs]
    random.Random(seed).shuffle(requests)
    return requests


def ghz_list(
    address: str,
    method: str,
    requests: list[dict[str, Any]],
    *,
    concurrency: int,
    seconds: float,
    rate: int | None = None,
) -> Load:
    """ghz cycling through ``requests`` (a JSON array: ghz sends them round-robin)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as data:
        json.dump(requests, data)
    try:
        command = [
            str(ghz()),
            "--insecure",
            f"--protoset={protoset(method)}",
            f"--call={method.strip('/').replace('/', '.')}",
            f"--concurrency={concurrency}",
            f"--duration={seconds}s",
            "--timeout=20s",
            "--format=json",
            f"--data-file={data.name}",
        ]
        if rate:
            command.append(f"--rps={rate}")
        done = subprocess.run(
            [*command, address], capture_output=True, text=True, timeout=seconds + 120
        )
    finally:
        os.unlink(data.name)
    if not done.stdout.strip():
        raise RuntimeError(f"ghz failed ({done.returncode}): {done.stderr.strip()[:2000]}")
    return parse_ghz(json.loads(done.stdout), concurrency, seconds)


@dataclass(frozen=True)
class Measured:
    label: str
    films: int
    get_film: Pair
    search: Pair
    search_query: str
    search_total: int
    cold: Load
    cold_half: Load
    cold_half_rate: int
    kit: Load  # GetFilm on the bare server with the kit's interceptors

    @property
    def kit_ratio(self) -> float:
        """The bare server with the kit's per-RPC stages against the bare one."""
        bare = self.get_film.baseline.rps
        return round(self.kit.rps / bare, 3) if bare else 0.0


def measure(
    label: str,
    films: int,
    query: str,
    service: CatalogAlone,
    *,
    concurrency: int,
    seconds: float,
    rounds: int,
) -> Measured:
    with grpc.insecure_channel(service.address) as channel:
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        wait_until(
            lambda: bool(stub.ListFilms(catalog_pb2.ListFilmsRequest(page_size=1), timeout=30)),
            START_SECONDS,
            "the catalog",
        )
        top = stub.ListFilms(catalog_pb2.ListFilmsRequest(page_size=1), timeout=30).films[0]
        get_request = catalog_pb2.GetFilmRequest(film_id=top.id)
        get_answer = stub.GetFilm(get_request, timeout=30).SerializeToString()
        search_request = catalog_pb2.SearchFilmsRequest(query=query)
        found = stub.SearchFilms(search_request, timeout=60)
        search_answer = found.SerializeToString()
    progress(
        f"{label}: GetFilm {len(get_answer)} bytes; SearchFilms {query!r}:"
        f" {found.total_size} films, {len(found.films)} on the page, {len(search_answer)} bytes"
    )
    pairs: dict[str, Pair] = {}
    kit = Load(0, 0, 0, 0, 0, concurrency, 0)
    answers = {GET_FILM: get_answer, SEARCH: search_answer}
    with BareGrpc(answers) as bare, BareGrpc(answers, kit=True) as bare_kit:
        addresses = {"project": service.address, "baseline": bare.address}
        # GetFilm's servicer does next to nothing: what the project adds to the bare server
        # is mostly the kit's per-RPC stages, so they are also measured on their own.
        addresses_get = addresses | {"kit": bare_kit.address}
        for method, request in ((GET_FILM, get_request), (SEARCH, search_request)):
            name = method.rsplit("/", 1)[1]
            sides = addresses_get if method == GET_FILM else addresses
            runs = {
                side: (
                    lambda address=address, method=method, request=request, span=seconds: ghz_run(
                        address,
                        method,
                        data=request,
                        concurrency=concurrency,
                        seconds=span,
                    )
                )
                for side, address in sides.items()
            }
            # Warm every side (connections, the answer caches) before anything counts.
            for address in sides.values():
                ghz_run(address, method, data=request, concurrency=concurrency, seconds=1.0)
            progress(f"{label} {name}: -c{concurrency}, {rounds} rounds of {seconds:g}s per side")
            loads = interleaved(runs, rounds)
            pairs[name] = Pair(loads["project"], loads["baseline"])
            kit = loads.get("kit", kit)
            progress(
                f"{label} {name}: {loads['project'].rps} vs {loads['baseline'].rps} rps,"
                f" ratio {pairs[name].ratio}"
            )
    queries = cold_queries()
    span = seconds * rounds / 2
    cold = ghz_list(service.address, SEARCH, queries, concurrency=concurrency, seconds=span)
    half = max(1, int(cold.rps / 2))
    cold_half = ghz_list(
        service.address, SEARCH, queries[::-1], concurrency=concurrency, seconds=span, rate=half
    )
    progress(
        f"{label} cold search: {cold.rps} rps, p50 {cold.p50_ms} ms, p99 {cold.p99_ms} ms;"
        f" at {half} rps p50 {cold_half.p50_ms} ms, p99 {cold_half.p99_ms} ms"
    )
    return Measured(
        label,
        films,
        pairs["GetFilm"],
        pairs["SearchFilms"],
        query,
        found.total_size,
        cold,
        cold_half,
        half,
        kit,
    )


@contextmanager
def _work(keep: bool) -> Iterator[Path]:
    work = Path(tempfile.mkdtemp(prefix="bench-catalog-"))
    try:
        yield work
    finally:
        if keep:
            progress(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short rounds, 10k films")
    parser.add_argument("--films", type=int, default=None, help="synthetic catalog size")
    parser.add_argument("--backends", default="sqlite,elastic", help="sqlite,elastic")
    parser.add_argument("--concurrency", type=int, default=16, help="callers at once (1-256)")
    parser.add_argument("--seconds", type=float, default=None, help="per round and side")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds per side")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, data)")
    args = parser.parse_args(argv)
    films = max(100, args.films or (10_000 if args.quick else 100_000))
    concurrency = max(1, min(args.concurrency, 256))
    seconds = max(1.0, min(args.seconds or (1.0 if args.quick else 4.0), 120.0))
    rounds = max(1, args.rounds or (1 if args.quick else 3))
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    es_url = _elasticsearch_url() if "elastic" in backends else ""
    if "elastic" in backends and not es_url:
        progress("no CINEMA_TEST_ELASTICSEARCH_URL: Elasticsearch skipped")
        backends.remove("elastic")

    measured: list[Measured] = []
    with _work(args.keep) as work:
        catalogs: list[tuple[str, int, str, Path]] = []
        began = time.monotonic()
        demo = write_demo(work / "demo")
        catalogs.append(("demo", _count(demo), DEMO_QUERY, demo))
        progress(f"demo catalog: {catalogs[0][1]} films in {time.monotonic() - began:.1f}s")
        began = time.monotonic()
        (work / "synthetic").mkdir()
        synthetic = work / "synthetic" / "catalog.db"
        write_synthetic(synthetic, films)
        catalogs.append((f"{films // 1000}k", films, POPULAR_QUERY, synthetic))
        progress(f"synthetic catalog: {films} films in {time.monotonic() - began:.1f}s")
        for backend in backends:
            for size, count, query, path in catalogs:
                label = f"{backend} {size}"
                env = {"CINEMA_DATA_DIR": str(path.parent)}
                prefix = ""
                if backend == "elastic":
                    prefix = f"bench-catalog-{uuid.uuid4().hex[:10]}-"
                    began = time.monotonic()
                    indexed = index_in_elastic(path, es_url, prefix)
                    progress(f"{label}: indexed {indexed} films in {time.monotonic() - began:.1f}s")
                    env |= {"CINEMA_SEARCH_DSN": es_url, "CINEMA_SEARCH_INDEX_PREFIX": prefix}
                else:
                    env |= {"CINEMA_SEARCH_DSN": f"sqlite:///{path}"}
                try:
                    with CatalogAlone(path.parent, env) as service:
                        measured.append(
                            measure(
                                label,
                                count,
                                query,
                                service,
                                concurrency=concurrency,
                                seconds=seconds,
                                rounds=rounds,
                            )
                        )
                finally:
                    if prefix:
                        drop_elastic(es_url, prefix)
    report(measured, films, backends, concurrency, seconds, rounds)


def _film_ids(path: Path) -> list[str]:
    import sqlite3

    db = sqlite3.connect(path)
    try:
        return [row[0] for row in db.execute("SELECT id FROM film_work ORDER BY id")]
    finally:
        db.close()


def _count(path: Path) -> int:
    return len(_film_ids(path))


def _absolutes(rows: list[Measured], side: str, what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in rows:
        pair: Pair = getattr(m, what)
        out[m.label] = getattr(pair, side).absolutes()
        if side == "project":
            out[m.label]["ratio"] = pair.ratio
    return out


def _series(rows: list[Measured]) -> dict[str, Any]:
    """Cold-search p99 at half rate against catalog size, one line per backend."""
    sizes = sorted({m.films for m in rows})
    lines: dict[str, list[float]] = {}
    for backend in dict.fromkeys(m.label.split()[0] for m in rows):
        by_size = {m.films: m.cold_half.p99_ms for m in rows if m.label.startswith(backend)}
        if set(by_size) == set(sizes):
            lines[backend] = [by_size[size] for size in sizes]
    return {
        "title": "SearchFilms, distinct queries at half the max rate: p99 vs catalog size",
        "x_label": "films",
        "x": sizes,
        "y_label": "p99 ms",
        "y": lines,
    }


def report(
    rows: list[Measured],
    films: int,
    backends: list[str],
    concurrency: int,
    seconds: float,
    rounds: int,
) -> None:
    how = f"ghz -c{concurrency}, {rounds} interleaved rounds of {seconds:g}s per side"
    get_ratio = min((m.get_film.ratio for m in rows), default=0.0)
    emit(
        Result(
            name="catalog.get_film",
            target=GET_TARGET,
            met=bool(rows) and get_ratio >= MIN_GET_RATIO,
            ratio=get_ratio,
            project=_absolutes(rows, "project", "get_film"),
            baseline={
                label: absolutes | {"kit_rps": m.kit.rps, "kit_ratio": m.kit_ratio}
                for m, (label, absolutes) in zip(
                    rows, _absolutes(rows, "baseline", "get_film").items(), strict=True
                )
            },
            notes=f"{how}; the catalog service alone (cinema serve catalog); ratio = worst"
            f" of {', '.join(m.label for m in rows)}; kit_ratio: the bare server with the"
            " kit's interceptors (request id, deadline and one log line, metrics, errors,"
            " auth) and nothing else, against the bare one: the share of the bare rate"
            " that the per-RPC stages alone leave",
        )
    )
    search_ratio = min((m.search.ratio for m in rows), default=0.0)
    project = _absolutes(rows, "project", "search")
    for m in rows:
        project[m.label] |= {
            "query": m.search_query,
            "matches": m.search_total,
            "cold_rps": m.cold.rps,
            "cold_p50_ms": m.cold.p50_ms,
            "cold_p99_ms": m.cold.p99_ms,
            "cold_half_rate_rps": m.cold_half_rate,
            "cold_half_rate_p50_ms": m.cold_half.p50_ms,
            "cold_half_rate_p99_ms": m.cold_half.p99_ms,
        }
    large = [m for m in rows if m.films >= 100_000]
    p99_met = len({m.label.split()[0] for m in large}) == 2 and all(
        m.search.project.p99_ms <= MAX_SEARCH_P99_MS and m.cold_half.p99_ms <= MAX_SEARCH_P99_MS
        for m in large
    )
    emit(
        Result(
            name="catalog.search",
            target=SEARCH_TARGET,
            met=bool(rows) and search_ratio >= MIN_SEARCH_RATIO and p99_met,
            ratio=search_ratio,
            project=project,
            baseline=_absolutes(rows, "baseline", "search"),
            series=_series(rows),
            notes=f"{how}; ratio = worst popular-query pair; p99 held at 100k films on"
            f" {' and '.join(backends)} ({films} films this run): popular query at"
            f" -c{concurrency} and distinct two-word queries at half their max rate",
        )
    )


if __name__ == "__main__":
    main()

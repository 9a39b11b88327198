"""Likes: RateFilm throughput, and like -> new list latency against the event log's size.

``likes.rate_film``: RateFilm through gRPC on `cinema up` (embedded stack), ghz with
``--concurrency`` calls in flight, every call a real change (the request list goes round
the demo films liking, then disliking them). Baseline, in the same run: the store's
driver alone, stdlib ``sqlite3`` (what aiosqlite wraps) running the store's own
statements (read, upsert, event insert), one transaction per rating, on the same disk
with the same pragmas.

``likes.like_to_list``: on `cinema up` with the likes store embedded (SQLite) and on
FerretDB, the event log is filled to each size directly through the store's schema,
then a user likes films one at a time and waits for their new recommendation list
(``GetMyRecommendations.generate_time`` moving), as ``scripts/measure_like_latency.py``
does. The recommendation pipeline first folds the filled log (a warm-up like waits for
it), so what is measured is a like's trip through a log of that size.

    .venv/bin/python -m bench.likes [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

from bench.grpc_load import BareGrpc, parse_ghz, protoset
from bench.loads import Load, interleaved
from bench.report import Result, emit, progress
from bench.stack import CinemaUp, User
from bench.tools import ghz
from cinema.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from cinema.likes.v1 import likes_pb2, likes_pb2_grpc
from cinema.recommendations.v1 import recommendations_pb2, recommendations_pb2_grpc
from services.likes.records import EventKind
from services.likes.store_sqlite import SCHEMA

RATE_FILM = "/cinema.likes.v1.LikesService/RateFilm"
RATE_TARGET = "ratio >= 0.5 and >= 1000/s"
LIST_TARGET = "p95 <= 1 s, flat"
POLL_SECONDS = 0.005
GIVE_UP_SECONDS = 10.0
CATCH_UP_SECONDS = 600.0  # the pipeline folding a freshly filled log
FILL_USERS = 20  # the filled log's authors (each one's list refreshes once it is folded)
FILL_KINDS = (EventKind.FILM_LIKED, EventKind.FILM_DISLIKED)


# -- likes.rate_film ------------------------------------------------------------------


def rate_requests(film_ids: list[str]) -> list[dict[str, Any]]:
    """Likes of every film, then dislikes: round-robin, each call changes the rating."""
    return [
        {"film_id": film_id, "rating": rating}
        for rating in ("RATING_LIKE", "RATING_DISLIKE")
        for film_id in film_ids
    ]


def ghz_requests(
    address: str, requests: list[dict[str, Any]], user: User, concurrency: int, seconds: float
) -> Load:
    """ghz on RateFilm sending ``requests`` round-robin (``bench.grpc_load.ghz_run`` sends
    one message only)."""
    command = [
        str(ghz()),
        "--insecure",
        f"--protoset={protoset(RATE_FILM)}",
        f"--call={RATE_FILM.strip('/').replace('/', '.')}",
        f"--concurrency={concurrency}",
        f"--duration={seconds}s",
        "--timeout=20s",
        "--format=json",
        f"--metadata={json.dumps(user.headers)}",
        f"--data={json.dumps(requests)}",
        address,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    if not done.stdout.strip():
        raise RuntimeError(f"ghz failed ({done.returncode}): {done.stderr.strip()[:2000]}")
    return parse_ghz(json.loads(done.stdout), concurrency, seconds)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far, all its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def driver_loop(path: Path, film_ids: list[str], seconds: float) -> Load:
    """The store's statements on bare sqlite3, one transaction per rating, for ``seconds``."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(SCHEMA)
    user = f"driver-{uuid.uuid4().hex[:8]}"
    done, latencies = 0, []
    began = time.perf_counter()
    while (now := time.perf_counter()) - began < seconds:
        film = film_ids[done % len(film_ids)]
        rating = 1 + (done // len(film_ids)) % 2
        db.execute("BEGIN IMMEDIATE")
        row = db.execute(
            "SELECT rating, updated_us FROM ratings WHERE user_id = ? AND film_id = ?",
            (user, film),
        ).fetchone()
        if row is None or row[0] != rating:
            db.execute(
                "INSERT INTO ratings (user_id, film_id, rating, updated_us) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (user_id, film_id)"
                " DO UPDATE SET rating = excluded.rating, updated_us = excluded.updated_us",
                (user, film, rating, done),
            )
            db.execute(
                "INSERT INTO events (event_id, user_id, film_id, kind, time_us)"
                " VALUES (?, ?, ?, ?, ?)",
                (uuid.uuid4().hex, user, film, rating, done),
            )
        db.execute("COMMIT")
        latencies.append(time.perf_counter() - now)
        done += 1
    elapsed = time.perf_counter() - began
    db.close()
    cuts = statistics.quantiles(latencies, n=100)
    return Load(
        rps=round(done / elapsed, 1),
        p50_ms=round(cuts[49] * 1000, 3),
        p99_ms=round(cuts[98] * 1000, 3),
        requests=done,
        errors=0,
        concurrency=1,
        seconds=seconds,
    )


def list_films(address: str, count: int) -> list[str]:
    with grpc.insecure_channel(address) as channel:
        catalog = catalog_pb2_grpc.CatalogServiceStub(channel)
        ids: list[str] = []
        token = ""
        while len(ids) < count:
            page = catalog.ListFilms(
                catalog_pb2.ListFilmsRequest(page_size=100, page_token=token), timeout=30
            )
            ids += [film.id for film in page.films]
            token = page.next_page_token
            if not token:
                break
        return ids[:count]


def rate_film(quick: bool, concurrency: int) -> None:
    seconds, rounds = (3.0, 2) if quick else (6.0, 3)
    with CinemaUp() as stack, tempfile.TemporaryDirectory(prefix="bench-likes-") as scratch:
        films = list_films(stack.grpc_address, 1000)
        requests = rate_requests(films)
        user = stack.register()
        # Warm-up: the film directory's cache, the connections, the code paths.
        ghz_requests(stack.grpc_address, requests, user, concurrency, 1.0)
        driver = Path(scratch) / "driver.db"
        cpu = {"seconds": 0.0, "ratings": 0}

        def project_round() -> Load:
            before = process_cpu_seconds(stack.pid)
            load = ghz_requests(stack.grpc_address, requests, user, concurrency, seconds)
            cpu["seconds"] += process_cpu_seconds(stack.pid) - before
            cpu["ratings"] += load.requests
            return load

        # The ceiling: a bare grpc.aio server answering RateFilm with fixed bytes does no
        # work at all, yet a call through it costs about what the driver's whole loop does.
        answer = likes_pb2.RateFilmResponse().SerializeToString()
        with BareGrpc({RATE_FILM: answer}) as bare:
            pair = interleaved(
                {
                    "project": project_round,
                    "baseline": lambda: driver_loop(driver, films, seconds),
                    "grpc_floor": lambda: ghz_requests(
                        bare.address, requests, user, concurrency, seconds
                    ),
                },
                rounds=rounds,
            )
    project, baseline, floor = pair["project"], pair["baseline"], pair["grpc_floor"]
    ratio = project.rps / baseline.rps if baseline.rps else 0.0
    floor_ratio = floor.rps / baseline.rps if baseline.rps else 0.0
    # What a rating costs `cinema up` in CPU (all its threads): the rate a core could take.
    cpu_ms = 1000 * cpu["seconds"] / cpu["ratings"] if cpu["ratings"] else 0.0
    emit(
        Result(
            name="likes.rate_film",
            target=RATE_TARGET,
            met=ratio >= 0.5 and project.rps >= 1000 and project.errors == 0,
            ratio=round(ratio, 3),
            project={**project.absolutes(), "cpu_ms_per_rating": round(cpu_ms, 3)},
            baseline={
                **baseline.absolutes(),
                "grpc_floor_rps": floor.rps,
                "grpc_floor_ratio": round(floor_ratio, 3),
            },
            notes=(
                f"RateFilm via gRPC on cinema up (embedded), ghz -c{concurrency}, each call a"
                " change; baseline: sqlite3 alone, the store's read+upsert+event statements,"
                " one transaction per rating; grpc_floor: a bare grpc.aio server answering"
                " RateFilm with fixed bytes (no store, no kit), against the same baseline"
            ),
        )
    )


# -- likes.like_to_list ---------------------------------------------------------------


def fill_sqlite(path: Path, count: int, film_ids: list[str]) -> None:
    """Appends ``count`` events to the SQLite log (its AUTOINCREMENT numbers them)."""
    db = sqlite3.connect(path, isolation_level=None, timeout=30)
    rows = [_fill_row(n, film_ids) for n in range(count)]
    db.execute("BEGIN IMMEDIATE")
    db.executemany(
        "INSERT INTO events (event_id, user_id, film_id, kind, time_us) VALUES (?, ?, ?, ?, ?)",
        [(uuid.uuid4().hex, u, f, int(k), t) for u, f, k, t in rows],
    )
    db.execute("COMMIT")
    db.close()


def _fill_row(n: int, film_ids: list[str]) -> tuple[str, str, EventKind, int]:
    user = f"fill-{n % FILL_USERS}"
    film = film_ids[(n // FILL_USERS) % len(film_ids)]
    return user, film, FILL_KINDS[n % 2], time.time_ns() // 1000


async def fill_mongo(dsn: str, count: int, film_ids: list[str]) -> None:
    """Appends ``count`` events after the log's end, in the store's own bucketed layout.

    Only while no change is pending (between measurements): the relay, the log's only
    writer otherwise, then has nothing to number.
    """
    from services.likes.store_mongo import MongoLikesStore

    store = await MongoLikesStore.open(dsn, 10.0)
    try:
        first = await store.last_sequence() + 1
        docs_by_bucket: dict[int, list[dict[str, Any]]] = {}
        for offset in range(count):
            sequence = first + offset
            user, film, kind, time_us = _fill_row(offset, film_ids)
            bucket = (sequence - 1) // store._log_bucket
            docs_by_bucket.setdefault(bucket, []).append(
                {
                    "_id": sequence,
                    "event_id": uuid.uuid4().hex,
                    "user_id": user,
                    "film_id": film,
                    "kind": int(kind),
                    "time_us": time_us,
                }
            )
        for docs in docs_by_bucket.values():
            await store._open_bucket(docs[0]["_id"])
            await store._bucket(docs[0]["_id"]).insert_many(docs)
    finally:
        await store.close()


async def like_latencies(address: str, user: User, film_ids: list[str]) -> list[float]:
    """Seconds from each RateFilm's answer to the user's new list (one like at a time)."""
    async with grpc.aio.insecure_channel(address) as channel:
        rate = likes_pb2_grpc.LikesServiceStub(channel).RateFilm
        lists = recommendations_pb2_grpc.RecommendationServiceStub(channel)
        request = recommendations_pb2.GetMyRecommendationsRequest(page_size=1)
        seconds: list[float] = []
        for film_id in film_ids:
            before = await _first_list(lists, request, user)
            before_us = before.generate_time.ToMicroseconds()
            await rate(
                likes_pb2.RateFilmRequest(film_id=film_id, rating=likes_pb2.RATING_LIKE),
                metadata=user.metadata,
            )
            liked = time.perf_counter()
            give_up = GIVE_UP_SECONDS if seconds or len(film_ids) > 1 else CATCH_UP_SECONDS
            while time.perf_counter() - liked < give_up:
                answer = await lists.GetMyRecommendations(request, metadata=user.metadata)
                if answer.generate_time.ToMicroseconds() > before_us:
                    seconds.append(time.perf_counter() - liked)
                    break
                await asyncio.sleep(POLL_SECONDS)
            else:
                progress(f"no new list {give_up:.0f}s after a like")
                seconds.append(give_up)
        return seconds


async def _first_list(
    lists: recommendations_pb2_grpc.RecommendationServiceStub,
    request: recommendations_pb2.GetMyRecommendationsRequest,
    user: User,
) -> recommendations_pb2.GetMyRecommendationsResponse:
    """The user's list, once the recommender has one: while it is still folding a filled log
    it answers UNAVAILABLE ("not ready yet; try again"), as the API says, until then."""
    give_up = time.perf_counter() + CATCH_UP_SECONDS
    while True:
        try:
            answer: recommendations_pb2.GetMyRecommendationsResponse = (
                await lists.GetMyRecommendations(request, metadata=user.metadata)
            )
            return answer
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.UNAVAILABLE or time.perf_counter() > give_up:
                raise
        await asyncio.sleep(POLL_SECONDS)


def _percentiles(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    p95 = statistics.quantiles(ms, n=20, method="inclusive")[-1] if len(ms) > 1 else ms[0]
    return {"p50_ms": round(statistics.median(ms), 1), "p95_ms": round(p95, 1), "likes": len(ms)}


def like_to_list_on(
    backend: str,
    env: dict[str, str],
    fill: Callable[[int, list[str]], None],
    sizes: list[int],
    likes: int,
) -> dict[int, dict[str, float]]:
    measured: dict[int, dict[str, float]] = {}
    with CinemaUp(env) as stack:
        films = list_films(stack.grpc_address, 1000)
        filled = 0
        for size in sizes:
            began = time.perf_counter()
            fill(size - filled, films)
            filled = size
            progress(
                f"{backend}: log filled to {size} events in {time.perf_counter() - began:.1f}s"
            )
            # A fresh user per size (no earlier likes to refold), a warm-up like that
            # waits for the pipeline to fold the filled log, then the measured likes.
            user = stack.register()
            began = time.perf_counter()
            asyncio.run(like_latencies(stack.grpc_address, user, films[-1:]))
            progress(f"{backend}: pipeline caught up in {time.perf_counter() - began:.1f}s")
            seconds = asyncio.run(like_latencies(stack.grpc_address, user, films[:likes]))
            measured[size] = _percentiles(seconds)
            progress(f"{backend} at {size} events: {measured[size]}")
    return measured


def like_to_list(quick: bool) -> None:
    sizes = [100, 1_000] if quick else [1_000, 10_000, 100_000]
    likes = 6 if quick else 20
    results: dict[str, dict[int, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-likes-") as scratch:
        path = Path(scratch) / "likes.db"
        results["sqlite"] = like_to_list_on(
            "sqlite",
            {"CINEMA_LIKES_DSN": f"sqlite:///{path}"},
            lambda count, films: fill_sqlite(path, count, films),
            sizes,
            likes,
        )
    mongo_url = os.environ.get("CINEMA_TEST_MONGODB_URL") or os.environ.get(
        "CINEMA_BENCH_MONGODB_URL"
    )
    if mongo_url:
        dsn = f"{mongo_url.rstrip('/')}/bench_likes_{uuid.uuid4().hex[:8]}"
        try:
            results["ferretdb"] = like_to_list_on(
                "ferretdb",
                {"CINEMA_LIKES_DSN": dsn},
                lambda count, films: asyncio.run(fill_mongo(dsn, count, films)),
                sizes,
                likes,
            )
        finally:
            asyncio.run(_drop_database(dsn))
    else:
        progress("no FerretDB (CINEMA_TEST_MONGODB_URL): embedded SQLite only")
    p95s = [m["p95_ms"] for by_size in results.values() for m in by_size.values()]
    flat = all(
        by_size[sizes[-1]]["p95_ms"] <= 2 * max(by_size[sizes[0]]["p95_ms"], 500.0)
        for by_size in results.values()
    )
    emit(
        Result(
            name="likes.like_to_list",
            target=LIST_TARGET,
            met=bool(p95s) and max(p95s) <= 1000 and flat and "ferretdb" in results,
            project={
                backend: {str(size): m for size, m in by_size.items()}
                for backend, by_size in results.items()
            },
            series={
                "x_label": "events in the log",
                "y_label": "like -> new list, p95 ms",
                "x": sizes,
                "y": [results["sqlite"][size]["p95_ms"] for size in sizes],
                "labels": ["embedded (SQLite)"],
                "lines": {
                    label: [results[backend][size]["p95_ms"] for size in sizes]
                    for backend, label in (("ferretdb", "FerretDB"),)
                    if backend in results
                },
                "log_x": True,
            },
            notes=(
                "flat: p95 at the largest log within 2x of the smallest's (or of 500 ms);"
                " the list refresh waits the pipeline's debounce (0.3 s) by design"
            ),
        )
    )


async def _drop_database(dsn: str) -> None:
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(dsn)
    await client.drop_database(client.get_default_database().name)
    await client.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, short runs")
    parser.add_argument("--concurrency", type=int, default=32, help="RateFilm calls in flight")
    parser.add_argument("--only", choices=("rate_film", "like_to_list"), help="one row only")
    args = parser.parse_args(argv)
    if args.only in (None, "rate_film"):
        rate_film(args.quick, args.concurrency)
    if args.only in (None, "like_to_list"):
        like_to_list(args.quick)


if __name__ == "__main__":
    main()

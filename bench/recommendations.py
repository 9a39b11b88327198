"""GetMyRecommendations, warm, against a bare grpc.aio servicer returning the same message.

Starts `cinema up` (embedded, demo catalog, free loopback ports, a throwaway data dir)
in a subprocess, registers a user, rates films, waits for their list, then loads
GetMyRecommendations with N concurrent callers for T seconds. In the same run it starts a
bare grpc.aio server in another subprocess that answers with the exact bytes the project
returned, loads it the same way, and prints one JSON line with both and the ratio.

    .venv/bin/python -m bench.recommendations --concurrency 16 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc

from cinema.auth.v1 import auth_pb2, auth_pb2_grpc
from cinema.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from cinema.likes.v1 import likes_pb2, likes_pb2_grpc
from cinema.recommendations.v1 import recommendations_pb2 as pb
from cinema.recommendations.v1 import recommendations_pb2_grpc

HOST = "127.0.0.1"
METHOD = "/cinema.recommendations.v1.RecommendationService/GetMyRecommendations"
START_SECONDS = 180.0  # `cinema up` on a busy 2-core machine imports and fits for a while
RATED = 10

BARE_SERVER = """
import asyncio, sys
import grpc
from cinema.recommendations.v1 import recommendations_pb2 as pb

async def main(port: int, path: str) -> None:
    with open(path, "rb") as f:
        answer = pb.GetMyRecommendationsResponse.FromString(f.read())

    async def get(request, context):
        return answer

    handler = grpc.method_handlers_generic_handler(
        "cinema.recommendations.v1.RecommendationService",
        {"GetMyRecommendations": grpc.unary_unary_rpc_method_handler(
            get,
            request_deserializer=pb.GetMyRecommendationsRequest.FromString,
            response_serializer=pb.GetMyRecommendationsResponse.SerializeToString,
        )},
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()

asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


async def wait_until(check: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if await check():
                return
        except grpc.aio.AioRpcError:
            pass
        await asyncio.sleep(0.2)
    raise SystemExit(f"gave up waiting for {what} after {seconds:.0f}s")


async def prepare(address: str) -> tuple[tuple[tuple[str, str], ...], bytes]:
    """A user with rated films and a built list: their metadata and the list's bytes."""
    async with grpc.aio.insecure_channel(address) as channel:
        catalog = catalog_pb2_grpc.CatalogServiceStub(channel)
        request = catalog_pb2.ListFilmsRequest(page_size=RATED * 2)

        async def catalog_ready() -> bool:
            return len((await catalog.ListFilms(request)).films) >= RATED * 2

        await wait_until(catalog_ready, START_SECONDS, "cinema up")
        films = (await catalog.ListFilms(request)).films
        auth = auth_pb2_grpc.AuthServiceStub(channel)
        login, password = f"bench-{uuid.uuid4().hex[:12]}", uuid.uuid4().hex
        await auth.Register(auth_pb2.RegisterRequest(login=login, password=password))
        tokens = (await auth.Login(auth_pb2.LoginRequest(login=login, password=password))).tokens
        me = (("authorization", f"Bearer {tokens.access_token}"),)
        rate = likes_pb2_grpc.LikesServiceStub(channel).RateFilm
        for i, film in enumerate(films[:RATED]):
            rating = likes_pb2.RATING_LIKE if i % 3 else likes_pb2.RATING_DISLIKE
            await rate(likes_pb2.RateFilmRequest(film_id=film.id, rating=rating), metadata=me)
        rated_us = time.time_ns() // 1000
        rated = {film.id for film in films[:RATED]}
        get = recommendations_pb2_grpc.RecommendationServiceStub(channel).GetMyRecommendations
        empty = pb.GetMyRecommendationsRequest()

        async def list_built() -> bool:
            answer = await get(empty, metadata=me)
            return (
                answer.generate_time.ToMicroseconds() > rated_us
                and not answer.fallback
                and len(answer.items) > 0
                and not rated & {item.film.id for item in answer.items}
            )

        await wait_until(list_built, 60.0, "the list after the ratings")
        await asyncio.sleep(2.0)  # let the refresh of the last events settle
        answer = await get(empty, metadata=me)
        return me, answer.SerializeToString()


async def load(
    address: str, metadata: tuple[tuple[str, str], ...], concurrency: int, seconds: float
) -> dict[str, float]:
    """RPS and latency percentiles of ``concurrency`` callers for ``seconds``."""
    async with grpc.aio.insecure_channel(address) as channel:
        get = recommendations_pb2_grpc.RecommendationServiceStub(channel).GetMyRecommendations
        request = pb.GetMyRecommendationsRequest()
        await get(request, metadata=metadata)  # connect and warm up
        latencies: list[float] = []
        errors = 0
        stop = time.perf_counter() + seconds

        async def caller() -> None:
            nonlocal errors
            while (started := time.perf_counter()) < stop:
                try:
                    await get(request, metadata=metadata, timeout=30)
                except grpc.aio.AioRpcError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - started)

        began = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    ms = sorted(x * 1000 for x in latencies)
    cuts = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else ms * 99
    return {
        "rps": round(len(ms) / elapsed, 1),
        "p50_ms": round(statistics.median(ms), 2) if ms else 0.0,
        "p99_ms": round(cuts[98], 2) if cuts else 0.0,
        "requests": len(ms),
        "errors": errors,
    }


def start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def bench(concurrency: int, seconds: float, keep: bool) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="bench-recs-"))
    grpc_port, bare_port = free_port(), free_port()
    env = {
        **os.environ,
        "CINEMA_DATA_DIR": str(work / "data"),
        "CINEMA_GRPC_HOST": HOST,
        "CINEMA_GRPC_PORT": str(grpc_port),
        "CINEMA_HTTP_HOST": HOST,
        "CINEMA_HTTP_PORT": str(free_port()),
        "CINEMA_METRICS_PORT": "0",
        "CINEMA_DEMO_CATALOG": "true",
    }
    cinema = Path(sys.executable).with_name("cinema")
    stack = start([str(cinema), "up"], env, work / "cinema.log")
    bare: subprocess.Popen[bytes] | None = None
    try:
        address = f"{HOST}:{grpc_port}"
        metadata, answer = await prepare(address)
        message = work / "answer.bin"
        message.write_bytes(answer)
        bare = start(
            [sys.executable, "-c", BARE_SERVER, str(bare_port), str(message)],
            dict(os.environ),
            work / "bare.log",
        )
        bare_address = f"{HOST}:{bare_port}"

        async def bare_ready() -> bool:
            async with grpc.aio.insecure_channel(bare_address) as channel:
                await channel.unary_unary(METHOD)(b"", timeout=1)
                return True

        await wait_until(bare_ready, 30.0, "the bare server")
        # For a profiler: `py-spy record --pid PID` while the project side is loaded.
        print(f"loading cinema up, pid {stack.pid}", file=sys.stderr, flush=True)
        project = await load(address, metadata, concurrency, seconds)
        baseline = await load(bare_address, (), concurrency, seconds)
    finally:
        for process in (bare, stack):
            if process is not None:
                stop(process)
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    return {
        "benchmark": "GetMyRecommendations warm",
        "concurrency": concurrency,
        "seconds": seconds,
        "response_bytes": len(answer),
        "items": len(pb.GetMyRecommendationsResponse.FromString(answer).items),
        "project": project,
        "bare_grpc_aio": baseline,
        "ratio": round(project["rps"] / baseline["rps"], 3) if baseline["rps"] else 0.0,
        **({"workdir": str(work)} if keep else {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=16, help="callers at once (1-256)")
    parser.add_argument("--seconds", type=float, default=10.0, help="load per side (1-120)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs) and print it")
    args = parser.parse_args()
    concurrency = max(1, min(args.concurrency, 256))
    seconds = max(1.0, min(args.seconds, 120.0))
    print(json.dumps(asyncio.run(bench(concurrency, seconds, args.keep))))


if __name__ == "__main__":
    main()

"""Like -> new recommendation list latency, measured against a running `cinema up`.

Registers a throwaway user through AuthService, then likes films one at a time and,
after each RateFilm returns, polls GetMyRecommendations until the list's
generate_time is newer than before the like. Prints p50/p95 over the likes.

    .venv/bin/python scripts/measure_like_latency.py 127.0.0.1:50051 --likes 20
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import statistics
import time
import uuid

import grpc

from cinema.auth.v1 import auth_pb2, auth_pb2_grpc
from cinema.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from cinema.likes.v1 import likes_pb2, likes_pb2_grpc
from cinema.recommendations.v1 import recommendations_pb2, recommendations_pb2_grpc

POLL_SECONDS = 0.005
GIVE_UP_SECONDS = 10.0


def loopback(address: str) -> str:
    host = address.rsplit(":", 1)[0].strip("[]")
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"refusing to measure {address}: loopback addresses only")
    return address


async def measure(address: str, likes: int) -> list[float]:
    async with grpc.aio.insecure_channel(address) as channel:
        auth = auth_pb2_grpc.AuthServiceStub(channel)
        login = f"latency-{uuid.uuid4().hex[:12]}"
        password = uuid.uuid4().hex
        await auth.Register(auth_pb2.RegisterRequest(login=login, password=password))
        tokens = (await auth.Login(auth_pb2.LoginRequest(login=login, password=password))).tokens
        me = (("authorization", f"Bearer {tokens.access_token}"),)
        catalog = catalog_pb2_grpc.CatalogServiceStub(channel)
        films = await catalog.ListFilms(catalog_pb2.ListFilmsRequest(page_size=likes))
        rate = likes_pb2_grpc.LikesServiceStub(channel).RateFilm
        recommendations = recommendations_pb2_grpc.RecommendationServiceStub(channel)
        request = recommendations_pb2.GetMyRecommendationsRequest(page_size=1)
        seconds: list[float] = []
        for film in films.films[:likes]:
            before = (
                await recommendations.GetMyRecommendations(request, metadata=me)
            ).generate_time
            await rate(
                likes_pb2.RateFilmRequest(film_id=film.id, rating=likes_pb2.RATING_LIKE),
                metadata=me,
            )
            liked = time.perf_counter()
            while time.perf_counter() - liked < GIVE_UP_SECONDS:
                answer = await recommendations.GetMyRecommendations(request, metadata=me)
                if answer.generate_time.ToMicroseconds() > before.ToMicroseconds():
                    seconds.append(time.perf_counter() - liked)
                    break
                await asyncio.sleep(POLL_SECONDS)
            else:
                print(f"no new list within {GIVE_UP_SECONDS}s after liking {film.title}")
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("address", help="gRPC address of `cinema up`, e.g. 127.0.0.1:50051")
    parser.add_argument("--likes", type=int, default=20, help="films to like (1-100)")
    args = parser.parse_args()
    count = max(1, min(args.likes, 100))
    seconds = asyncio.run(measure(loopback(args.address), count))
    if len(seconds) < 2:
        raise SystemExit(f"too few measurements: {seconds}")
    ms = sorted(s * 1000 for s in seconds)
    p95 = statistics.quantiles(ms, n=20, method="inclusive")[-1]
    p50 = statistics.median(ms)
    print(f"like -> new list over {len(ms)} likes: p50 {p50:.0f} ms, p95 {p95:.0f} ms")


if __name__ == "__main__":
    main()

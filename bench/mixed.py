"""Mixed load: the main page's four calls at once on one `cinema up`, as issue 11 measured it.

Four ghz processes run side by side for the same seconds against one embedded stack, each
with ``--concurrency`` callers (20 in all by default): SearchFilms "matrix", GetFilm of a
demo film, RateFilm (a real change every call: likes, then dislikes, round the films) and
GetMyRecommendations of a user with a warm list. The row ``mixed`` holds the sum of their
throughputs and each call's rate and latencies. There is no bare baseline for a mix (issue
11 had none either): *before* is the figure to compare with.

    .venv/bin/python -m bench.mixed [--quick] [--concurrency 5]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bench.grpc_load import ghz_run
from bench.likes import ghz_requests, list_films, rate_requests
from bench.loads import Load
from bench.recommendations import warm_list
from bench.report import Result, emit, progress
from bench.stack import CinemaUp

SEARCH = "/cinema.catalog.v1.CatalogService/SearchFilms"
GET_FILM = "/cinema.catalog.v1.CatalogService/GetFilm"
RECOMMENDATIONS = "/cinema.recommendations.v1.RecommendationService/GetMyRecommendations"
BEFORE_TOTAL_RPS = 68.0  # issue 11: 68 req/s in all at 20 clients, RateFilm p50 785 ms
BEFORE_RATE_P50_MS = 785.0


def mixed(quick: bool, concurrency: int) -> None:
    seconds = 4.0 if quick else 10.0
    with CinemaUp() as stack:
        user = stack.register()
        warm_list(stack, user)
        films = list_films(stack.grpc_address, 1000)
        rater = stack.register()
        address = stack.grpc_address

        calls: dict[str, Callable[[float], Load]] = {
            "search": lambda s: ghz_run(
                address, SEARCH, data={"query": "matrix"}, concurrency=concurrency, seconds=s
            ),
            "get_film": lambda s: ghz_run(
                address, GET_FILM, data={"film_id": films[0]}, concurrency=concurrency, seconds=s
            ),
            "rate_film": lambda s: ghz_requests(
                address, rate_requests(films), rater, concurrency, s
            ),
            "recommendations": lambda s: ghz_run(
                address, RECOMMENDATIONS, metadata=user.headers, concurrency=concurrency, seconds=s
            ),
        }

        def together(s: float) -> dict[str, Load]:
            with ThreadPoolExecutor(len(calls)) as pool:
                running = {name: pool.submit(call, s) for name, call in calls.items()}
                return {name: future.result() for name, future in running.items()}

        together(1.0)  # warm-up: caches, connections, code paths
        progress(f"mixed: 4 x ghz -c{concurrency} for {seconds:.0f} s")
        loads = together(seconds)
    total = sum(load.rps for load in loads.values())
    errors = sum(load.errors for load in loads.values())
    rate_p50 = loads["rate_film"].p50_ms
    project: dict[str, object] = {"total_rps": round(total, 1), "clients": concurrency * 4}
    for name, load in loads.items():
        project |= {f"{name} rps": load.rps, f"{name} p50 ms": load.p50_ms}
        project[f"{name} p99 ms"] = load.p99_ms
    project["errors"] = errors
    emit(
        Result(
            name="mixed",
            target="no target of its own; before: 68 req/s in all, RateFilm p50 785 ms",
            met=total > BEFORE_TOTAL_RPS and rate_p50 < BEFORE_RATE_P50_MS and errors == 0,
            ratio=round(total / BEFORE_TOTAL_RPS, 2),
            project=project,
            notes=(
                f"4 ghz side by side, -c{concurrency} each, {seconds:.0f} s: SearchFilms"
                ' "matrix", GetFilm, RateFilm (each call a change), warm GetMyRecommendations;'
                " ratio = total rps / the 68 req/s measured before"
            ),
        )
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 s instead of 10 s")
    parser.add_argument("--concurrency", type=int, default=5, help="callers per call (5)")
    args = parser.parse_args(argv)
    mixed(args.quick, args.concurrency)


if __name__ == "__main__":
    main()

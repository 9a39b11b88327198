"""GetMyRecommendations, warm, against a bare grpc.aio servicer returning the same message.

Starts `cinema up` (embedded, demo catalog; bench.stack.CinemaUp), registers a user,
rates films and waits for their list. A bare grpc.aio server in another subprocess then
answers with the exact bytes the project returned, and ghz loads both, interleaved
(project, bare, project, bare ...), with the same concurrency and duration:

- the row ``recommendations``: throughput ratio at ``--concurrency`` callers, and the
  project's p99 at half its own maximum rate (ghz ``--rps``);
- its ``series``: throughput of both against the number of callers (``--series``).

    .venv/bin/python -m bench.recommendations [--quick] [--concurrency 16] [--seconds 5]
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import grpc

from bench.grpc_load import BareGrpc, ghz_run
from bench.loads import Load, interleaved
from bench.report import Result, emit, progress
from bench.stack import CinemaUp, User, wait_until
from cinema.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from cinema.likes.v1 import likes_pb2, likes_pb2_grpc
from cinema.recommendations.v1 import recommendations_pb2 as pb
from cinema.recommendations.v1 import recommendations_pb2_grpc

METHOD = "/cinema.recommendations.v1.RecommendationService/GetMyRecommendations"
NAME = "recommendations"
TARGET = "ratio >= 0.5 and p99 <= 20 ms at half the max rate"
MIN_RATIO = 0.5
MAX_P99_MS = 20.0
RATED = 10


def warm_list(stack: CinemaUp, user: User) -> bytes:
    """Rates films as ``user``, waits for the list built from them; its serialised bytes."""
    with grpc.insecure_channel(stack.grpc_address) as channel:
        catalog = catalog_pb2_grpc.CatalogServiceStub(channel)
        films = catalog.ListFilms(catalog_pb2.ListFilmsRequest(page_size=RATED), timeout=30).films
        rate = likes_pb2_grpc.LikesServiceStub(channel).RateFilm
        for i, film in enumerate(films):
            rating = likes_pb2.RATING_LIKE if i % 3 else likes_pb2.RATING_DISLIKE
            request = likes_pb2.RateFilmRequest(film_id=film.id, rating=rating)
            rate(request, metadata=user.metadata, timeout=30)
        rated_us = time.time_ns() // 1000
        rated = {film.id for film in films}
        get = recommendations_pb2_grpc.RecommendationServiceStub(channel).GetMyRecommendations
        empty = pb.GetMyRecommendationsRequest()

        def list_built() -> bool:
            answer = get(empty, metadata=user.metadata, timeout=30)
            return (
                answer.generate_time.ToMicroseconds() > rated_us
                and not answer.fallback
                and len(answer.items) > 0
                and not rated & {item.film.id for item in answer.items}
            )

        wait_until(list_built, 120.0, "the list after the ratings")
        time.sleep(2.0)  # let the refresh of the last events settle
        answer = get(empty, metadata=user.metadata, timeout=30)
    return bytes(answer.SerializeToString())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short rounds (under a minute)")
    parser.add_argument("--concurrency", type=int, default=16, help="callers at once (1-256)")
    parser.add_argument("--seconds", type=float, default=None, help="per round and side")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds per side")
    parser.add_argument("--series", default=None, help="callers for the chart, e.g. 1,4,16,32")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs)")
    args = parser.parse_args(argv)
    concurrency = max(1, min(args.concurrency, 256))
    seconds = max(1.0, min(args.seconds or (2.0 if args.quick else 5.0), 120.0))
    rounds = max(1, args.rounds or (2 if args.quick else 3))
    series = [
        max(1, min(int(c), 256))
        for c in (args.series or ("1,4,16" if args.quick else "1,4,16,32")).split(",")
    ]

    with CinemaUp(keep=args.keep) as stack:
        user = stack.register()
        answer = warm_list(stack, user)
        items = len(pb.GetMyRecommendationsResponse.FromString(answer).items)
        progress(f"warm list: {items} items, {len(answer)} bytes")
        with BareGrpc({METHOD: answer}) as bare:

            def project(callers: int, span: float, rate: int | None = None) -> Load:
                return ghz_run(
                    stack.grpc_address,
                    METHOD,
                    metadata=user.headers,
                    concurrency=callers,
                    seconds=span,
                    rate=rate,
                )

            def baseline(callers: int, span: float, rate: int | None = None) -> Load:
                return ghz_run(bare.address, METHOD, concurrency=callers, seconds=span, rate=rate)

            # Warm both (connections, caches, the JIT of nothing) before anything counts.
            project(concurrency, 1.0)
            baseline(concurrency, 1.0)
            progress(f"-c{concurrency}, {rounds} rounds of {seconds:g}s per side, interleaved")
            pair = interleaved(
                {
                    "project": lambda: project(concurrency, seconds),
                    "baseline": lambda: baseline(concurrency, seconds),
                },
                rounds,
            )
            half = max(1, int(pair["project"].rps / 2))
            progress(f"project at half its max rate: {half} rps")
            at_half = project(concurrency, seconds * rounds / 2, rate=half)
            progress(f"at {half} rps: p50 {at_half.p50_ms} ms, p99 {at_half.p99_ms} ms")
            # The bare server at the same rate: how much of that p99 is the machine's noise.
            bare_half = baseline(concurrency, seconds * rounds / 2, rate=half)
            progress(f"bare at {half} rps: p50 {bare_half.p50_ms} ms, p99 {bare_half.p99_ms} ms")

            span = max(1.0, seconds / 2)
            points: dict[int, dict[str, Load]] = {}
            for callers in series:
                progress(f"series: -c{callers}, {span:g}s per side")
                points[callers] = interleaved(
                    {
                        "project": partial(project, callers, span),
                        "baseline": partial(baseline, callers, span),
                    },
                    1,
                )

    ours, bare_load = pair["project"], pair["baseline"]
    ratio = round(ours.rps / bare_load.rps, 3) if bare_load.rps else 0.0
    met = ratio >= MIN_RATIO and at_half.p99_ms <= MAX_P99_MS and ours.errors == 0
    emit(
        Result(
            name=NAME,
            target=TARGET,
            met=met,
            ratio=ratio,
            project={
                **ours.absolutes(),
                "half_rate_rps": half,
                "half_rate_p50_ms": at_half.p50_ms,
                "half_rate_p99_ms": at_half.p99_ms,
                "items": items,
                "response_bytes": len(answer),
            },
            baseline={
                **bare_load.absolutes(),
                "half_rate_rps": half,
                "half_rate_p50_ms": bare_half.p50_ms,
                "half_rate_p99_ms": bare_half.p99_ms,
            },
            series={
                "title": "GetMyRecommendations (warm): throughput vs callers",
                "x_label": "concurrent callers (ghz -c)",
                "x": series,
                "y_label": "requests/s",
                "y": [points[c]["project"].rps for c in series],
                "y_baseline": [points[c]["baseline"].rps for c in series],
                "labels": ["cinema up", "bare grpc.aio"],
                "log_x": 2,
            },
            notes=(
                f"ghz, {rounds} interleaved rounds of {seconds:g}s per side at -c{concurrency};"
                f" a warm list of {items} films ({len(answer)} bytes); bare = grpc.aio"
                " servicer answering the same bytes"
            ),
        )
    )


if __name__ == "__main__":
    main()

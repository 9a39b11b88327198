"""Model refit (EASE + item-kNN + popularity) against the size of the catalog and of the likes.

Synthetic catalog and likes, the same for a given size and seed: film popularity is
Zipf-like, users' activity long-tailed (2 to 400 verdicts), one verdict in eleven a
dislike. Each size runs in a fresh subprocess (``ru_maxrss`` is the peak of that process
alone). The project side builds the engines the way the service does
(``Recommender.fit`` on the catalog first, untimed here: content features), then times
``Recommender.refit`` over the store's ``Interaction`` rows in a worker thread, the way
``EngineState`` runs it (a refitted model alive meanwhile, as in the service), while the
asyncio loop of the same process ticks every 5 ms: the tick delays (p99, max) say whether
serving would be blocked. On shared cores the max includes the OS scheduling the loop
late while BLAS uses every core, not only the GIL.

The baseline is a floor, not a competitor: the same likes, already as numpy arrays,
turned into one scipy CSR matrix plus one sparse product XᵀX (the co-like counts every
item-item model starts from), in its own fresh subprocess.

Rows: ``refit`` (cost against the number of films, ~10 likes per film; its target is
100k films / 1M likes in <= 60 s and <= 2 GB peak RSS) and ``refit.likes`` (cost against
the number of likes at a fixed catalog).

    .venv/bin/python -m bench.refit [--quick] [--films 10000,25000,50000,100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.report import Result, emit, progress

NAME = "refit"
TARGET = "100k films / 1M likes <= 60 s and <= 2 GB"
LIKES_TARGET = "every point of the likes sweep <= 60 s and <= 2 GB"
TARGET_FILMS = 100_000
TARGET_LIKES = 1_000_000
MAX_SECONDS = 60.0
MAX_RSS_MB = 2048.0
LIKES_PER_FILM = 10
DISLIKE_SHARE = 1 / 11  # of all verdicts
FULL_FILMS = (10_000, 25_000, 50_000, 100_000)
FULL_SWEEP = (250_000, 500_000, 1_000_000, 2_000_000)  # likes at SWEEP_FILMS
FULL_SWEEP_FILMS = 25_000
QUICK_FILMS = (1_000, 2_000, 4_000, 8_000)
QUICK_SWEEP = (10_000, 20_000, 40_000, 80_000)
QUICK_SWEEP_FILMS = 4_000
TICK_SECONDS = 0.005


@dataclass(frozen=True)
class Likes:
    users: npt.NDArray[np.int64]
    films: npt.NDArray[np.int64]
    values: npt.NDArray[np.int64]
    n_users: int


def synthetic_likes(n_films: int, n_likes: int, seed: int = 11) -> Likes:
    """``n_likes`` likes plus dislikes (one verdict in eleven), one per (user, film) pair."""
    rng = np.random.default_rng(seed)
    n_verdicts = round(n_likes / (1 - DISLIKE_SHARE))
    activity = np.clip(rng.lognormal(2.5, 1.0, size=n_verdicts // 5 + 1), 2, 400).astype(np.int64)
    activity = activity[np.cumsum(activity) <= n_verdicts * 1.5]
    popularity = 1.0 / (np.arange(n_films, dtype=np.float64) + 10.0) ** 0.9
    popularity = rng.permutation(popularity / popularity.sum())
    users = np.repeat(np.arange(len(activity), dtype=np.int64), activity)
    films = rng.choice(n_films, size=len(users), p=popularity).astype(np.int64)
    pairs = np.unique(users * n_films + films)  # one verdict per pair
    pairs = rng.permutation(pairs)[:n_verdicts]
    users, films = pairs // n_films, pairs % n_films
    values = np.where(rng.random(len(pairs)) < DISLIKE_SHARE, -1, 1).astype(np.int64)
    likes = np.flatnonzero(values > 0)
    if len(likes) > n_likes:  # exactly n_likes likes
        values[likes[n_likes:]] = -1
    return Likes(users, films, values, int(users.max()) + 1 if len(users) else 0)


def film_id(column: int) -> str:
    return f"{column:08x}-0000-4000-8000-{column:012x}"


GENRES = ("drama", "comedy", "thriller", "sci-fi", "romance", "horror", "animation", "crime")


def synthetic_films(n_films: int, seed: int = 7) -> list[Any]:
    from services.recommendations.engines import FilmInfo

    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(5_000)]
    films = []
    for i in range(n_films):
        picks = rng.integers(0, len(words), size=12)
        films.append(
            FilmInfo(
                id=film_id(i),
                title=f"Film {i}",
                year=1950 + i % 75,
                genres=(GENRES[i % 8], GENRES[(i * 7 + 3) % 8]),
                directors=(f"director {i % 3_000}",),
                actors=tuple(f"actor {(i * k) % 20_000}" for k in (1, 3, 7, 11)),
                description=" ".join(words[p] for p in picks),
                rating=float(1 + (i * 37) % 90 / 10),
            )
        )
    return films


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


async def _refit_off_loop(refit: Any) -> tuple[Any, float, list[float]]:
    """Runs ``refit()`` in a worker thread; (its result, seconds, the loop's tick delays)."""
    loop = asyncio.get_running_loop()
    delays: list[float] = []
    done = False

    async def tick() -> None:
        while not done:
            expected = loop.time() + TICK_SECONDS
            await asyncio.sleep(TICK_SECONDS)
            delays.append(loop.time() - expected)

    ticker = asyncio.create_task(tick())
    started = time.perf_counter()
    result = await asyncio.to_thread(refit)
    seconds = time.perf_counter() - started
    done = True
    await ticker
    return result, seconds, delays or [0.0]


def child_project(n_films: int, n_likes: int) -> dict[str, Any]:
    from services.recommendations.engines import Interaction, Recommender

    films = synthetic_films(n_films)
    started = time.perf_counter()
    recommender = Recommender.fit(films, [])
    catalog_fit = time.perf_counter() - started
    likes = synthetic_likes(n_films, n_likes)
    ids = [film_id(i) for i in range(n_films)]
    interactions = [
        Interaction(f"user-{u}", ids[f], v)
        for u, f, v in zip(
            likes.users.tolist(), likes.films.tolist(), likes.values.tolist(), strict=True
        )
    ]
    del likes
    rss_before = peak_rss_mb()
    # As in the service: the model from the last refit stays alive while the next is built.
    recommender = recommender.refit(interactions)
    fitted, seconds, delays = asyncio.run(_refit_off_loop(lambda: recommender.refit(interactions)))
    liked = sum(1 for i in interactions if i.value > 0)
    profile_user = interactions[0].user_id
    from services.recommendations.engines import Profile

    taste = Profile(liked=tuple(i.film_id for i in interactions[:50] if i.user_id == profile_user))
    started = time.perf_counter()
    fitted.recommend(taste)
    recommend_ms = (time.perf_counter() - started) * 1000
    return {
        "films": n_films,
        "likes": liked,
        "verdicts": len(interactions),
        "refit_s": round(seconds, 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_before_refit_mb": round(rss_before, 1),
        "catalog_fit_s": round(catalog_fit, 3),
        "ease_films": len(fitted.ease.columns),
        "knn_nnz": int(fitted.knn.similarity.nnz),
        "loop_delay_p99_ms": round(float(np.percentile(delays, 99)) * 1000, 1),
        "loop_delay_max_ms": round(max(delays) * 1000, 1),
        "one_recommend_ms": round(recommend_ms, 1),
    }


def child_floor(n_films: int, n_likes: int) -> dict[str, Any]:
    import scipy.sparse as sp

    likes = synthetic_likes(n_films, n_likes)
    liked = likes.values > 0
    started = time.perf_counter()
    x = sp.csr_matrix(
        (np.ones(int(liked.sum())), (likes.users[liked], likes.films[liked])),
        shape=(likes.n_users, n_films),
    )
    gram = x.T @ x
    seconds = time.perf_counter() - started
    return {
        "films": n_films,
        "likes": int(liked.sum()),
        "floor_s": round(seconds, 3),
        "gram_nnz": int(gram.nnz),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def run_child(kind: str, n_films: int, n_likes: int, timeout: float) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.refit", "--child", kind, str(n_films), str(n_likes)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return {"films": n_films, "likes": n_likes, "error": f"timeout after {timeout:.0f} s"}
    except subprocess.CalledProcessError as failed:
        tail = (failed.stderr or "").strip().splitlines()[-1:] or ["?"]
        return {"films": n_films, "likes": n_likes, "error": tail[0]}
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def measure(sizes: Sequence[tuple[int, int]], timeout: float) -> list[dict[str, Any]]:
    points = []
    for n_films, n_likes in sizes:
        project = run_child("project", n_films, n_likes, timeout)
        floor = run_child("floor", n_films, n_likes, timeout)
        progress(f"refit {n_films} films / {n_likes} likes: {project} | floor {floor}")
        points.append({"project": project, "floor": floor})
    return points


def _within(project: dict[str, Any]) -> bool:
    seconds = project.get("refit_s", float("inf"))
    return bool(seconds <= MAX_SECONDS and project.get("peak_rss_mb", float("inf")) <= MAX_RSS_MB)


def _row(
    name: str, target: str, points: list[dict[str, Any]], x_key: str, x_label: str, full: bool
) -> Result:
    ok = [p for p in points if "error" not in p["project"] and "error" not in p["floor"]]
    largest = points[-1]["project"]
    seconds = largest.get("refit_s", float("inf"))
    if name == NAME:  # the catalog sweep: its largest point is the target's size
        reached = (
            largest.get("films", 0) >= TARGET_FILMS and largest.get("likes", 0) >= TARGET_LIKES
        )
        met = full and reached and _within(largest)
    else:  # the likes sweep: every point within the same bounds
        met = full and len(ok) == len(points) and all(_within(p["project"]) for p in points)
    floor = points[-1]["floor"].get("floor_s")
    ratio = round(floor / seconds, 4) if floor and "error" not in largest else None
    series = {
        "x_label": x_label,
        "x": [p["project"][x_key] for p in ok],
        "y_label": "seconds",
        "y": [p["project"]["refit_s"] for p in ok],
        "y_baseline": [p["floor"]["floor_s"] for p in ok],
        "labels": ["refit (EASE + kNN + popularity)", "floor: CSR + XᵀX"],
        "lines": {"peak RSS, GB": [round(p["project"]["peak_rss_mb"] / 1024, 3) for p in ok]},
    }
    sizes = [(p["project"].get("films"), p["project"].get("likes")) for p in points]
    notes = (
        f"ratio = floor seconds / refit seconds at the largest size; sizes (films, likes): {sizes}"
    )
    if not full:
        notes += "; quick run: small sizes, the target is not assessed"
    return Result(
        name=name,
        target=target,
        met=met,
        ratio=ratio,
        project={"points": [p["project"] for p in points]},
        baseline={"points": [p["floor"] for p in points]},
        series=series,
        notes=notes,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (under a minute)")
    parser.add_argument("--films", default=None, help="catalog sizes, e.g. 10000,25000")
    parser.add_argument("--likes", default=None, help="likes for the sweep, e.g. 250000,500000")
    parser.add_argument("--sweep-films", type=int, default=None, help="catalog of the sweep")
    parser.add_argument("--timeout", type=float, default=600.0, help="per subprocess, seconds")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "FILMS", "LIKES"), help="internal")
    args = parser.parse_args(argv)
    if args.child:
        kind, n_films, n_likes = args.child[0], int(args.child[1]), int(args.child[2])
        measured = (child_project if kind == "project" else child_floor)(n_films, n_likes)
        print(json.dumps(measured), flush=True)
        return
    films = [int(v) for v in args.films.split(",")] if args.films else None
    films = films or list(QUICK_FILMS if args.quick else FULL_FILMS)
    sweep = [int(v) for v in args.likes.split(",")] if args.likes else None
    sweep = sweep or list(QUICK_SWEEP if args.quick else FULL_SWEEP)
    sweep_films = args.sweep_films or (QUICK_SWEEP_FILMS if args.quick else FULL_SWEEP_FILMS)
    full = not args.quick
    by_films = measure([(n, n * LIKES_PER_FILM) for n in films], args.timeout)
    label = f"films (~{LIKES_PER_FILM} likes each)"
    emit(_row(NAME, TARGET, by_films, "films", label, full))
    by_likes = measure([(sweep_films, n) for n in sweep], args.timeout)
    label = f"likes ({sweep_films:,} films)"
    emit(_row(f"{NAME}.likes", LIKES_TARGET, by_likes, "likes", label, full))


if __name__ == "__main__":
    main()

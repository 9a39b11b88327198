"""Where `cinema up`'s time goes under a benchmark's load: py-spy samples, summed by part.

For each load named (the rows whose targets are not met), `cinema up` (embedded, demo
catalog) takes the same load as its benchmark while ``py-spy record`` samples it (every
thread, native frames off, 250 Hz, not pausing the process). The samples are summed by
the part of the system a sample's innermost frame belongs to (gRPC's Cython core, the
kit's interceptors, logging, Prometheus, protobuf, asyncio, the service's own code ...)
and, inclusive, by our own functions. ``docs/profiles.md`` gets a table of each.

    .venv/bin/python -m bench.profile [--seconds 10] [--only get_film gateway.film ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from bench.gateway import first_film, wrk_run
from bench.grpc_load import ghz_run
from bench.likes import ghz_requests, list_films, rate_requests
from bench.recommendations import warm_list
from bench.report import progress
from bench.stack import CinemaUp

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "profiles.md"
RATE_HZ = 250
TOP = 15

#: (part, a path fragment of the innermost frame's file), first match wins.
PARTS: tuple[tuple[str, str], ...] = (
    ("gRPC core (grpc._cython)", "grpc/_cython"),
    ("gRPC Python (grpc.aio)", "grpc/"),
    ("kit interceptors", "services/kit/interceptors"),
    ("logging (structlog, kit.logs)", "structlog"),
    ("logging (structlog, kit.logs)", "services/kit/logs"),
    ("logging (stdlib)", "logging/__init__"),
    ("Prometheus client", "prometheus_client"),
    ("protobuf", "google/protobuf"),
    ("waiting in epoll (idle)", "selectors.py"),
    ("asyncio event loop", "asyncio/"),
    ("HTTP server (uvicorn, h11, starlette)", "uvicorn"),
    ("HTTP server (uvicorn, h11, starlette)", "h11/"),
    ("HTTP server (uvicorn, h11, starlette)", "fastapi"),
    ("HTTP server (uvicorn, h11, starlette)", "starlette"),
    ("gateway", "gateway/"),
    ("SQLite (aiosqlite, sqlite3)", "aiosqlite"),
    ("SQLite (aiosqlite, sqlite3)", "sqlite3"),
    ("SQLAlchemy", "sqlalchemy"),
    ("JWT (pyjwt, cryptography)", "jwt/"),
    ("JWT (pyjwt, cryptography)", "cryptography"),
    ("recommendations service", "services/recommendations"),
    ("catalog service", "services/catalog"),
    ("likes service", "services/likes"),
    ("auth service", "services/auth"),
    ("kit (other)", "services/kit"),
    ("threading, queues", "threading"),
    ("threading, queues", "concurrent/futures"),
)


def part_of(frame: str) -> str:
    for part, fragment in PARTS:
        if fragment in frame:
            return part
    return "other"


def summarise(raw: str) -> tuple[Counter[str], Counter[str], int]:
    """py-spy ``--format raw`` (``frame;frame;... count``, outermost first) -> samples by part
    (innermost frame), samples inside each of our functions (inclusive), and the total."""
    parts: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        parts[part_of(frames[-1])] += count
        for frame in {f for f in frames if "services/" in f or "gateway/" in f}:
            if "services/cli.py" not in frame:  # the entry point holds every sample
                ours[_function(frame)] += count
    return parts, ours, total


def _function(frame: str) -> str:
    """``handle (services/kit/interceptors.py:120)`` -> ``kit/interceptors.py: handle``."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for root in ("services/", "gateway/"):
        if root in path:
            path = path[path.index(root) :].removeprefix("services/")
            break
    return f"{path}: {name}"


Load = Callable[[CinemaUp, float], object]


def _get_film(stack: CinemaUp, seconds: float) -> object:
    film = list_films(stack.grpc_address, 1)[0]
    method = "/cinema.catalog.v1.CatalogService/GetFilm"
    return ghz_run(stack.grpc_address, method, data={"film_id": film}, seconds=seconds)


def _recommendations(stack: CinemaUp, seconds: float) -> object:
    user = stack.register()
    warm_list(stack, user)
    method = "/cinema.recommendations.v1.RecommendationService/GetMyRecommendations"
    return ghz_run(stack.grpc_address, method, metadata=user.headers, seconds=seconds)


def _rate_film(stack: CinemaUp, seconds: float) -> object:
    requests = rate_requests(list_films(stack.grpc_address, 1000))
    return ghz_requests(stack.grpc_address, requests, stack.register(), 32, seconds)


def _gateway_film(stack: CinemaUp, seconds: float) -> object:
    return wrk_run(f"{stack.http_url}/v1/films/{first_film(stack)}", seconds=seconds)


def _gateway_recommendations(stack: CinemaUp, seconds: float) -> object:
    user = stack.register()
    warm_list(stack, user)
    url = f"{stack.http_url}/v1/me/recommendations"
    return wrk_run(url, headers=user.headers, seconds=seconds)


LOADS: dict[str, tuple[str, Load]] = {
    "catalog.get_film": ("GetFilm, ghz -c16", _get_film),
    "recommendations": ("GetMyRecommendations (warm), ghz -c16", _recommendations),
    "likes.rate_film": ("RateFilm, ghz -c32, every call a change", _rate_film),
    "gateway.film": ("GET /v1/films/{id}, wrk -c32", _gateway_film),
    "gateway.recommendations": ("GET /v1/me/recommendations, wrk -c32", _gateway_recommendations),
}


def py_spy() -> str:
    return str(Path(sys.executable).with_name("py-spy"))


def profile(name: str, seconds: float, out: Path) -> tuple[Counter[str], Counter[str], int]:
    what, load = LOADS[name]
    with CinemaUp() as stack:
        load(stack, 1.0)  # warm-up; the user and list made for it are made again below
        raw = out / f"{name}.raw"
        progress(f"{name}: {what}, py-spy at {RATE_HZ} Hz for {seconds:g} s")
        # The load's set-up (a user, a warm list) comes first; py-spy starts with the load.
        command = [
            py_spy(), "record", "--pid", str(stack.pid), "--rate", str(RATE_HZ),
            "--duration", f"{seconds:g}", "--format", "raw", "--nonblocking",
            "--output", str(raw),
        ]  # fmt: skip
        recorder = threading.Timer(
            0.5, lambda: subprocess.run(command, check=True, capture_output=True)
        )
        recorder.start()
        load(stack, seconds + 1.0)
        recorder.join()
        deadline = time.monotonic() + 10
        while not raw.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        return summarise(raw.read_text())


def render(found: dict[str, tuple[Counter[str], Counter[str], int]], seconds: float) -> str:
    lines = [
        "# Profiles",
        "",
        "Generated by `.venv/bin/python -m bench.profile`; do not edit by hand. py-spy samples",
        f"`cinema up` (embedded, demo catalog) at {RATE_HZ} Hz, every thread, for {seconds:g} s",
        "of each benchmark's load. *Parts*: where the innermost frame of a sample was;",
        "*ours*: samples inside each of our functions (inclusive: callees count too).",
        "Idle threads are not sampled, so shares are of the time Python was running.",
        "",
    ]
    for name, (parts, ours, total) in found.items():
        lines += [f"## `{name}`: {LOADS[name][0]}", "", f"{total:,} samples.", ""]
        lines += ["| part (innermost frame) | share |", "|---|---|"]
        lines += [f"| {part} | {count / total:.1%} |" for part, count in parts.most_common()]
        lines += ["", "| our function (inclusive) | share |", "|---|---|"]
        lines += [f"| `{fn}` | {count / total:.1%} |" for fn, count in ours.most_common(TOP)]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="sampled seconds per load")
    parser.add_argument("--only", nargs="+", choices=list(LOADS), metavar="NAME")
    args = parser.parse_args(argv)
    out = ROOT / ".bench" / "profiles"
    out.mkdir(parents=True, exist_ok=True)
    found = {name: profile(name, args.seconds, out) for name in args.only or LOADS}
    if not args.only:
        DOC.write_text(render(found, args.seconds), encoding="utf-8")
        progress(f"wrote {DOC.relative_to(ROOT)}")
    else:
        print(render(found, args.seconds))


if __name__ == "__main__":
    main()

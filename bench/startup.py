"""Start-up: ``cinema --help``, ``cinema up`` time-to-ready, and its memory.

* ``startup.help``: wall time of ``cinema --help`` (median of 5) against a bare
  ``python -c pass`` in the same venv, interleaved.
* ``startup.up``: ``cinema up`` (embedded, demo catalog) from the spawn until gRPC and
  HTTP are announced and ``ListFilms`` answers (``bench.stack.CinemaUp``). The first start
  in a throwaway data dir also loads the demo catalog. Measured twice: ``cold`` with the
  environment as it is (with ``PYTHONDONTWRITEBYTECODE`` set, every start compiles every
  module from source) and ``warm`` with a bytecode cache of its own
  (``PYTHONPYCACHEPREFIX``, primed by one start), which is what a venv that has run once
  gives; the target is judged on ``warm``.
* ``startup.memory``: RSS of the ``cinema up`` process tree after ready and after a few
  requests, with the demo catalog and with a synthetic catalog of ``--films`` films
  (imported first with ``cinema etl import-sqlite``, not timed).

    .venv/bin/python -m bench.startup            # 100k films for the memory row
    .venv/bin/python -m bench.startup --quick    # 5k films
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import Result, emit, progress
from bench.stack import CinemaUp

HELP_TARGET_S = 1.0
UP_TARGET_S = 5.0
DEMO_TARGET_MB = 400.0
LARGE_TARGET_MB = 1536.0


def _cinema() -> str:
    return str(Path(sys.executable).with_name("cinema"))


def _timed(command: list[str]) -> float:
    began = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


def _tree_rss_bytes(pid: int) -> int:
    """RSS of ``pid`` and every descendant (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def _some_requests(stack: CinemaUp) -> None:
    """A user, a few pages of the catalog, a search: what a first visitor does."""
    import grpc

    from cinema.catalog.v1 import catalog_pb2, catalog_pb2_grpc

    stack.register()
    with grpc.insecure_channel(stack.grpc_address) as channel:
        catalog = catalog_pb2_grpc.CatalogServiceStub(channel)
        for _ in range(5):
            catalog.ListFilms(catalog_pb2.ListFilmsRequest(page_size=50), timeout=30)
        for query in ("star", "night river", "matrix"):
            catalog.SearchFilms(catalog_pb2.SearchFilmsRequest(query=query), timeout=30)


def _help_row() -> None:
    cinema, bare = [_cinema(), "--help"], [sys.executable, "-c", "pass"]
    project, baseline = [], []
    for _ in range(5):
        project.append(_timed(cinema))
        baseline.append(_timed(bare))
    p, b = statistics.median(project), statistics.median(baseline)
    progress(f"cinema --help {p:.3f}s, python -c pass {b:.3f}s")
    emit(
        Result(
            name="startup.help",
            target=f"<= {HELP_TARGET_S:g} s",
            met=p <= HELP_TARGET_S,
            ratio=round(b / p, 3),
            project={"seconds": round(p, 3)},
            baseline={"seconds": round(b, 3), "what": "python -c pass"},
        )
    )


def _up(env: dict[str, str], data_dir: Path | None = None, min_films: int = 20) -> CinemaUp:
    extra = dict(env)
    if data_dir is not None:
        extra["CINEMA_DATA_DIR"] = str(data_dir)
        extra["CINEMA_DEMO_CATALOG"] = "false"
    return CinemaUp(extra, demo_catalog=data_dir is None, min_films=min_films)


def _memory(stack: CinemaUp) -> dict[str, float]:
    ready = _tree_rss_bytes(stack.pid)
    _some_requests(stack)
    time.sleep(2.0)
    after = _tree_rss_bytes(stack.pid)
    return {"ready_mb": round(ready / 2**20, 1), "after_requests_mb": round(after / 2**20, 1)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.startup", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5k films for the memory row")
    parser.add_argument("--films", type=int, default=None, help="films of the large catalog")
    args = parser.parse_args(argv)
    films = args.films or (5_000 if args.quick else 100_000)
    _help_row()

    with tempfile.TemporaryDirectory(prefix="bench-startup-") as scratch:
        work = Path(scratch)
        cold_env: dict[str, str] = {}
        warm_env = {"PYTHONPYCACHEPREFIX": str(work / "pycache"), "PYTHONDONTWRITEBYTECODE": ""}
        timings: dict[str, float] = {}
        memory: dict[str, dict[str, float]] = {}
        with _up(cold_env) as stack:
            timings["cold"] = stack.ready_seconds
        with _up(warm_env):  # primes the bytecode cache
            pass
        with _up(warm_env) as stack:
            timings["warm"] = stack.ready_seconds
            memory["demo"] = _memory(stack)
        progress(f"cinema up ready: cold {timings['cold']:.1f}s, warm {timings['warm']:.1f}s")
        emit(
            Result(
                name="startup.up",
                target=f"ready <= {UP_TARGET_S:g} s",
                met=timings["warm"] <= UP_TARGET_S,
                project={k: round(v, 2) for k, v in timings.items()},
                notes="cold: no bytecode cache (PYTHONDONTWRITEBYTECODE as in the environment);"
                " warm: a primed PYTHONPYCACHEPREFIX; the target is judged on warm",
            )
        )

        legacy, data = work / "legacy.db", work / "large"
        progress(f"a catalog of {films} films for the memory row (import not timed)")
        subprocess.run(
            [_cinema(), "etl", "synthetic", str(legacy), "--films", str(films)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        subprocess.run(
            [_cinema(), "etl", "import-sqlite", str(legacy)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "CINEMA_DATA_DIR": str(data), "CINEMA_DEMO_CATALOG": "false"},
        )
        with _up(warm_env, data_dir=data) as stack:
            timings[f"{films}_films"] = stack.ready_seconds
            memory[f"{films}_films"] = _memory(stack)
    demo_mb = max(memory["demo"].values())
    large_mb = max(memory[f"{films}_films"].values())
    progress(f"RSS demo {demo_mb:.0f} MB, {films} films {large_mb:.0f} MB")
    emit(
        Result(
            name="startup.memory",
            target=f"<= {DEMO_TARGET_MB:g} MB demo, <= {LARGE_TARGET_MB / 1024:g} GB at 100k films",
            met=demo_mb <= DEMO_TARGET_MB and large_mb <= LARGE_TARGET_MB,
            project={
                **memory,
                f"ready_seconds_{films}_films": round(timings[f"{films}_films"], 2),
            },
            notes="RSS of the cinema up process tree (MB) after ready and after a user,"
            " five ListFilms pages and three searches",
        )
    )


if __name__ == "__main__":
    main()

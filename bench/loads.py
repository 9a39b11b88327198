"""What one load run measured (ghz or wrk), and sides run in turn so noise hits both alike.

pair = interleaved({"project": run_project, "baseline": run_bare}, rounds=3)
pair["project"].rps / pair["baseline"].rps
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from bench.report import progress


@dataclass(frozen=True)
class Load:
    """One run: throughput, latency percentiles (ms), failures; ``concurrency`` is ghz's
    ``-c`` or wrk's connections."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    concurrency: int
    seconds: float

    def absolutes(self) -> dict[str, Any]:
        """The row's ``project`` / ``baseline`` dict."""
        return asdict(self)


def interleaved(runs: Mapping[str, Callable[[], Load]], rounds: int = 3) -> dict[str, Load]:
    """Runs each side in turn, ``rounds`` times (A B A B ...), so noise hits both alike.

    Per side: the mean throughput of its rounds, the median of their percentiles.
    """
    measured: dict[str, list[Load]] = {name: [] for name in runs}
    for round_ in range(rounds):
        for name, run in runs.items():
            load = run()
            progress(
                f"round {round_ + 1}/{rounds} {name}: {load.rps} rps,"
                f" p50 {load.p50_ms} ms, p99 {load.p99_ms} ms"
                + (f", {load.errors} errors" if load.errors else "")
            )
            measured[name].append(load)
    return {name: combine(loads) for name, loads in measured.items()}


def combine(loads: list[Load]) -> Load:
    """Several runs of one side as one: mean throughput, median percentiles, summed counts."""
    return Load(
        rps=round(statistics.fmean(load.rps for load in loads), 1),
        p50_ms=round(statistics.median(load.p50_ms for load in loads), 2),
        p99_ms=round(statistics.median(load.p99_ms for load in loads), 2),
        requests=sum(load.requests for load in loads),
        errors=sum(load.errors for load in loads),
        concurrency=loads[0].concurrency,
        seconds=sum(load.seconds for load in loads),
    )

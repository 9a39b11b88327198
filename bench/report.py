"""One JSON line per benchmark row, on stdout and appended to the run's results file.

``make bench`` collects the lines of every benchmark from ``$CINEMA_BENCH_RESULTS``
(default ``.bench/results.jsonl``) and writes ``docs/benchmarks.md`` from them.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS = Path(os.environ.get("CINEMA_BENCH_RESULTS", ".bench/results.jsonl"))


@dataclass(frozen=True)
class Result:
    """One row: ``ratio`` is project/baseline (higher is better) when there is a baseline.

    ``target`` says what the row must reach, in words ("ratio >= 0.5", "p95 <= 1 s");
    ``met`` says whether it did. ``project`` and ``baseline`` hold the absolutes
    (e.g. ``{"rps": 812.0, "p50_ms": 9.1, "p99_ms": 14.2}``); ``series`` holds points for a
    chart (e.g. ``{"x_label": "events in the log", "x": [...], "y_label": "p95 ms", "y": [...]}``).
    """

    name: str
    target: str
    met: bool
    ratio: float | None = None
    project: dict[str, Any] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)
    series: dict[str, Any] = field(default_factory=dict)
    notes: str = ""


def emit(result: Result) -> None:
    line = json.dumps({"benchmark": result.name, **asdict(result)}, sort_keys=False)
    print(line, flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write(line + "\n")


def progress(message: str) -> None:
    """Progress goes to stderr, so stdout stays one JSON line per row."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)

"""``python -m bench [--quick] [--only NAME ...]``: every benchmark, then docs/benchmarks.md.

Each module of :data:`MODULES` that exists runs in its own subprocess
(``python -m bench.<name> [--quick]``); their JSON lines go to stdout and to a results file
that is fresh for each run (:data:`bench.report.RESULTS`). A module that does not exist is
skipped with a message; one that fails (non-zero exit, a timeout, no rows) is reported, the
others still run, and the run exits 1 at the end. Targets not met are results, not failures.

From the rows it writes ``docs/benchmarks.md``: one table row per result, next to what was
measured before the performance work (:data:`BEFORE`, issue 11's first table), and a chart
(``docs/benchmarks/<row>.png``) for every row that carries a ``series``.

    .venv/bin/python -m bench --quick --only recommendations
    .venv/bin/python -m bench --report-only      # the document again, from the last results
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import charts
from bench.report import RESULTS

#: Every benchmark module, in the order they run (cheap and self-contained first).
MODULES = ("recommendations", "catalog", "gateway", "mixed", "likes", "refit", "etl", "startup")

#: What was measured before this work (issue 11, first table; ghz/wrk against `cinema up`,
#: each with a bare baseline in the same run, on 2 shared cores). Keyed by row name: a row
#: named ``likes.like_to_list.ferretdb`` takes the entry ``likes.like_to_list``.
BEFORE: dict[str, str] = {
    "recommendations": "62 rps, p50 221 ms, p99 670 ms; bare grpc.aio 1,175 rps, p50 11 ms"
    " (ghz -c16); ratio 0.05",
    "catalog.get_film": "909 rps, p50 15 ms; bare 1,557 rps; ratio 0.60",
    "catalog.search": 'SearchFilms "matrix" 259 rps, p50 51 ms; bare 1,560 rps; ratio 0.16',
    "gateway.film": "GET /v1/films/{id} 272 rps, p50 108 ms; bare FastAPI/uvicorn 1,470 rps"
    " (wrk -c32); ratio 0.19",
    "gateway.recommendations": "GET /v1/me/recommendations 45 rps, p50 650 ms; bare 1,600 rps;"
    " ratio 0.03",
    "likes.rate_film": "~67 ratings/s through gRPC, 32 in flight, 60k real ratings;"
    " RateFilm p50 785 ms in the mixed load",
    "likes.like_to_list": "FerretDB: p50 515 ms at 40 events in the log, 1,458 ms at 2,800"
    " (2.6 s per log query at 16k events)",
    "refit": "EASE + kNN: 2k films 1.3 s / 0.3 GB; 5k 9 s / 1 GB; 10k 52 s / 3.3 GB (EASE 47 s);"
    " 20k ~35 min (EASE dense, 3.2 GB a matrix); kNN pruning 134 s at 50k films;"
    " films past ~10,100 never seen (ListFilms offset cap)",
    "etl.import": "not measured",
    "startup.help": "`cinema --help` 15 s (66 s under load); bare python ~0.05 s",
    "startup.up": "not measured",
    "startup.memory": "not measured",
    "mixed": "mixed load, 20 clients (search, GetFilm, RateFilm, recommendations):"
    " 68 req/s in all, one core saturated; RateFilm p50 785 ms",
}

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
CHARTS = DOC.parent / "benchmarks"


@dataclass
class Run:
    module: str
    status: str  # "ok", "skipped: ...", "failed: ..."
    seconds: float = 0.0
    rows: int = 0

    @property
    def failed(self) -> bool:
        return self.status.startswith("failed")


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def read_rows(results: Path) -> list[dict[str, Any]]:
    if not results.exists():
        return []
    rows = []
    for line in results.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                say(f"ignoring a line of {results} that is not JSON: {line[:80]!r}")
    return rows


def run_module(name: str, quick: bool, results: Path, timeout: float) -> Run:
    if importlib.util.find_spec(f"bench.{name}") is None:
        say(f"skipping {name}: bench/{name}.py does not exist")
        return Run(name, f"skipped: bench/{name}.py does not exist")
    before = len(read_rows(results))
    command = [sys.executable, "-m", f"bench.{name}", *(["--quick"] if quick else [])]
    say(f"running {' '.join(command[1:])}")
    env = {**os.environ, "CINEMA_BENCH_RESULTS": str(results)}
    began = time.monotonic()
    # Its own process group, so a timeout also stops the servers it started.
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    try:
        code = process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        code = None
    seconds = round(time.monotonic() - began, 1)
    rows = len(read_rows(results)) - before
    if code is None:
        status = f"failed: timed out after {timeout:.0f}s"
    elif code != 0:
        status = f"failed: exit code {code}"
    elif rows == 0:
        status = "failed: reported no rows"
    else:
        status = "ok"
    say(f"{name}: {status} ({rows} rows, {seconds}s)")
    return Run(name, status, seconds, rows)


# --- the document ---------------------------------------------------------------------


def before_for(name: str) -> str:
    """The BEFORE entry of ``name`` or of its longest prefix (``a.b`` for ``a.b.c``)."""
    best = ""
    for key in BEFORE:
        prefix = name == key or (name.startswith(key) and not name[len(key)].isalnum())
        if prefix and len(key) > len(best):
            best = key
    return BEFORE.get(best, "—")


def number(value: float) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int) or (float(value).is_integer() and abs(value) >= 1000):
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


_UNITS = (("_ms", "ms"), ("_seconds", "s"), ("_s", "s"), ("_mb", "MB"), ("_gb", "GB"))


def absolutes(values: Mapping[str, Any]) -> str:
    """``{"rps": 812.0, "p50_ms": 9.1}`` -> ``rps 812; p50 9.1 ms``."""
    parts = []
    for key, value in values.items():
        if isinstance(value, int | float):
            label, unit = key, ""
            for suffix, name in _UNITS:
                if key.endswith(suffix):
                    label, unit = key[: -len(suffix)], f" {name}"
                    break
            if key.endswith("_bytes") and not isinstance(value, bool):
                label = key[: -len("_bytes")]
                unit, value = _size(value)
            parts.append(f"{label.replace('_', ' ')} {number(value)}{unit}")
        else:
            parts.append(f"{key.replace('_', ' ')} {json.dumps(value, ensure_ascii=False)}")
    return "; ".join(parts) or "—"


def _size(value: float) -> tuple[str, float]:
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if abs(value) >= 10 * scale:
            return f" {unit}", value / scale
    return " B", value


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def write_doc(
    rows: Sequence[Mapping[str, Any]],
    runs: Sequence[Run],
    quick: bool,
    doc: Path = DOC,
    prune: bool = False,
) -> Path:
    folder = doc.parent / "benchmarks"
    drawn: dict[str, Path] = {}
    for row in rows:
        name = str(row.get("name") or row.get("benchmark"))
        path = charts.draw(name, row.get("series") or {}, folder)
        if path is not None:
            drawn[name] = path
    if prune:
        # A whole run: charts of rows that no longer exist go.
        for stale in folder.glob("*.png") if folder.exists() else ():
            if stale not in drawn.values():
                stale.unlink()

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    modules = [run.module for run in runs if run.rows] or list(
        dict.fromkeys(str(row.get("name") or row.get("benchmark")).split(".")[0] for row in rows)
    )
    ran = ", ".join(modules) or "none"
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`.venv/bin/python -m bench`); do not edit by hand."
        " Benchmarks are not tests: `make test` never runs them.",
        "",
        f"Run: {when}, commit `{commit or '?'}`, {os.cpu_count()} cores"
        f" (load average {os.getloadavg()[0]:.1f} at the end), Python"
        f" {platform.python_version()}; {'quick (`--quick`)' if quick else 'full'} run;"
        f" modules with results: {ran}.",
        "",
        "Each benchmark loads the project (`cinema up`, or the part named) and a bare"
        " baseline doing the same job from memory, in the same run and interleaved, with"
        " ghz (gRPC) or wrk (HTTP). The machines are shared and noisy: the **ratio**"
        " (project / baseline, higher is better) is the figure, absolutes are for the record."
        " *Before* is what was measured before the performance work (issue 11).",
        "",
        "## Results",
        "",
        "| benchmark | target | met | ratio | project | baseline | before |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        name = str(row.get("name") or row.get("benchmark"))
        ratio = row.get("ratio")
        lines.append(
            "| "
            + " | ".join(
                cell(text)
                for text in (
                    f"`{name}`",
                    str(row.get("target", "")),
                    "✓" if row.get("met") else "✗",
                    "—" if ratio is None else f"**{number(float(ratio))}**",
                    absolutes(row.get("project") or {}),
                    absolutes(row.get("baseline") or {}),
                    before_for(name),
                )
            )
            + " |"
        )
    if not rows:
        lines.append("| (no results) | | | | | | |")

    names = [str(row.get("name") or row.get("benchmark")) for row in rows]
    missing = [key for key in BEFORE if not any(before_for(name) == BEFORE[key] for name in names)]
    if missing:
        lines += [
            "",
            "## Measured before, not (yet) measured here",
            "",
            "| what | before |",
            "|---|---|",
            *(f"| `{key}` | {cell(BEFORE[key])} |" for key in missing),
        ]

    if drawn:
        lines += ["", "## Charts", ""]
        for name, path in drawn.items():
            lines += [f"### `{name}`", "", f"![{name}]({path.relative_to(doc.parent)})", ""]

    noted = [row for row in rows if row.get("notes")]
    if noted:
        lines += ["", "## Notes", ""]
        for row in noted:
            noted_name = row.get("name") or row.get("benchmark")
            lines.append(f"- `{noted_name}`: {str(row['notes']).strip()}")

    if runs:
        lines += ["", "## Modules", "", "| module | status | rows | seconds |", "|---|---|---|---|"]
        for run in runs:
            lines.append(f"| `{run.module}` | {cell(run.status)} | {run.rows} | {run.seconds} |")
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    return doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__.split("\n\n")[0].strip("`")
    )
    parser.add_argument("--quick", action="store_true", help="each module's short variant")
    parser.add_argument(
        "--only", nargs="+", choices=MODULES, metavar="NAME", help=f"some of: {', '.join(MODULES)}"
    )
    parser.add_argument(
        "--timeout", type=float, default=None, help="per module, seconds (quick 600, full 5400)"
    )
    parser.add_argument(
        "--report-only", action="store_true", help="only write the document from the last results"
    )
    parser.add_argument("--doc", type=Path, default=DOC, help=f"default {DOC.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    results = RESULTS if RESULTS.is_absolute() else ROOT / RESULTS

    record = results.with_name(results.stem + ".run.json")  # how the rows were made
    runs: list[Run] = []
    quick = args.quick
    if args.report_only:
        if record.exists():
            made = json.loads(record.read_text(encoding="utf-8"))
            quick = bool(made.get("quick"))
            runs = [Run(**run) for run in made.get("runs", ())]
    else:
        results.parent.mkdir(parents=True, exist_ok=True)
        results.unlink(missing_ok=True)  # fresh for every run
        record.unlink(missing_ok=True)
        timeout = args.timeout or (600.0 if args.quick else 5400.0)
        for name in args.only or MODULES:
            runs.append(run_module(name, args.quick, results, timeout))
        record.write_text(
            json.dumps({"quick": quick, "runs": [asdict(run) for run in runs]}), encoding="utf-8"
        )
    rows = read_rows(results)
    whole = bool(runs) and not args.only and not any(run.failed for run in runs)
    doc = write_doc(rows, runs, quick, args.doc, prune=whole and not args.report_only)
    say(f"{len(rows)} rows -> {doc.relative_to(ROOT) if doc.is_relative_to(ROOT) else doc}")
    for run in runs:
        if run.status != "ok":
            say(f"{run.module}: {run.status}")
    failed = [run.module for run in runs if run.failed]
    if failed:
        say(f"failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Charts for ``docs/benchmarks.md``: one PNG per result row that carries a ``series``.

A series is ``{"x": [...], "y": [...], "x_label": ..., "y_label": ...}`` and optionally
``"title"``, ``"y_baseline"`` (the baseline's points, drawn dashed), ``"labels"``
(``[project, baseline]`` legend names), ``"lines"`` (more lines: ``{label: [y, ...]}``,
each as long as ``x``), ``"log_x"`` / ``"log_y"`` (true, or a base such as 2; default:
log when the values span more than 100x, as sizes 1k/10k/100k do).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def _numbers(values: Any) -> list[float] | None:
    if not isinstance(values, Sequence) or isinstance(values, str):
        return None
    try:
        return [float(value) for value in values]
    except (TypeError, ValueError):
        return None


def _wide(values: Sequence[float]) -> bool:
    positive = [value for value in values if value > 0]
    return len(positive) == len(values) and max(positive) / min(positive) > 100


def file_name(benchmark: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", benchmark).strip("-") + ".png"


def chartable(series: Mapping[str, Any]) -> bool:
    x, y = _numbers(series.get("x")), _numbers(series.get("y"))
    return bool(x) and y is not None and len(x or ()) == len(y)


def draw(benchmark: str, series: Mapping[str, Any], folder: Path) -> Path | None:
    """Writes ``folder/<benchmark>.png``; ``None`` if ``series`` has nothing to draw."""
    if not chartable(series):
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = _numbers(series["x"]) or []
    labels = list(series.get("labels") or ["project", "baseline"])
    lines: list[tuple[str, list[float], str]] = [(str(labels[0]), _numbers(series["y"]) or [], "-")]
    baseline = _numbers(series.get("y_baseline"))
    if baseline and len(baseline) == len(x):
        lines.append((str(labels[1]) if len(labels) > 1 else "baseline", baseline, "--"))
    for label, values in (series.get("lines") or {}).items():
        numbers = _numbers(values)
        if numbers and len(numbers) == len(x):
            lines.append((str(label), numbers, "-"))

    figure, axes = plt.subplots(figsize=(6.4, 3.8), dpi=100)
    for label, values, style in lines:
        axes.plot(x, values, style, marker="o", label=label)
    axes.set_xlabel(str(series.get("x_label", "")))
    axes.set_ylabel(str(series.get("y_label", "")))
    axes.set_title(str(series.get("title", benchmark)), fontsize=10)
    log_x = series.get("log_x", _wide(x))
    if log_x:
        # A number is the base (2 for callers 1, 4, 16, 32); ticks at the measured points.
        base = log_x if isinstance(log_x, int | float) and log_x is not True and log_x > 1 else 10
        axes.set_xscale("log", base=base)
        axes.set_xticks(x, [f"{value:g}" for value in x])
    every_y = [value for _, values, _ in lines for value in values]
    if series.get("log_y", _wide(every_y)):
        axes.set_yscale("log")
    else:
        axes.set_ylim(bottom=0)
    axes.grid(True, alpha=0.3)
    if len(lines) > 1:
        axes.legend(fontsize=8)
    figure.tight_layout()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name(benchmark)
    figure.savefig(path)
    plt.close(figure)
    return path

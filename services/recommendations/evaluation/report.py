"""The evaluation's outputs: a text table, one JSON line, a bar chart."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from services.recommendations.evaluation.protocol import CUTOFF, Metrics


def table(results: Mapping[str, Metrics]) -> str:
    header = (
        f"{'method':<12} {'HR@' + str(CUTOFF):>8} {'NDCG@' + str(CUTOFF):>8} "
        f"{'coverage':>9} {'novelty':>8}"
    )
    lines = [header, "-" * len(header)]
    for name, m in results.items():
        lines.append(
            f"{name:<12} {m.hit_rate:>8.4f} {m.ndcg:>8.4f} {m.coverage:>9.4f} {m.novelty:>8.2f}"
        )
    return "\n".join(lines)


def json_line(dataset: str, users: int, items: int, results: Mapping[str, Metrics]) -> str:
    document: dict[str, Any] = {
        "dataset": dataset,
        "users": users,
        "items": items,
        "results": {name: m.as_json() for name, m in results.items()},
    }
    return json.dumps(document, ensure_ascii=False)


def chart(path: Path, dataset: str, results: Mapping[str, Metrics]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    measures = (
        (f"HR@{CUTOFF}", [results[n].hit_rate for n in names]),
        (f"NDCG@{CUTOFF}", [results[n].ndcg for n in names]),
        ("coverage", [results[n].coverage for n in names]),
    )
    figure, axes = plt.subplots(1, 3, figsize=(12, 4))
    for axis, (title, values) in zip(axes, measures, strict=True):
        bars = axis.bar(
            names, values, color=["#999999", "#6a9fd8", "#3b6fb6", "#7bbf6a", "#d9822b"]
        )
        axis.bar_label(bars, fmt="%.3f", fontsize=8)
        axis.set_title(title)
        axis.tick_params(axis="x", labelrotation=30)
    figure.suptitle(f"cinema eval: {dataset}")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)

"""The evaluation's outputs: a text table, one JSON line, a bar chart."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from services.recommendations.evaluation.protocol import CUTOFF, Metrics


def table(results: Mapping[str, Metrics]) -> str:
    header = (
        f"{'method':<18} {'HR@' + str(CUTOFF):>8} {'NDCG@' + str(CUTOFF):>8} "
        f"{'coverage':>9} {'novelty':>8}"
    )
    lines = [header, "-" * len(header)]
    for name, m in results.items():
        lines.append(
            f"{name:<18} {m.hit_rate:>8.4f} {m.ndcg:>8.4f} {m.coverage:>9.4f} {m.novelty:>8.2f}"
        )
    return "\n".join(lines)


def json_line(
    dataset: str,
    users: int,
    items: int,
    results: Mapping[str, Metrics],
    temporal: tuple[int, Mapping[str, Metrics]] | None = None,
) -> str:
    """``results`` (leave the last positive out) at the top level, as before the temporal
    protocol existed; ``temporal`` beside them, with its own user count."""
    document: dict[str, Any] = {
        "dataset": dataset,
        "users": users,
        "items": items,
        "results": {name: m.as_json() for name, m in results.items()},
    }
    if temporal is not None:
        document["temporal"] = {
            "users": temporal[0],
            "results": {name: m.as_json() for name, m in temporal[1].items()},
        }
    return json.dumps(document, ensure_ascii=False)


COLOURS = ("#999999", "#a9c6ea", "#6a9fd8", "#8fb3dd", "#3b6fb6", "#7bbf6a", "#d9822b")


def chart(path: Path, dataset: str, protocols: Mapping[str, Mapping[str, Metrics]]) -> None:
    """One row of bars per protocol: HR, NDCG, coverage and novelty of each method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, grid = plt.subplots(len(protocols), 4, figsize=(17, 4.2 * len(protocols)))
    for row, (protocol, results) in zip(np.atleast_2d(grid), protocols.items(), strict=True):
        names = list(results)
        measures = (
            (f"HR@{CUTOFF}", [results[n].hit_rate for n in names], "%.3f"),
            (f"NDCG@{CUTOFF}", [results[n].ndcg for n in names], "%.3f"),
            ("coverage", [results[n].coverage for n in names], "%.2f"),
            ("novelty, bits", [results[n].novelty for n in names], "%.1f"),
        )
        for axis, (title, values, label) in zip(row, measures, strict=True):
            bars = axis.bar(names, values, color=COLOURS[: len(names)])
            axis.bar_label(bars, fmt=label, fontsize=7)
            axis.set_title(f"{title} ({protocol})", fontsize=9)
            axis.tick_params(axis="x", labelrotation=40, labelsize=7)
    figure.suptitle(f"cinema eval: {dataset}")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)

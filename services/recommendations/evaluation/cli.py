"""``cinema eval``: the offline evaluation of the engines.

Other tools read its last stdout line (JSON); keep that line last and its shape stable.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from services.recommendations.engines.recommender import EngineConfig
from services.recommendations.evaluation.methods import METHODS, Fitted, method_tops
from services.recommendations.evaluation.movielens import MovieLens, read_movielens, write_movielens
from services.recommendations.evaluation.protocol import (
    TEMPORAL_SHARE,
    Metrics,
    Split,
    leave_last_positive_out,
    measure,
    temporal_split,
)
from services.recommendations.evaluation.report import chart, json_line, table
from services.recommendations.evaluation.synthetic import generate


def evaluate(data: MovieLens, config: EngineConfig) -> tuple[int, int, dict[str, Metrics]]:
    """(evaluated users, films, metrics per method) leaving each user's last positive out."""
    return _measured(leave_last_positive_out(data), config)


def evaluate_temporal(data: MovieLens, config: EngineConfig) -> tuple[int, int, dict[str, Metrics]]:
    """The same, trained on the past before one cut-off time and tested on what follows."""
    return _measured(temporal_split(data), config)


def _measured(split: Split, config: EngineConfig) -> tuple[int, int, dict[str, Metrics]]:
    tops = method_tops(Fitted.fit(split, config))
    likers, users = split.likers, split.train.likes.shape[0]
    results = {name: measure(tops[name], split.test, likers, users) for name in METHODS}
    return len(split.eval_rows), split.n_items, results


def _config(args: argparse.Namespace) -> EngineConfig:
    config = EngineConfig()
    if args.ease_l2 is not None:
        config = replace(config, ease=replace(config.ease, l2=args.ease_l2))
    if args.neighbours is not None:
        config = replace(config, knn=replace(config.knn, neighbours=args.neighbours))
    if args.recency is not None:
        recency = args.recency
        config = replace(
            config,
            ease=replace(config.ease, recency=recency),
            knn=replace(config.knn, recency=recency),
            content=replace(config.content, recency=recency),
        )
    return config


def _load(args: argparse.Namespace) -> MovieLens:
    if args.movielens is not None:
        return read_movielens(args.movielens)
    data = generate(args.users, args.items, args.seed)
    if args.out is not None:
        write_movielens(args.out, data)
        return read_movielens(args.out)
    # Through the files, so the synthetic run exercises the same reader as MovieLens.
    with tempfile.TemporaryDirectory(prefix="cinema-eval-") as directory:
        write_movielens(Path(directory), data)
        return replace(read_movielens(Path(directory)), name=data.name)


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    try:
        data = _load(args)
    except (OSError, KeyError, ValueError) as error:
        print(f"cinema eval: cannot read the dataset: {error}", file=sys.stderr)
        return 2
    config = _config(args)
    users, items, results = evaluate(data, config)
    temporal_users, _, temporal = evaluate_temporal(data, config)
    chart(args.chart, data.name, {"last positive left out": results, "temporal": temporal})
    print(f"dataset {data.name}: {items} films, {len(data.ratings)} ratings")
    print(f"\nleave the last positive out: {users} users evaluated")
    print(table(results))
    print(f"\ntemporal (first {TEMPORAL_SHARE:.0%} of ratings by time train): ", end="")
    print(f"{temporal_users} users evaluated")
    print(table(temporal))
    print(f"chart: {args.chart}  ({time.monotonic() - started:.1f} s)")
    line = json_line(data.name, users, items, results, temporal=(temporal_users, temporal))
    print(line, flush=True)
    return 0

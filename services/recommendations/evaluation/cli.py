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
from services.recommendations.evaluation.protocol import Metrics, leave_last_positive_out, measure
from services.recommendations.evaluation.report import chart, json_line, table
from services.recommendations.evaluation.synthetic import generate


def evaluate(data: MovieLens, config: EngineConfig) -> tuple[int, int, dict[str, Metrics]]:
    """(evaluated users, films, metrics per method) under the protocol."""
    split = leave_last_positive_out(data)
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
    users, items, results = evaluate(data, _config(args))
    chart(args.chart, data.name, results)
    print(
        f"dataset {data.name}: {users} users evaluated, {items} films, {len(data.ratings)} ratings"
    )
    print(table(results))
    print(f"chart: {args.chart}  ({time.monotonic() - started:.1f} s)")
    print(json_line(data.name, users, items, results), flush=True)
    return 0

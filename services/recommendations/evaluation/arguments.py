"""The ``cinema eval`` command line, apart from the engines so that building it is instant."""

from __future__ import annotations

import argparse
from pathlib import Path


def _decay(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], not {text}")
    return value


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    evaluate = commands.add_parser(
        "eval", help="offline evaluation of the engines (HR@10, NDCG@10, coverage, novelty)"
    )
    data = evaluate.add_mutually_exclusive_group(required=True)
    data.add_argument("--movielens", type=Path, metavar="DIR", help="a MovieLens-format directory")
    data.add_argument(
        "--synthetic", action="store_true", help="generate a dataset with hidden taste structure"
    )
    evaluate.add_argument("--users", type=int, default=2000, help="synthetic users")
    evaluate.add_argument("--items", type=int, default=1000, help="synthetic films")
    evaluate.add_argument("--seed", type=int, default=42, help="synthetic seed")
    evaluate.add_argument("--out", type=Path, metavar="DIR", help="keep the synthetic dataset here")
    evaluate.add_argument("--chart", type=Path, default=Path("eval.png"), help="bar chart PNG")
    evaluate.add_argument("--ease-l2", type=float, help="EASE lambda (default from the config)")
    evaluate.add_argument("--neighbours", type=int, help="item-kNN k (default from the config)")
    evaluate.add_argument(
        "--recency",
        type=_decay,
        help="weight per step back in a user's history, 1 = order ignored (default 0.8)",
    )

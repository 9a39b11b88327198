import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from services.recommendations.evaluation.methods import METHODS

CINEMA = Path(sys.executable).parent / "cinema"


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    chart = tmp_path_factory.mktemp("eval") / "x.png"
    command = [str(CINEMA), "eval", "--synthetic", "--users", "300", "--items", "200"]
    done = subprocess.run(
        [*command, "--chart", str(chart)], capture_output=True, text=True, timeout=110, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1]), chart


def test_cinema_eval_synthetic_ends_with_a_json_line_of_all_methods_and_draws_a_chart(
    synthetic_run: tuple[dict[str, Any], Path],
) -> None:
    report, chart = synthetic_run
    assert report["users"] > 250 and report["items"] == 200
    methods = set(METHODS)  # plain and +recency collaborative engines among them
    temporal = report["temporal"]
    assert set(report["results"]) == set(temporal["results"]) == methods
    assert 0 < temporal["users"] <= report["users"]
    for metrics in [*report["results"].values(), *temporal["results"].values()]:
        assert set(metrics) == {"hr@10", "ndcg@10", "coverage", "novelty"}
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_blend_beats_popularity_and_item_knn_on_ndcg(
    synthetic_run: tuple[dict[str, Any], Path],
) -> None:
    ndcg = {name: m["ndcg@10"] for name, m in synthetic_run[0]["results"].items()}
    assert ndcg["blend"] > ndcg["popularity"]
    assert ndcg["blend"] > ndcg["item-knn"]


def test_synthetic_data_has_taste_to_learn(synthetic_run: tuple[dict[str, Any], Path]) -> None:
    ndcg = {name: m["ndcg@10"] for name, m in synthetic_run[0]["results"].items()}
    assert ndcg["ease"] > 2 * ndcg["popularity"]


def test_taste_drifts_so_order_aware_blend_beats_plain_ease_under_both_protocols(
    synthetic_run: tuple[dict[str, Any], Path],
) -> None:
    report = synthetic_run[0]
    for results in (report["results"], report["temporal"]["results"]):
        ndcg = {name: m["ndcg@10"] for name, m in results.items()}
        assert ndcg["blend"] > ndcg["ease"]  # EASE with the history as a set
        assert ndcg["ease+recency"] > ndcg["ease"]
        assert ndcg["item-knn+recency"] > ndcg["item-knn"]

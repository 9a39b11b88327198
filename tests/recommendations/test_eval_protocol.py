import math
from pathlib import Path

import numpy as np
import pytest

from services.recommendations.engines import EngineConfig
from services.recommendations.evaluation.cli import evaluate
from services.recommendations.evaluation.methods import METHODS
from services.recommendations.evaluation.movielens import parse_title, read_movielens
from services.recommendations.evaluation.protocol import (
    leave_last_positive_out,
    measure,
    temporal_split,
)

# Like counts in training: m1 3 (u1, u2, u5), m2 2 (u1, u4), m12 1 (u3); the rest 0.
# Popularity ranks m1, m2, m12, then m3..m11 (ties go to the earlier film).
RATINGS = """userId,movieId,rating,timestamp
1,1,5,1
1,2,4,2
1,3,5,3
2,1,4,1
2,4,3,2
2,5,4,3
2,2,1,4
3,12,5,1
3,1,2,2
4,2,4,1
4,11,4,2
5,1,4,1
"""


@pytest.fixture
def movielens(tmp_path: Path) -> Path:
    titles = "\n".join(f'{n},"Film {n} ({1990 + n})",Drama|Comedy' for n in range(1, 13))
    (tmp_path / "movies.csv").write_text(f"movieId,title,genres\n{titles}\n")
    (tmp_path / "ratings.csv").write_text(RATINGS)
    return tmp_path


def test_temporal_split_trains_on_the_past_and_tests_each_users_next_like(
    movielens: Path,
) -> None:
    # Times 1..4; the first 80% of ratings by time end at 2.8: times 1-2 train.
    split = temporal_split(read_movielens(movielens))
    ids = split.index.ids
    evaluated = {str(r + 1): ids[t] for r, t in zip(split.eval_rows, split.test, strict=True)}
    assert evaluated == {"1": "3", "2": "5"}  # user 3 liked nothing later, 4 and 5 neither
    user1, user2 = (int(r) for r in split.eval_rows)
    assert sorted(ids[c] for c in split.train.likes[user1].indices) == ["1", "2"]
    assert split.train.dislikes[user2].nnz == 0  # the dislike at time 4 is the future
    assert split.train.likes[3].nnz == 2  # user 4's likes before the cut train everyone
    assert split.profiles[0].liked == ("2", "1")  # newest first
    assert split.profiles[1].excluded == frozenset({"1", "4"})  # seen, the 3 too


def test_last_positive_is_the_test_film_and_everything_before_it_trains(movielens: Path) -> None:
    split = leave_last_positive_out(read_movielens(movielens))
    ids = split.index.ids
    # Rows follow the sorted user ids: row 0 is user "1".
    evaluated = {str(r + 1): ids[t] for r, t in zip(split.eval_rows, split.test, strict=True)}
    assert evaluated == {"1": "3", "2": "5", "4": "11"}  # users 3 and 5 have one positive
    user2 = int(split.eval_rows[1])
    assert [ids[c] for c in split.train.likes[user2].indices] == ["1"]
    assert split.train.dislikes[user2].nnz == 0  # the dislike came after the test film
    assert sorted(ids[c] for c in split.seen[user2].indices) == ["1", "4"]  # the 3 is seen
    assert [ids[c] for c in split.train.dislikes[2].indices] == ["1"]  # left-out users still train


def test_popularity_metrics_match_the_hand_computation(movielens: Path) -> None:
    # user 1 (seen m1, m2): m12, m3 -> hit at rank 2; user 2 (seen m1, m4): m2, m12, m3, m5 ->
    # rank 4; user 4 (seen m2): m1, m12, m3..m10 -> m11 is 11th, a miss.
    users, items, results = evaluate(read_movielens(movielens), EngineConfig())
    assert (users, items) == (3, 12)
    popularity = results["popularity"]
    assert popularity.hit_rate == pytest.approx(2 / 3)
    assert popularity.ndcg == pytest.approx((1 / math.log2(3) + 1 / math.log2(5)) / 3)
    assert popularity.coverage == pytest.approx(1.0)
    assert set(results) == set(METHODS)


def test_metrics_of_hits_at_known_ranks() -> None:
    top = np.array([[5, 1, 2], [3, 4, 6], [7, 8, 9]])
    likers = np.zeros(20)
    likers[[5, 1, 2]] = 7  # liked by everyone: no information
    metrics = measure(top, np.array([5, 6, 0]), likers, users=7)
    assert metrics.hit_rate == pytest.approx(2 / 3)
    assert metrics.ndcg == pytest.approx((1.0 + 1 / math.log2(4)) / 3)
    assert metrics.coverage == pytest.approx(9 / 20)
    assert metrics.novelty == pytest.approx(6 * 3 / 9)  # the other six: -log2(1/8) = 3 bits


def test_movielens_titles_carry_the_year() -> None:
    assert parse_title("Toy Story (1995)") == ("Toy Story", 1995)
    assert parse_title("City of God (Cidade de Deus) (2002)") == (
        "City of God (Cidade de Deus)",
        2002,
    )
    assert parse_title("Babylon 5") == ("Babylon 5", None)

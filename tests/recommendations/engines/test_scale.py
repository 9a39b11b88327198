"""The collaborative models at catalog scale: blockwise kNN, EASE within its budget,
interactions straight into arrays. Behaviour only; speed lives in bench/refit.py."""

import numpy as np
import scipy.sparse as sp

from services.recommendations.engines import ItemIndex, Profile
from services.recommendations.engines.collaborative import (
    EaseConfig,
    EaseModel,
    KnnConfig,
    KnnModel,
    keep_top_per_row,
)
from services.recommendations.engines.types import (
    CHUNK,
    Feedback,
    FloatArray,
    Interaction,
    l2_normalize,
)


def _random_likes(n_users: int, n_films: int, seed: int = 3) -> list[Interaction]:
    rng = np.random.default_rng(seed)
    pairs = {
        (int(u), int(f))
        for u, f in zip(
            rng.integers(0, n_users, n_users * 8),
            np.minimum(rng.zipf(1.5, n_users * 8) - 1, n_films - 1),
            strict=True,
        )
    }
    return [Interaction(f"u{u}", f"f{f}", 1) for u, f in sorted(pairs)]


def _reference_top_k(feedback: Feedback, k: int) -> FloatArray:
    """The old way: the whole films x films product, dense, top k per row."""
    items = l2_normalize(sp.csc_matrix(feedback.likes, dtype=np.float64), axis=0)
    dense = (items.T @ items).toarray()
    np.fill_diagonal(dense, 0.0)
    result = np.zeros_like(dense)
    for row in range(len(dense)):
        order = [c for c in np.argsort(-dense[row], kind="stable") if dense[row, c] > 0][:k]
        result[row, order] = dense[row, order]
    return np.asarray(result, dtype=np.float64)


def test_knn_in_small_blocks_keeps_the_same_neighbours_as_the_whole_product() -> None:
    index = ItemIndex(f"f{i}" for i in range(60))
    feedback = Feedback.from_interactions(_random_likes(80, 60), index)
    expected = _reference_top_k(feedback, 5)
    for block_products in (1, 50, 10**9):  # a film per block, a few blocks, one block
        model = KnnModel.fit(feedback, index, KnnConfig(5, block_products=block_products))
        np.testing.assert_allclose(model.similarity.toarray(), expected, rtol=1e-12)
        assert (np.diff(model.similarity.indptr) <= 5).all()


def test_keep_top_per_row_breaks_ties_towards_the_lower_column() -> None:
    matrix = sp.csr_matrix(np.array([[0.5, 1.0, 0.5, 0.5, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0]]))
    kept = keep_top_per_row(matrix, 2).toarray()
    assert kept.tolist() == [[0.5, 1.0, 0.0, 0.0, 0.0], [0.0] * 5]


def test_ease_models_as_many_of_the_most_liked_films_as_its_memory_budget_holds() -> None:
    index = ItemIndex(f"f{i}" for i in range(60))
    feedback = Feedback.from_interactions(_random_likes(80, 60), index)
    config = EaseConfig(l2=1.0, memory_mb=10 * 10 * 3 * 8 / 2**20)  # 10 x 10, three copies
    assert config.items == 10
    model = EaseModel.fit(feedback, index, config)
    counts = np.asarray(feedback.likes.sum(axis=0)).ravel()
    assert len(model.columns) == 10
    assert counts[model.columns].min() >= np.sort(counts)[-10]
    scores = model.score(Profile(liked=(index.ids[int(model.columns[0])],)))
    outside = np.setdiff1d(np.arange(len(index)), model.columns)
    assert np.isneginf(scores[outside]).all()
    assert np.isfinite(scores[model.columns]).all()


def test_films_outside_ease_still_have_neighbours_from_knn() -> None:
    index = ItemIndex(f"f{i}" for i in range(60))
    feedback = Feedback.from_interactions(_random_likes(80, 60), index)
    ease = EaseModel.fit(feedback, index, EaseConfig(memory_mb=1e-4))
    knn = KnnModel.fit(feedback, index)
    liked = np.flatnonzero(np.asarray(feedback.likes.sum(axis=0)).ravel() >= 2)
    outside = np.setdiff1d(liked, ease.columns)
    assert len(outside) > 0
    assert all(knn.similarity[int(c)].nnz > 0 for c in outside)


def test_interactions_become_arrays_skipping_unknown_films_and_counting_repeats_once() -> None:
    index = ItemIndex(f"f{i}" for i in range(5))
    history = [
        Interaction("ghost", "unknown", 1),  # an unknown film: its user does not count
        Interaction("b", "f1", 1),
        Interaction("a", "f0", -1),
        Interaction("b", "f1", 1),
        Interaction("a", "f2", 0),
        Interaction("a", "f3", 1),
    ]
    feedback = Feedback.from_interactions(iter(history), index)
    assert feedback.user_ids == ("b", "a")
    assert feedback.likes.toarray().tolist() == [[0, 1, 0, 0, 0], [0, 0, 0, 1, 0]]
    assert feedback.dislikes.toarray().tolist() == [[0, 0, 0, 0, 0], [1, 0, 0, 0, 0]]


def test_interactions_over_many_chunks_lose_nothing() -> None:
    index = ItemIndex(f"f{i}" for i in range(100))
    n = 2 * CHUNK + 17
    history = [Interaction(f"u{i % 997}", f"f{i % 100}", 1 if i % 3 else -1) for i in range(n)]
    feedback = Feedback.from_interactions(history, index)
    expected = np.zeros((997, 100))
    for user, film, value in history:
        expected[int(user[1:]), int(film[1:])] = value
    assert feedback.user_ids == tuple(f"u{i}" for i in range(997))
    assert np.array_equal(feedback.likes.toarray() - feedback.dislikes.toarray(), expected)

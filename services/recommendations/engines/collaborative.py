"""Item-item collaborative filtering from everyone's likes: EASE and item-kNN.

Both are fitted on a binary users x items matrix of likes. Dislikes enter at
scoring time as negative entries of the user's taste vector, so films that go
with a disliked film are pushed down.

Rebuild policy: EASE is a dense closed form, O(n³) in its items, so it keeps only
the ``max_items`` most liked films (the rest score -inf from EASE and are served
by the other sources) and is refitted periodically. Item-kNN is one sparse
product plus a top-k per row, cheap enough to refit on every batch of new likes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from services.recommendations.engines.model import (
    Feedback,
    FloatArray,
    IntArray,
    ItemIndex,
    Profile,
    l2_normalize,
    taste_matrix,
)


@dataclass(frozen=True)
class EaseConfig:
    l2: float = 500.0  # lambda: larger is smoother, favours popular films less
    max_items: int = 20_000  # O(n³) refit: keep the n most liked films
    dislike_weight: float = 0.5


@dataclass(frozen=True)
class KnnConfig:
    neighbours: int = 200  # k: neighbours kept per film
    dislike_weight: float = 0.5


class EaseModel:
    """EASE (Steck 2019): B = I - P / diag(P), P = (XᵀX + λI)⁻¹, zero diagonal."""

    def __init__(
        self, index: ItemIndex, columns: IntArray, weights: FloatArray, config: EaseConfig
    ):
        self.index = index
        self.columns = columns  # the modelled films' columns in ``index``
        self.weights = weights  # len(columns) x len(columns)
        self.config = config

    @classmethod
    def fit(
        cls, feedback: Feedback, index: ItemIndex, config: EaseConfig = EaseConfig()
    ) -> EaseModel:
        counts = np.asarray(feedback.likes.sum(axis=0)).ravel()
        liked = np.flatnonzero(counts > 0)
        if len(liked) > config.max_items:
            liked = liked[np.argsort(-counts[liked], kind="stable")[: config.max_items]]
        columns = np.sort(liked).astype(np.int64)
        x = feedback.likes[:, columns]
        gram = (x.T @ x).toarray().astype(np.float64)
        gram[np.diag_indices_from(gram)] += config.l2
        precision = np.linalg.inv(gram) if len(columns) else gram
        weights = -precision / np.diag(precision)[np.newaxis, :] if len(columns) else gram
        np.fill_diagonal(weights, 0.0)
        return cls(index, columns, weights, config)

    def scores(self, tastes: sp.spmatrix) -> FloatArray:
        """Users x items scores for a users x items taste matrix (films outside: -inf)."""
        result = np.full((tastes.shape[0], len(self.index)), -np.inf)
        if len(self.columns):
            result[:, self.columns] = sp.csr_matrix(tastes)[:, self.columns] @ self.weights
        return result

    def score(self, profile: Profile) -> FloatArray:
        tastes = taste_matrix([profile], self.index, self.config.dislike_weight)
        return np.asarray(self.scores(tastes)[0], dtype=np.float64)

    def explain(self, profile: Profile, film_ids: Sequence[str]) -> list[str | None]:
        """For each film, the liked film contributing most to its score (None if none)."""
        position = np.full(len(self.index), -1, dtype=np.int64)
        position[self.columns] = np.arange(len(self.columns))

        def block(liked: IntArray, targets: IntArray) -> FloatArray:
            rows, columns = position[liked], position[targets]
            dense = self.weights[np.maximum(rows, 0)][:, np.maximum(columns, 0)]
            dense[rows < 0, :] = 0.0
            dense[:, columns < 0] = 0.0
            return np.asarray(dense, dtype=np.float64)

        return best_liked(self.index, profile, film_ids, block)


class KnnModel:
    """Item-kNN: cosine similarity of films' like vectors, top-k neighbours per film."""

    def __init__(self, index: ItemIndex, similarity: sp.csr_matrix, config: KnnConfig):
        self.index = index
        self.similarity = similarity  # row i: film i's k nearest neighbours
        self.config = config

    @classmethod
    def fit(cls, feedback: Feedback, index: ItemIndex, config: KnnConfig = KnnConfig()) -> KnnModel:
        items = l2_normalize(sp.csc_matrix(feedback.likes, dtype=np.float64), axis=0)
        similarity = sp.csr_matrix(items.T @ items)
        similarity.setdiag(0.0)
        similarity.eliminate_zeros()
        return cls(index, keep_top_per_row(similarity, config.neighbours), config)

    def scores(self, tastes: sp.spmatrix) -> FloatArray:
        return np.asarray((sp.csr_matrix(tastes) @ self.similarity).toarray(), dtype=np.float64)

    def score(self, profile: Profile) -> FloatArray:
        tastes = taste_matrix([profile], self.index, self.config.dislike_weight)
        return np.asarray(self.scores(tastes)[0], dtype=np.float64)

    def neighbours(self, column: int) -> FloatArray:
        """Co-like similarity of one film to every film (dense row)."""
        return np.asarray(self.similarity[column].toarray()[0], dtype=np.float64)

    def explain(self, profile: Profile, film_ids: Sequence[str]) -> list[str | None]:
        return explain_by_similarity(self.index, self.similarity, profile, film_ids)


def explain_by_similarity(
    index: ItemIndex, similarity: sp.csr_matrix, profile: Profile, film_ids: Sequence[str]
) -> list[str | None]:
    """For each film, the liked film most similar to it (None when nothing is similar)."""

    def block(liked: IntArray, targets: IntArray) -> FloatArray:
        return np.asarray(similarity[liked][:, targets].toarray(), dtype=np.float64)

    return best_liked(index, profile, film_ids, block)


def best_liked(
    index: ItemIndex,
    profile: Profile,
    film_ids: Sequence[str],
    block: Callable[[IntArray, IntArray], FloatArray],
) -> list[str | None]:
    """For each film, the liked film with the largest positive ``block(liked, films)`` entry."""
    liked = index.columns(profile.liked)
    known = [f for f in film_ids if f in index]
    if len(liked) == 0 or not known:
        return [None] * len(film_ids)
    weights = block(liked, index.columns(known))
    best = np.argmax(weights, axis=0)
    strongest = weights[best, np.arange(len(known))]
    found = {
        film_id: index.ids[int(liked[best[p]])] if strongest[p] > 0 else None
        for p, film_id in enumerate(known)
    }
    return [found.get(f) for f in film_ids]


def keep_top_per_row(matrix: sp.csr_matrix, k: int, chunk_cells: int = 20_000_000) -> sp.csr_matrix:
    """Keep the ``k`` largest entries of each row; rows are densified a chunk at a time."""
    n_rows, n_columns = matrix.shape
    if k >= n_columns or matrix.nnz == 0:
        return matrix
    step = max(1, chunk_cells // max(n_columns, 1))
    blocks = []
    for start in range(0, n_rows, step):
        dense = matrix[start : start + step].toarray()
        cut = np.argpartition(-dense, k - 1, axis=1)[:, k:]
        np.put_along_axis(dense, cut, 0.0, axis=1)
        blocks.append(sp.csr_matrix(dense))
    return sp.csr_matrix(sp.vstack(blocks))

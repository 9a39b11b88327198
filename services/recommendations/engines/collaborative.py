"""Item-item collaborative filtering from everyone's likes: EASE and item-kNN.

Both are fitted on a binary users x items matrix of likes. Dislikes enter at
scoring time as negative entries of the user's taste vector, so films that go
with a disliked film are pushed down.

How they grow with the catalog (every film is seen; no model densifies films x films):

- Item-kNN covers the whole catalog. The co-like product XᵀX is computed a block of
  films at a time with scipy.sparse (blocks sized by their multiply count, so a block
  never holds more than ``KnnConfig.block_products`` entries) and only the top
  ``neighbours`` of each film are kept, so memory is O(films x k) and time follows the
  co-likes, not films². It is cheap enough to refit on every batch of new likes.
- EASE is a dense closed form, O(n²) memory and O(n³) time in its films, so it models
  the ``n`` most liked films that fit ``EaseConfig.memory_mb`` (about three n x n float64
  matrices live at once during the solve: 384 MiB -> n ≈ 4,100) and at most
  ``max_items``. The other films score -inf from EASE and are served by kNN, content
  and popularity in the blend. In a catalog where likes follow popularity, the head
  EASE models holds most likes; the long tail has too few co-likes for EASE's
  regression to add much over kNN's neighbours anyway. (A factorised EASE over all
  films was the alternative; the budgeted head keeps EASE exact where it matters and
  its refit time bounded.)

The solve uses ``numpy.linalg.inv`` (a gufunc: it releases the GIL, unlike
scipy's LAPACK wrappers for potrf/potri) and scipy's sparse products release it too,
so a refit in a worker thread leaves the serving event loop running.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from services.recommendations.engines.types import (
    RECENCY,
    Feedback,
    FloatArray,
    IntArray,
    ItemIndex,
    Profile,
    l2_normalize,
    taste_matrix,
)

EASE_COPIES = 3  # n x n float64 matrices alive at once while EASE is solved


@dataclass(frozen=True)
class EaseConfig:
    l2: float = 500.0  # lambda: larger is smoother, favours popular films less
    max_items: int = 20_000  # O(n³) refit: keep at most the n most liked films
    memory_mb: float = 384.0  # and only as many as the dense solve fits in
    dislike_weight: float = 0.5
    recency: float = RECENCY  # weight per step back in the user's history

    @property
    def items(self) -> int:
        """How many of the most liked films EASE models: ``max_items`` within the budget."""
        fits = int(np.sqrt(self.memory_mb * 2**20 / (EASE_COPIES * 8)))
        return max(0, min(self.max_items, fits))


@dataclass(frozen=True)
class KnnConfig:
    neighbours: int = 200  # k: neighbours kept per film
    dislike_weight: float = 0.5
    recency: float = RECENCY  # weight per step back in the user's history
    block_products: int = 2_000_000  # multiplies per block of XᵀX: bounds memory, GIL holds


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
        if len(liked) > config.items:
            liked = liked[np.argsort(-counts[liked], kind="stable")[: config.items]]
        columns = np.sort(liked).astype(np.int64)
        x = sp.csc_matrix(feedback.likes)[:, columns]
        gram = (x.T @ x).toarray().astype(np.float64, copy=False)
        del x
        gram[np.diag_indices_from(gram)] += config.l2
        if not len(columns):
            return cls(index, columns, gram, config)
        weights = np.linalg.inv(gram)  # releases the GIL
        del gram
        weights /= -np.diag(weights).copy()[np.newaxis, :]  # B = -P / diag(P), in place
        np.fill_diagonal(weights, 0.0)
        return cls(index, columns, weights, config)

    def scores(self, tastes: sp.spmatrix) -> FloatArray:
        """Users x items scores for a users x items taste matrix (films outside: -inf)."""
        result = np.full((tastes.shape[0], len(self.index)), -np.inf)
        if len(self.columns):
            result[:, self.columns] = sp.csr_matrix(tastes)[:, self.columns] @ self.weights
        return result

    def score(self, profile: Profile) -> FloatArray:
        tastes = taste_matrix(
            [profile], self.index, self.config.dislike_weight, self.config.recency
        )
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

        return best_liked(self.index, profile, film_ids, block, self.config.recency)


class KnnModel:
    """Item-kNN: cosine similarity of films' like vectors, top-k neighbours per film."""

    def __init__(self, index: ItemIndex, similarity: sp.csr_matrix, config: KnnConfig):
        self.index = index
        self.similarity = similarity  # row i: film i's k nearest neighbours
        self.config = config

    @classmethod
    def fit(cls, feedback: Feedback, index: ItemIndex, config: KnnConfig = KnnConfig()) -> KnnModel:
        items = l2_normalize(sp.csc_matrix(feedback.likes, dtype=np.float64), axis=0)
        return cls(index, top_k_similarity(items, config.neighbours, config.block_products), config)

    def scores(self, tastes: sp.spmatrix) -> FloatArray:
        return np.asarray((sp.csr_matrix(tastes) @ self.similarity).toarray(), dtype=np.float64)

    def score(self, profile: Profile) -> FloatArray:
        tastes = taste_matrix(
            [profile], self.index, self.config.dislike_weight, self.config.recency
        )
        return np.asarray(self.scores(tastes)[0], dtype=np.float64)

    def neighbours(self, column: int) -> FloatArray:
        """Co-like similarity of one film to every film (dense row)."""
        return np.asarray(self.similarity[column].toarray()[0], dtype=np.float64)

    def explain(self, profile: Profile, film_ids: Sequence[str]) -> list[str | None]:
        """For each film, the liked film contributing most to its score (None if none)."""

        def block(liked: IntArray, targets: IntArray) -> FloatArray:
            return np.asarray(self.similarity[liked][:, targets].toarray(), dtype=np.float64)

        return best_liked(self.index, profile, film_ids, block, self.config.recency)


def best_liked(
    index: ItemIndex,
    profile: Profile,
    film_ids: Sequence[str],
    block: Callable[[IntArray, IntArray], FloatArray],
    recency: float = 1.0,
) -> list[str | None]:
    """For each film, the liked film contributing most to its score: the largest positive
    ``block(liked, films)`` entry times the like's weight in the taste (``recency ** k``
    for the k-th newest, as ``taste_matrix`` weighs it)."""
    liked = index.columns(profile.liked)
    known = [f for f in film_ids if f in index]
    if len(liked) == 0 or not known:
        return [None] * len(film_ids)
    taste = recency ** np.arange(len(liked), dtype=np.float64)
    weights = block(liked, index.columns(known)) * taste[:, np.newaxis]
    best = np.argmax(weights, axis=0)
    strongest = weights[best, np.arange(len(known))]
    found = {
        film_id: index.ids[int(liked[best[p]])] if strongest[p] > 0 else None
        for p, film_id in enumerate(known)
    }
    return [found.get(f) for f in film_ids]


def top_k_similarity(items: sp.spmatrix, k: int, block_products: int) -> sp.csr_matrix:
    """Films x films ``itemsᵀ items`` without its diagonal, only the ``k`` largest per row.

    ``items`` is users x films. The product is computed for a block of films (rows) at a
    time, each block holding at most about ``block_products`` multiplies (the most
    entries its product can have), and pruned to the top ``k`` before the next block:
    the full films x films product never exists.
    """
    by_user = sp.csr_matrix(items)
    by_film = sp.csr_matrix(by_user.T)
    n_films = by_film.shape[0]
    if n_films == 0 or by_user.nnz == 0:
        return sp.csr_matrix((n_films, n_films), dtype=np.float64)
    # Multiplies of film i's row: the number of likes of each user who liked it.
    user_likes = np.diff(by_user.indptr).astype(np.float64)
    binary = sp.csr_matrix((np.ones(by_film.nnz), by_film.indices, by_film.indptr), by_film.shape)
    cost = np.cumsum(binary @ user_likes)
    blocks: list[sp.csr_matrix] = []
    start = 0
    while start < n_films:
        budget = (cost[start - 1] if start else 0.0) + block_products
        stop = max(start + 1, int(np.searchsorted(cost, budget, side="right")))
        block = sp.csr_matrix(by_film[start:stop] @ by_user)
        blocks.append(keep_top_per_row(block, k, diagonal_offset=start))
        start = stop
    return sp.csr_matrix(sp.vstack(blocks, format="csr"))


def keep_top_per_row(
    matrix: sp.csr_matrix, k: int, diagonal_offset: int | None = None
) -> sp.csr_matrix:
    """The ``k`` largest entries of each row (ties: the lower column), sparse throughout.

    With ``diagonal_offset``, entry ``(r, r + diagonal_offset)`` (a film with itself) and
    explicit zeros are dropped first.
    """
    matrix = sp.csr_matrix(matrix)
    matrix.sort_indices()
    n_rows = matrix.shape[0]
    counts = np.diff(matrix.indptr)
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), counts)
    keep = matrix.data != 0
    if diagonal_offset is not None:
        keep &= matrix.indices != rows + diagonal_offset
    if keep.all() and not (counts > k).any():
        return matrix
    data, columns, rows = matrix.data[keep], matrix.indices[keep], rows[keep]
    starts = np.searchsorted(rows, np.arange(n_rows + 1))
    # Per row, the k-th largest value: everything above it stays, and of the entries equal
    # to it, the first (lowest columns) up to k. Only the rows longer than k need a look.
    threshold = np.full(n_rows, -np.inf)
    for row in np.flatnonzero(np.diff(starts) > k).tolist():
        segment = data[starts[row] : starts[row + 1]]
        threshold[row] = np.partition(segment, len(segment) - k)[len(segment) - k]
    above = data > threshold[rows]
    tied = data == threshold[rows]
    above_before = np.concatenate(([0], np.cumsum(above)))
    room = k - (above_before[starts[1:]] - above_before[starts[:-1]])
    tied_before = np.concatenate(([0], np.cumsum(tied)))
    tied_rank = tied_before[1:] - tied_before[starts[rows]]  # within its row, from 1
    chosen = above | (tied & (tied_rank <= room[rows]))
    return sp.csr_matrix((data[chosen], (rows[chosen], columns[chosen])), shape=matrix.shape)

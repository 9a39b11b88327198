"""The evaluation protocol: leave the last positive out, rank 10; HR, NDCG, coverage, novelty.

Per user, ratings are ordered by time; the last rating >= 4 is the test film and
everything before it is training (>= 4 a like, <= 2 a dislike, 3 neither, but
still a film the user has seen). Ratings after the test film are dropped. Users
with fewer than two positives are not evaluated; their ratings still train. The
second protocol, ``temporal_split``, cuts everyone's ratings at one moment instead:
the past trains, and each user's first positive after the cut is their test film. Each
evaluated user's training verdicts are also kept in order (``profiles``), newest
first, as the service's likes projection hands them to the engines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from services.recommendations.engines.types import (
    DISLIKE,
    LIKE,
    Feedback,
    FilmInfo,
    FloatArray,
    IntArray,
    ItemIndex,
    Profile,
    top_columns,
)
from services.recommendations.evaluation.movielens import MovieLens

LIKE_AT = 4.0
DISLIKE_AT = 2.0
CUTOFF = 10
TEMPORAL_SHARE = 0.8  # the temporal split trains on the first 80% of ratings by time


@dataclass(frozen=True)
class Split:
    films: list[FilmInfo]  # in column order
    index: ItemIndex
    train: Feedback  # every user's training likes and dislikes
    seen: sp.csr_matrix  # every film each user rated before the test film (never recommended)
    eval_rows: IntArray  # the evaluated users' rows
    test: IntArray  # their test film's column
    profiles: tuple[Profile, ...]  # per evaluated user: training verdicts newest first,
    # everything they rated before the test film excluded

    @property
    def n_items(self) -> int:
        return len(self.index)

    @property
    def likers(self) -> FloatArray:
        """How many users liked each film in training."""
        return np.asarray(self.train.likes.sum(axis=0), dtype=np.float64).ravel()


@dataclass(frozen=True)
class _Ordered:
    """Every rating, by user and then time (stable), as columns of an index."""

    films: list[FilmInfo]
    index: ItemIndex
    n_users: int
    users: IntArray
    columns: IntArray
    values: FloatArray
    timestamps: IntArray

    @classmethod
    def of(cls, data: MovieLens) -> _Ordered:
        ratings = data.ratings
        known = set(f.id for f in data.films)
        films = list(data.films) + [
            FilmInfo(film_id, film_id)
            for film_id in dict.fromkeys(ratings.film_ids.tolist())
            if film_id not in known
        ]
        index = ItemIndex(f.id for f in films)
        user_ids, users = np.unique(ratings.user_ids, return_inverse=True)
        columns = index.columns(ratings.film_ids.tolist())
        order = np.lexsort((ratings.timestamps, users))
        return cls(
            films,
            index,
            len(user_ids),
            users[order].astype(np.int64),
            columns[order].astype(np.int64),
            ratings.values[order],
            ratings.timestamps[order],
        )

    @property
    def positive(self) -> npt.NDArray[np.bool_]:
        return np.asarray(self.values >= LIKE_AT)

    def split(
        self, training: npt.NDArray[np.bool_], eval_rows: IntArray, test_positions: IntArray
    ) -> Split:
        """Train on the ``training`` ratings; evaluate ``eval_rows`` on the film rated at
        each one's ``test_positions``."""
        users, columns, values = self.users, self.columns, self.values
        verdict = np.where(values >= LIKE_AT, LIKE, np.where(values <= DISLIKE_AT, DISLIKE, 0))
        shape = (self.n_users, len(self.index))
        train = Feedback.from_arrays(
            users[training],
            columns[training],
            verdict[training],
            n_users=shape[0],
            n_items=shape[1],
        )
        seen = sp.csr_matrix(
            (np.ones(int(training.sum())), (users[training], columns[training])), shape=shape
        )
        test = columns[test_positions].astype(np.int64)
        profiles = _profiles(self.index, users, columns, verdict, training, eval_rows)
        return Split(self.films, self.index, train, seen, eval_rows, test, profiles)


def leave_last_positive_out(data: MovieLens) -> Split:
    """Per user, the last positive is the test film; everything before it trains."""
    ordered = _Ordered.of(data)
    users, positive, n_users = ordered.users, ordered.positive, ordered.n_users
    position = np.arange(len(users))
    positives = np.bincount(users[positive], minlength=n_users)
    last_positive = np.full(n_users, len(users), dtype=np.int64)
    last_positive[users[positive]] = -1
    np.maximum.at(last_positive, users[positive], position[positive])
    evaluated = positives >= 2
    cut = np.where(evaluated, last_positive, len(users))
    eval_rows = np.flatnonzero(evaluated).astype(np.int64)
    return ordered.split(position < cut[users], eval_rows, last_positive[eval_rows])


def temporal_split(data: MovieLens, share: float = TEMPORAL_SHARE) -> Split:
    """Everyone's ratings before a cut-off time train (the first ``share`` of all ratings
    by time); a user with a positive before it and one after is tested on their first
    positive after it: what they liked next, as the service would have had to guess."""
    ordered = _Ordered.of(data)
    users, positive, n_users = ordered.users, ordered.positive, ordered.n_users
    cutoff = np.quantile(ordered.timestamps, share) if len(users) else 0
    training = ordered.timestamps < cutoff
    position = np.arange(len(users))
    first_after = np.full(n_users, len(users), dtype=np.int64)
    later = positive & ~training
    np.minimum.at(first_after, users[later], position[later])
    liked_before = np.bincount(users[positive & training], minlength=n_users) > 0
    eval_rows = np.flatnonzero(liked_before & (first_after < len(users))).astype(np.int64)
    return ordered.split(training, eval_rows, first_after[eval_rows])


def _profiles(
    index: ItemIndex,
    users: IntArray,
    columns: IntArray,
    verdict: IntArray,
    training: npt.NDArray[np.bool_],
    eval_rows: IntArray,
) -> tuple[Profile, ...]:
    """The evaluated users' training verdicts, newest first (``users`` sorted, each
    user's ratings in time order); a film rated twice counts by its latest rating."""
    starts = np.searchsorted(users, eval_rows)
    stops = np.searchsorted(users, eval_rows, side="right")
    ids = index.ids
    profiles = []
    for start, stop in zip(starts.tolist(), stops.tolist(), strict=True):
        kept = training[start:stop]
        latest: dict[int, int] = {}
        for column, value in zip(
            columns[start:stop][kept][::-1].tolist(),
            verdict[start:stop][kept][::-1].tolist(),
            strict=True,
        ):
            latest.setdefault(column, value)
        profiles.append(
            Profile(
                liked=tuple(ids[c] for c, v in latest.items() if v == LIKE),
                disliked=tuple(ids[c] for c, v in latest.items() if v == DISLIKE),
                excluded=frozenset(ids[c] for c in latest),
            )
        )
    return tuple(profiles)


def hidden_mask(split: Split) -> tuple[IntArray, IntArray]:
    """(row, column) of every film an evaluated user must not be recommended."""
    seen = split.seen[split.eval_rows].tocoo()
    return seen.row.astype(np.int64), seen.col.astype(np.int64)


def top_n_unseen(scores: FloatArray, split: Split, n: int = CUTOFF) -> IntArray:
    """Per evaluated user (rows of ``scores``), the ``n`` best films not seen in training."""
    masked = np.array(scores, dtype=np.float64)
    rows, columns = hidden_mask(split)
    masked[rows, columns] = -np.inf
    top = top_columns(masked, n)
    top[~np.isfinite(np.take_along_axis(masked, top, axis=1))] = -1  # not a recommendation
    return top


@dataclass(frozen=True)
class Metrics:
    hit_rate: float
    ndcg: float
    coverage: float
    novelty: float = 0.0

    def as_json(self) -> dict[str, float]:
        return {
            f"hr@{CUTOFF}": round(self.hit_rate, 4),
            f"ndcg@{CUTOFF}": round(self.ndcg, 4),
            "coverage": round(self.coverage, 4),
            "novelty": round(self.novelty, 3),
        }


def measure(top: IntArray, test: IntArray, likers: FloatArray, users: int) -> Metrics:
    """HR@k, NDCG@k (one relevant film: 1/log2(rank+1)), catalog coverage and novelty.

    ``likers[i]`` is how many of the ``users`` liked film ``i`` in training; novelty is the
    mean self-information of a recommended film, ``-log2((likers + 1) / (users + 1))`` bits:
    0 for a film everyone liked, more the less known it is.
    """
    n_items = len(likers)
    if len(test) == 0:
        return Metrics(0.0, 0.0, 0.0)
    hits = top == test[:, np.newaxis]
    discounts = 1.0 / np.log2(np.arange(2, top.shape[1] + 2))
    shown = top[top >= 0]
    information = -np.log2((likers[shown] + 1.0) / (users + 1.0))
    return Metrics(
        float(hits.any(axis=1).mean()),
        float((hits * discounts).sum(axis=1).mean()),
        len(np.unique(shown)) / n_items if n_items else 0.0,
        float(information.mean()) if len(shown) else 0.0,
    )

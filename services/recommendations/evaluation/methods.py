"""The evaluated methods: each engine alone, and the blend exactly as production runs it.

Each engine alone scores all evaluated users at once (sparse products); the blend is
the production ``Recommender.recommend``, called per user. The collaborative engines
come twice: plain (a history as a set) and ``+recency`` (as production weighs it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from services.recommendations.engines.collaborative import EaseModel, KnnModel
from services.recommendations.engines.content import ContentModel
from services.recommendations.engines.popularity import PopularityModel
from services.recommendations.engines.recommender import EngineConfig, Recommender
from services.recommendations.engines.types import FloatArray, IntArray, taste_matrix
from services.recommendations.evaluation.protocol import (
    CUTOFF,
    Split,
    top_n_unseen,
)

METHODS = (
    "popularity",
    "item-knn",
    "item-knn+recency",
    "ease",
    "ease+recency",
    "content",
    "blend",
)


@dataclass(frozen=True)
class Fitted:
    split: Split
    ease: EaseModel
    knn: KnnModel
    content: ContentModel
    popularity: PopularityModel
    config: EngineConfig

    @classmethod
    def fit(cls, split: Split, config: EngineConfig) -> Fitted:
        return cls(
            split,
            EaseModel.fit(split.train, split.index, config.ease),
            KnnModel.fit(split.train, split.index, config.knn),
            ContentModel.fit(split.films, split.index, config.content),
            PopularityModel.fit(split.films, split.train, config.popularity),
            config,
        )

    def tastes(self, dislike_weight: float, recency: float) -> sp.csr_matrix:
        """The evaluated users' taste vectors, built as the engines build one user's."""
        return taste_matrix(self.split.profiles, self.split.index, dislike_weight, recency)

    def popularity_scores(self) -> FloatArray:
        """The baseline: every film by its number of likes."""
        users = len(self.split.eval_rows)
        return np.tile(self.split.likers, (users, 1))

    def ease_scores(self, recency: float) -> FloatArray:
        return self.ease.scores(self.tastes(self.config.ease.dislike_weight, recency))

    def knn_scores(self, recency: float) -> FloatArray:
        return self.knn.scores(self.tastes(self.config.knn.dislike_weight, recency))

    def content_scores(self) -> FloatArray:
        content = self.config.content
        return self.content.scores(self.tastes(content.dislike_weight, content.recency))

    def blend_top(self) -> IntArray:
        """Top 10 per evaluated user from the production recommender itself: its source
        lists and its blend, on the user's training verdicts in order, with the films seen
        before the test film hidden (as excluded)."""
        split = self.split
        recommender = Recommender(
            {f.id: f for f in split.films},
            split.index,
            self.ease,
            self.knn,
            self.content,
            self.popularity,
            self.config,
            split.train.likers,
        )
        result = np.full((len(split.eval_rows), CUTOFF), -1, dtype=np.int64)
        for position, profile in enumerate(split.profiles):
            picked = recommender.recommend(profile, CUTOFF).items
            chosen = split.index.columns(r.film_id for r in picked)
            result[position, : len(chosen)] = chosen
        return result


def method_tops(fitted: Fitted) -> dict[str, IntArray]:
    """Each method's top 10 per evaluated user (columns; -1 where it has nothing)."""
    config = fitted.config
    scored: dict[str, Callable[[], FloatArray]] = {
        "popularity": fitted.popularity_scores,
        "item-knn": lambda: fitted.knn_scores(1.0),
        "item-knn+recency": lambda: fitted.knn_scores(config.knn.recency),
        "ease": lambda: fitted.ease_scores(1.0),
        "ease+recency": lambda: fitted.ease_scores(config.ease.recency),
        "content": fitted.content_scores,
    }
    tops = {name: top_n_unseen(score(), fitted.split) for name, score in scored.items()}
    tops["blend"] = fitted.blend_top()
    return tops

"""The evaluated methods: each engine alone, and the blend exactly as production runs it.

Engines score all evaluated users at once (sparse products). The blend takes each
source's top candidates from those scores and runs the production ``blend`` per user.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from services.recommendations.engines.blend import blend
from services.recommendations.engines.collaborative import EaseModel, KnnModel
from services.recommendations.engines.content import ContentModel
from services.recommendations.engines.popularity import PopularityModel
from services.recommendations.engines.recommender import EngineConfig
from services.recommendations.engines.types import (
    Candidate,
    FloatArray,
    IntArray,
    Profile,
    RankedList,
    Source,
    taste_from_feedback,
    top_columns,
)
from services.recommendations.evaluation.protocol import (
    CUTOFF,
    Split,
    hidden_mask,
    top_n_unseen,
)

METHODS = ("popularity", "item-knn", "ease", "content", "blend")


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

    def tastes(self, dislike_weight: float) -> sp.csr_matrix:
        rows = self.split.eval_rows
        train = self.split.train
        return taste_from_feedback(train.likes[rows], train.dislikes[rows], dislike_weight)

    def popularity_scores(self) -> FloatArray:
        users = len(self.split.eval_rows)
        return np.tile(self.popularity.most_liked, (users, 1))

    def ease_scores(self) -> FloatArray:
        return self.ease.scores(self.tastes(self.config.ease.dislike_weight))

    def knn_scores(self) -> FloatArray:
        return self.knn.scores(self.tastes(self.config.knn.dislike_weight))

    def content_scores(self) -> FloatArray:
        return self.content.scores(self.tastes(self.config.content.dislike_weight))

    def blend_top(self) -> IntArray:
        """Top 10 per evaluated user from the production blend over the sources' lists."""
        split = self.split
        n = self.config.candidates
        sources: list[tuple[str, Source, FloatArray]] = [
            ("ease", Source.COLLABORATIVE, self.ease_scores()),
            ("knn", Source.COLLABORATIVE, self.knn_scores()),
            ("content", Source.CONTENT, self.content_scores()),
        ]
        users = len(split.eval_rows)
        sources.append(
            ("top_rated", Source.POPULAR, np.tile(self.popularity.top_rated, (users, 1)))
        )
        sources.append(("most_liked", Source.POPULAR, self.popularity_scores()))
        rows, columns = hidden_mask(split)
        tops: list[tuple[str, Source, IntArray, FloatArray]] = []
        for name, source, scores in sources:
            if self.config.blend.weight(name) <= 0:
                continue
            scores[rows, columns] = -np.inf
            top = top_columns(scores, n)
            tops.append((name, source, top, np.take_along_axis(scores, top, axis=1)))
        films = {f.id: f for f in split.films}
        ids = split.index.ids
        result = np.full((users, CUTOFF), -1, dtype=np.int64)
        # Seen films are already out of the lists, so the profile needs no history here.
        nobody = Profile()
        for user in range(users):
            lists = [
                RankedList(
                    name,
                    source,
                    [
                        Candidate(ids[c], v)
                        for c, v in zip(top[user].tolist(), values[user].tolist(), strict=True)
                        if v > 0
                    ],
                )
                for name, source, top, values in tops
            ]
            picked = blend(lists, nobody, films, self.config.blend, CUTOFF)
            chosen = split.index.columns(r.film_id for r in picked)
            result[user, : len(chosen)] = chosen
        return result


def method_tops(fitted: Fitted) -> dict[str, IntArray]:
    """Each method's top 10 per evaluated user (columns; -1 where it has nothing)."""
    scored: dict[str, Callable[[], FloatArray]] = {
        "popularity": fitted.popularity_scores,
        "item-knn": fitted.knn_scores,
        "ease": fitted.ease_scores,
        "content": fitted.content_scores,
    }
    tops = {name: top_n_unseen(score(), fitted.split) for name, score in scored.items()}
    tops["blend"] = fitted.blend_top()
    return tops

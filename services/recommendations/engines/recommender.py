"""The engines together: fit once from the catalog and the likes, then answer users.

This is what the recommendation service calls. ``fit`` costs one EASE solve
(O(n³) in the most liked films that fit ``EaseConfig.memory_mb``, ~4,100 by default)
and a blockwise sparse product for kNN over the whole catalog (see
``engines.collaborative``); refit it periodically or after a batch of new likes
(``refit``), in a worker thread (the heavy parts release the GIL), and swap the object
in: a ``Recommender`` is immutable, so readers need no lock. bench/refit.py measures it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from services.recommendations.engines.blend import BlendConfig, Recommended, blend
from services.recommendations.engines.collaborative import (
    EaseConfig,
    EaseModel,
    KnnConfig,
    KnnModel,
)
from services.recommendations.engines.content import ContentConfig, ContentModel
from services.recommendations.engines.popularity import PopularityConfig, PopularityModel
from services.recommendations.engines.similar import similar_films, similarity_row
from services.recommendations.engines.types import (
    Candidate,
    Feedback,
    FilmInfo,
    FloatArray,
    IntArray,
    Interaction,
    ItemIndex,
    LlmPick,
    Profile,
    RankedList,
    Source,
    ranked_candidates,
)


@dataclass(frozen=True)
class EngineConfig:
    ease: EaseConfig = field(default_factory=EaseConfig)
    knn: KnnConfig = field(default_factory=KnnConfig)
    content: ContentConfig = field(default_factory=ContentConfig)
    popularity: PopularityConfig = field(default_factory=PopularityConfig)
    blend: BlendConfig = field(default_factory=BlendConfig)
    candidates: int = 100  # films each source contributes to the blend
    similar_content_share: float = 0.5  # similar films: content vs co-likes
    # Content and seed lists keep only films at least this share as similar as their best
    # one: the blend fuses ranks, so a film sharing one genre would otherwise count as
    # much as a close match ranked next to it.
    likeness_floor: float = 0.5


@dataclass(frozen=True)
class Recommendations:
    items: list[Recommended]
    fallback: bool  # the user has no likes: top rated films


@dataclass(frozen=True)
class Recommender:
    films: dict[str, FilmInfo]
    index: ItemIndex
    ease: EaseModel
    knn: KnnModel
    content: ContentModel
    popularity: PopularityModel
    config: EngineConfig
    likers: int = 0  # people with at least one like the collaborative models learnt from

    @classmethod
    def fit(
        cls,
        films: Sequence[FilmInfo],
        interactions: Iterable[Interaction],
        config: EngineConfig = EngineConfig(),
    ) -> Recommender:
        index = ItemIndex(f.id for f in films)
        catalog = {f.id: f for f in films}
        ordered = [catalog[film_id] for film_id in index.ids]
        content = ContentModel.fit(ordered, index, config.content)
        return cls._with_feedback(catalog, index, content, interactions, config)

    def refit(self, interactions: Iterable[Interaction]) -> Recommender:
        """The same catalog (content features kept) with new likes."""
        return self._with_feedback(self.films, self.index, self.content, interactions, self.config)

    @classmethod
    def _with_feedback(
        cls,
        catalog: dict[str, FilmInfo],
        index: ItemIndex,
        content: ContentModel,
        interactions: Iterable[Interaction],
        config: EngineConfig,
    ) -> Recommender:
        feedback = Feedback.from_interactions(interactions, index)
        ordered = [catalog[film_id] for film_id in index.ids]
        return cls(
            catalog,
            index,
            EaseModel.fit(feedback, index, config.ease),
            KnnModel.fit(feedback, index, config.knn),
            content,
            PopularityModel.fit(ordered, feedback, config.popularity),
            config,
            feedback.likers,
        )

    @property
    def collaborative_confidence(self) -> float:
        """How much the collaborative lists count, from 0 to 1: ``n / (n + prior)`` for
        ``n`` people whose likes they learnt from. With a handful of users, "people who
        liked this also liked" is one person's taste, and a list's rank (the blend fuses
        ranks, not scores) would not show how thin that is."""
        prior = self.config.blend.collaborative_prior_users
        return self.likers / (self.likers + prior) if prior > 0 else 1.0

    @property
    def content_share(self) -> float:
        """Content's share of "similar to this film": co-likes take theirs by confidence."""
        return 1.0 - (1.0 - self.config.similar_content_share) * self.collaborative_confidence

    def _scale(self, name: str) -> float:
        """Collaborative lists count by their confidence; content takes up what they
        cannot carry, from ``content_when_cold`` (nobody's likes) to its own weight."""
        confidence = self.collaborative_confidence
        blend = self.config.blend
        if name == "content" and blend.content > 0:
            cold = blend.content_when_cold
            return (blend.content + (1.0 - confidence) * (cold - blend.content)) / blend.content
        return confidence

    def source_lists(self, profile: Profile, llm: Sequence[LlmPick] = ()) -> list[RankedList]:
        """Each source's ranked candidates for ``profile`` (rated and excluded left out)."""
        hidden = self.index.columns(profile.hidden)
        lists: list[RankedList] = []
        if llm:
            picks = [
                Candidate(p.film_id, 1.0, note=p.reason) for p in llm if p.film_id in self.index
            ]
            lists.append(RankedList("llm", Source.LLM, picks))
        if profile.liked:
            engines = (
                ("ease", Source.COLLABORATIVE, self.ease),
                ("knn", Source.COLLABORATIVE, self.knn),
                ("content", Source.CONTENT, self.content),
            )
            for name, source, engine in engines:
                if self.config.blend.weight(name) > 0:
                    scores = engine.score(profile)
                    if source is Source.CONTENT:
                        scores = self._alike(scores, hidden)
                    ranked = self._explained(name, source, scores, hidden, profile, engine)
                    lists.append(replace(ranked, scale=self._scale(name)))
        for seed in profile.seeds:
            column = self.index.column(seed.film_id)
            if column is None or seed.weight <= 0:
                continue
            row = similarity_row(self.content, self.knn, column, self.content_share)
            row[column] = -np.inf  # the seed itself
            ranked = self._ranked(
                "seed", Source.CONTENT, self._alike(row, hidden), hidden, seed.film_id
            )
            lists.append(replace(ranked, scale=seed.weight))
        lists.append(self._ranked("top_rated", Source.POPULAR, self.popularity.top_rated, hidden))
        if profile.liked:
            lists.append(
                self._ranked("most_liked", Source.POPULAR, self.popularity.most_liked, hidden)
            )
        return lists

    def recommend(
        self, profile: Profile, limit: int = 20, llm: Sequence[LlmPick] = ()
    ) -> Recommendations:
        """The user's list: blended sources, or top rated (``fallback``) with no likes."""
        fallback = not profile.liked and not profile.seeds
        lists = self.source_lists(profile, llm)
        items = blend(lists, profile, self.films, self.config.blend, limit)
        return Recommendations(items, fallback)

    def similar(
        self, film_id: str, limit: int = 20, hidden: frozenset[str] = frozenset()
    ) -> list[Recommended]:
        """Films like ``film_id`` (GetSimilarFilms), leaving out ``hidden`` ones."""
        return similar_films(
            self.content,
            self.knn,
            self.films,
            film_id,
            limit=limit,
            content_share=self.content_share,
            hidden=hidden,
        )

    def _alike(self, scores: FloatArray, hidden: IntArray) -> FloatArray:
        """``scores`` with the films far less alike than the best one set to -inf."""
        shown = np.array(scores, dtype=np.float64)
        shown[hidden] = -np.inf
        best = float(np.max(shown)) if len(shown) else 0.0
        if best > 0:
            shown[shown < self.config.likeness_floor * best] = -np.inf
        return shown

    def _ranked(
        self,
        name: str,
        source: Source,
        scores: FloatArray,
        hidden: IntArray,
        because_of: str | None = None,
    ) -> RankedList:
        columns, values = ranked_candidates(scores, self.config.candidates, hidden)
        # A zero or negative score says "no evidence", not "a little": it is no candidate.
        columns, values = columns[values > 0], values[values > 0]
        candidates = [
            Candidate(self.index.ids[c], float(v), because_of)
            for c, v in zip(columns.tolist(), values.tolist(), strict=True)
        ]
        return RankedList(name, source, candidates)

    def _explained(
        self,
        name: str,
        source: Source,
        scores: FloatArray,
        hidden: IntArray,
        profile: Profile,
        engine: EaseModel | KnnModel | ContentModel,
    ) -> RankedList:
        ranked = self._ranked(name, source, scores, hidden)
        film_ids = [c.film_id for c in ranked.candidates]
        because = engine.explain(profile, film_ids)
        candidates = [
            Candidate(c.film_id, c.score, b)
            for c, b in zip(ranked.candidates, because, strict=True)
        ]
        return RankedList(name, source, candidates)

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
from dataclasses import dataclass, field

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
        )

    def source_lists(self, profile: Profile, llm: Sequence[LlmPick] = ()) -> list[RankedList]:
        """Each source's ranked candidates for ``profile`` (rated and excluded left out)."""
        hidden = self.index.columns(profile.hidden)
        lists: list[RankedList] = []
        if llm:
            picks = [
                Candidate(p.film_id, 1.0, note=p.reason) for p in llm if p.film_id in self.index
            ]
            lists.append(RankedList("llm", Source.LLM, picks))
        if profile.liked or profile.disliked:
            engines = (
                ("ease", Source.COLLABORATIVE, self.ease),
                ("knn", Source.COLLABORATIVE, self.knn),
                ("content", Source.CONTENT, self.content),
            )
            for name, source, engine in engines:
                if self.config.blend.weight(name) > 0 and profile.liked:
                    scores = engine.score(profile)
                    lists.append(self._explained(name, source, scores, hidden, profile, engine))
        seed = self.index.column(profile.seed_film_id) if profile.seed_film_id else None
        if seed is not None:
            row = similarity_row(self.content, self.knn, seed, self.config.similar_content_share)
            row[row <= 0] = -np.inf
            lists.append(self._ranked("seed", Source.CONTENT, row, hidden, profile.seed_film_id))
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
        fallback = not profile.liked and profile.seed_film_id is None
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
            content_share=self.config.similar_content_share,
            hidden=hidden,
        )

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

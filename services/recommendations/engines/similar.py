"""Films similar to one film: content similarity blended with co-likes (item-kNN)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from services.recommendations.engines.blend import Recommended
from services.recommendations.engines.collaborative import KnnModel
from services.recommendations.engines.content import ContentModel
from services.recommendations.engines.types import (
    FilmInfo,
    FloatArray,
    Reason,
    Source,
    ranked_candidates,
)

LIKED_TOGETHER = "Его часто любят вместе с «{title}»"  # noqa: RUF001 (Russian text)


def similarity_row(
    content: ContentModel, knn: KnnModel, column: int, content_share: float
) -> FloatArray:
    """How similar each film is to the film at ``column`` (both parts are cosines)."""
    by_content = content.similar_to(column)
    by_likes = knn.neighbours(column)
    return np.asarray(
        content_share * by_content + (1.0 - content_share) * by_likes, dtype=np.float64
    )


def similar_films(
    content: ContentModel,
    knn: KnnModel,
    films: Mapping[str, FilmInfo],
    film_id: str,
    *,
    limit: int = 20,
    content_share: float = 0.5,
    hidden: frozenset[str] = frozenset(),
) -> list[Recommended]:
    """Up to ``limit`` films like ``film_id``, leaving out ``hidden`` ones (e.g. rated)."""
    index = content.index
    column = index.column(film_id)
    if column is None:
        return []
    by_content = content.similar_to(column)
    by_likes = knn.neighbours(column)
    blended = content_share * by_content + (1.0 - content_share) * by_likes
    blocked = index.columns([*hidden, film_id])
    columns, scores = ranked_candidates(blended, limit, blocked)
    title = films[film_id].title if film_id in films else film_id
    result = []
    for found, score in zip(columns.tolist(), scores.tolist(), strict=True):
        if score <= 0:
            break
        content_part = content_share * by_content[found]
        likes_part = (1.0 - content_share) * by_likes[found]
        parts = [
            (content_part, Reason(f"Похоже на «{title}»", Source.CONTENT, film_id)),
            (likes_part, Reason(LIKED_TOGETHER.format(title=title), Source.COLLABORATIVE, film_id)),
        ]
        parts = sorted((p for p in parts if p[0] > 0), key=lambda p: -p[0])
        result.append(
            Recommended(
                index.ids[found],
                float(score),
                tuple(r.source for _, r in parts),
                tuple(r for _, r in parts),
            )
        )
    return result

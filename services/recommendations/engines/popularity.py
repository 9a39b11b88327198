"""Popularity: top rated (the fallback for a user with no likes) and most liked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from services.recommendations.engines.types import Feedback, FilmInfo, FloatArray


@dataclass(frozen=True)
class PopularityConfig:
    prior_strength: float = 20.0  # catalog rating counts as this many verdicts
    min_likers: int = 3  # "most liked" only counts a film this many people liked


@dataclass(frozen=True)
class PopularityModel:
    top_rated: FloatArray  # Bayesian average like rate, catalog rating as the prior
    most_liked: FloatArray  # like counts; 0 below ``min_likers`` (one fan is no crowd)

    @classmethod
    def fit(
        cls,
        films: Sequence[FilmInfo],
        feedback: Feedback,
        config: PopularityConfig = PopularityConfig(),
    ) -> PopularityModel:
        """``films`` in the order of the index ``feedback`` was built with.

        The prior of a film's like rate is its catalog rating / 10 (a film without
        one: the catalog's mean rating, or the overall like rate when no film has a
        rating); each like or dislike moves it.
        """
        likes = np.asarray(feedback.likes.sum(axis=0), dtype=np.float64).ravel()
        dislikes = np.asarray(feedback.dislikes.sum(axis=0), dtype=np.float64).ravel()
        verdicts = likes.sum() + dislikes.sum()
        rated = [f.rating / 10.0 for f in films if f.rating is not None]
        overall = likes.sum() / verdicts if verdicts else 0.5
        unknown = float(np.mean(rated)) if rated else overall
        prior = np.array(
            [f.rating / 10.0 if f.rating is not None else unknown for f in films], dtype=np.float64
        )
        strength = config.prior_strength
        top_rated = (strength * prior + likes) / (strength + likes + dislikes)
        # Ties (equal ratings, no likes) go to the more liked film.
        top_rated += 1e-9 * likes
        return cls(top_rated, np.where(likes >= config.min_likers, likes, 0.0))

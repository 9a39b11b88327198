"""Recommendation engines: plain functions and dataclasses over arrays, no I/O.

The same code serves the recommendation service and the offline evaluation
(``services.recommendations.evaluation``). ``Recommender`` is the entry point.
"""

from services.recommendations.engines.blend import BlendConfig, Recommended, blend
from services.recommendations.engines.recommender import (
    EngineConfig,
    Recommendations,
    Recommender,
)
from services.recommendations.engines.types import (
    RECENCY,
    FilmInfo,
    Interaction,
    ItemIndex,
    LlmPick,
    Profile,
    Reason,
    Seed,
    Source,
)

__all__ = [
    "RECENCY",
    "BlendConfig",
    "EngineConfig",
    "FilmInfo",
    "Interaction",
    "ItemIndex",
    "LlmPick",
    "Profile",
    "Reason",
    "Recommendations",
    "Recommended",
    "Recommender",
    "Seed",
    "Source",
    "blend",
]

"""GigaChat as a recommendation source: generate or rerank, behind budget, breaker, cache."""

from services.recommendations.llm.cache import (
    LlmCache,
    MemoryLlmCache,
    decode_items,
    encode_items,
    profile_key,
)
from services.recommendations.llm.guards import BreakerState
from services.recommendations.llm.source import LlmSource, create_llm_source
from services.recommendations.llm.types import (
    Candidate,
    LlmItem,
    LlmMode,
    LlmOutcome,
    LlmResult,
    RatedFilm,
    TasteProfile,
    TitleGrounder,
)

__all__ = [
    "BreakerState",
    "Candidate",
    "LlmCache",
    "LlmItem",
    "LlmMode",
    "LlmOutcome",
    "LlmResult",
    "LlmSource",
    "MemoryLlmCache",
    "RatedFilm",
    "TasteProfile",
    "TitleGrounder",
    "create_llm_source",
    "decode_items",
    "encode_items",
    "profile_key",
]

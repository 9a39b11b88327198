"""Caching GigaChat's picks by taste profile: the same likes never pay twice.

``LlmCache`` is the interface the service backs with its store (or Redis); the
in-process ``MemoryLlmCache`` serves the embedded setup and tests. Values are plain
``LlmItem`` tuples; ``encode_items`` / ``decode_items`` give them a JSON form to store.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

from services.recommendations.llm.types import Candidate, Clock, LlmItem, LlmMode, TasteProfile

KEY_VERSION = 2  # 2: the order of likes is part of the taste


class LlmCache(Protocol):
    async def get(self, key: str) -> tuple[LlmItem, ...] | None:
        """The cached picks, or None when absent or expired."""
        ...

    async def put(self, key: str, items: tuple[LlmItem, ...], ttl_seconds: float) -> None: ...


def profile_key(
    profile: TasteProfile,
    mode: LlmMode,
    model: str,
    limit: int,
    candidates: Sequence[Candidate] = (),
) -> str:
    """A stable hash of what the answer depends on.

    Liked and disliked ids in the order the prompt names them (newest first: the order
    is part of the taste, see ``engines.RECENCY``), mode,
    model and size; for rerank also the candidate ids, because only they can come
    out. Exclusions are left out: the caller filters them from any answer.
    """
    basis = {
        "v": KEY_VERSION,
        "mode": mode.value,
        "model": model,
        "limit": limit,
        "liked": [film.film_id for film in profile.liked],
        "disliked": [film.film_id for film in profile.disliked],
        "candidates": sorted(c.film_id for c in candidates),
    }
    digest = hashlib.sha256(json.dumps(basis, separators=(",", ":")).encode()).hexdigest()
    return f"llm:{mode.value}:{digest}"


def encode_items(items: Sequence[LlmItem]) -> str:
    return json.dumps(
        [{"film_id": item.film_id, "reason": item.reason} for item in items], ensure_ascii=False
    )


def decode_items(text: str) -> tuple[LlmItem, ...]:
    return tuple(LlmItem(str(row["film_id"]), str(row["reason"])) for row in json.loads(text))


class MemoryLlmCache:
    """In-process TTL cache, least recently used entries evicted past ``max_entries``."""

    def __init__(self, clock: Clock, max_entries: int = 10_000) -> None:
        self._clock = clock
        self._max = max_entries
        self._entries: OrderedDict[str, tuple[float, tuple[LlmItem, ...]]] = OrderedDict()

    async def get(self, key: str) -> tuple[LlmItem, ...] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, items = entry
        if self._clock() >= expires_at:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return items

    async def put(self, key: str, items: tuple[LlmItem, ...], ttl_seconds: float) -> None:
        if ttl_seconds <= 0:
            return
        self._entries[key] = (self._clock() + ttl_seconds, items)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

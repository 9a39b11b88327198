"""What the recommendation service keeps: stored lists, the likes projection, refresh results.

Times are integer microseconds since the epoch (UTC), as in the likes service.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass

from services.recommendations.engines import Reason, Recommended, Source


@dataclass(frozen=True)
class StoredList:
    """A user's current recommendations, best first, and how they were made."""

    user_id: str
    items: tuple[Recommended, ...]
    generate_us: int
    fallback: bool
    sources: tuple[Source, ...] = ()  # the sources that contributed, strongest first
    llm_used: bool = False

    @property
    def film_ids(self) -> tuple[str, ...]:
        return tuple(item.film_id for item in self.items)


@dataclass(frozen=True)
class Taste:
    """One user's verdicts from the likes projection; newest first."""

    liked: tuple[str, ...] = ()
    disliked: tuple[str, ...] = ()
    excluded: frozenset[str] = frozenset()
    seeds: tuple[tuple[str, int], ...] = ()  # "more like this": (film, when pressed)
    rated_us: tuple[int, ...] = ()  # when each like or dislike was last given

    @property
    def hidden(self) -> frozenset[str]:
        """Films never to show this user: rated or excluded."""
        return frozenset(self.liked) | frozenset(self.disliked) | self.excluded


class Change(enum.IntEnum):
    """What one likes event does to the projection (numbers: likes' ``EventKind``)."""

    LIKED = 1
    DISLIKED = 2
    CLEARED = 3
    EXCLUDED = 4
    INCLUDED = 5
    MORE_LIKE_THIS = 6


@dataclass(frozen=True)
class LikesEvent:
    """One event of the likes log as the pipeline consumes it."""

    sequence: int
    user_id: str
    film_id: str
    change: Change
    time_us: int


def encode_items(items: tuple[Recommended, ...]) -> str:
    return json.dumps(
        [
            {
                "film_id": item.film_id,
                "score": item.score,
                "sources": [source.value for source in item.sources],
                "reasons": [
                    {"text": r.text, "source": r.source.value, "seed": r.seed_film_id}
                    for r in item.reasons
                ],
            }
            for item in items
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def decode_items(text: str) -> tuple[Recommended, ...]:
    return tuple(
        Recommended(
            str(row["film_id"]),
            float(row["score"]),
            tuple(Source(s) for s in row["sources"]),
            tuple(Reason(r["text"], Source(r["source"]), r["seed"]) for r in row["reasons"]),
        )
        for row in json.loads(text)
    )


def visible_items(stored: StoredList, taste: Taste) -> tuple[Recommended, ...]:
    """The list as the user may see it now: films rated or excluded since it was made go."""
    hidden = taste.hidden
    return tuple(item for item in stored.items if item.film_id not in hidden)


def visible_page(
    stored: StoredList, taste: Taste, offset: int, size: int
) -> tuple[tuple[Recommended, ...], bool]:
    """``size`` visible items from ``offset``, and whether more follow them."""
    visible = visible_items(stored, taste)
    return visible[offset : offset + size], offset + size < len(visible)

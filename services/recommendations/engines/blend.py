"""Weighted reciprocal-rank fusion of the sources, filters, light diversity, reasons.

Each source's ranked list adds ``weight * scale / (rrf_k + rank)`` to a film's score.
Films the user rated or excluded are dropped whatever the sources say. A film some
personal source (collaborative, content, a seed, GigaChat) proposed comes before every
film only popularity proposed, and personal picks are ordered by the personal sources'
shares alone: top rated and most liked fill the list once the personal sources run out,
and otherwise only break exact ties. Then no more than
``per_franchise`` films of one franchise and ``per_director`` of one director lead
the list; the rest are moved behind, not dropped. Each film's reasons come from its
contributing sources, strongest first.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from services.recommendations.engines.types import (
    Candidate,
    FilmInfo,
    Profile,
    RankedList,
    Reason,
    Source,
)


@dataclass(frozen=True)
class BlendConfig:
    """Weights of the ranked lists, by list name, and the diversity caps."""

    ease: float = 1.0
    knn: float = 0.15
    content: float = 0.05
    seed: float = 1.5  # "more like this": films similar to a seed film, times its pull
    llm: float = 1.0
    top_rated: float = 0.05
    most_liked: float = 0.1
    rrf_k: float = 10.0  # small: the top of each list counts most
    collaborative_prior_users: float = 20.0  # ease and knn count n / (n + this) for n likers
    content_when_cold: float = 1.0  # content's weight while no one's likes back ease and knn
    per_franchise: int = 2
    per_director: int = 3

    def weight(self, name: str) -> float:
        value = getattr(self, name, 0.0)
        return float(value) if isinstance(value, int | float) else 0.0


@dataclass(frozen=True)
class Recommended:
    film_id: str
    score: float
    sources: tuple[Source, ...]  # strongest first
    reasons: tuple[Reason, ...]  # strongest first


HIGHLY_RATED = "Высокий рейтинг"
POPULAR_WITH_VIEWERS = "Популярно у зрителей"  # noqa: RUF001 (Russian text)

_NUMBERED = re.compile(r"^(\d+|[ivx]+|part|chapter|episode|vol|volume)$")
_YEAR = re.compile(r"\(\s*\d{4}\s*\)")


@functools.lru_cache(maxsize=65_536)
def franchise_key(title: str) -> str:
    """The normalised title stem before a colon or a sequel number.

    "Toy Story 2 (1999)", "Toy Story" -> "toy story"; "Star Wars: Episode IV" ->
    "star wars"; "The Godfather Part II" -> "godfather".
    """
    text = unicodedata.normalize("NFKD", title).casefold()
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _YEAR.sub(" ", text).split(":")[0].split(" - ")[0]
    words = re.findall(r"\w+", text)
    stem: list[str] = []
    for word in words:
        if stem and _NUMBERED.match(word):
            break
        stem.append(word)
    if len(stem) > 1 and stem[0] in {"the", "a", "an"}:
        stem = stem[1:]
    return " ".join(stem) or title.casefold()


def _reason(
    ranked: RankedList, candidate: Candidate, films: Mapping[str, FilmInfo]
) -> Reason | None:
    because = films.get(candidate.because_of) if candidate.because_of else None
    if ranked.source is Source.LLM:
        text = f"Выбор GigaChat: {candidate.note}" if candidate.note else "Выбор GigaChat"
        return Reason(text, Source.LLM)
    if ranked.source is Source.POPULAR:
        text = HIGHLY_RATED if ranked.name == "top_rated" else POPULAR_WITH_VIEWERS
        return Reason(text, Source.POPULAR)
    if because is None:
        return None
    if ranked.source is Source.COLLABORATIVE:
        return Reason(f"Потому что вам понравился «{because.title}»", ranked.source, because.id)
    return Reason(f"Похоже на «{because.title}»", ranked.source, because.id)


def blend(
    lists: Sequence[RankedList],
    profile: Profile,
    films: Mapping[str, FilmInfo],
    config: BlendConfig = BlendConfig(),
    limit: int = 20,
) -> list[Recommended]:
    """Fuse the ranked lists into at most ``limit`` recommendations for ``profile``."""
    hidden = profile.hidden | {seed.film_id for seed in profile.seeds}
    fused: dict[str, float] = {}
    personal: dict[str, float] = {}
    contributions: dict[str, list[tuple[float, int, Candidate]]] = {}
    for position, ranked in enumerate(lists):
        weight = config.weight(ranked.name) * ranked.scale
        if weight <= 0:
            continue
        rank = 0
        for candidate in ranked.candidates:
            if candidate.film_id in hidden:
                continue
            rank += 1
            share = weight / (config.rrf_k + rank)
            fused[candidate.film_id] = fused.get(candidate.film_id, 0.0) + share
            contributions.setdefault(candidate.film_id, []).append((share, position, candidate))
            if ranked.source is not Source.POPULAR:
                personal[candidate.film_id] = personal.get(candidate.film_id, 0.0) + share
    order = sorted(fused, key=lambda f: (f not in personal, -personal.get(f, 0.0), -fused[f], f))
    chosen = _diversify(order, films, config, limit)
    result = []
    for film_id in chosen:
        parts = sorted(contributions[film_id], key=lambda part: -part[0])
        sources = tuple(dict.fromkeys(lists[p].source for _, p, _ in parts))
        reasons = [_reason(lists[p], candidate, films) for _, p, candidate in parts]
        unique = tuple({r.text: r for r in reasons if r is not None}.values())
        result.append(Recommended(film_id, fused[film_id], sources, unique))
    return result


def _diversify(
    order: Sequence[str], films: Mapping[str, FilmInfo], config: BlendConfig, limit: int
) -> list[str]:
    franchises: Counter[str] = Counter()
    directors: Counter[str] = Counter()
    kept: list[str] = []
    deferred: list[str] = []
    for film_id in order:
        if len(kept) >= limit:
            break
        film = films.get(film_id)
        franchise = franchise_key(film.title) if film else film_id
        people = [d.casefold() for d in film.directors] if film else []
        if franchises[franchise] >= config.per_franchise or any(
            directors[d] >= config.per_director for d in people
        ):
            deferred.append(film_id)
            continue
        franchises[franchise] += 1
        directors.update(people)
        kept.append(film_id)
    return (kept + deferred)[:limit]

"""How long "more like this" lasts: a seed's pull fades with time and with what the
user does next, so one press shapes the list for a while instead of only the next
refresh, and several seeds can pull at once.

A seed pressed ``t`` ago, followed by ``n`` likes or dislikes, pulls with weight
``0.5 ** (t / half_life) * per_action ** n`` (1 when just pressed); below ``FADED`` it is
gone. A seed film the user then disliked or excluded pulls no more.
"""

from __future__ import annotations

from services.recommendations.engines import Seed
from services.recommendations.records import Taste

FADED = 0.1  # a seed weaker than this no longer counts


def fading_seeds(
    taste: Taste, now_us: int, half_life_seconds: float, per_action: float
) -> tuple[Seed, ...]:
    """The user's seeds still pulling, strongest first."""
    turned_away = frozenset(taste.disliked) | taste.excluded
    seeds = []
    for film_id, pressed_us in taste.seeds:
        if film_id in turned_away:
            continue
        age = max(0, now_us - pressed_us) / 1_000_000
        later = sum(1 for rated_us in taste.rated_us if rated_us > pressed_us)
        weight = 0.5 ** (age / half_life_seconds) * per_action**later
        if weight >= FADED:
            seeds.append(Seed(film_id, weight))
    return tuple(sorted(seeds, key=lambda seed: -seed.weight))


def with_pressed(seeds: tuple[Seed, ...], film_id: str | None) -> tuple[Seed, ...]:
    """``seeds`` with ``film_id`` (pressed just now, not yet in the projection) at full pull."""
    if film_id is None:
        return seeds
    return (Seed(film_id), *(seed for seed in seeds if seed.film_id != film_id))

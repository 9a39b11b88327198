import pytest

from services.recommendations.engines import Seed
from services.recommendations.records import Taste
from services.recommendations.seeds import fading_seeds, with_pressed

HOUR_US = 3_600 * 1_000_000
DAY = 86_400.0


def _weight(taste: Taste, now_us: int) -> float:
    found = fading_seeds(taste, now_us, half_life_seconds=DAY, per_action=0.8)
    return found[0].weight if found else 0.0


def test_a_seed_pulls_fully_when_pressed_and_halves_each_half_life() -> None:
    now = 30 * HOUR_US
    taste = Taste(seeds=(("fresh", now), ("day-old", now - 24 * HOUR_US)))
    seeds = fading_seeds(taste, now, half_life_seconds=DAY, per_action=0.8)
    assert seeds == (Seed("fresh", 1.0), Seed("day-old", 0.5))
    assert _weight(Taste(seeds=(("old", now - 4 * 24 * HOUR_US),)), now) == 0.0  # 1/16: gone


def test_each_later_like_or_dislike_fades_a_seed_until_it_is_gone() -> None:
    pressed = 1_000

    def after(verdicts: int) -> Taste:
        later = tuple(range(pressed + verdicts, pressed, -1))
        return Taste(seeds=(("s", pressed),), rated_us=(*later, pressed - 1))

    assert _weight(after(0), pressed) == 1.0
    assert _weight(after(1), pressed) == pytest.approx(0.8)
    assert _weight(after(10), pressed) == pytest.approx(0.8**10)
    assert _weight(after(11), pressed) == 0.0


def test_a_seed_film_disliked_or_excluded_afterwards_pulls_no_more() -> None:
    seeds = (("disliked", 1), ("excluded", 1), ("kept", 1))
    taste = Taste(disliked=("disliked",), excluded=frozenset({"excluded"}), seeds=seeds)
    assert fading_seeds(taste, 1, half_life_seconds=DAY, per_action=0.8) == (Seed("kept"),)


def test_the_film_pressed_now_leads_at_full_pull_once() -> None:
    faded = (Seed("a", 0.4), Seed("b", 0.3))
    assert with_pressed(faded, "b") == (Seed("b"), Seed("a", 0.4))
    assert with_pressed(faded, None) == faded

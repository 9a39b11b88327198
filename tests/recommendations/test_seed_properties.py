"""Property: «Рекомендовать подобное» lifts the seed's nearest film, and one more like
later it still ranks higher than it would without the press."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from services.recommendations.engines import FilmInfo, Interaction, Profile, Recommender, Seed
from services.recommendations.engines_state import engine_config

FILMS = [
    FilmInfo(
        f"f{n}",
        f"Title{n} Story",  # one franchise each: the diversity caps work by director here
        2000 + n,
        (("Drama", "Crime", "Sci-Fi", "Romance")[n % 4], ("War", "Comedy")[n % 2]),
        (f"Director {n % 5}",),
        actors=(f"Actor {n % 7}", f"Actor {(n * 3) % 11}"),
        rating=5 + n % 5,
    )
    for n in range(24)
]
IDS = [f.id for f in FILMS]
ENGINES = Recommender.fit(
    FILMS,
    [
        Interaction(f"u{n}", IDS[(n * 5 + k) % 24], 1 if k % 4 else -1)
        for n in range(30)
        for k in range(6)
    ],
    engine_config({}),
)
FADED_ONCE = 0.8  # one later like: the default CINEMA_RECOMMENDATIONS_SEED_FADE_PER_ACTION

films = st.sampled_from(IDS)


def _placed(profile: Profile, film_id: str) -> tuple[int, float]:
    """(rank, score) of the film in the profile's whole list; (len, 0) when absent."""
    items = ENGINES.recommend(profile, limit=len(IDS)).items
    for rank, item in enumerate(items):
        if item.film_id == film_id:
            return rank, item.score
    return len(IDS), 0.0


def _lifted(pressed: Profile, unpressed: Profile, film_id: str) -> bool:
    """The press scores the film higher and ranks it no lower."""
    (rank, score), (rank_without, score_without) = (
        _placed(pressed, film_id),
        _placed(unpressed, film_id),
    )
    return score > score_without and rank <= rank_without


@settings(max_examples=80, deadline=None)
@given(st.lists(films, max_size=6, unique=True), films, films)
def test_the_seeds_nearest_film_rises_and_stays_higher_after_one_more_like(
    liked: list[str], seed: str, next_like: str
) -> None:
    assume(seed not in liked)
    nearest = ENGINES.similar(seed, limit=1, hidden=frozenset(liked))
    assume(nearest)
    film = nearest[0].film_id
    assume(next_like not in (seed, film, *liked))
    assert _lifted(Profile(tuple(liked), seeds=(Seed(seed),)), Profile(tuple(liked)), film)
    later = (next_like, *liked)  # newest first
    assert _lifted(Profile(later, seeds=(Seed(seed, FADED_ONCE),)), Profile(later), film)

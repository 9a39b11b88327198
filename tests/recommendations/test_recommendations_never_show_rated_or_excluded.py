"""Property: whatever the history, a user never sees a film they rated or excluded."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from services.recommendations.engines import FilmInfo, Interaction, Profile, Recommender, Seed
from services.recommendations.engines_state import engine_config
from services.recommendations.records import StoredList, Taste, visible_items

FILMS = [
    FilmInfo(
        f"f{n}",
        f"Film {n}",
        2000 + n,
        (("Drama", "Crime", "Sci-Fi")[n % 3],),
        (f"D{n % 4}",),
        rating=5 + n % 5,
    )
    for n in range(15)
]
IDS = [f.id for f in FILMS]
ENGINES = Recommender.fit(
    FILMS,
    [
        Interaction(f"u{n}", IDS[(n * 7 + k) % 15], 1 if k % 3 else -1)
        for n in range(20)
        for k in range(4)
    ],
    engine_config({}),
)

films = st.sampled_from(IDS)
histories = st.tuples(
    st.lists(films, max_size=8, unique=True),
    st.lists(films, max_size=5, unique=True),
    st.lists(films, max_size=5, unique=True),
    st.lists(st.tuples(films, st.floats(0.1, 1.0)), max_size=3, unique_by=lambda s: s[0]),
)


def _seeds(pairs: list[tuple[str, float]]) -> tuple[Seed, ...]:
    return tuple(Seed(film_id, weight) for film_id, weight in pairs)


@settings(max_examples=60, deadline=None)
@given(histories)
def test_rated_and_excluded_films_are_never_recommended(
    history: tuple[list[str], list[str], list[str], list[tuple[str, float]]],
) -> None:
    liked, disliked, excluded, seeds = history
    disliked = [f for f in disliked if f not in liked]
    profile = Profile(tuple(liked), tuple(disliked), frozenset(excluded), _seeds(seeds))
    shown = {item.film_id for item in ENGINES.recommend(profile, limit=15).items}
    assert not shown & profile.hidden


@settings(max_examples=60, deadline=None)
@given(histories, st.lists(films, max_size=5), st.lists(films, max_size=5))
def test_films_rated_or_excluded_after_a_list_was_made_are_hidden_when_read(
    history: tuple[list[str], list[str], list[str], list[tuple[str, float]]],
    rated_later: list[str],
    excluded_later: list[str],
) -> None:
    liked, disliked, excluded, seeds = history
    profile = Profile(tuple(liked), tuple(disliked), frozenset(excluded), _seeds(seeds))
    made = ENGINES.recommend(profile, limit=15)
    stored = StoredList("u", tuple(made.items), 1, made.fallback)
    now = Taste((*liked, *rated_later), tuple(disliked), frozenset(excluded) | set(excluded_later))
    shown = {item.film_id for item in visible_items(stored, now)}
    assert not shown & now.hidden
    assert shown == {i.film_id for i in made.items} - now.hidden

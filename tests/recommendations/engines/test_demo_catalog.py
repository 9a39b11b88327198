"""What a new user of the demo catalog meets, as the issue that tried it described.

Few users exist, and one of them liked a block of famous films: their likes must not
become everyone's list, and "more like this" must lead without taking over.
"""

from __future__ import annotations

from functools import cache

from etl.demo import read_films
from services.recommendations.engines import FilmInfo, Interaction, Profile, Recommender, Seed
from services.recommendations.engines.blend import POPULAR_WITH_VIEWERS

#: The one other user: a block of famous films (and Toy Story).
THEIRS = ("The Godfather", "The Matrix", "Inception", "Star Wars", "Alien", "Toy Story")
#: Newest first.
PIXAR_FAN = ("WALL·E", "Shrek", "Spirited Away", "Finding Nemo", "Toy Story")


@cache
def _recommender() -> Recommender:
    films = [
        FilmInfo(
            row["title"],
            row["title"],
            row.get("year"),
            tuple(row.get("genres", ())),
            tuple(row.get("directors", ())),
            tuple(row.get("writers", ())),
            tuple(row.get("actors", ())),
            row.get("description", ""),
            row.get("rating"),
            row.get("type", ""),
        )
        for row in read_films()
    ]
    return Recommender.fit(films, [Interaction("other", title, 1) for title in THEIRS])


def test_one_persons_likes_do_not_become_a_new_users_list() -> None:
    recommender = _recommender()
    assert set(THEIRS) | set(PIXAR_FAN) <= set(recommender.films)
    top = recommender.recommend(Profile(liked=PIXAR_FAN), limit=10).items
    films = [recommender.films[item.film_id] for item in top]
    assert not {f.id for f in films} & set(THEIRS)
    assert sum("Animation" in f.genres for f in films) >= 8
    assert all(f.kind == "movie" for f in films)  # no top-rated series in a personal list
    assert POPULAR_WITH_VIEWERS not in {r.text for item in top for r in item.reasons}


def test_more_like_this_leads_the_list_without_taking_it_over() -> None:
    profile = Profile(liked=PIXAR_FAN, seeds=(Seed("The Godfather"),))
    top = _recommender().recommend(profile, limit=20).items
    seeded = ["Похоже на «The Godfather»" in {r.text for r in item.reasons} for item in top]
    assert all(seeded[:5])
    assert "The Godfather Part II" in [item.film_id for item in top[:3]]
    assert sum(seeded) <= 15  # the user's own taste keeps a share of the list


def test_a_reason_names_the_liked_film_the_pick_is_like() -> None:
    top = _recommender().recommend(Profile(liked=("Star Wars", "Alien")), limit=20).items
    first_reason = {item.film_id: item.reasons[0].text for item in top}
    assert first_reason["Aliens"] == "Похоже на «Alien»"
    assert first_reason["The Empire Strikes Back"] == "Похоже на «Star Wars»"

import numpy as np

from services.recommendations.engines import FilmInfo, ItemIndex, Profile
from services.recommendations.engines.content import ContentModel
from tests.recommendations.engines.catalog import SCI_FI, films

EXTRAS = [f"Extra {n}" for n in range(9)]


def _model(catalog: list[FilmInfo]) -> ContentModel:
    return ContentModel.fit(catalog, ItemIndex(f.id for f in catalog))


def test_user_who_likes_sci_fi_gets_sci_fi_without_any_interactions() -> None:
    model = _model(films())
    profile = Profile(liked=("s1",))
    scores = model.score(profile)
    ranked = [model.index.ids[c] for c in np.argsort(-scores) if model.index.ids[c] != "s1"]
    assert set(ranked[:3]) == set(SCI_FI) - {"s1"}


def test_first_billed_actor_weighs_more_than_the_tenth() -> None:
    catalog = [
        FilmInfo("seed", "Seed", actors=("Star", *EXTRAS)),
        FilmInfo("lead", "Lead", actors=("Star", "Other A")),
        FilmInfo("cameo", "Cameo", actors=(*(f"Other {n}" for n in range(9)), "Star")),
    ]
    similarity = _model(catalog).similar_to(0)
    assert similarity[1] > similarity[2] > 0


def test_shared_director_weighs_more_than_shared_writer() -> None:
    catalog = [
        FilmInfo("seed", "Seed", directors=("Auteur",), writers=("Scribe",)),
        FilmInfo("directed", "Directed", directors=("Auteur",), writers=("Someone",)),
        FilmInfo("written", "Written", directors=("Another",), writers=("Scribe",)),
    ]
    similarity = _model(catalog).similar_to(0)
    assert similarity[1] > similarity[2]


def test_dislike_pushes_down_films_like_the_disliked_one() -> None:
    model = _model(films())
    liking = model.score(Profile(liked=("s1",)))
    disliking = model.score(Profile(liked=("s1",), disliked=("r1",)))
    r2 = model.index.column("r2")
    assert disliking[r2] < liking[r2]


def test_content_explains_with_the_most_similar_liked_film() -> None:
    model = _model(films())
    assert model.explain(Profile(liked=("s1", "r1")), ["s2", "r3"]) == ["s1", "r1"]


def test_russian_and_english_stop_words_make_no_likeness() -> None:
    catalog = [
        FilmInfo("seed", "Один", description="Он и она были в городе, когда это случилось"),
        FilmInfo("words", "Два", description="Она и он были в доме, когда это было"),
        FilmInfo("english", "Three", description="It was what they were when it was there"),
        FilmInfo("city", "Четыре", description="Ночь в городе"),
    ]
    similarity = _model(catalog).similar_to(0)
    assert similarity[3] > 0  # "городе": a word that says something
    assert similarity[1] == 0.0 and similarity[2] == 0.0


def test_a_tv_show_is_less_like_a_film_than_a_film_of_the_same_genres() -> None:
    catalog = [
        FilmInfo("seed", "Seed", genres=("Drama", "War"), kind="movie"),
        FilmInfo("film", "Film", genres=("Drama", "War"), kind="movie"),
        FilmInfo("series", "Series", genres=("Drama", "War"), kind="tv_show"),
    ]
    similarity = _model(catalog).similar_to(0)
    assert similarity[1] > similarity[2] > 0


def test_word_forms_are_one_term_in_russian_and_english() -> None:
    catalog = [
        FilmInfo("seed", "Один", description="Фильмы про пришельцев"),
        FilmInfo("forms", "Два", description="Фильм про пришельца"),
        FilmInfo("aliens", "Aliens", description="The aliens are coming"),
        FilmInfo("alien", "Alien", description="An alien comes"),
        FilmInfo("none", "Три", description="Ночь в доме"),
    ]
    similarity = _model(catalog).similar_to(0)
    assert similarity[1] > 0 and similarity[4] == 0.0
    assert _model(catalog).similar_to(2)[3] > 0  # "aliens", "alien"; "coming", "comes"

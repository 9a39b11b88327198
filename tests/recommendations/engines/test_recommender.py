from services.recommendations.engines import (
    FilmInfo,
    Interaction,
    LlmPick,
    Profile,
    Recommender,
    Source,
)
from tests.recommendations.engines.catalog import ROMANCE, SCI_FI, films, two_tastes


def _recommender() -> Recommender:
    catalog = [
        *films(),
        FilmInfo("classic", "Old Classic", 1950, ("Drama",), rating=9.5),
        FilmInfo("meh", "Meh", 2010, ("Drama",), rating=4.0),
    ]
    return Recommender.fit(catalog, two_tastes())


def test_user_with_no_likes_gets_top_rated_marked_as_fallback() -> None:
    result = _recommender().recommend(Profile())
    assert result.fallback
    assert result.items[0].film_id == "classic"
    assert result.items[0].reasons[0].text == "Высокий рейтинг"


def test_user_who_likes_sci_fi_gets_sci_fi_first_with_a_reason_naming_a_liked_film() -> None:
    result = _recommender().recommend(Profile(liked=("s1", "s2")), limit=5)
    assert not result.fallback
    assert {r.film_id for r in result.items[:2]} == {"s3", "s4"}
    first = result.items[0]
    assert first.sources[0] is Source.COLLABORATIVE
    assert first.reasons[0].text in {
        "Потому что вам понравился «Star Voyage s1»",
        "Потому что вам понравился «Star Voyage s2»",
    }


def test_excluded_and_rated_films_are_never_recommended() -> None:
    profile = Profile(liked=("s1",), disliked=("r1",), excluded=frozenset({"s2"}))
    llm = [LlmPick("s2", "из списка"), LlmPick("r1", "тоже"), LlmPick("s3", "хороший")]
    shown = {r.film_id for r in _recommender().recommend(profile, limit=50, llm=llm).items}
    assert not shown & {"s1", "r1", "s2"}
    assert "s3" in shown


def test_more_like_this_seed_moves_similar_films_up() -> None:
    recommender = _recommender()
    liked = ("s1", "s2", "s3", "s4")
    before = [r.film_id for r in recommender.recommend(Profile(liked=liked), limit=10).items]
    seeded = Profile(liked=liked, seed_film_id="r1")
    after = recommender.recommend(seeded, limit=10).items
    position = {r.film_id: n for n, r in enumerate(after)}
    for film in ("r2", "r3", "r4"):
        assert position[film] < before.index(film)
    assert after[0].reasons[0].text == "Похоже на «Paris Love r1»"


def test_gigachat_pick_carries_its_reason() -> None:
    result = _recommender().recommend(Profile(liked=("s1",)), llm=[LlmPick("meh", "неожиданно")])
    [pick] = [r for r in result.items if r.film_id == "meh"]
    assert "Выбор GigaChat: неожиданно" in [r.text for r in pick.reasons]


def test_similar_films_blend_content_and_co_likes() -> None:
    similar = _recommender().similar("r1", limit=3)
    assert {r.film_id for r in similar} == set(ROMANCE) - {"r1"}
    assert similar[0].reasons[0].seed_film_id == "r1"
    assert {s for r in similar for s in r.sources} == {Source.CONTENT, Source.COLLABORATIVE}


def test_refit_with_new_likes_changes_the_list() -> None:
    recommender = _recommender()
    history = [
        *two_tastes(),
        *(Interaction(f"new{n}", f, 1) for n in range(9) for f in ("s1", "meh")),
    ]
    refitted = recommender.refit(history)
    shown = [r.film_id for r in refitted.recommend(Profile(liked=("s1",)), limit=3).items]
    assert shown[0] == "meh"
    assert SCI_FI[0] not in shown


def test_engines_fit_before_any_film_or_like_exists() -> None:
    empty = Recommender.fit([], [])
    assert empty.recommend(Profile(), limit=5).items == []
    no_likes = Recommender.fit(films(), [])
    result = no_likes.recommend(Profile(), limit=3)
    assert result.fallback and len(result.items) == 3
    assert no_likes.refit([]).recommend(Profile(), limit=3).items == result.items

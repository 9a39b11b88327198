from services.recommendations.engines import (
    BlendConfig,
    EngineConfig,
    FilmInfo,
    Interaction,
    LlmPick,
    Profile,
    Recommender,
    Seed,
    Source,
)
from tests.recommendations.engines.catalog import ROMANCE, SCI_FI, films, two_tastes

#: Six users stand for a crowd here: their likes count fully (see the one-fan test).
CROWD = EngineConfig(blend=BlendConfig(collaborative_prior_users=0))


def _recommender() -> Recommender:
    catalog = [
        *films(),
        FilmInfo("classic", "Old Classic", 1950, ("Drama",), rating=9.5),
        FilmInfo("meh", "Meh", 2010, ("Drama",), rating=4.0),
    ]
    return Recommender.fit(catalog, two_tastes(), CROWD)


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
    seeded = Profile(liked=liked, seeds=(Seed("r1"),))
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


def test_the_newest_likes_lead_the_list() -> None:
    recommender = _recommender()
    # Newest first: a romance fan who once liked one sci-fi film, and the other way round.
    now_romance = recommender.recommend(Profile(liked=("r1", "r2", "s1")), limit=3).items
    now_sci_fi = recommender.recommend(Profile(liked=("s1", "s2", "r1")), limit=3).items
    assert {r.film_id for r in now_romance[:2]} == {"r3", "r4"}
    assert {r.film_id for r in now_sci_fi[:2]} == {"s3", "s4"}


def test_popular_films_only_fill_the_list_after_the_personal_picks() -> None:
    items = _recommender().recommend(Profile(liked=("s1",)), limit=20).items
    order = [r.film_id for r in items]
    personal = [n for n, r in enumerate(items) if Source.POPULAR not in r.sources[:1]]
    assert "classic" in order  # the best rated film still fills the list...
    assert order.index("classic") > max(personal)  # ...behind every personal pick
    assert items[order.index("classic")].reasons[0].text == "Высокий рейтинг"


def test_one_persons_likes_do_not_outweigh_what_the_films_are() -> None:
    # One other user liked s1 and every romance: "people who liked s1 also liked r1-r4"
    # is one person's taste; the films like s1 are the sci-fi ones.
    one_fan = [Interaction("u0", f, 1) for f in ("s1", *ROMANCE)]
    recommender = Recommender.fit(films(), one_fan)
    top = recommender.recommend(Profile(liked=("s1",)), limit=3).items
    assert {r.film_id for r in top} == {"s2", "s3", "s4"}
    assert recommender.collaborative_confidence < 0.1
    crowd = Recommender.fit(films(), two_tastes(users=200))
    assert crowd.collaborative_confidence > 0.8


def test_seeds_coexist_and_a_faded_seed_pulls_less() -> None:
    recommender = _recommender()
    liked = ("classic",)
    both = recommender.recommend(Profile(liked=liked, seeds=(Seed("r1"), Seed("s1"))), limit=8)
    seeds_named = {reason.seed_film_id for item in both.items for reason in item.reasons}
    assert {"r1", "s1"} <= seeds_named
    assert not {"r1", "s1"} & {r.film_id for r in both.items}  # a seed is not its own pick
    strong = recommender.recommend(Profile(liked=liked, seeds=(Seed("r1", 1.0),)), limit=8)
    faded = recommender.recommend(Profile(liked=liked, seeds=(Seed("r1", 0.05),)), limit=8)
    assert strong.items[0].score > faded.items[0].score
    assert strong.items[0].reasons[0].seed_film_id == "r1"

from hypothesis import given, settings
from hypothesis import strategies as st

from services.recommendations.engines import BlendConfig, FilmInfo, Profile, Source, blend
from services.recommendations.engines.blend import franchise_key
from services.recommendations.engines.types import Candidate, RankedList

FILM_IDS = [f"f{n}" for n in range(30)]
CATALOG = {
    f: FilmInfo(f, f"Title {f}", directors=(f"Director {int(f[1:]) % 4}",)) for f in FILM_IDS
}
LIST_NAMES = [
    ("ease", Source.COLLABORATIVE),
    ("knn", Source.COLLABORATIVE),
    ("content", Source.CONTENT),
    ("seed", Source.CONTENT),
    ("llm", Source.LLM),
    ("top_rated", Source.POPULAR),
    ("most_liked", Source.POPULAR),
]
films = st.sampled_from(FILM_IDS)
ranked_lists = st.lists(
    st.builds(
        lambda kind, ids: RankedList(kind[0], kind[1], [Candidate(f, 1.0, "f0") for f in ids]),
        st.sampled_from(LIST_NAMES),
        st.lists(films, max_size=30),
    ),
    max_size=7,
)


@settings(max_examples=200, deadline=None)
@given(
    liked=st.sets(films),
    disliked=st.sets(films),
    excluded=st.sets(films),
    lists=ranked_lists,
    limit=st.integers(1, 30),
)
def test_rated_and_excluded_films_never_recommended(
    liked: set[str], disliked: set[str], excluded: set[str], lists: list[RankedList], limit: int
) -> None:
    profile = Profile(tuple(liked), tuple(disliked), frozenset(excluded))
    recommended = blend(lists, profile, CATALOG, BlendConfig(), limit)
    shown = [r.film_id for r in recommended]
    assert not set(shown) & (liked | disliked | excluded)
    assert len(shown) == len(set(shown)) <= limit


def test_one_franchise_does_not_fill_the_top_of_the_list() -> None:
    saga = {f"saga{n}": FilmInfo(f"saga{n}", f"Space Saga {n}: Part {n}") for n in range(1, 6)}
    names = ["Heat", "Up", "Jaws", "Alien", "Fargo"]
    others = {f"other{n}": FilmInfo(f"other{n}", names[n]) for n in range(5)}
    ranked = RankedList("ease", Source.COLLABORATIVE, [Candidate(f, 1.0) for f in [*saga, *others]])
    shown = [r.film_id for r in blend([ranked], Profile(), {**saga, **others}, limit=10)]
    assert sum(f.startswith("saga") for f in shown[:5]) == 2
    assert len(shown) == 10  # moved behind, not dropped


def test_one_director_is_capped_at_the_top() -> None:
    titles = ["Heat", "Up", "Jaws", "Alien", "Fargo"]
    catalog = {f"d{n}": FilmInfo(f"d{n}", titles[n], directors=("Auteur",)) for n in range(5)}
    catalog["x"] = FilmInfo("x", "Elsewhere", directors=("Someone",))
    ranked = RankedList("content", Source.CONTENT, [Candidate(f, 1.0) for f in catalog])
    shown = [r.film_id for r in blend([ranked], Profile(), catalog, limit=6)]
    assert shown[3] == "x"


def test_franchise_key_is_the_title_stem() -> None:
    assert franchise_key("Toy Story 2 (1999)") == franchise_key("Toy Story") == "toy story"
    assert franchise_key("Star Wars: Episode IV - A New Hope") == "star wars"
    assert franchise_key("The Godfather Part II") == franchise_key("The Godfather")
    assert franchise_key("Alien 3") == franchise_key("Alien")
    assert franchise_key("Seven") != franchise_key("Se7en Reloaded")


def test_reasons_name_the_film_behind_each_source_strongest_first() -> None:
    catalog = {
        "liked": FilmInfo("liked", "Матрица"),
        "similar": FilmInfo("similar", "Бегущий по лезвию"),
        "target": FilmInfo("target", "Терминатор"),
    }
    lists = [
        RankedList("ease", Source.COLLABORATIVE, [Candidate("target", 1.0, "liked")]),
        RankedList("content", Source.CONTENT, [Candidate("target", 1.0, "similar")]),
        RankedList("llm", Source.LLM, [Candidate("target", 1.0, note="киберпанк")]),
    ]
    [item] = blend(lists, Profile(liked=("liked", "similar")), catalog)
    assert item.sources == (Source.COLLABORATIVE, Source.LLM, Source.CONTENT)
    assert [r.text for r in item.reasons] == [
        "Потому что вам понравился «Матрица»",
        "Выбор GigaChat: киберпанк",
        "Похоже на «Бегущий по лезвию»",
    ]
    assert item.reasons[0].seed_film_id == "liked"

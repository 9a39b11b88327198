"""What every catalog backend must do, run against SQLite FTS5 and Elasticsearch."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import warnings

import pytest

from services.catalog.matching import TitleQuery, best_match, search_text
from services.catalog.records import FilmFilter, FilmOrder, FilmType, Role
from services.catalog.store import CatalogStore, open_store
from services.settings import Settings
from tests.etl import legacy_catalog as lc
from tests.reliability.storm import STEPS, cancellation_storm


async def _match(store: CatalogStore, title: str, year: int | None = None) -> str | None:
    query = TitleQuery(title, year)
    candidates = await store.title_candidates(search_text(query), 20)
    found = best_match(query, candidates, 0.8).film
    return found.id if found else None


async def test_film_has_its_genres_and_people_by_role(store: CatalogStore) -> None:
    film = await store.get_film(lc.MATRIX)
    assert film is not None
    assert film.title == "The Matrix" and film.year == 1999 and film.rating == 8.7
    assert [g.name for g in film.genres] == ["Sci-Fi"]
    assert [p.full_name for p in film.directors] == ["Lana Wachowski"]
    assert [p.full_name for p in film.writers] == ["Lana Wachowski"]
    assert [p.id for p in film.actors] == [lc.REEVES]


async def test_unknown_film_is_none_and_batch_skips_it(store: CatalogStore) -> None:
    assert await store.get_film(lc.NO_TITLE) is None
    found = await store.batch_get_films([lc.HEAT, lc.NO_TITLE, lc.MATRIX])
    assert set(found) == {lc.HEAT, lc.MATRIX}


async def test_list_orders_by_rating_with_unknown_last(store: CatalogStore) -> None:
    page = await store.list_films(FilmOrder.RATING_DESC, FilmFilter(), 0, 100)
    ratings = [f.rating for f in page.items]
    assert page.total == lc.VALID_FILMS
    assert ratings[0] == 8.7 and ratings[-1] is None
    known = [r for r in ratings if r is not None]
    assert known == sorted(known, reverse=True)


async def test_list_filters_by_genre_and_type_and_pages(store: CatalogStore) -> None:
    drama = await store.list_films(FilmOrder.TITLE_ASC, FilmFilter(genre_id=lc.DRAMA), 0, 10)
    assert [f.title for f in drama.items] == ["Amélie", "Heat"]
    shows = await store.list_films(FilmOrder.RATING_DESC, FilmFilter(type=FilmType.TV_SHOW), 0, 10)
    assert [f.id for f in shows.items] == [lc.SERIES]
    first = await store.list_films(FilmOrder.YEAR_ASC, FilmFilter(), 0, 3)
    rest = await store.list_films(FilmOrder.YEAR_ASC, FilmFilter(), 3, 10)
    ids = [f.id for f in [*first.items, *rest.items]]
    assert len(ids) == len(set(ids)) == lc.VALID_FILMS


async def test_search_ranks_title_above_description(store: CatalogStore) -> None:
    page = await store.search_films("matrix", 0, 10)
    assert {f.id for f in page.items[:2]} == {lc.MATRIX, lc.MATRIX_RELOADED}
    assert page.items[-1].id == lc.DOCUMENTARY


async def test_search_puts_the_better_known_of_equal_matches_first(store: CatalogStore) -> None:
    page = await store.search_films("matrix", 0, 10)
    assert [f.id for f in page.items[:2]] == [lc.MATRIX, lc.MATRIX_RELOADED]


async def test_search_tolerates_typos_and_pages(store: CatalogStore) -> None:
    assert (await store.search_films("matirx reloaded", 0, 10)).items[0].id == lc.MATRIX_RELOADED
    first = await store.search_films("matrix", 0, 1)
    second = await store.search_films("matrix", 1, 1)
    assert first.total == second.total == 3
    assert first.items[0].id != second.items[0].id


# Elasticsearch's AUTO fuzziness, on both backends: per word, a word of up to two letters
# matches exactly, one of three to five letters within one edit, a longer one within
# two, where swapping two neighbouring letters is one edit (and the first letter counts).
FORGIVEN = [
    ("empire strikes back", lc.EMPIRE),
    ("empire strikse bak", lc.EMPIRE),  # a swap in a long word, a letter short in "back"
    ("emprie strkes bcak", lc.EMPIRE),  # a typo in every word
    ("teh matrix reloaded", lc.MATRIX_RELOADED),  # a swap in a three-letter word: one edit
    ("godfahter", lc.GODFATHER),
    ("godfahtr", lc.GODFATHER),  # a swap and a letter short: two edits in a long word
    ("hxat", lc.HEAT),  # one edit in a four-letter word
    ("hat", lc.HEAT),  # a letter short in a three-letter word
    ("up", lc.UP),
]
NOT_FORGIVEN = [
    "uo",  # two letters match exactly ("up")
    "hxxt",  # four letters: one edit, not two ("heat")
    "empire strikes bkc",  # three letters: one edit, not two ("back")
    "gdfthr",  # a long word: two edits, not three ("godfather")
]


@pytest.mark.parametrize(("query", "film_id"), FORGIVEN, ids=[q for q, _ in FORGIVEN])
async def test_search_forgives_typos_within_auto_fuzziness(
    store: CatalogStore, query: str, film_id: str
) -> None:
    assert [f.id for f in (await store.search_films(query, 0, 10)).items][:1] == [film_id]


@pytest.mark.parametrize("query", NOT_FORGIVEN)
async def test_search_forgives_no_more_than_auto_fuzziness(store: CatalogStore, query: str) -> None:
    found = await store.search_films(query, 0, 10)
    assert (found.total, found.items) == (0, [])


async def test_search_ranks_exact_and_prefix_matches_before_fuzzy_ones(
    store: CatalogStore,
) -> None:
    # "Godmother" is two edits from "godfather" and its title is shorter: relevance alone
    # would put it before the film that has the very word in a longer title.
    godfather = await store.search_films("godfather", 0, 10)
    assert [f.id for f in godfather.items] == [lc.GODFATHER, lc.GODFATHER_II, lc.GODMOTHER]
    # "strike" begins "strikes" (a letter short of it for Elasticsearch) and is two edits
    # from "stripes".
    strike = await store.search_films("strike", 0, 10)
    assert [f.id for f in strike.items] == [lc.EMPIRE, lc.STRIPES]


async def test_search_ignores_accents_and_yo(store: CatalogStore) -> None:
    assert (await store.search_films("amelie", 0, 5)).items[0].id == lc.AMELIE
    assert (await store.search_films("елки", 0, 5)).items[0].id == lc.SERIES


async def test_match_titles_as_an_llm_writes_them(store: CatalogStore) -> None:
    assert await _match(store, "Matrix, The") == lc.MATRIX
    assert await _match(store, "the matrix!") == lc.MATRIX
    assert await _match(store, "The Matirx") == lc.MATRIX
    assert await _match(store, "The Empire Strikse Bak") == lc.EMPIRE
    assert await _match(store, "Heat (1995)") == lc.HEAT
    assert await _match(store, "Heat", 2030) == lc.HEAT_REMAKE
    assert await _match(store, "Gone with the Wind") is None


async def test_genres_are_listed_by_name_with_film_counts(store: CatalogStore) -> None:
    page = await store.list_genres(0, 10)
    assert [(g.name, g.film_count) for g in page.items] == [
        ("Crime", 1),
        ("Drama", 2),
        ("Sci-Fi", 2),
    ]


async def test_person_has_films_with_roles_and_is_searchable(store: CatalogStore) -> None:
    person = await store.get_person(lc.WACHOWSKI)
    assert person is not None
    assert [(pf.film.id, pf.roles) for pf in person.films] == [
        (lc.MATRIX, (Role.DIRECTOR, Role.WRITER))
    ]
    reeves = await store.get_person(lc.REEVES)
    assert reeves is not None and str(reeves.birth_date) == "1964-09-02"
    found = await store.search_persons("keanu reves", 0, 10)
    assert [p.id for p in found.items] == [lc.REEVES]
    assert await store.get_person(lc.GHOST) is None


async def test_reads_cancelled_while_the_store_opens_leave_no_connection_behind(
    store: CatalogStore, catalog_settings: Settings
) -> None:
    # A store opens its connection on first use, inside whichever RPC comes first: that
    # RPC's deadline may cut the opening at any await. Each round opens a fresh store
    # and cancels its first read after one more turn of the event loop than the last;
    # every connection opened must be closed by close(), none left to the collector.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for turns in range(STEPS):
            fresh = await open_store(
                catalog_settings.catalog.search_dsn,
                index_prefix=catalog_settings.catalog.search_index_prefix,
            )
            read = asyncio.ensure_future(fresh.get_film(lc.MATRIX))
            for _ in range(turns):
                await asyncio.sleep(0)
            read.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await read
            film = await fresh.get_film(lc.MATRIX)
            assert film is not None and film.title == "The Matrix"
            await fresh.close()
        gc.collect()
    assert [str(w.message) for w in caught if w.category is ResourceWarning] == []


async def test_a_storm_of_cancelled_reads_leaves_the_store_answering(store: CatalogStore) -> None:
    # Each RPC's deadline may cut its read at any await: a search mid-flight on the
    # Elasticsearch client, a query on SQLite's connection. None may wedge the store.
    async def read(number: int) -> object:
        kind = number % 3
        if kind == 0:
            return await store.get_film(lc.MATRIX)
        if kind == 1:
            return await store.search_films("matrix", 0, 10)
        return await store.get_person(lc.REEVES)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        await cancellation_storm(read, count=300)
        film = await store.get_film(lc.MATRIX)
        assert film is not None and film.title == "The Matrix"
        found = await store.search_films("matrix", 0, 10)
        assert lc.MATRIX in [f.id for f in found.items]
        gc.collect()
    assert [str(w.message) for w in caught if w.category is ResourceWarning] == []

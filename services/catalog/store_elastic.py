"""The production catalog store: the Elasticsearch indexes fed by ``cinema etl sync``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from elasticsearch import AsyncElasticsearch, NotFoundError

from services.catalog import fuzzy
from services.catalog.elastic_schema import (
    FILMS,
    GENRES,
    PERSONS,
    film_from,
    index_name,
    person_from,
    summary_from,
)
from services.catalog.matching import normalise
from services.catalog.records import (
    Film,
    FilmFilter,
    FilmOrder,
    FilmSummary,
    Genre,
    Page,
    Person,
)
from services.catalog.store import After

_SORTS: dict[FilmOrder, list[dict[str, Any]]] = {
    FilmOrder.RATING_DESC: [{"rating": {"order": "desc", "missing": "_last"}}, {"id": "asc"}],
    FilmOrder.RATING_ASC: [{"rating": {"order": "asc", "missing": "_last"}}, {"id": "asc"}],
    FilmOrder.YEAR_DESC: [{"year": {"order": "desc", "missing": "_last"}}, {"id": "asc"}],
    FilmOrder.YEAR_ASC: [{"year": {"order": "asc", "missing": "_last"}}, {"id": "asc"}],
    FilmOrder.TITLE_ASC: [{"title.sort": "asc"}, {"id": "asc"}],
    FilmOrder.TITLE_DESC: [{"title.sort": "desc"}, {"id": "desc"}],
}
# What Elasticsearch sorts a film without the key by (they come last): search_after
# names that value to continue past such a film.
_MISSING_KEY: dict[FilmOrder, float | int | str] = {
    FilmOrder.RATING_DESC: "-Infinity",
    FilmOrder.RATING_ASC: "Infinity",
    FilmOrder.YEAR_DESC: -(2**31),
    FilmOrder.YEAR_ASC: 2**31 - 1,
}
_SUMMARY_FIELDS = ["id", "title", "year", "rating", "genres.name", "type"]
#: Only what a page is built from comes back (less JSON to write, send and parse).
_PAGE_FILTER = ["hits.total", "hits.hits._source"]
#: Matches a search counts exactly: past that, its total says "at least this many". No
#: page starts deeper (services.catalog.paging.MAX_OFFSET), and counting every one of
#: tens of thousands of fuzzy matches was a large share of a broad search's time.
SEARCH_TOTAL_HITS = 10_000
_TITLE_FIELDS = ["title", "title.en", "title.ru"]
_PEOPLE_FIELDS = [f"{role}.full_name" for role in ("directors", "actors", "writers")]
_DESCRIPTION_FIELDS = ["description", "description.en", "description.ru"]
_PERSON_FIELDS = ["full_name", "full_name.en", "full_name.ru"]
#: Typo tolerance, as the SQLite store's (services.catalog.fuzzy): AUTO forgives no edit
#: in 0-2 letters, one in 3-5, two in more; a swap of neighbours is one edit; a typo in
#: the first letter is rare, and skipping it is cheap.
_FUZZY: dict[str, Any] = {
    "fuzziness": "AUTO",
    "fuzzy_transpositions": True,
    "prefix_length": fuzzy.PREFIX_LENGTH,
    "max_expansions": fuzzy.MAX_VARIANTS,
}
# Score added to a match with every word as typed, and to one whose last word is the start
# of a word: they rank before typo matches, as on SQLite. Far above relevance (a film's
# words seldom score past a few hundred), yet small enough for float scores to keep the
# relevance differences within a tier.
_EXACT_BOOST = 1_000_000.0
_PREFIX_BOOST = 10_000.0


def _matches(query: str, fields: list[str], boost: float) -> dict[str, Any]:
    return {
        "multi_match": {
            "query": query,
            "fields": fields,
            "operator": "and",
            **_FUZZY,
            "boost": boost,
        }
    }


def _tiered(found: dict[str, Any], query: str, fields: list[str]) -> dict[str, Any]:
    """What ``found`` finds, exact matches first, then prefix matches, then typo matches."""
    tiers = (("best_fields", _EXACT_BOOST), ("bool_prefix", _PREFIX_BOOST))
    return {
        "bool": {
            "must": [found],
            "should": [
                {
                    "constant_score": {
                        "filter": {
                            "multi_match": {
                                "query": query,
                                "fields": fields,
                                "operator": "and",
                                "type": kind,
                            }
                        },
                        "boost": boost,
                    }
                }
                for kind, boost in tiers
            ],
        }
    }


class ElasticCatalogStore:
    def __init__(self, url: str, index_prefix: str) -> None:
        self._es = AsyncElasticsearch(url, request_timeout=10)
        self._films = index_name(index_prefix, FILMS)
        self._genres = index_name(index_prefix, GENRES)
        self._persons = index_name(index_prefix, PERSONS)

    async def close(self) -> None:
        await self._es.close()

    async def get_film(self, film_id: str) -> Film | None:
        try:
            found = await self._es.get(index=self._films, id=film_id)
        except NotFoundError:
            return None
        return film_from(found["_source"])

    async def batch_get_films(self, film_ids: Sequence[str]) -> dict[str, Film]:
        if not film_ids:
            return {}
        try:
            found = await self._es.mget(index=self._films, ids=list(film_ids))
        except NotFoundError:  # no index yet: nothing has been synced
            return {}
        return {d["_id"]: film_from(d["_source"]) for d in found["docs"] if d.get("found")}

    async def _summaries(
        self,
        body: dict[str, Any],
        offset: int,
        limit: int,
        index: str | None = None,
        total_hits: bool | int = True,
    ) -> Page[FilmSummary]:
        try:
            found = await self._es.search(
                index=index or self._films,
                from_=offset,
                size=limit,
                track_total_hits=total_hits,
                source_includes=_SUMMARY_FIELDS,
                filter_path=_PAGE_FILTER,
                **body,
            )
        except NotFoundError:
            return Page([], 0, offset)
        hits = found.get("hits") or {}
        total = hits.get("total", {}).get("value", 0)
        return Page([summary_from(h["_source"]) for h in hits.get("hits") or ()], total, offset)

    async def list_films(
        self,
        order: FilmOrder,
        film_filter: FilmFilter,
        offset: int,
        limit: int,
        after: After | None = None,
    ) -> Page[FilmSummary]:
        filters: list[dict[str, Any]] = []
        if film_filter.genre_id:
            filters.append({"term": {"genres.id": film_filter.genre_id}})
        if film_filter.type:
            filters.append({"term": {"type": str(film_filter.type)}})
        body: dict[str, Any] = {"query": {"bool": {"filter": filters}}, "sort": _SORTS[order]}
        if after is not None:
            key = _MISSING_KEY[order] if after.key is None else after.key
            body["search_after"] = [key, after.film_id]
        return await self._summaries(body, offset, limit)

    async def search_films(self, query: str, offset: int, limit: int) -> Page[FilmSummary]:
        found = {
            "bool": {
                "should": [
                    # A film whose whole title is the query comes first.
                    {"term": {"title_key": {"value": normalise(query), "boost": 100.0}}},
                    _matches(query, _TITLE_FIELDS, 10.0),
                    _matches(query, _PEOPLE_FIELDS, 3.0),
                    _matches(query, _DESCRIPTION_FIELDS, 1.0),
                ],
                "minimum_should_match": 1,
            }
        }
        relevance = _tiered(found, query, [*_TITLE_FIELDS, *_PEOPLE_FIELDS, *_DESCRIPTION_FIELDS])
        body = {
            # Relevance lifted by the rating, as in the SQLite backend: of two films that
            # match alike, the better-known one comes first.
            "query": {
                "function_score": {
                    "query": relevance,
                    # log10(2 + rating / 20): never zero, at most a third more at 10.
                    "field_value_factor": {
                        "field": "rating",
                        "factor": 0.05,
                        "modifier": "log2p",
                        "missing": 0,
                    },
                    "boost_mode": "multiply",
                }
            },
            "sort": ["_score", {"id": "asc"}],
        }
        return await self._summaries(body, offset, limit, total_hits=SEARCH_TOTAL_HITS)

    async def title_candidates(self, title: str, limit: int) -> list[FilmSummary]:
        body = {
            "query": {"multi_match": {"query": title, "fields": _TITLE_FIELDS, **_FUZZY}},
            "sort": ["_score", {"id": "asc"}],
        }
        return list((await self._summaries(body, 0, limit, total_hits=False)).items)

    async def list_genres(self, offset: int, limit: int) -> Page[Genre]:
        try:
            found = await self._es.search(
                index=self._genres,
                from_=offset,
                size=limit,
                track_total_hits=True,
                sort=[{"name": "asc"}, {"id": "asc"}],
            )
        except NotFoundError:
            return Page([], 0, offset)
        hits = found["hits"]
        genres = [
            Genre(s["id"], s["name"], s.get("description") or "", s.get("film_count") or 0)
            for s in (h["_source"] for h in hits["hits"])
        ]
        return Page(genres, hits["total"]["value"], offset)

    async def get_person(self, person_id: str) -> Person | None:
        try:
            found = await self._es.get(index=self._persons, id=person_id)
        except NotFoundError:
            return None
        return person_from(found["_source"])

    async def search_persons(self, query: str, offset: int, limit: int) -> Page[Person]:
        try:
            found = await self._es.search(
                index=self._persons,
                from_=offset,
                size=limit,
                track_total_hits=True,
                query=_tiered(_matches(query, _PERSON_FIELDS, 1.0), query, _PERSON_FIELDS),
                sort=["_score", {"id": "asc"}],
            )
        except NotFoundError:
            return Page([], 0, offset)
        hits = found["hits"]
        persons = [person_from(h["_source"], max_films=100) for h in hits["hits"]]
        return Page(persons, hits["total"]["value"], offset)

"""CatalogService RPCs: validate the request, read (``reads``, the store), map."""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from cinema.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from services.catalog import convert, matching, paging
from services.catalog.cache import FilmCache
from services.catalog.reads import CatalogReads
from services.catalog.records import FilmFilter
from services.catalog.store import KEYSET_ORDERS, CatalogStore
from services.kit.catalog_client import (
    MAX_BATCH_IDS,
    MAX_MATCH_CHARACTERS,
    MAX_TITLE_CHARACTERS,
    MAX_TITLE_QUERIES,
    normalised_length,
    too_long,
)
from services.kit.errors import InvalidArgument, NotFound
from services.kit.text import words
from services.kit.validation import page_size, required_uuid, required_uuids

#: Like the title limits (services.kit.catalog_client), held as given and once normalised.
MAX_QUERY_CHARACTERS = 200
MAX_QUERY_WORDS = 32
#: Title violations listed one by one; past that a summary keeps the answer small.
MAX_LISTED_VIOLATIONS = 10


def _query(value: str, field: str = "query") -> str:
    text = value.strip()
    if not text:
        raise InvalidArgument({field: "must not be empty"})
    problem = too_long(text, MAX_QUERY_CHARACTERS)
    if problem is None and len(words(text)) > MAX_QUERY_WORDS:
        problem = f"must have at most {MAX_QUERY_WORDS} words"
    if problem:
        raise InvalidArgument({field: problem})
    return text


def _title_violations(titles: Sequence[str]) -> list[tuple[str, str]]:
    """Each title within its limits, and all of them together within theirs."""
    violations: list[tuple[str, str]] = []
    normalised = 0
    for i, title in enumerate(titles):
        blank = not title.strip()
        problem = "must not be empty" if blank else too_long(title, MAX_TITLE_CHARACTERS)
        if problem:
            violations.append((f"queries[{i}].title", problem))
        else:
            normalised += normalised_length(title)
    if len(violations) > MAX_LISTED_VIOLATIONS:
        more = len(violations) - MAX_LISTED_VIOLATIONS
        violations = violations[:MAX_LISTED_VIOLATIONS]
        violations.append(("queries", f"{more} more titles break the same rules"))
    elif not violations and normalised > MAX_MATCH_CHARACTERS:
        violations.append(
            ("queries", f"titles must have at most {MAX_MATCH_CHARACTERS} characters in all")
        )
    return violations


class CatalogServicer(catalog_pb2_grpc.CatalogServiceServicer):
    def __init__(self, store: CatalogStore, cache: FilmCache) -> None:
        self._store = store
        self._reads = CatalogReads(store, cache)

    async def GetFilm(
        self, request: catalog_pb2.GetFilmRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.GetFilmResponse:
        film_id = required_uuid(request.film_id, "film_id")
        answer = (await self._reads.answers([film_id])).get(film_id)
        if answer is None:
            raise NotFound(f"film {film_id} not found")
        return answer

    async def BatchGetFilms(
        self, request: catalog_pb2.BatchGetFilmsRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.BatchGetFilmsResponse:
        ids = required_uuids(request.film_ids, "film_ids", at_most=MAX_BATCH_IDS)
        films = await self._reads.films(ids)
        return catalog_pb2.BatchGetFilmsResponse(
            films=[films[i] for i in ids if i in films],
            missing_ids=[i for i in ids if i not in films],
        )

    async def ListFilms(
        self, request: catalog_pb2.ListFilmsRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.ListFilmsResponse:
        limit = page_size(request.page_size)
        if request.order_by not in convert.ORDERS:
            raise InvalidArgument({"order_by": "unknown order"})
        if request.type and request.type not in convert.FILM_TYPE_OF:
            raise InvalidArgument({"type": "unknown film type"})
        film_filter = FilmFilter(
            genre_id=required_uuid(request.genre_id, "genre_id") if request.genre_id else None,
            type=convert.FILM_TYPE_OF.get(request.type),
        )
        order = convert.ORDERS[request.order_by]
        key = (order, film_filter)
        if order not in KEYSET_ORDERS:
            offset = paging.decode_token(request.page_token, *key)
            page = await self._store.list_films(order, film_filter, offset, limit)
            return catalog_pb2.ListFilmsResponse(
                films=[convert.summary_message(f) for f in page.items],
                next_page_token=paging.next_token(offset, len(page.items), page.total, *key),
                total_size=page.total,
            )
        after = paging.decode_after(request.page_token, order, *key)
        # One film more than the page tells whether there is a next one.
        page = await self._store.list_films(order, film_filter, 0, limit + 1, after)
        films = page.items[:limit]
        more = len(page.items) > limit
        return catalog_pb2.ListFilmsResponse(
            films=[convert.summary_message(f) for f in films],
            next_page_token=paging.after_token(order, films[-1], *key) if more else "",
            total_size=page.total,
        )

    async def SearchFilms(
        self, request: catalog_pb2.SearchFilmsRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.SearchFilmsResponse:
        query = _query(request.query)
        limit = page_size(request.page_size)
        offset = paging.decode_token(request.page_token, "films", query)
        return await self._reads.search_films(query, offset, limit)

    async def MatchTitles(
        self, request: catalog_pb2.MatchTitlesRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.MatchTitlesResponse:
        if not request.queries:
            raise InvalidArgument({"queries": "at least one title is required"})
        if len(request.queries) > MAX_TITLE_QUERIES:
            raise InvalidArgument({"queries": f"at most {MAX_TITLE_QUERIES} titles"})
        violations = _title_violations([q.title for q in request.queries])
        threshold = matching.DEFAULT_MIN_CONFIDENCE
        if request.HasField("min_confidence"):
            threshold = request.min_confidence
            if not 0.0 <= threshold <= 1.0:
                violations.append(("min_confidence", "must be between 0 and 1"))
        if violations:
            raise InvalidArgument(violations)
        queries = [
            matching.TitleQuery(q.title, q.year if q.HasField("year") else None)
            for q in request.queries
        ]
        matches = await self._reads.match_titles(queries, threshold)
        response = catalog_pb2.MatchTitlesResponse()
        for message, match in zip(request.queries, matches, strict=True):
            response.matches.append(
                catalog_pb2.TitleMatch(
                    query=message,
                    matched=match.matched,
                    film=convert.summary_message(match.film) if match.film else None,
                    confidence=match.confidence,
                )
            )
        return response

    async def ListGenres(
        self, request: catalog_pb2.ListGenresRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.ListGenresResponse:
        limit = page_size(request.page_size, default=100, maximum=500)
        offset = paging.decode_token(request.page_token, "genres")
        page = await self._store.list_genres(offset, limit)
        return catalog_pb2.ListGenresResponse(
            genres=[convert.genre_message(g) for g in page.items],
            next_page_token=paging.next_token(offset, len(page.items), page.total, "genres"),
        )

    async def GetPerson(
        self, request: catalog_pb2.GetPersonRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.GetPersonResponse:
        person_id = required_uuid(request.person_id, "person_id")
        person = await self._store.get_person(person_id)
        if person is None:
            raise NotFound(f"person {person_id} not found")
        return catalog_pb2.GetPersonResponse(person=convert.person_message(person))

    async def SearchPersons(
        self, request: catalog_pb2.SearchPersonsRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.SearchPersonsResponse:
        query = _query(request.query)
        limit = page_size(request.page_size)
        offset = paging.decode_token(request.page_token, "persons", query)
        page = await self._store.search_persons(query, offset, limit)
        return catalog_pb2.SearchPersonsResponse(
            persons=[convert.person_message(p) for p in page.items],
            next_page_token=paging.next_token(
                offset, len(page.items), page.total, "persons", query
            ),
            total_size=page.total,
        )

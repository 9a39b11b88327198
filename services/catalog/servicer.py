"""CatalogService RPCs: validate the request, ask the store (through the cache), map."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import grpc

from cinema.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from services.catalog import convert, matching, paging
from services.catalog.cache import FilmCache, ResultCache
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
#: Films scored per title, so at most 2,000 per MatchTitles.
MATCH_CANDIDATES = 20
#: Title violations listed one by one; past that a summary keeps the answer small.
MAX_LISTED_VIOLATIONS = 10
#: A search answer is reused this long (popular queries are asked many times a second);
#: it is dropped at once when the catalog changes through this process's film cache.
SEARCH_CACHE_SECONDS = 5.0
SEARCH_CACHE_ENTRIES = 2048
#: Films whose GetFilm answer is kept built, checked against the film cache's bytes.
BUILT_FILMS = 10_000


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
        self._cache = cache
        # GetFilm answers as built from the cached bytes: parsed again only when the
        # cache holds other bytes for the film (it changed), so never staler than it.
        self._built: ResultCache[str, tuple[bytes, catalog_pb2.GetFilmResponse]] = ResultCache(
            float("inf"), BUILT_FILMS
        )
        self._searches: ResultCache[tuple[str, int, int], catalog_pb2.SearchFilmsResponse] = (
            ResultCache(SEARCH_CACHE_SECONDS, SEARCH_CACHE_ENTRIES)
        )
        cache.on_invalidate(self._searches.clear)

    def _build(self, film_id: str, data: bytes) -> catalog_pb2.GetFilmResponse:
        built = self._built.get(film_id)
        if built is not None and (built[0] is data or built[0] == data):
            return built[1]
        response = catalog_pb2.GetFilmResponse(film=catalog_pb2.Film.FromString(data))
        self._built.put(film_id, (data, response))
        return response

    async def _answers(self, film_ids: Sequence[str]) -> dict[str, catalog_pb2.GetFilmResponse]:
        """GetFilm answers by film id through the read-through cache; unknown ids are absent.

        The answers are shared: read them, never change them.
        """
        cached = await self._cache.get_many(film_ids)
        answers = {i: self._build(i, data) for i, data in cached.items()}
        missing = [i for i in film_ids if i not in answers]
        if missing:
            loaded = {
                i: convert.film_message(f).SerializeToString()
                for i, f in (await self._store.batch_get_films(missing)).items()
            }
            await self._cache.put_many(loaded)
            answers.update((i, self._build(i, data)) for i, data in loaded.items())
        return answers

    async def _films(self, film_ids: Sequence[str]) -> dict[str, catalog_pb2.Film]:
        """Films by id through the read-through cache; unknown ids are absent."""
        return {i: answer.film for i, answer in (await self._answers(film_ids)).items()}

    async def GetFilm(
        self, request: catalog_pb2.GetFilmRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.GetFilmResponse:
        film_id = required_uuid(request.film_id, "film_id")
        answer = (await self._answers([film_id])).get(film_id)
        if answer is None:
            raise NotFound(f"film {film_id} not found")
        return answer

    async def BatchGetFilms(
        self, request: catalog_pb2.BatchGetFilmsRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.BatchGetFilmsResponse:
        if not request.film_ids:
            raise InvalidArgument({"film_ids": "at least one id is required"})
        if len(request.film_ids) > MAX_BATCH_IDS:
            raise InvalidArgument({"film_ids": f"at most {MAX_BATCH_IDS} ids"})
        ids = required_uuids(request.film_ids, "film_ids")
        films = await self._films(ids)
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
        key = (query, offset, limit)
        answer = self._searches.get(key)
        if answer is None:
            page = await self._store.search_films(query, offset, limit)
            answer = catalog_pb2.SearchFilmsResponse(
                films=[convert.summary_message(f) for f in page.items],
                next_page_token=paging.next_token(
                    offset, len(page.items), page.total, "films", query
                ),
                total_size=page.total,
            )
            self._searches.put(key, answer)
        return answer

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
        # A title asked for twice (or with another year) is searched for once.
        texts = list(dict.fromkeys(matching.search_text(q) for q in queries))
        found = await asyncio.gather(
            *(self._store.title_candidates(text, MATCH_CANDIDATES) for text in texts)
        )
        candidates = dict(zip(texts, found, strict=True))
        response = catalog_pb2.MatchTitlesResponse()
        for message, query in zip(request.queries, queries, strict=True):
            match = matching.best_match(query, candidates[matching.search_text(query)], threshold)
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

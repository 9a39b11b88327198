"""The catalog's reads: films through the read-through cache, searches, title matching.

The servicer parses and maps; what is read, from where and how it is reused is here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from cinema.catalog.v1 import catalog_pb2
from services.catalog import convert, matching, paging
from services.catalog.cache import FilmCache, ResultCache
from services.catalog.store import CatalogStore

#: Films scored per title, so at most 2,000 per MatchTitles.
MATCH_CANDIDATES = 20
#: A search answer is reused this long (popular queries are asked many times a second);
#: it is dropped at once when the catalog changes through this process's film cache.
SEARCH_CACHE_SECONDS = 5.0
SEARCH_CACHE_ENTRIES = 2048
#: Films whose GetFilm answer is kept built, checked against the film cache's bytes.
BUILT_FILMS = 10_000


class CatalogReads:
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

    async def answers(self, film_ids: Sequence[str]) -> dict[str, catalog_pb2.GetFilmResponse]:
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

    async def films(self, film_ids: Sequence[str]) -> dict[str, catalog_pb2.Film]:
        """Films by id through the read-through cache; unknown ids are absent."""
        return {i: answer.film for i, answer in (await self.answers(film_ids)).items()}

    async def search_films(
        self, query: str, offset: int, limit: int
    ) -> catalog_pb2.SearchFilmsResponse:
        """A page of films matching ``query``; a repeated search is answered from memory.

        The answers are shared: read them, never change them.
        """
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

    async def match_titles(
        self, queries: Sequence[matching.TitleQuery], threshold: float
    ) -> list[matching.Match]:
        """The best match of each query, in order; a title asked for twice (or with
        another year) is searched for once."""
        texts = list(dict.fromkeys(matching.search_text(q) for q in queries))
        found = await asyncio.gather(
            *(self._store.title_candidates(text, MATCH_CANDIDATES) for text in texts)
        )
        candidates = dict(zip(texts, found, strict=True))
        return [
            matching.best_match(query, candidates[matching.search_text(query)], threshold)
            for query in queries
        ]

"""The catalog as the recommender sees it, fetched over gRPC: films for the engines,
summaries for the responses, and title grounding for GigaChat's answers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from cinema.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from services.catalog.messages import (
    MAX_MATCH_CHARACTERS,
    MAX_TITLE_CHARACTERS,
    MAX_TITLE_QUERIES,
    film_summary,
    normalised_length,
    too_long,
)
from services.kit import clients
from services.recommendations.engines import FilmInfo

TIMEOUT_SECONDS = 10.0
LIST_PAGE = 100  # ListFilms' largest page
BATCH = 500  # BatchGetFilms' largest batch


@dataclass(frozen=True)
class CatalogSnapshot:
    """Every film of the catalog: what the engines need and what a response shows."""

    films: tuple[FilmInfo, ...]
    summaries: dict[str, catalog_pb2.FilmSummary]


def film_info(film: catalog_pb2.Film) -> FilmInfo:
    return FilmInfo(
        id=film.id,
        title=film.title,
        year=film.year if film.HasField("year") else None,
        genres=tuple(g.name for g in film.genres),
        directors=tuple(p.full_name for p in film.directors),
        writers=tuple(p.full_name for p in film.writers),
        actors=tuple(p.full_name for p in film.actors),
        description=film.description,
        rating=film.rating if film.HasField("rating") else None,
    )


def _title_query(title: str, year: int | None) -> catalog_pb2.TitleQuery:
    query = catalog_pb2.TitleQuery(title=title)
    if year is not None:
        query.year = year
    return query


def _askable(title: str) -> bool:
    """Whether the catalog takes ``title``: one blank or too long (as written or once
    normalised) would make it refuse the whole batch, and names no film anyway."""
    return bool(title) and too_long(title, MAX_TITLE_CHARACTERS) is None


def _batches(sizes: list[tuple[int, int]]) -> Iterator[list[int]]:
    """``(index, normalised length)`` of titles in runs one MatchTitles takes: at most
    ``MAX_TITLE_QUERIES`` titles and ``MAX_MATCH_CHARACTERS`` normalised characters."""
    batch: list[int] = []
    characters = 0
    for index, size in sizes:
        full = len(batch) == MAX_TITLE_QUERIES or characters + size > MAX_MATCH_CHARACTERS
        if batch and full:
            yield batch
            batch, characters = [], 0
        batch.append(index)
        characters += size
    if batch:
        yield batch


class CatalogClient:
    """CatalogService calls; the channel opens on first use (embedded: our own port)."""

    def __init__(self, target: Callable[[], str]) -> None:
        self._channel = clients.LazyChannel(target)

    def _stub(self) -> catalog_pb2_grpc.CatalogServiceStub:
        return catalog_pb2_grpc.CatalogServiceStub(self._channel.get())

    async def snapshot(self) -> CatalogSnapshot:
        """All films: ids page by page from ListFilms, then their details in batches.

        By rating, an order ListFilms pages by keyset: no depth cap, so no film is missed
        however large the catalog."""
        ids: list[str] = []
        token = ""
        while True:
            request = catalog_pb2.ListFilmsRequest(
                page_size=LIST_PAGE, page_token=token, order_by=catalog_pb2.FILM_ORDER_RATING_DESC
            )
            page = await self._stub().ListFilms(request, timeout=TIMEOUT_SECONDS)
            ids += [film.id for film in page.films]
            token = page.next_page_token
            if not token:
                break
        films = await self.films(list(dict.fromkeys(ids)))
        return CatalogSnapshot(
            tuple(film_info(f) for f in films), {f.id: film_summary(f) for f in films}
        )

    async def films(self, film_ids: list[str]) -> list[catalog_pb2.Film]:
        found: list[catalog_pb2.Film] = []
        for start in range(0, len(film_ids), BATCH):
            response = await self._stub().BatchGetFilms(
                catalog_pb2.BatchGetFilmsRequest(film_ids=film_ids[start : start + BATCH]),
                timeout=TIMEOUT_SECONDS,
            )
            found += response.films
        return found

    async def ground(self, queries: list[tuple[str, int | None]]) -> list[str | None]:
        """One film id (or None: no confident match) per ``(title, year)``: MatchTitles."""
        found: list[str | None] = [None] * len(queries)
        titles = [title.strip() for title, _ in queries]
        # A title the catalog would refuse matches nothing, and is not asked.
        asked = [(i, normalised_length(title)) for i, title in enumerate(titles) if _askable(title)]
        for chunk in _batches(asked):
            request = catalog_pb2.MatchTitlesRequest(
                queries=[_title_query(titles[i], queries[i][1]) for i in chunk]
            )
            response = await self._stub().MatchTitles(request, timeout=TIMEOUT_SECONDS)
            for i, match in zip(chunk, response.matches, strict=True):
                found[i] = match.film.id if match.matched else None
        return found

    async def close(self) -> None:
        await self._channel.close()

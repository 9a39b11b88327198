"""The catalog service as the other services call it: one client over one channel, with
one timeout, and the catalog's request limits (its servicer enforces them; the client
stays within them), so that no service needs the catalog's own modules."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from cinema.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from services.kit import clients
from services.kit.text import fold
from services.kit.validation import MAX_PAGE_SIZE

#: Per call, when the caller has no deadline of its own (a background read, a batch that
#: serves several callers); a caller's deadline caps it (services.kit.clients).
TIMEOUT_SECONDS = 5.0
#: Ids in one BatchGetFilms.
MAX_BATCH_IDS = 500
#: Titles in one MatchTitles.
MAX_TITLE_QUERIES = 100
#: Limits hold on the text as given and once normalised (compatibility decomposition,
#: which search and matching work on): one character can become 18 (U+FDFA).
MAX_TITLE_CHARACTERS = 300
MAX_MATCH_CHARACTERS = 10_000  # all the titles of one MatchTitles, normalised


def normalised_length(text: str) -> int:
    """How long ``text`` is in the form search and matching work on."""
    return len(fold(text))


def too_long(text: str, limit: int) -> str | None:
    """Why ``text`` is too long, or None; measured as given first, so normalising is cheap."""
    if len(text) > limit:
        return f"must be at most {limit} characters"
    if normalised_length(text) > limit:
        return f"must be at most {limit} characters once normalised (ligatures expand)"
    return None


def film_summary(film: catalog_pb2.Film) -> catalog_pb2.FilmSummary:
    """The list-sized view of a film, as other services show it next to their data."""
    summary = catalog_pb2.FilmSummary(
        id=film.id, title=film.title, genres=[g.name for g in film.genres], type=film.type
    )
    if film.HasField("year"):
        summary.year = film.year
    if film.HasField("rating"):
        summary.rating = film.rating
    return summary


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

    async def film_ids(self) -> list[str]:
        """Every film's id, page by page from ListFilms, each once.

        By rating, an order ListFilms pages by keyset: no depth cap, so no film is missed
        however large the catalog."""
        ids: list[str] = []
        token = ""
        while True:
            request = catalog_pb2.ListFilmsRequest(
                page_size=MAX_PAGE_SIZE,
                page_token=token,
                order_by=catalog_pb2.FILM_ORDER_RATING_DESC,
            )
            page = await self._stub().ListFilms(request, timeout=TIMEOUT_SECONDS)
            ids += [film.id for film in page.films]
            token = page.next_page_token
            if not token:
                return list(dict.fromkeys(ids))

    async def films(self, film_ids: Sequence[str]) -> list[catalog_pb2.Film]:
        """The films the catalog has among ``film_ids`` (BatchGetFilms, in batches)."""
        found: list[catalog_pb2.Film] = []
        for start in range(0, len(film_ids), MAX_BATCH_IDS):
            response = await self._stub().BatchGetFilms(
                catalog_pb2.BatchGetFilmsRequest(film_ids=film_ids[start : start + MAX_BATCH_IDS]),
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

"""What the catalog service reads: one interface, a backend per DSN scheme.

The embedded backend is the SQLite catalog itself (FTS5 for search); production reads
the Elasticsearch index that the ETL feeds from PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from services.catalog.records import (
    Film,
    FilmFilter,
    FilmOrder,
    FilmSummary,
    Genre,
    Page,
    Person,
)
from services.kit.config import dsn_scheme, sqlite_path

#: Orders listed by keyset (after the last film's sort key, never by an offset), so the
#: whole catalog can be paged through at the same cost per page. Their keys are numbers,
#: small enough for a page token; titles are not, and their orders keep offsets.
KEYSET_ORDERS: dict[FilmOrder, str] = {
    FilmOrder.RATING_DESC: "rating",
    FilmOrder.RATING_ASC: "rating",
    FilmOrder.YEAR_DESC: "year",
    FilmOrder.YEAR_ASC: "year",
}


@dataclass(frozen=True)
class After:
    """A place in a keyset order: past the film ``film_id`` whose sort key is ``key``
    (None: unknown, and such films come last)."""

    key: float | int | None
    film_id: str


class CatalogStore(Protocol):
    """Reads of films, genres and persons, and full-text search over them."""

    async def get_film(self, film_id: str) -> Film | None: ...

    async def batch_get_films(self, film_ids: Sequence[str]) -> dict[str, Film]:
        """The films found, by id; unknown ids are simply absent."""
        ...

    async def list_films(
        self,
        order: FilmOrder,
        film_filter: FilmFilter,
        offset: int,
        limit: int,
        after: After | None = None,
    ) -> Page[FilmSummary]:
        """Films in ``order`` from ``offset``, or past ``after`` (a keyset order only)."""
        ...

    async def search_films(self, query: str, offset: int, limit: int) -> Page[FilmSummary]:
        """Best match first: title above people above description, typos tolerated."""
        ...

    async def title_candidates(self, title: str, limit: int) -> list[FilmSummary]:
        """Films whose title resembles ``title``, for MatchTitles to score; lenient."""
        ...

    async def list_genres(self, offset: int, limit: int) -> Page[Genre]: ...

    async def get_person(self, person_id: str) -> Person | None: ...

    async def search_persons(self, query: str, offset: int, limit: int) -> Page[Person]: ...

    async def close(self) -> None: ...


async def open_store(dsn: str, *, index_prefix: str = "cinema_") -> CatalogStore:
    """The read backend named by ``CINEMA_SEARCH_DSN``; ``index_prefix`` names the
    Elasticsearch indices (``CINEMA_SEARCH_INDEX_PREFIX``)."""
    scheme = dsn_scheme(dsn)
    if scheme == "sqlite":
        from services.catalog.store_sqlite import SqliteCatalogStore

        return SqliteCatalogStore(sqlite_path(dsn))
    if scheme in ("http", "https"):
        from services.catalog.store_elastic import ElasticCatalogStore

        return ElasticCatalogStore(dsn, index_prefix)
    raise ValueError(
        f"CINEMA_SEARCH_DSN: no catalog search backend for {scheme}:// "
        "(use sqlite:/// or http(s):// for Elasticsearch)"
    )

"""The catalog as the recommender sees it: the kit's catalog client (films, title grounding
for GigaChat's answers) plus the whole catalog at once, as the engines and responses need it."""

from __future__ import annotations

from dataclasses import dataclass

from cinema.catalog.v1 import catalog_pb2
from services.kit import catalog_client
from services.kit.catalog_client import film_summary
from services.recommendations.engines import FilmInfo


@dataclass(frozen=True)
class CatalogSnapshot:
    """Every film of the catalog: what the engines need and what a response shows."""

    films: tuple[FilmInfo, ...]
    summaries: dict[str, catalog_pb2.FilmSummary]


_KINDS = {catalog_pb2.FILM_TYPE_MOVIE: "movie", catalog_pb2.FILM_TYPE_TV_SHOW: "tv_show"}


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
        kind=_KINDS.get(film.type, ""),
    )


class CatalogClient(catalog_client.CatalogClient):
    """The kit's client, with the one read only the recommender makes."""

    async def snapshot(self) -> CatalogSnapshot:
        """All films: every id from ListFilms, then their details in batches."""
        films = await self.films(await self.film_ids())
        return CatalogSnapshot(
            tuple(film_info(f) for f in films), {f.id: film_summary(f) for f in films}
        )

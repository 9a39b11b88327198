"""Helpers over the catalog's contract messages, for the catalog's gRPC clients."""

from __future__ import annotations

from cinema.catalog.v1 import catalog_pb2


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

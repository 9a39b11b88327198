"""The catalog's contract as its gRPC clients need it: helpers over its messages, and the
request limits its servicer enforces (so that a client can stay within them)."""

from __future__ import annotations

from cinema.catalog.v1 import catalog_pb2
from services.catalog.text import fold

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

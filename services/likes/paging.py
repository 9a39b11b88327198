"""Page sizes and opaque keyset page tokens for ListMyRatings and ListMyExclusions.

A token holds the (time, film) position the next page starts after, and a fingerprint
of the filter it was issued for: replayed with another filter it is refused rather than
silently paging through a different list. Keyset paging never skips or repeats a row
because of changes between pages, and costs the same on page 1 and page 1000.
"""

from __future__ import annotations

from services.kit import page_tokens
from services.kit.errors import InvalidArgument
from services.likes.records import PageCursor


def encode_token(cursor: PageCursor | None, list_filter: str) -> str:
    if cursor is None:
        return ""
    return page_tokens.encode({"t": cursor.time_us, "f": cursor.film_id, "k": list_filter})


def decode_token(token: str, list_filter: str, field: str = "page_token") -> PageCursor | None:
    """Where the page continues; None for an empty token (the first page)."""
    if not token:
        return None
    body = page_tokens.decode(token, field)
    time_us, film_id = page_tokens.whole_number(body, "t", field), body.get("f")
    if not isinstance(film_id, str):
        raise page_tokens.not_ours(field)
    if body.get("k") != list_filter:
        raise InvalidArgument({field: "belongs to a request with another filter"})
    return PageCursor(time_us, film_id)

"""Page sizes and opaque keyset page tokens for ListMyRatings and ListMyExclusions.

A token holds the (time, film) position the next page starts after, and a fingerprint
of the filter it was issued for: replayed with another filter it is refused rather than
silently paging through a different list. Keyset paging never skips or repeats a row
because of changes between pages, and costs the same on page 1 and page 1000.
"""

from __future__ import annotations

import base64
import json

from services.kit.errors import InvalidArgument
from services.likes.model import PageCursor


def encode_token(cursor: PageCursor | None, list_filter: str) -> str:
    if cursor is None:
        return ""
    body = json.dumps({"t": cursor.time_us, "f": cursor.film_id, "k": list_filter})
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode_token(token: str, list_filter: str, field: str = "page_token") -> PageCursor | None:
    """Where the page continues; None for an empty token (the first page)."""
    if not token:
        return None
    try:
        body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        time_us, film_id, issued_for = body["t"], body["f"], body["k"]
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidArgument({field: "not a page token from this API"}) from error
    if not isinstance(time_us, int) or not isinstance(film_id, str):
        raise InvalidArgument({field: "not a page token from this API"})
    if issued_for != list_filter:
        raise InvalidArgument({field: "belongs to a request with another filter"})
    return PageCursor(time_us, film_id)

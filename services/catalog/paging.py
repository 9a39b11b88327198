"""Page sizes and opaque page tokens for the catalog's list and search RPCs.

A token carries where the next page starts and a fingerprint of the request it
continues, so a token replayed with other filters is refused instead of silently
paging through a different result set. Where the next page starts is an offset, or in
a keyset order (ListFilms by rating or year) the last film's sort key and id: those
pages cost the same however deep, so they have no cap and the whole catalog can be read.
"""

from __future__ import annotations

import hashlib
import math

from services.catalog.records import FilmOrder, FilmSummary
from services.catalog.store import KEYSET_ORDERS, After
from services.kit import page_tokens
from services.kit.errors import InvalidArgument

MAX_OFFSET = 10_000  # offset pages cost their depth; Elasticsearch stops there too


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]


def encode_token(offset: int, *request_parts: object) -> str:
    return page_tokens.encode({"o": offset, "k": _fingerprint(*request_parts)})


def _opened(token: str, request_parts: tuple[object, ...], field: str) -> dict[str, object]:
    body: dict[str, object] = dict(page_tokens.decode(token, field))
    if body.get("k") != _fingerprint(*request_parts):
        raise InvalidArgument({field: "belongs to a request with other parameters"})
    return body


def decode_token(token: str, *request_parts: object, field: str = "page_token") -> int:
    """The offset a token points at; 0 for an empty token."""
    if not token:
        return 0
    offset = page_tokens.whole_number(_opened(token, request_parts, field), "o", field)
    if offset > MAX_OFFSET:
        raise page_tokens.not_ours(field)
    return offset


def after_token(order: FilmOrder, last: FilmSummary, *request_parts: object) -> str:
    """The token of the page after ``last`` in a keyset order. A key is held as text:
    a rating is a float, which a token does not hold, and its repr reads back exactly."""
    key: float | int | None = getattr(last, KEYSET_ORDERS[order])
    body: dict[str, page_tokens.Scalar] = {"i": last.id, "k": _fingerprint(*request_parts)}
    if key is not None:
        body["v"] = repr(key)
    return page_tokens.encode(body)


def decode_after(
    token: str, order: FilmOrder, *request_parts: object, field: str = "page_token"
) -> After | None:
    """Where a keyset token continues; None for an empty token (the first page)."""
    if not token:
        return None
    body = _opened(token, request_parts, field)
    film_id, text = body.get("i"), body.get("v")
    if not isinstance(film_id, str) or not isinstance(text, str | None):
        raise page_tokens.not_ours(field)
    if text is None:
        return After(None, film_id)
    try:
        key: float | int = int(text) if KEYSET_ORDERS[order] == "year" else float(text)
    except ValueError as error:
        raise page_tokens.not_ours(field) from error
    if not math.isfinite(key):
        raise page_tokens.not_ours(field)
    return After(key, film_id)


def next_token(offset: int, returned: int, total: int, *request_parts: object) -> str:
    following = offset + returned
    if returned == 0 or following >= total or following > MAX_OFFSET:
        return ""
    return encode_token(following, *request_parts)

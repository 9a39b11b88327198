"""Page sizes and opaque page tokens for the catalog's list and search RPCs.

A token carries the offset of the next page and a fingerprint of the request it
continues, so a token replayed with other filters is refused instead of silently
paging through a different result set.
"""

from __future__ import annotations

import hashlib

from services.kit import page_tokens
from services.kit.errors import InvalidArgument

MAX_OFFSET = 10_000  # deep paging is a scraper's tool; Elasticsearch stops there too


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]


def encode_token(offset: int, *request_parts: object) -> str:
    return page_tokens.encode({"o": offset, "k": _fingerprint(*request_parts)})


def decode_token(token: str, *request_parts: object, field: str = "page_token") -> int:
    """The offset a token points at; 0 for an empty token."""
    if not token:
        return 0
    body = page_tokens.decode(token, field)
    offset = page_tokens.whole_number(body, "o", field)
    if offset > MAX_OFFSET:
        raise page_tokens.not_ours(field)
    if body.get("k") != _fingerprint(*request_parts):
        raise InvalidArgument({field: "belongs to a request with other parameters"})
    return offset


def next_token(offset: int, returned: int, total: int, *request_parts: object) -> str:
    following = offset + returned
    if returned == 0 or following >= total or following > MAX_OFFSET:
        return ""
    return encode_token(following, *request_parts)

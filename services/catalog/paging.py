"""Page sizes and opaque page tokens for the catalog's list and search RPCs.

A token carries the offset of the next page and a fingerprint of the request it
continues, so a token replayed with other filters is refused instead of silently
paging through a different result set.
"""

from __future__ import annotations

import base64
import hashlib
import json

from services.kit.errors import InvalidArgument

MAX_OFFSET = 10_000  # deep paging is a scraper's tool; Elasticsearch stops there too


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]


def encode_token(offset: int, *request_parts: object) -> str:
    body = json.dumps({"o": offset, "k": _fingerprint(*request_parts)}).encode()
    return base64.urlsafe_b64encode(body).decode().rstrip("=")


def decode_token(token: str, *request_parts: object, field: str = "page_token") -> int:
    """The offset a token points at; 0 for an empty token."""
    if not token:
        return 0
    try:
        body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset, fingerprint = body["o"], body["k"]
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidArgument({field: "not a page token from this API"}) from error
    if not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise InvalidArgument({field: "not a page token from this API"})
    if fingerprint != _fingerprint(*request_parts):
        raise InvalidArgument({field: "belongs to a request with other parameters"})
    return offset


def next_token(offset: int, returned: int, total: int, *request_parts: object) -> str:
    following = offset + returned
    if returned == 0 or following >= total or following > MAX_OFFSET:
        return ""
    return encode_token(following, *request_parts)

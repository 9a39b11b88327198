"""Opaque page tokens: a small flat JSON object, base64url, signed with an HMAC.

What a token holds (an offset, a keyset position, a fingerprint of the request it
continues) is each service's business; this module seals and opens the envelope, and
anything that is not one of ours is INVALID_ARGUMENT on the token's field.

The signature is checked before anything is decoded, so a token we did not issue never
reaches the JSON parser (deep nesting) or a store (integers beyond int64). The key is
``CINEMA_PAGE_TOKEN_SECRET``; replicas of a service must share it to open each other's
tokens. Without it each process signs with a random key of its own, which is all the
embedded stack (one process) needs; tokens then do not outlive a restart.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from typing import Any

import structlog

from services.kit.config import ProcessSettings
from services.kit.errors import InvalidArgument

#: Longer than any token we seal; anything longer is refused before it is looked at.
MAX_TOKEN_CHARS = 1024
#: Bound of a string in a token (film ids, filters, fingerprints).
MAX_STRING_CHARS = 256
#: What SQLite (and PostgreSQL's bigint) can hold: larger positions overflow in the store.
INT64_MAX = 2**63 - 1
_TAG_BYTES = 16

Scalar = str | int

log = structlog.get_logger(__name__)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _scalar(value: object) -> bool:
    if isinstance(value, str):
        return len(value) <= MAX_STRING_CHARS
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and -INT64_MAX - 1 <= value <= INT64_MAX
    )


def _flat(body: object) -> bool:
    return isinstance(body, dict) and all(
        isinstance(key, str) and len(key) <= MAX_STRING_CHARS and _scalar(value)
        for key, value in body.items()
    )


class Envelope:
    """Seals flat bodies of strings and int64s with an HMAC; opens only what it sealed."""

    def __init__(self, secret: bytes) -> None:
        self._key = hashlib.sha256(b"cinema page tokens\0" + secret).digest()

    def _tag(self, payload: str) -> str:
        return _b64(hmac.digest(self._key, payload.encode(), "sha256")[:_TAG_BYTES])

    def seal(self, body: Mapping[str, Scalar]) -> str:
        if not _flat(dict(body)):
            raise ValueError("a page token holds a flat object of short strings and int64s")
        payload = _b64(json.dumps(dict(body), separators=(",", ":")).encode())
        token = f"{payload}.{self._tag(payload)}"
        if len(token) > MAX_TOKEN_CHARS:
            raise ValueError(f"a page token must fit in {MAX_TOKEN_CHARS} characters")
        return token

    def open(self, token: str, field: str = "page_token") -> dict[str, Scalar]:
        """The token's body; an empty dict for an empty token (the first page)."""
        if not token:
            return {}
        if len(token) > MAX_TOKEN_CHARS or not token.isascii():
            raise not_ours(field)
        payload, _, tag = token.rpartition(".")
        if not hmac.compare_digest(tag, self._tag(payload)):
            raise not_ours(field)
        try:
            body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (ValueError, binascii.Error) as error:
            raise not_ours(field) from error
        if not _flat(body):
            raise not_ours(field)
        return dict(body)


@functools.cache
def _envelope() -> Envelope:
    secret = ProcessSettings().page_token_secret
    if secret:
        return Envelope(secret.encode())
    log.info(
        "page_token_key_generated",
        hint="set CINEMA_PAGE_TOKEN_SECRET when several replicas serve the same RPCs",
    )
    return Envelope(secrets.token_bytes(32))


def encode(body: Mapping[str, Scalar]) -> str:
    return _envelope().seal(body)


def decode(token: str, field: str = "page_token") -> dict[str, Scalar]:
    """The token's body; an empty dict for an empty token (the first page)."""
    return _envelope().open(token, field)


def not_ours(field: str = "page_token") -> InvalidArgument:
    return InvalidArgument({field: "is not a token from a previous page"})


def whole_number(body: Mapping[str, Any], key: str, field: str = "page_token") -> int:
    """``body[key]`` as an int in 0..int64 max, or the token is not ours."""
    value = body.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= INT64_MAX:
        raise not_ours(field)
    return value

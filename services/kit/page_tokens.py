"""Opaque page tokens: a small JSON object, base64url without padding.

What a token holds (an offset, a keyset position, a fingerprint of the request it
continues) is each service's business; this module seals and opens the envelope, and
anything that is not one of ours is INVALID_ARGUMENT on the token's field.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from services.kit.errors import InvalidArgument


def encode(body: Mapping[str, Any]) -> str:
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(token: str, field: str = "page_token") -> dict[str, Any]:
    """The token's body; an empty dict for an empty token (the first page)."""
    if not token:
        return {}
    try:
        body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error) as error:
        raise not_ours(field) from error
    if not isinstance(body, dict):
        raise not_ours(field)
    return body


def not_ours(field: str = "page_token") -> InvalidArgument:
    return InvalidArgument({field: "is not a token from a previous page"})


def whole_number(body: Mapping[str, Any], key: str, field: str = "page_token") -> int:
    """``body[key]`` as a non-negative int, or the token is not ours."""
    value = body.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise not_ours(field)
    return value

"""Request checks every servicer makes, each failing with the field it found wrong."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from services.kit.errors import InvalidArgument

#: The page size of every List/Search RPC when the request leaves it 0 (AIP-158).
DEFAULT_PAGE_SIZE = 20
#: The largest page any RPC returns; larger requests are lowered to it (AIP-158).
MAX_PAGE_SIZE = 100


def required_uuid(value: str, field: str) -> str:
    """``value`` in canonical form, or INVALID_ARGUMENT naming ``field``."""
    if not value:
        raise InvalidArgument({field: "is required"})
    try:
        return str(uuid.UUID(value))
    except ValueError as error:
        raise InvalidArgument({field: "must be a UUID"}) from error


def page_size(
    requested: int,
    field: str = "page_size",
    default: int = DEFAULT_PAGE_SIZE,
    maximum: int = MAX_PAGE_SIZE,
) -> int:
    """0 means ``default``, more than ``maximum`` is lowered to it, negative is an error."""
    if requested < 0:
        raise InvalidArgument({field: "must not be negative"})
    return min(requested or default, maximum)


def required_uuids(values: Sequence[str], field: str, at_most: int) -> list[str]:
    """One to ``at_most`` ids, each checked as ``field[i]``; duplicates dropped, first-seen
    order kept."""
    if not values:
        raise InvalidArgument({field: "at least one id is required"})
    if len(values) > at_most:
        raise InvalidArgument({field: f"at most {at_most} ids"})
    return list(
        dict.fromkeys(required_uuid(value, f"{field}[{i}]") for i, value in enumerate(values))
    )

"""Opening each likes store backend for a test, and reading its log the same way."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.kit.config import sqlite_path
from services.likes.records import Event
from services.likes.store import LikesStore
from services.likes.store_mongo import MongoLikesStore
from services.likes.store_sqlite import SqliteLikesStore

BACKENDS = ["sqlite", "mongo"]


def mongo_dsn(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue("mongodb_url")
    database: str = request.getfixturevalue("mongo_database_name")
    return f"{url.rstrip('/')}/{database}"


def likes_dsn(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    """The CINEMA_LIKES_DSN of a fresh store of ``backend``."""
    if backend == "mongo":
        return mongo_dsn(request)
    return f"sqlite:///{tmp_path / 'likes.db'}"


async def open_backend(dsn: str, lease_seconds: float = 10.0) -> LikesStore:
    if dsn.startswith("mongodb"):
        return await MongoLikesStore.open(dsn, lease_seconds)
    return await SqliteLikesStore.open(sqlite_path(dsn))


async def logged(store: LikesStore) -> list[Event]:
    """Every event in the log once the outbox is relayed."""
    await store.relay_outbox()
    return await store.events_after(0, 100_000)

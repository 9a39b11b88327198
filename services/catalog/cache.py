"""Read-through cache of films (serialized ``Film`` messages), keyed by film id.

``memory://`` is an in-process LRU (embedded); ``redis://`` is shared by every replica,
and the ETL deletes the keys of the films it changes. Entries also expire after a TTL,
which bounds staleness where no invalidation can reach (an ETL run in another process
against the embedded catalog).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Generic, Protocol, TypeVar

import redis.asyncio as redis
import structlog
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from services.kit.config import dsn_scheme

log = structlog.get_logger(__name__)

KEY_PREFIX = "cinema:catalog:film:"
TIMEOUT_SECONDS = 1.0  # per Redis command and connect: a cache must answer fast or not at all
#: Redis down, restarting or cut off (not a wrong command, which stays a bug).
UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class FilmCache(Protocol):
    async def get_many(self, film_ids: Sequence[str]) -> dict[str, bytes]: ...

    async def put_many(self, films: dict[str, bytes]) -> None: ...

    async def invalidate(self, film_ids: Iterable[str]) -> None: ...

    def on_invalidate(self, listener: Callable[[], None]) -> None:
        """Calls ``listener`` whenever films are invalidated through this object (the
        catalog has changed): what is derived from films (search results) drops then."""
        ...

    async def close(self) -> None: ...


class _Listeners:
    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []

    def on_invalidate(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()


class ResultCache(Generic[K, V]):
    """In-process answers kept for a few seconds (popular searches), LRU-bounded.

    Synchronous: a hit costs a dict lookup, no await. Whoever fills it clears it when the
    data behind it changes; the TTL bounds staleness where no such news arrives.
    """

    def __init__(self, ttl_seconds: float, capacity: int = 1024) -> None:
        self._ttl = ttl_seconds
        self._capacity = capacity
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] < time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: K, value: V) -> None:
        self._entries[key] = (time.monotonic() + self._ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class MemoryFilmCache(_Listeners):
    """A bounded LRU with per-entry expiry."""

    def __init__(self, ttl_seconds: float, capacity: int = 10_000) -> None:
        super().__init__()
        self._ttl = ttl_seconds
        self._capacity = capacity
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    async def get_many(self, film_ids: Sequence[str]) -> dict[str, bytes]:
        now, found = time.monotonic(), {}
        for film_id in film_ids:
            entry = self._entries.get(film_id)
            if entry is None:
                continue
            if entry[0] < now:
                del self._entries[film_id]
                continue
            self._entries.move_to_end(film_id)
            found[film_id] = entry[1]
        return found

    async def put_many(self, films: dict[str, bytes]) -> None:
        expires = time.monotonic() + self._ttl
        for film_id, data in films.items():
            self._entries[film_id] = (expires, data)
            self._entries.move_to_end(film_id)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    async def invalidate(self, film_ids: Iterable[str]) -> None:
        for film_id in film_ids:
            self._entries.pop(film_id, None)
        self._changed()

    async def close(self) -> None:
        self._entries.clear()


class RedisFilmCache(_Listeners):
    """Shared by every replica. Reads never fail because of it: while Redis is unreachable
    they go to the store (a miss) and nothing is cached; invalidation still raises, so the
    ETL retries it rather than leave a stale film behind."""

    def __init__(self, url: str, ttl_seconds: float) -> None:
        super().__init__()
        # redis-py retries a lost connection 10 times with backoff (seconds per call): a
        # cache that is down must cost a read one quick attempt, not that.
        self._redis = redis.Redis.from_url(
            url,
            socket_timeout=TIMEOUT_SECONDS,
            socket_connect_timeout=TIMEOUT_SECONDS,
            retry=Retry(NoBackoff(), retries=1),
        )
        self._ttl = max(1, int(ttl_seconds))

    async def get_many(self, film_ids: Sequence[str]) -> dict[str, bytes]:
        if not film_ids:
            return {}
        try:
            values = await self._redis.mget([KEY_PREFIX + i for i in film_ids])
        except UNREACHABLE as error:
            log.warning("film_cache_unavailable", error=repr(error))
            return {}
        found: dict[str, bytes] = {}
        for film_id, value in zip(film_ids, values, strict=True):
            if isinstance(value, bytes):
                found[film_id] = value
        return found

    async def put_many(self, films: dict[str, bytes]) -> None:
        if not films:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for film_id, data in films.items():
                    pipe.set(KEY_PREFIX + film_id, data, ex=self._ttl)
                await pipe.execute()
        except UNREACHABLE as error:
            log.warning("film_cache_unavailable", error=repr(error))

    async def invalidate(self, film_ids: Iterable[str]) -> None:
        keys = [KEY_PREFIX + i for i in film_ids]
        for start in range(0, len(keys), 1000):
            await self._redis.delete(*keys[start : start + 1000])
        self._changed()

    async def close(self) -> None:
        await self._redis.aclose()


def open_cache(url: str, ttl_seconds: float) -> FilmCache:
    scheme = dsn_scheme(url)
    if scheme == "memory":
        return MemoryFilmCache(ttl_seconds)
    if scheme in ("redis", "rediss"):
        return RedisFilmCache(url, ttl_seconds)
    raise ValueError(f"CINEMA_CACHE_URL: no cache for {scheme}:// (use memory:// or redis://)")

"""The backend servers a topology runs on, and what one run takes from them.

The servers are the test suite's (``scripts/backends.sh up`` exports their addresses as
``CINEMA_TEST_*``). A run takes its own PostgreSQL database, Redis database, Elasticsearch
index prefix, MongoDB database, Kafka topic and consumer group, so that runs never meet,
and gives every one of them back when it stops.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

#: Each server's variable and its default (the ports scripts/backends.sh starts them on).
BACKEND_VARIABLES = {
    "postgres": ("CINEMA_TEST_POSTGRES_DSN", "postgresql://cinema@127.0.0.1:55432/postgres"),
    "redis": ("CINEMA_TEST_REDIS_URL", "redis://127.0.0.1:56379/0"),
    "elasticsearch": ("CINEMA_TEST_ELASTICSEARCH_URL", "http://127.0.0.1:59200"),
    "mongodb": ("CINEMA_TEST_MONGODB_URL", "mongodb://127.0.0.1:57017/"),
    "kafka": ("CINEMA_TEST_KAFKA_BOOTSTRAP", "127.0.0.1:59092"),
}
START_HINT = "start the servers with `scripts/backends.sh up` (then `source` its env file)"
PROBE_SECONDS = 5.0
#: Redis databases are leased as the test suite's fixtures lease them (db 0 holds the leases),
#: so a topology and the tests never flush each other's.
REDIS_LEASE = "cinema-test:db-lease:{}"
REDIS_DATABASES = range(1, 256)
REDIS_LEASE_SECONDS = 3600
#: The likes topic's partitions: events are keyed by user id, as in production.
KAFKA_PARTITIONS = 3


class BackendUnavailable(RuntimeError):
    """A backend server the topology needs does not answer."""


@dataclass(frozen=True)
class Backends:
    """Where the backend servers are: admin DSNs and URLs."""

    postgres: str
    redis: str
    elasticsearch: str
    mongodb: str
    kafka: str  # bootstrap host:port[,host:port]

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Backends:
        return cls(
            **{
                name: environ.get(variable) or default
                for name, (variable, default) in BACKEND_VARIABLES.items()
            }
        )


@dataclass(frozen=True)
class RunResources:
    """What one run owns on the backends."""

    run_id: str
    postgres_dsn: str  # postgresql://…/topology_<id>, a database of its own
    redis_url: str  # redis://…/<n>, a leased logical database
    elasticsearch_url: str
    index_prefix: str  # topology-<id>-
    mongodb_dsn: str  # mongodb://…/topology_<id>
    kafka_bootstrap: str
    kafka_topic: str  # topology.<id>.likes
    consumer_group: str  # topology-<id>-recommendations


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + path, parts.query, ""))


def host_port(name: str, url: str) -> tuple[str, int]:
    if name == "kafka":
        host, _, port = url.split(",")[0].strip().rpartition(":")
        return host.strip("[]") or "127.0.0.1", int(port)
    parts = urlsplit(url)
    defaults = {"postgres": 5432, "redis": 6379, "elasticsearch": 9200, "mongodb": 27017}
    return parts.hostname or "127.0.0.1", parts.port or defaults[name]


async def _ping_postgres(url: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url, timeout=PROBE_SECONDS)
    await connection.close()


async def _ping_redis(url: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.from_url(url, socket_timeout=PROBE_SECONDS)
    try:
        await client.ping()
    finally:
        await client.aclose()


async def _ping_elasticsearch(url: str) -> None:
    from elasticsearch import AsyncElasticsearch

    # Not ping(): the test suite's Elasticsearch build has no `GET /`.
    client = AsyncElasticsearch(url, request_timeout=PROBE_SECONDS)
    try:
        await client.cluster.health(wait_for_status="yellow", timeout="5s")
    finally:
        await client.close()


async def _ping_mongodb(url: str) -> None:
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        url, serverSelectionTimeoutMS=int(PROBE_SECONDS * 1000)
    )
    try:
        await client.admin.command("ping")
    finally:
        await client.close()


async def _ping_kafka(bootstrap: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=int(PROBE_SECONDS * 1000)
    )
    await admin.start()
    try:
        await admin.list_topics()
    finally:
        await admin.close()


_PINGS: dict[str, Callable[[str], Awaitable[None]]] = {
    "postgres": _ping_postgres,
    "redis": _ping_redis,
    "elasticsearch": _ping_elasticsearch,
    "mongodb": _ping_mongodb,
    "kafka": _ping_kafka,
}


async def probe(name: str, url: str) -> str | None:
    """None when the server answers, else why not."""
    host, port = host_port(name, url)
    try:
        await asyncio.to_thread(lambda: socket.create_connection((host, port), 1.0).close())
    except OSError as error:
        return f"nothing listening on {host}:{port} ({error.strerror or error})"
    try:
        await asyncio.wait_for(_PINGS[name](url), PROBE_SECONDS * 3)
    except Exception as error:  # any failure means "not usable"
        return f"{host}:{port} accepts connections but does not answer: {error!r}"
    return None


async def require(backends: Backends) -> None:
    """Raises BackendUnavailable naming every server that does not answer."""
    names = list(BACKEND_VARIABLES)
    reasons = await asyncio.gather(*(probe(name, getattr(backends, name)) for name in names))
    failed = [
        f"{name} ({BACKEND_VARIABLES[name][0]}={getattr(backends, name)}): {reason}"
        for name, reason in zip(names, reasons, strict=True)
        if reason is not None
    ]
    if failed:
        raise BackendUnavailable("; ".join(failed) + f"; {START_HINT}")


async def lease_redis_database(base: str, owner: str) -> str:
    """The URL of a Redis database leased to ``owner`` (1..255; the leases live in db 0),
    flushed. The test fixtures lease theirs the same way, so no two users share one."""
    import redis.asyncio as aioredis

    leases = aioredis.from_url(with_path(base, "0"))
    try:
        for database in REDIS_DATABASES:
            lease = REDIS_LEASE.format(database)
            if await leases.set(lease, owner, nx=True, ex=REDIS_LEASE_SECONDS):
                break
        else:
            raise BackendUnavailable("every Redis database (1..255) is leased")
    finally:
        await leases.aclose()
    url = with_path(base, str(database))
    client = aioredis.from_url(url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()
    return url


async def renew_redis_lease(resources: RunResources) -> None:
    """Keeps the Redis database leased (a run may outlive one lease)."""
    import redis.asyncio as aioredis

    database = urlsplit(resources.redis_url).path.strip("/")
    leases = aioredis.from_url(with_path(resources.redis_url, "0"))
    try:
        await leases.set(REDIS_LEASE.format(database), resources.run_id, ex=REDIS_LEASE_SECONDS)
    finally:
        await leases.aclose()


async def acquire(backends: Backends, run_id: str) -> RunResources:
    """Checks every server, then creates this run's database, topic and Redis lease."""
    import asyncpg
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    await require(backends)
    database = f"topology_{run_id}"
    connection = await asyncpg.connect(backends.postgres)
    try:
        await connection.execute(f'CREATE DATABASE "{database}"')
    finally:
        await connection.close()
    resources = RunResources(
        run_id=run_id,
        postgres_dsn=with_path(backends.postgres, database),
        redis_url="",
        elasticsearch_url=backends.elasticsearch,
        index_prefix=f"topology-{run_id}-",
        mongodb_dsn=with_path(backends.mongodb, database),
        kafka_bootstrap=backends.kafka,
        kafka_topic=f"topology.{run_id}.likes",
        consumer_group=f"topology-{run_id}-recommendations",
    )
    try:
        redis_url = await lease_redis_database(backends.redis, run_id)
        admin = AIOKafkaAdminClient(bootstrap_servers=backends.kafka)
        await admin.start()
        try:
            topic = NewTopic(resources.kafka_topic, KAFKA_PARTITIONS, replication_factor=1)
            await admin.create_topics([topic])
        finally:
            await admin.close()
    except BaseException:
        await release(resources)
        raise
    return RunResources(**{**resources.__dict__, "redis_url": redis_url})


async def release(resources: RunResources) -> list[str]:
    """Drops everything the run made; what could not be dropped, as messages."""
    steps: dict[str, Callable[[RunResources], Awaitable[None]]] = {
        "postgres database": _drop_postgres,
        "redis database": _drop_redis,
        "elasticsearch indices": _drop_indices,
        "mongodb database": _drop_mongodb,
        "kafka topic": _drop_kafka,
    }
    outcomes = await asyncio.gather(
        *(step(resources) for step in steps.values()), return_exceptions=True
    )
    return [
        f"could not drop the {what}: {outcome!r}"
        for what, outcome in zip(steps, outcomes, strict=True)
        if isinstance(outcome, BaseException)
    ]


async def _drop_postgres(resources: RunResources) -> None:
    import asyncpg

    database = urlsplit(resources.postgres_dsn).path.strip("/")
    connection = await asyncpg.connect(with_path(resources.postgres_dsn, "postgres"))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await connection.close()


async def _drop_redis(resources: RunResources) -> None:
    if resources.redis_url:
        await release_redis_database(resources.redis_url, resources.run_id)


async def release_redis_database(url: str, owner: str) -> None:
    """Flushes the database and gives its lease back, if ``owner`` still holds it."""
    import redis.asyncio as aioredis

    database = urlsplit(url).path.strip("/")
    client = aioredis.from_url(url)
    leases = aioredis.from_url(with_path(url, "0"))
    try:
        await client.flushdb()
        lease = REDIS_LEASE.format(database)
        if await leases.get(lease) == owner.encode():
            await leases.delete(lease)
    finally:
        await client.aclose()
        await leases.aclose()


async def _drop_indices(resources: RunResources) -> None:
    from elasticsearch import AsyncElasticsearch

    client = AsyncElasticsearch(resources.elasticsearch_url)
    try:
        # Names first: deleting by wildcard needs action.destructive_requires_name=false.
        found = await client.indices.get(
            index=f"{resources.index_prefix}*",
            allow_no_indices=True,
            ignore_unavailable=True,
            expand_wildcards="all",
        )
        if names := list(found.body):
            await client.indices.delete(index=",".join(names), ignore_unavailable=True)
    finally:
        await client.close()


async def _drop_mongodb(resources: RunResources) -> None:
    from pymongo import AsyncMongoClient

    database = urlsplit(resources.mongodb_dsn).path.strip("/")
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(resources.mongodb_dsn)
    try:
        await client.drop_database(database)
    finally:
        await client.close()


async def _drop_kafka(resources: RunResources) -> None:
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.errors import UnknownTopicOrPartitionError

    admin = AIOKafkaAdminClient(bootstrap_servers=resources.kafka_bootstrap)
    await admin.start()
    try:
        try:
            await admin.delete_topics([resources.kafka_topic])
        except UnknownTopicOrPartitionError:
            pass
    finally:
        await admin.close()

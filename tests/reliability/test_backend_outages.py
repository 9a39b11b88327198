"""Fault drills: each production backend stopped and started under a workload of real RPCs.

Each drill drives the service that uses the backend over gRPC while a private instance of
the backend (never the suite's shared one) is stopped and started again. While it is down
the service answers UNAVAILABLE within seconds, with no internals in the message, or keeps
serving where the design does not need the backend (the Redis cache, Kafka behind the
outbox); once it is back, calls succeed again without restarting the service; and every
write the service acknowledged is there afterwards. The figures are printed (``-s``) and
recorded as JUnit properties.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis
import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from cinema.auth.v1 import auth_pb2, auth_pb2_grpc
from cinema.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from cinema.likes.v1 import likes_pb2, likes_pb2_grpc
from cinema.recommendations.v1 import recommendations_pb2, recommendations_pb2_grpc
from etl.pipeline import run_import
from services.catalog.cache import KEY_PREFIX
from services.kit import clients
from services.kit.requirements import SERVICES
from services.recommendations.store import open_store as open_recommendations_store
from services.stack import Stack
from tests.etl import legacy_catalog
from tests.fixtures.private_backends import PrivateBackends
from tests.fixtures.stack import bearer, embedded_settings, mint_token
from tests.reliability.outage import (
    DEADLINE,
    FAST_FAILURE_SECONDS,
    RECOVERY_SECONDS,
    outage_drill,
)

# Elasticsearch starts in 10-40 s, twice in its drill.
pytestmark = pytest.mark.timeout(300)

RecordProperty = Callable[[str, object], None]
Metadata = tuple[tuple[str, str]]
#: A consumer group rejoins a restarted broker in seconds; folding the backlog takes longer.
KAFKA_DELIVERY_SECONDS = 60.0


@pytest.fixture(scope="module", autouse=True)
def json_logs() -> Iterator[None]:
    """Log lines as `cinema serve` writes them (JSON, plain tracebacks).

    Unconfigured, structlog draws each traceback with rich, locals included: seconds of
    blocked event loop per failed call, which the drill would time instead of the service.
    """
    saved = structlog.get_config()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ]
    )
    yield
    structlog.configure(**saved)


@pytest.fixture(scope="module")
async def backends() -> AsyncIterator[PrivateBackends]:
    """One private instance per backend kind for this module's drills, started on first use."""
    private = PrivateBackends()
    yield private
    await private.close()


async def running_stack(tmp_path: Path, services: tuple[str, ...], **settings: object) -> Stack:
    """The given services on one port, the catalog holding the legacy test films."""
    config = embedded_settings(tmp_path / "data", **settings)
    config.process.data_dir.mkdir(parents=True)
    await run_import(config.catalog, legacy_catalog.build_legacy_file(tmp_path / "legacy.db"))
    stack = Stack(config, services, gateway=False)
    await stack.start()
    return stack


async def private_database(backends: PrivateBackends) -> str:
    """A new database on the private PostgreSQL, for one drill."""
    await backends.ensure("postgres")
    name = f"d_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(backends.postgres_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return backends.postgres_dsn.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
async def postgres_stack(tmp_path: Path, backends: PrivateBackends) -> AsyncIterator[Stack]:
    """Auth and recommendations on the private PostgreSQL."""
    dsn = await private_database(backends)
    stack = await running_stack(
        tmp_path, SERVICES, auth_dsn=dsn, recommendations_dsn=dsn, likes_poll_seconds=0.05
    )
    yield stack
    await stack.stop()


async def test_postgres_outage_is_unavailable_then_recovers_without_losing_writes(
    postgres_stack: Stack, backends: PrivateBackends, record_property: RecordProperty
) -> None:
    password = "long enough pw"
    async with clients.channel(postgres_stack.grpc_address) as channel:
        auth = auth_pb2_grpc.AuthServiceStub(channel)
        recommendations = recommendations_pb2_grpc.RecommendationServiceStub(channel)

        async def write(n: int) -> None:
            # Even: an account (auth's store); odd: a stored list (recommendations' store).
            if n % 2 == 0:
                request = auth_pb2.RegisterRequest(login=f"drill-{n}", password=password)
                await auth.Register(request, timeout=DEADLINE)
            else:
                metadata = bearer(mint_token(postgres_stack, user_id=f"drill-{n}"))
                await recommendations.RefreshMyRecommendations(
                    recommendations_pb2.RefreshMyRecommendationsRequest(),
                    metadata=metadata,
                    timeout=DEADLINE,
                )

        report = await outage_drill(
            "postgres",
            write,
            stop=lambda: backends.stop("postgres"),
            start=lambda: backends.start("postgres"),
        )

    dsn = postgres_stack.settings.auth.auth_dsn
    connection = await asyncpg.connect(dsn)
    try:
        logins = {r["login"] for r in await connection.fetch("SELECT login FROM users")}
        listed = {
            r["user_id"] for r in await connection.fetch("SELECT user_id FROM recommendation_lists")
        }
    finally:
        await connection.close()
    present = {int(x.split("-")[1]) for x in logins | listed if x.startswith("drill-")}
    lost = report.acknowledged - present
    report.publish(record_property, present=len(report.acknowledged & present), lost=len(lost))
    assert not lost, f"acknowledged writes missing after the outage: {sorted(lost)[:10]}"
    report.assert_answered_unavailable_fast()
    report.assert_recovered()


@pytest.fixture
async def ferretdb_stack(tmp_path: Path, backends: PrivateBackends) -> AsyncIterator[Stack]:
    """The embedded stack with the likes store on the private FerretDB."""
    await backends.ensure("ferretdb")
    dsn = f"{backends.mongodb_url}d_{uuid.uuid4().hex[:12]}"
    stack = await running_stack(tmp_path, SERVICES, likes_dsn=dsn, likes_poll_seconds=0.05)
    yield stack
    await stack.stop()


async def logged_users(likes: likes_pb2_grpc.LikesServiceStub, metadata: Metadata) -> set[str]:
    """Whose events the likes log holds, read as a consumer reads it."""
    request = likes_pb2.StreamEventsRequest(replay_only=True)
    stream = likes.StreamEvents(request, metadata=metadata, timeout=DEADLINE)
    return {answer.event.user_id async for answer in stream}


async def test_ferretdb_outage_is_unavailable_then_recovers_without_losing_likes(
    ferretdb_stack: Stack, backends: PrivateBackends, record_property: RecordProperty
) -> None:
    async with clients.channel(ferretdb_stack.grpc_address) as channel:
        likes = likes_pb2_grpc.LikesServiceStub(channel)

        def user(n: int) -> Metadata:
            return bearer(mint_token(ferretdb_stack, user_id=f"drill-{n}"))

        async def write(n: int) -> None:
            request = likes_pb2.RateFilmRequest(
                film_id=legacy_catalog.MATRIX, rating=likes_pb2.RATING_LIKE
            )
            await likes.RateFilm(request, metadata=user(n), timeout=DEADLINE)

        report = await outage_drill(
            "ferretdb",
            write,
            stop=lambda: backends.stop("ferretdb"),
            start=lambda: backends.start("ferretdb"),
        )

        rated = set()
        for n in report.acknowledged:
            answer = await likes.ListMyRatings(likes_pb2.ListMyRatingsRequest(), metadata=user(n))
            if [r.film_id for r in answer.ratings] == [legacy_catalog.MATRIX]:
                rated.add(n)
        # The outbox relay survived the outage too: every change reaches the log.
        service = bearer(mint_token(ferretdb_stack, user_id="drill-ops", roles=("service",)))
        expected = {f"drill-{n}" for n in report.acknowledged}
        async with asyncio.timeout(RECOVERY_SECONDS):
            while True:
                found = await logged_users(likes, service)
                if expected <= found:
                    break
                await asyncio.sleep(0.2)
    logged = {n for n in report.acknowledged if f"drill-{n}" in found}
    lost = report.acknowledged - (rated & logged)
    report.publish(record_property, present=len(rated), logged=len(logged), lost=len(lost))
    assert not lost, f"acknowledged likes missing after the outage: {sorted(lost)[:10]}"
    report.assert_answered_unavailable_fast()
    report.assert_recovered()


FILMS = [
    legacy_catalog.MATRIX,
    legacy_catalog.MATRIX_RELOADED,
    legacy_catalog.HEAT,
    legacy_catalog.AMELIE,
]


@pytest.fixture
async def redis_stack(tmp_path: Path, backends: PrivateBackends) -> AsyncIterator[Stack]:
    """The catalog (SQLite) with its read-through cache on the private Redis."""
    await backends.ensure("redis")
    stack = await running_stack(tmp_path, ("catalog",), cache_url=backends.redis_url)
    yield stack
    await stack.stop()


async def test_redis_outage_reads_through_to_the_store_and_caches_again_once_back(
    redis_stack: Stack, backends: PrivateBackends, record_property: RecordProperty
) -> None:
    async with clients.channel(redis_stack.grpc_address) as channel:
        catalog = catalog_pb2_grpc.CatalogServiceStub(channel)

        async def read(n: int) -> None:
            film_id = FILMS[n % len(FILMS)]
            request = catalog_pb2.GetFilmRequest(film_id=film_id)
            answer = await catalog.GetFilm(request, timeout=DEADLINE)
            assert answer.film.id == film_id

        report = await outage_drill(
            "redis",
            read,
            stop=lambda: backends.stop("redis"),
            start=lambda: backends.start("redis"),
            fails_while_down=False,
        )
        # Redis came back empty (no persistence): what it holds now was cached after.
        cache = aioredis.from_url(backends.redis_url)
        try:
            async with asyncio.timeout(RECOVERY_SECONDS):
                while not await cache.exists(*(KEY_PREFIX + film_id for film_id in FILMS)):
                    await read(0)
                    await asyncio.sleep(0.1)
            cached = await cache.exists(*(KEY_PREFIX + film_id for film_id in FILMS))
        finally:
            await cache.aclose()
    slowest = max(o.seconds for o in report.outcomes)
    report.publish(record_property, cached_again=cached, slowest_read_s=round(slowest, 2))
    assert not report.failures, f"reads failed while the cache was down: {report.statuses}"
    assert slowest < FAST_FAILURE_SECONDS, f"a read took {slowest:.1f} s with the cache down"


@pytest.fixture
async def elasticsearch_stack(tmp_path: Path, backends: PrivateBackends) -> AsyncIterator[Stack]:
    """The catalog on the private Elasticsearch, synced from the private PostgreSQL."""
    catalog_dsn = await private_database(backends)
    await backends.ensure("elasticsearch")
    stack = await running_stack(
        tmp_path,
        ("catalog",),
        catalog_dsn=catalog_dsn,
        search_dsn=backends.elasticsearch_url,
        search_index_prefix=f"d-{uuid.uuid4().hex[:12]}-",
    )
    yield stack
    await stack.stop()


async def test_elasticsearch_outage_is_unavailable_then_search_recovers_unchanged(
    elasticsearch_stack: Stack, backends: PrivateBackends, record_property: RecordProperty
) -> None:
    async with clients.channel(elasticsearch_stack.grpc_address) as channel:
        catalog = catalog_pb2_grpc.CatalogServiceStub(channel)

        async def search() -> list[str]:
            request = catalog_pb2.SearchFilmsRequest(query="matrix")
            answer = await catalog.SearchFilms(request, timeout=DEADLINE)
            return [film.id for film in answer.films]

        before = await search()
        assert legacy_catalog.MATRIX in before

        async def read(n: int) -> None:
            assert await search() == before

        report = await outage_drill(
            "elasticsearch",
            read,
            stop=lambda: backends.stop("elasticsearch"),
            start=lambda: backends.start("elasticsearch"),
        )
        after = await search()
    report.publish(record_property, same_hits_after=after == before)
    assert after == before
    report.assert_answered_unavailable_fast()
    report.assert_recovered()


@pytest.fixture
async def kafka_stack(tmp_path: Path, backends: PrivateBackends) -> AsyncIterator[Stack]:
    """The embedded stack relaying likes to the recommender through the private Kafka."""
    await backends.ensure("kafka")
    topic = f"d.{uuid.uuid4().hex[:12]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=backends.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    stack = await running_stack(
        tmp_path,
        SERVICES,
        events_url=f"kafka://{backends.kafka_bootstrap}",
        events_topic=topic,
        recommendations_consumer_group=f"d-{uuid.uuid4().hex[:12]}",
        likes_poll_seconds=0.05,
        recommendations_debounce_seconds=0.1,
    )
    yield stack
    await stack.stop()


async def test_kafka_outage_delays_but_never_loses_a_like_on_its_way_to_recommendations(
    kafka_stack: Stack, backends: PrivateBackends, record_property: RecordProperty
) -> None:
    async with clients.channel(kafka_stack.grpc_address) as channel:
        likes = likes_pb2_grpc.LikesServiceStub(channel)

        async def write(n: int) -> None:
            request = likes_pb2.RateFilmRequest(
                film_id=legacy_catalog.MATRIX, rating=likes_pb2.RATING_LIKE
            )
            metadata = bearer(mint_token(kafka_stack, user_id=f"drill-{n}"))
            await likes.RateFilm(request, metadata=metadata, timeout=DEADLINE)

        # The likes store is not Kafka: the outbox keeps taking likes while Kafka is down.
        report = await outage_drill(
            "kafka",
            write,
            stop=lambda: backends.stop("kafka"),
            start=lambda: backends.start("kafka"),
            fails_while_down=False,
        )
    # Every acknowledged like reaches the recommender's projection through Kafka.
    store = await open_recommendations_store(
        kafka_stack.settings.recommendations.recommendations_dsn
    )
    missing = set(report.acknowledged)
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(KAFKA_DELIVERY_SECONDS):
                while missing:
                    for n in sorted(missing):
                        if legacy_catalog.MATRIX in (await store.taste(f"drill-{n}")).liked:
                            missing.discard(n)
                    await asyncio.sleep(0.2)
    finally:
        await store.close()
    delivered_after = time.monotonic() - report.up
    slowest = max(o.seconds for o in report.outcomes)
    report.publish(
        record_property,
        delivered=len(report.acknowledged) - len(missing),
        lost=len(missing),
        all_delivered_after_s=round(delivered_after, 2),
        slowest_write_s=round(slowest, 2),
    )
    assert not report.failures, f"likes failed while Kafka was down: {report.statuses}"
    assert slowest < FAST_FAILURE_SECONDS, f"a like took {slowest:.1f} s with Kafka down"
    assert not missing, f"acknowledged likes never reached recommendations: {sorted(missing)[:10]}"

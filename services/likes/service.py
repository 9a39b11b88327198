"""The likes service as a server hosts it, with its store and background workers.

GetFilmStats is public (counts, no identities); StreamEvents is internal: only callers
with the `service` role may read the event log. The workers relay the store's outbox
into the log (MongoDB) and, with ``CINEMA_EVENTS_URL=kafka://…``, the log to Kafka; both
are essential (while one is down, changes do not reach their readers), so the service
is NOT_SERVING in health while either is down.
"""

from __future__ import annotations

from functools import partial

from cinema.likes.v1 import likes_pb2, likes_pb2_grpc
from services.kit.config import dsn_scheme, kafka_bootstrap
from services.kit.interceptors import AccessPolicy
from services.kit.server import ServiceSpec
from services.kit.workers import RestartPolicy, Workers
from services.likes.films import FilmDirectory
from services.likes.kafka_relay import KafkaRelay
from services.likes.outbox_relay import run_outbox_relay
from services.likes.servicer import LikesServicer
from services.likes.settings import LikesSettings
from services.likes.store import LikesStore, open_store
from services.runtime import Runtime

NAME = likes_pb2.DESCRIPTOR.services_by_name["LikesService"].full_name

ACCESS = AccessPolicy(
    public=frozenset({f"/{NAME}/GetFilmStats"}),
    service_only=frozenset({f"/{NAME}/StreamEvents"}),
)


async def open_service(runtime: Runtime, config: LikesSettings) -> ServiceSpec:
    """Opens the store named by ``CINEMA_LIKES_DSN`` and builds the service on it."""
    store = await open_store(config.likes_dsn, lease_seconds=config.likes_relay_lease_seconds)
    return create_with(store, config, runtime)


def create_with(store: LikesStore, config: LikesSettings, runtime: Runtime) -> ServiceSpec:
    mesh = runtime.mesh
    films = FilmDirectory(
        lambda: mesh.catalog_target,
        config.likes_film_cache_seconds,
        config.likes_missing_film_cache_seconds,
    )
    servicer = LikesServicer(store, films, runtime.clock, config.likes_poll_seconds)
    workers = Workers("likes", RestartPolicy.configured(runtime.process))
    if store.outbox is not None:
        outbox = partial(run_outbox_relay, store, store.outbox, config.likes_poll_seconds)
        workers.add("outbox-relay", outbox)
    if mesh.events_url:
        if dsn_scheme(mesh.events_url) != "kafka":
            raise ValueError("CINEMA_EVENTS_URL: only kafka://host:port is supported")
        relay = KafkaRelay(
            store,
            kafka_bootstrap(mesh.events_url),
            mesh.events_topic,
            config.likes_poll_seconds,
            config.likes_relay_lease_seconds,
        )
        workers.add("kafka-relay", relay.run)

    async def close() -> None:
        await films.close()
        await store.close()

    return ServiceSpec(
        name=NAME,
        register=lambda server: likes_pb2_grpc.add_LikesServiceServicer_to_server(servicer, server),
        access=ACCESS,
        on_stop=close,
        workers=workers,
    )

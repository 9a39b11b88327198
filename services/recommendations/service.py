"""The recommendation service as a server hosts it, with its store and workers.

GetSimilarFilms is public (the film page); StreamRefreshes is internal: it drives
paid GigaChat calls for any user; GetOperatorStats is for operators (the `admin` role).
The workers fit the engines, follow the likes log (debounced refreshes), sweep stale
lists and sample the operator page's metrics. The pipeline is essential: while it cannot
follow the log (no credential, likes or the store failing), lists stop following likes,
and health says NOT_SERVING. Refits, the sweep and the sampler only let lists or charts
age: not essential.
"""

from __future__ import annotations

import structlog

from cinema.recommendations.v1 import recommendations_pb2, recommendations_pb2_grpc
from services.kit.config import MeshSettings, ProcessSettings, kafka_bootstrap
from services.kit.interceptors import AccessPolicy
from services.kit.server import ServiceSpec
from services.kit.service_token import ServiceToken
from services.kit.signals import WakeUp
from services.kit.workers import RestartPolicy, Workers
from services.recommendations.catalog import CatalogClient
from services.recommendations.engines_state import EngineState
from services.recommendations.events import EventSource, LikesStreamSource
from services.recommendations.events_kafka import KafkaEventSource
from services.recommendations.llm import create_llm_source
from services.recommendations.operator_peers import PeerReader
from services.recommendations.operator_stats import OperatorStats
from services.recommendations.pipeline import Pipeline
from services.recommendations.refresher import Refresher, StoreLlmCache
from services.recommendations.servicer import RecommendationServicer, RefreshLimiter
from services.recommendations.settings import GigaChatSettings, RecommendationsSettings
from services.recommendations.store import open_store
from services.runtime import Runtime

log = structlog.get_logger(__name__)

NAME = recommendations_pb2.DESCRIPTOR.services_by_name["RecommendationService"].full_name

ACCESS = AccessPolicy(
    public=frozenset({f"/{NAME}/GetSimilarFilms"}),
    service_only=frozenset({f"/{NAME}/StreamRefreshes"}),
    admin_only=frozenset({f"/{NAME}/GetOperatorStats"}),
)


def event_source(
    mesh: MeshSettings, consumer_group: str, service_token: ServiceToken
) -> EventSource:
    """Kafka's consumer group with ``CINEMA_EVENTS_URL=kafka://…``; else likes.StreamEvents."""
    if mesh.events_url:
        return KafkaEventSource(kafka_bootstrap(mesh.events_url), mesh.events_topic, consumer_group)
    return LikesStreamSource(lambda: mesh.likes_target, service_token)


async def open_service(
    runtime: Runtime, config: RecommendationsSettings, gigachat: GigaChatSettings
) -> ServiceSpec:
    """Opens the store named by ``CINEMA_RECOMMENDATIONS_DSN`` and builds the service.

    Targets are read on first use: embedded, the other services are this very server,
    whose port is known only once it is bound.
    """
    mesh, clock = runtime.mesh, runtime.clock
    # Embedded, the token for likes.StreamEvents is signed with our own auth keys.
    service_token = ServiceToken(mesh, runtime.signing_keys, clock, "svc-recommendations")
    store = await open_store(config.recommendations_dsn)
    catalog = CatalogClient(lambda: mesh.catalog_target)
    engines = EngineState(store, catalog, config)
    llm = create_llm_source(gigachat, catalog, cache=StoreLlmCache(store, clock))
    watchers = WakeUp()
    refresher = Refresher(store, engines, llm, watchers, config, clock)
    warn_without_service_token(mesh, service_token)
    source = event_source(mesh, config.recommendations_consumer_group, service_token)
    pipeline = Pipeline(store, source, refresher, engines, config, clock)
    peers = config.operator_peers
    operator = OperatorStats(
        config.recommendations_operator_sample_seconds,
        config.recommendations_operator_window_seconds,
        before_reading=llm.publish_metrics,
        peers=PeerReader(peers, runtime.hosted) if peers else None,
    )
    servicer = RecommendationServicer(
        store,
        engines,
        refresher,
        watchers,
        catalog,
        RefreshLimiter(config.recommendations_refreshes_per_minute),
        operator,
    )

    async def close() -> None:
        await refresher.aclose()
        await llm.aclose()
        await source.close()
        await catalog.close()
        await operator.aclose()
        await store.close()

    return ServiceSpec(
        name=NAME,
        register=lambda server: (
            recommendations_pb2_grpc.add_RecommendationServiceServicer_to_server(servicer, server)
        ),
        access=ACCESS,
        on_stop=close,
        workers=workers(runtime.process, engines, pipeline, operator),
    )


def workers(
    process: ProcessSettings, engines: EngineState, pipeline: Pipeline, operator: OperatorStats
) -> Workers:
    supervised = Workers("recommendations", RestartPolicy.configured(process))
    supervised.add("pipeline", pipeline.run)
    supervised.add("engines", engines.run, essential=False)
    supervised.add("sweep", pipeline.sweep, essential=False)
    supervised.add("operator-stats", operator.run, essential=False)
    return supervised


def warn_without_service_token(mesh: MeshSettings, service_token: ServiceToken) -> None:
    """Says loudly at start-up that the pipeline will not get past likes' authentication."""
    if mesh.events_url or service_token() is not None:
        return
    log.warning(
        "pipeline_without_service_token",
        consequence="the pipeline cannot read likes.StreamEvents (UNAUTHENTICATED): lists"
        " never follow likes, and health reports this service NOT_SERVING",
        fix="set CINEMA_SERVICE_TOKEN (cinema auth issue-service-token --name recommendations)",
    )

"""The catalog service as a server hosts it.

Catalog reads are public: browsing films needs no account.
"""

from __future__ import annotations

from cinema.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from services.catalog.cache import FilmCache, open_cache
from services.catalog.servicer import CatalogServicer
from services.catalog.settings import CatalogSettings
from services.catalog.store import CatalogStore, open_store
from services.kit.interceptors import AccessPolicy
from services.kit.server import ServiceSpec
from services.runtime import Runtime

DESCRIPTOR = catalog_pb2.DESCRIPTOR.services_by_name["CatalogService"]
NAME = DESCRIPTOR.full_name

ACCESS = AccessPolicy(
    public=frozenset(f"/{NAME}/{method.name}" for method in DESCRIPTOR.methods),
    service_only=frozenset(),
)


async def open_service(runtime: Runtime, config: CatalogSettings) -> ServiceSpec:
    """The catalog on its configured store (the stack loads the demo films before it)."""
    store = await open_store(config.search_dsn, index_prefix=config.search_index_prefix)
    cache = open_cache(config.cache_url, config.cache_ttl_seconds)
    return create_with(store, cache)


def create_with(store: CatalogStore, cache: FilmCache) -> ServiceSpec:
    servicer = CatalogServicer(store, cache)

    async def close() -> None:
        await store.close()
        await cache.close()

    return ServiceSpec(
        name=NAME,
        register=lambda server: catalog_pb2_grpc.add_CatalogServiceServicer_to_server(
            servicer, server
        ),
        access=ACCESS,
        on_stop=close,
    )

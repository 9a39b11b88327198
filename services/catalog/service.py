"""The catalog service as a server hosts it.

Every RPC answers UNIMPLEMENTED (the generated base servicer) until the catalog issue.
Catalog reads are public: browsing films needs no account.
"""

from __future__ import annotations

from cinema.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from services.kit.interceptors import AccessPolicy
from services.kit.server import ServiceSpec

DESCRIPTOR = catalog_pb2.DESCRIPTOR.services_by_name["CatalogService"]
NAME = DESCRIPTOR.full_name

ACCESS = AccessPolicy(
    public=frozenset(f"/{NAME}/{method.name}" for method in DESCRIPTOR.methods),
    service_only=frozenset(),
)


def create() -> ServiceSpec:
    servicer = catalog_pb2_grpc.CatalogServiceServicer()  # type: ignore[abstract]
    return ServiceSpec(
        name=NAME,
        register=lambda server: catalog_pb2_grpc.add_CatalogServiceServicer_to_server(
            servicer, server
        ),
        access=ACCESS,
    )

"""The likes service as a server hosts it.

Every RPC answers UNIMPLEMENTED (the generated base servicer) until the likes issue.
GetFilmStats is public (counts, no identities); StreamEvents is internal: only callers with
the `service` role may read the event log.
"""

from __future__ import annotations

from cinema.likes.v1 import likes_pb2, likes_pb2_grpc
from services.kit.interceptors import AccessPolicy
from services.kit.server import ServiceSpec

NAME = likes_pb2.DESCRIPTOR.services_by_name["LikesService"].full_name

ACCESS = AccessPolicy(
    public=frozenset({f"/{NAME}/GetFilmStats"}),
    service_only=frozenset({f"/{NAME}/StreamEvents"}),
)


def create() -> ServiceSpec:
    servicer = likes_pb2_grpc.LikesServiceServicer()  # type: ignore[abstract]
    return ServiceSpec(
        name=NAME,
        register=lambda server: likes_pb2_grpc.add_LikesServiceServicer_to_server(servicer, server),
        access=ACCESS,
    )

"""The recommendation service as a server hosts it.

Every RPC answers UNIMPLEMENTED (the generated base servicer) until the recommendations
issue. GetSimilarFilms is public (the film page); StreamRefreshes is internal: it drives
paid GigaChat calls for any user.
"""

from __future__ import annotations

from cinema.recommendations.v1 import recommendations_pb2, recommendations_pb2_grpc
from services.kit.interceptors import AccessPolicy
from services.kit.server import ServiceSpec

NAME = recommendations_pb2.DESCRIPTOR.services_by_name["RecommendationService"].full_name

ACCESS = AccessPolicy(
    public=frozenset({f"/{NAME}/GetSimilarFilms"}),
    service_only=frozenset({f"/{NAME}/StreamRefreshes"}),
)


def create() -> ServiceSpec:
    servicer = recommendations_pb2_grpc.RecommendationServiceServicer()  # type: ignore[abstract]
    return ServiceSpec(
        name=NAME,
        register=lambda server: (
            recommendations_pb2_grpc.add_RecommendationServiceServicer_to_server(servicer, server)
        ),
        access=ACCESS,
    )

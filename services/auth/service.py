"""The auth service as a server hosts it."""

from __future__ import annotations

from cinema.auth.v1 import auth_pb2, auth_pb2_grpc
from services.auth.keys import KeyRing
from services.auth.servicer import AuthServicer
from services.kit.interceptors import AccessPolicy
from services.kit.server import ServiceSpec

NAME = auth_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name

ACCESS = AccessPolicy(
    public=frozenset(
        f"/{NAME}/{method}" for method in ("Register", "Login", "Refresh", "Logout", "GetJwks")
    ),
    service_only=frozenset(),
)


def create(keys: KeyRing) -> ServiceSpec:
    servicer = AuthServicer(keys)  # type: ignore[abstract]
    return ServiceSpec(
        name=NAME,
        register=lambda server: auth_pb2_grpc.add_AuthServiceServicer_to_server(servicer, server),
        access=ACCESS,
    )

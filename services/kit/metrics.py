"""Prometheus metrics shared by every server."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RPCS_STARTED = Counter(
    "grpc_server_started_total", "RPCs started on the server.", ["grpc_service", "grpc_method"]
)
RPCS_HANDLED = Counter(
    "grpc_server_handled_total",
    "RPCs completed on the server, by status code.",
    ["grpc_service", "grpc_method", "grpc_code"],
)
RPC_SECONDS = Histogram(
    "grpc_server_handling_seconds",
    "Time to complete an RPC (streams: until the stream ends).",
    ["grpc_service", "grpc_method"],
)

JWKS_FETCHES = Counter(
    "cinema_jwks_fetches_total", "Fetches of the auth service's JWKS, by outcome.", ["outcome"]
)
JWKS_FETCHED = Gauge(
    "cinema_jwks_last_fetch_timestamp_seconds",
    "When the JWKS was last fetched successfully (its age: time() minus this).",
)
JWKS_STALE_VERIFICATIONS = Counter(
    "cinema_jwks_stale_verifications_total",
    "Tokens verified with keys older than CINEMA_JWKS_REFRESH_SECONDS (auth unreachable).",
)

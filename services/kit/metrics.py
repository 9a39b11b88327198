"""Prometheus metrics shared by every server."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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

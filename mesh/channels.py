"""The options of every gRPC channel we open, the services' and the gateway's alike."""

from __future__ import annotations

#: gRPC's default reconnect backoff grows to 120 s, so a service that restarted stayed
#: unreachable for up to that long; retrying every second at most costs a failed connect a
#: second while a server is down. A name that resolves elsewhere after a restart (a new
#: container) is looked up again within a second, not the default 30.
CHANNEL_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
    ("grpc.dns_min_time_between_resolutions_ms", 1000),
)

"""Waiting until a process of the topology serves: gRPC health, HTTP, Envoy's admin.

Every wait watches its process too: one that exits is reported at once, with its log,
rather than after the deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from topology.processes import Server, failure

POLL_SECONDS = 0.1


async def _until(
    server: Server, deadline: float, what: str, ready: Callable[[], Awaitable[bool]]
) -> None:
    while True:
        server.check_running()
        if await ready():
            return
        if time.monotonic() > deadline:
            raise failure(server.name, f"was not {what} in time", server.log)
        await asyncio.sleep(POLL_SECONDS)


async def grpc_serving(server: Server, target: str, service: str, deadline: float) -> None:
    """Until ``service``'s gRPC health at ``target`` is SERVING."""
    async with grpc.aio.insecure_channel(target) as channel:
        health = health_pb2_grpc.HealthStub(channel)

        async def serving() -> bool:
            try:
                answer = await health.Check(
                    health_pb2.HealthCheckRequest(service=service), timeout=1.0
                )
            except grpc.aio.AioRpcError:
                return False
            return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)

        await _until(server, deadline, f"SERVING ({service} at {target})", serving)


async def http_ok(server: Server, url: str, deadline: float) -> None:
    """Until ``url`` answers 200."""
    async with httpx.AsyncClient(timeout=1.0) as client:

        async def answers() -> bool:
            try:
                return (await client.get(url)).status_code == 200
            except httpx.TransportError:
                return False

        await _until(server, deadline, f"answering {url}", answers)


async def envoy_ready(server: Server, admin: str, clusters: Sequence[str], deadline: float) -> None:
    """Until Envoy is ready, every cluster's host passes its gRPC health check, and the
    auth service's keys are fetched (before that, every call with a token is 401)."""
    async with httpx.AsyncClient(timeout=1.0) as client:

        async def ready() -> bool:
            try:
                if (await client.get(f"{admin}/ready")).status_code != 200:
                    return False
                hosts = (await client.get(f"{admin}/clusters")).text.splitlines()
                stats = (await client.get(f"{admin}/stats?filter=jwks_fetch_success")).text
            except httpx.TransportError:
                return False
            healthy = {
                line.split("::", 1)[0] for line in hosts if line.endswith("::health_flags::healthy")
            }
            fetched = any(
                line.rpartition(": ")[2].strip() not in ("", "0") for line in stats.splitlines()
            )
            return set(clusters) <= healthy and fetched

        await _until(server, deadline, "ready with healthy clusters", ready)

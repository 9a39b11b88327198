"""One REST contract, two edges: every test here runs through the FastAPI gateway and through
the real Envoy, on the production topology (`production_topology`: one process per service
on PostgreSQL, Elasticsearch, FerretDB, Redis and Kafka, as `make run-prod` starts it).

`edge` is the parameter: a test takes it (or `http`, a client on it) and runs twice.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from topology.harness import Topology

MATRIX = "84459d2b-93a9-5e6e-b438-8459be9c905f"  # demo film ids are stable


@dataclass(frozen=True)
class Edge:
    name: str  # "gateway" or "envoy"
    base: str  # http://host:port


@dataclass(frozen=True)
class Edges:
    gateway: str
    envoy: str
    envoy_access_log: Path

    async def envoy_logged(self, request_id: str) -> dict[str, Any]:
        """Envoy's access log entry for `request_id`, once Envoy has flushed it."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            for line in self.envoy_access_log.read_text(encoding="utf-8").splitlines():
                entry: dict[str, Any] = json.loads(line) if line.startswith("{") else {}
                if entry.get("request_id") == request_id:
                    return entry
            await asyncio.sleep(0.05)
        pytest.fail(f"no entry with request id {request_id} in {self.envoy_access_log}")


@pytest.fixture(scope="session")
def edges(production_topology: Topology) -> Edges:
    return Edges(
        production_topology.gateway_url,
        production_topology.envoy_url,
        production_topology.logs_dir / "envoy-access.log",
    )


@pytest.fixture(params=["gateway", "envoy"])
def edge(request: pytest.FixtureRequest, edges: Edges) -> Edge:
    name: str = request.param
    return Edge(name, edges.gateway if name == "gateway" else edges.envoy)


@pytest.fixture
async def http(edge: Edge) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=edge.base, timeout=10) as client:
        yield client

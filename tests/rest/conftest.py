"""One REST contract, two edges: every test here runs through the FastAPI gateway and through
the real Envoy, in front of the same services.

`edge` is the parameter: a test takes it (or `http`, a client on it) and runs twice.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from services.stack import SERVICES, Stack
from tests.fixtures.envoy import RunningEnvoy, running_envoy
from tests.fixtures.stack import embedded_settings

MATRIX = "84459d2b-93a9-5e6e-b438-8459be9c905f"  # demo film ids are stable


@dataclass(frozen=True)
class Edge:
    name: str  # "gateway" or "envoy"
    base: str  # http://host:port


@dataclass(frozen=True)
class Edges:
    gateway: str
    envoy: RunningEnvoy


@pytest.fixture(scope="session")
async def rest_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    data_dir = tmp_path_factory.mktemp("rest-stack") / "data"
    running = Stack(embedded_settings(data_dir, demo_catalog=True), SERVICES, gateway=True)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture(scope="session")
async def edges(
    rest_stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Edges]:
    upstreams = dict.fromkeys(SERVICES, rest_stack.grpc_address)
    directory = tmp_path_factory.mktemp("rest-envoy")
    async with running_envoy(directory, upstreams, f"/v1/films/{MATRIX}") as envoy:
        gateway = f"http://{rest_stack.http_address}"
        await until_envoy_takes_tokens(gateway, envoy.base)
        yield Edges(gateway, envoy)


async def until_envoy_takes_tokens(gateway: str, envoy: str, seconds: float = 10.0) -> None:
    """Until Envoy has fetched the auth service's keys: a fresh user's token passes it."""
    account = {"login": f"probe-{uuid.uuid4().hex[:10]}", "password": "a long passphrase"}
    async with httpx.AsyncClient(timeout=5) as http:
        assert (await http.post(f"{gateway}/v1/auth/register", json=account)).is_success
        login = await http.post(f"{gateway}/v1/auth/login", json=account)
        headers = {"Authorization": f"Bearer {login.json()['tokens']['accessToken']}"}
        deadline = time.monotonic() + seconds
        while (reply := await http.get(f"{envoy}/v1/auth/me", headers=headers)).status_code == 401:
            if time.monotonic() > deadline:
                pytest.fail(f"Envoy refused a valid token for {seconds} s: {reply.text}")
            await asyncio.sleep(0.2)
        assert reply.status_code == 200, reply.text


@pytest.fixture(params=["gateway", "envoy"])
def edge(request: pytest.FixtureRequest, edges: Edges) -> Edge:
    name: str = request.param
    return Edge(name, edges.gateway if name == "gateway" else edges.envoy.base)


@pytest.fixture
async def http(edge: Edge) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=edge.base, timeout=10) as client:
        yield client

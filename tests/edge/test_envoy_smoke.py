"""The real Envoy, configured by the generator for this test's ports, in front of the stack.

The embedded stack (with the demo catalog and the FastAPI gateway) runs in this process;
Envoy runs as a child process on free ports, its config written by `python -m edge` into a
temporary directory, and is stopped (killed if it must be) when the module ends.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from services.stack import SERVICES, Stack
from tests.fixtures.envoy import RunningEnvoy, running_envoy
from tests.fixtures.stack import embedded_settings, mint_token

MATRIX = "84459d2b-93a9-5e6e-b438-8459be9c905f"  # demo film ids are stable
UNKNOWN_FILM = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
async def edge_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    data_dir = tmp_path_factory.mktemp("edge-stack") / "data"
    running = Stack(embedded_settings(data_dir, demo_catalog=True), SERVICES, gateway=True)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture(scope="module")
async def edge(
    edge_stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningEnvoy]:
    upstreams = dict.fromkeys(SERVICES, edge_stack.grpc_address)
    directory = tmp_path_factory.mktemp("envoy")
    async with running_envoy(directory, upstreams, f"/v1/films/{MATRIX}") as envoy:
        yield envoy


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def test_public_reads_answer_the_same_json_as_the_gateway(
    edge: RunningEnvoy, edge_stack: Stack, http: httpx.AsyncClient
) -> None:
    gateway = f"http://{edge_stack.http_address}"
    for path in (f"/v1/films/{MATRIX}", "/v1/films:search?query=matrix&pageSize=3"):
        through_envoy = await http.get(edge.base + path)
        through_gateway = await http.get(gateway + path)
        assert through_envoy.status_code == through_gateway.status_code == 200, path
        assert through_envoy.headers["content-type"].startswith("application/json")
        assert through_envoy.json() == through_gateway.json(), path
    film = (await http.get(f"{edge.base}/v1/films/{MATRIX}")).json()["film"]
    assert film["title"] == "The Matrix" and "creationDate" in film  # lowerCamelCase


async def test_an_unknown_film_is_404(edge: RunningEnvoy, http: httpx.AsyncClient) -> None:
    response = await http.get(f"{edge.base}/v1/films/{UNKNOWN_FILM}")
    assert response.status_code == 404
    # google.rpc.Status as JSON (the gateway says "NOT_FOUND" where Envoy says 5).
    assert UNKNOWN_FILM in response.json()["message"]


async def test_a_call_that_needs_a_token_is_refused_at_the_edge(
    edge: RunningEnvoy, http: httpx.AsyncClient
) -> None:
    marker = f"edge-refused-{uuid.uuid4().hex}"
    missing = await http.get(f"{edge.base}/v1/me/ratings", headers={"x-request-id": marker})
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith(
        "Bearer"
    )  # jwt_authn's, not the service's
    forged = await http.get(
        f"{edge.base}/v1/auth/me", headers={"Authorization": "Bearer not.a.token"}
    )
    assert forged.status_code == 401
    entry = await edge.logged(marker)
    assert entry["details"].startswith("jwt_authn_access_denied"), entry


async def test_a_valid_token_passes_the_edge_and_the_service(
    edge: RunningEnvoy, edge_stack: Stack, http: httpx.AsyncClient
) -> None:
    token = mint_token(edge_stack, user_id="edge-user")
    headers = {"Authorization": f"Bearer {token}"}
    # The edge fetches the JWKS through its own listener, once that listens: allow a refetch.
    deadline = time.monotonic() + 5
    while True:
        response = await http.get(f"{edge.base}/v1/me/ratings", headers=headers)
        if response.status_code != 401 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert response.status_code == 200, response.text
    assert response.json() == {"ratings": [], "nextPageToken": ""}


async def test_the_request_id_is_kept_answered_and_logged(
    edge: RunningEnvoy, http: httpx.AsyncClient
) -> None:
    marker = f"edge-smoke-{uuid.uuid4().hex}"
    response = await http.get(f"{edge.base}/v1/films/{MATRIX}", headers={"x-request-id": marker})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == marker
    entry = await edge.logged(marker)
    assert entry["route"] == "cinema.catalog.v1.CatalogService.GetFilm"
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", f"/v1/films/{MATRIX}", 200)
    assert entry["upstream"] == "catalog"


async def test_unknown_paths_and_oversized_bodies_are_refused(
    edge: RunningEnvoy, http: httpx.AsyncClient
) -> None:
    assert (await http.get(f"{edge.base}/v1/nothing-here")).status_code == 404
    too_big = json.dumps({"queries": [{"title": "x" * 1024}] * 1100})
    response = await http.post(
        f"{edge.base}/v1/films:matchTitles",
        content=too_big,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    huge_head = {"x-padding": "x" * 40 * 1024}
    assert (await http.get(f"{edge.base}/v1/genres", headers=huge_head)).status_code == 431

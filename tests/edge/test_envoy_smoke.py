"""The real Envoy, configured by the generator for this test's ports, in front of the stack.

The embedded stack (with the demo catalog and the FastAPI gateway) runs in this process;
Envoy runs as a child process on free ports, its config written by `python -m edge` into a
temporary directory, and is stopped (killed if it must be) when the module ends.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge import generate
from services.stack import SERVICES, Stack
from tests.edge.envoy_files import DESCRIPTORS, envoy_binary
from tests.fixtures.stack import embedded_settings, mint_token

MATRIX = "84459d2b-93a9-5e6e-b438-8459be9c905f"  # demo film ids are stable
UNKNOWN_FILM = "00000000-0000-4000-8000-000000000000"
START_TIMEOUT = 20.0


@dataclass(frozen=True)
class RunningEnvoy:
    base: str
    admin: str
    access_log: Path
    log: Path

    def access_entries(self) -> list[dict[str, Any]]:
        return [
            json.loads(line)
            for line in self.access_log.read_text(encoding="utf-8").splitlines()
            if line.startswith("{")
        ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


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
    directory = tmp_path_factory.mktemp("envoy")
    config = directory / "envoy.yaml"
    listen, admin = f"127.0.0.1:{_free_port()}", f"127.0.0.1:{_free_port()}"
    target = edge_stack.grpc_address
    upstreams = [arg for name in SERVICES for arg in ("--upstream", f"{name}={target}")]
    out = ["--descriptor", str(DESCRIPTORS), "--out", str(config)]
    generate.main(["--listen", listen, "--admin", admin, *upstreams, *out])
    running = RunningEnvoy(
        f"http://{listen}", f"http://{admin}", directory / "access.log", directory / "envoy.log"
    )
    process = _start(config, running)
    try:
        await _until_serving(process, running)
        yield running
    finally:
        _stop(process)


def _start(config: Path, envoy: RunningEnvoy) -> subprocess.Popen[bytes]:
    """Envoy on `config`: the access log (stdout) flushed every 50 ms, its own log apart."""
    command = [envoy_binary(), "-c", config, "--disable-hot-restart", "--concurrency", "1"]
    command += ["--file-flush-interval-msec", "50", "--log-level", "info"]
    with envoy.access_log.open("wb") as stdout, envoy.log.open("wb") as stderr:
        return subprocess.Popen(command, stdout=stdout, stderr=stderr, cwd=config.parent)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


async def _until_serving(process: subprocess.Popen[bytes], envoy: RunningEnvoy) -> None:
    """Until Envoy is ready and its clusters are healthy: a film reads through it."""
    deadline = time.monotonic() + START_TIMEOUT
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"envoy exited {process.returncode}:\n{_tail(envoy.log)}")
            try:
                ready = await client.get(f"{envoy.admin}/ready")
                film = await client.get(f"{envoy.base}/v1/films/{MATRIX}")
                if ready.status_code == 200 and film.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    pytest.fail(f"envoy did not serve within {START_TIMEOUT} s:\n{_tail(envoy.log)}")


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


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
    entry = await _logged(edge, marker)
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
    entry = await _logged(edge, marker)
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


async def _logged(edge: RunningEnvoy, request_id: str) -> dict[str, Any]:
    """The access log's entry for `request_id`, once Envoy has flushed it."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for entry in edge.access_entries():
            if entry["request_id"] == request_id:
                return entry
        await asyncio.sleep(0.05)
    pytest.fail(f"no access log entry with request id {request_id}:\n{_tail(edge.access_log)}")

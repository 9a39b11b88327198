"""`cinema up` as a user runs it: a process that prints its addresses and answers grpcurl."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.processes import CINEMA, GRPCURL, free_port


@pytest.fixture(scope="module")
def cinema_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """One `cinema up` process for the module; stopping it with SIGTERM must be clean."""
    tmp_path = tmp_path_factory.mktemp("cinema-up")
    grpc_port, http_port = free_port(), free_port()
    env = {
        **os.environ,
        "CINEMA_DATA_DIR": str(tmp_path / "data"),
        "CINEMA_GRPC_PORT": str(grpc_port),
        "CINEMA_HTTP_PORT": str(http_port),
    }
    process = subprocess.Popen(
        [CINEMA, "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None
    announced = [process.stdout.readline(), process.stdout.readline()]
    try:
        assert f"127.0.0.1:{grpc_port}" in announced[0], announced
        assert f"127.0.0.1:{http_port}" in announced[1], announced
        yield f"127.0.0.1:{grpc_port}", f"http://127.0.0.1:{http_port}"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, "cinema up did not shut down cleanly"


def test_grpcurl_lists_every_service(cinema_up: tuple[str, str]) -> None:
    grpc_address, _ = cinema_up
    listed = subprocess.run(
        [GRPCURL, "-plaintext", grpc_address, "list"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.split()
    assert set(listed) >= {
        "cinema.auth.v1.AuthService",
        "cinema.catalog.v1.CatalogService",
        "cinema.likes.v1.LikesService",
        "cinema.recommendations.v1.RecommendationService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }


def test_grpcurl_calls_a_public_rpc_without_a_token(cinema_up: tuple[str, str]) -> None:
    grpc_address, _ = cinema_up
    reply = subprocess.run(
        [GRPCURL, "-plaintext", grpc_address, "cinema.auth.v1.AuthService/GetJwks"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    assert re.search(r'"kty":\s*"OKP"', reply), reply


def test_gateway_serves_the_jwks_and_the_docs(cinema_up: tuple[str, str]) -> None:
    _, http_base = cinema_up
    jwks = httpx.get(f"{http_base}/.well-known/jwks.json", timeout=10)
    assert jwks.status_code == 200 and jwks.json()["keys"][0]["alg"] == "EdDSA"
    assert httpx.get(f"{http_base}/docs", timeout=10).status_code == 200


def test_metrics_count_the_rpcs_served(cinema_up: tuple[str, str]) -> None:
    _, http_base = cinema_up
    httpx.get(f"{http_base}/.well-known/jwks.json", timeout=10)
    metrics = httpx.get(f"{http_base}/metrics/", timeout=10).text
    assert (
        'grpc_server_handled_total{grpc_code="OK",grpc_method="GetJwks",'
        'grpc_service="cinema.auth.v1.AuthService"}' in metrics
    )

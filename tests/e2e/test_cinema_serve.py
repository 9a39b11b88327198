"""`cinema serve <service>`: one service alone, as production deploys it."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from tests.e2e.processes import CINEMA, GRPCURL, free_port


def test_serve_runs_one_service_with_health_and_reflection(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "CINEMA_DATA_DIR": str(tmp_path / "data"),
        "CINEMA_GRPC_PORT": str(port),
        "CINEMA_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [CINEMA, "serve", "auth"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    try:
        assert f"127.0.0.1:{port}" in process.stdout.readline()
        listed = subprocess.run(
            [GRPCURL, "-plaintext", f"127.0.0.1:{port}", "list"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.split()
        assert set(listed) == {
            "cinema.auth.v1.AuthService",
            "grpc.health.v1.Health",
            "grpc.reflection.v1alpha.ServerReflection",
        }
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, "cinema serve did not shut down cleanly"

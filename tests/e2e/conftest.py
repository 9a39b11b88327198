"""One `cinema up` process, as a user runs it, shared by the end-to-end tests."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator

import pytest

from tests.e2e.processes import CINEMA, RunningCinema, cinema_env, free_port


@pytest.fixture(scope="session")
def cinema_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCinema]:
    """`cinema up` on free ports; it must announce both and stop cleanly on SIGTERM."""
    grpc_port, http_port = free_port(), free_port()
    env = cinema_env(
        tmp_path_factory.mktemp("cinema-up") / "data",
        grpc_port=str(grpc_port),
        http_port=str(http_port),
        metrics_port=str(free_port()),
        log_level="WARNING",
    )
    process = subprocess.Popen(
        [CINEMA, "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None
    announced = [process.stdout.readline(), process.stdout.readline()]
    try:
        assert f"127.0.0.1:{grpc_port}" in announced[0], announced
        assert f"127.0.0.1:{http_port}" in announced[1], announced
        yield RunningCinema(f"127.0.0.1:{grpc_port}", f"http://127.0.0.1:{http_port}", env)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, "cinema up did not shut down cleanly"

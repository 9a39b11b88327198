"""A command that cannot do its job says why, names the setting, and exits; it never hangs."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.processes import CINEMA, cinema_env, free_port


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port some other program is listening on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def run_cinema(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # A generous bound: the failure is that it never returns at all.
    return subprocess.run(
        [CINEMA, *argv], env=env, capture_output=True, text=True, timeout=90, check=False
    )


@pytest.mark.parametrize("variable", ["http_port", "grpc_port"])
def test_cinema_up_on_a_taken_port_exits_naming_the_port_and_its_variable(
    tmp_path: Path, taken_port: int, variable: str
) -> None:
    ports = {"http_port": str(free_port()), "grpc_port": str(free_port())}
    ports[variable] = str(taken_port)
    env = cinema_env(tmp_path / "data", log_level="WARNING", demo_catalog="false", **ports)
    run = run_cinema("up", env=env)
    assert run.returncode != 0
    assert f"127.0.0.1:{taken_port}" in run.stderr, run.stderr
    assert f"CINEMA_{variable.upper()}" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr, run.stderr


def test_etl_sync_on_the_embedded_catalog_says_what_it_needs(tmp_path: Path) -> None:
    run = run_cinema("etl", "sync", env=cinema_env(tmp_path / "data"))
    assert run.returncode == 2, run.stderr
    for needed in ("PostgreSQL", "Elasticsearch", "CINEMA_CATALOG_DSN", "CINEMA_SEARCH_DSN"):
        assert needed in run.stderr, run.stderr


def test_serve_catalog_without_the_auth_target_exits_naming_it(tmp_path: Path) -> None:
    env = cinema_env(tmp_path / "data", grpc_port=str(free_port()))
    run = run_cinema("serve", "catalog", env=env)
    assert run.returncode == 2, run.stderr
    assert "CINEMA_AUTH_TARGET" in run.stderr, run.stderr


def test_serve_gateway_alone_names_every_target_it_lacks(tmp_path: Path) -> None:
    env = cinema_env(tmp_path / "data", http_port=str(free_port()), auth_target="127.0.0.1:1")
    run = run_cinema("serve", "gateway", env=env)
    assert run.returncode == 2, run.stderr
    missing = ("CINEMA_CATALOG_TARGET", "CINEMA_LIKES_TARGET", "CINEMA_RECOMMENDATIONS_TARGET")
    assert all(name in run.stderr for name in missing), run.stderr
    assert "CINEMA_AUTH_TARGET" not in run.stderr, run.stderr


def test_an_invalid_setting_is_named_without_a_traceback(tmp_path: Path) -> None:
    run = run_cinema("up", env=cinema_env(tmp_path / "data", grpc_port="lots"))
    assert run.returncode == 2, run.stderr
    assert "CINEMA_GRPC_PORT" in run.stderr and "Traceback" not in run.stderr, run.stderr

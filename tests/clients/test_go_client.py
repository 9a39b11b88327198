"""The Go client of clients/go, generated, built and run against the production topology.

clients/go/generate.sh builds protoc-gen-go and protoc-gen-go-grpc from the Go module
proxy, runs `buf generate` with them and `go build`s the quickstart program; everything
it fetches or compiles is cached under $CINEMA_BACKENDS_CACHE, so only the first run on
a machine is slow (a minute or two). The program then registers, searches, likes and
reads recommendations, each service at its own address (tests/fixtures/production.py).
Without Go the test fails.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.clients.processes import run
from topology.harness import Topology

REPO = Path(__file__).resolve().parents[2]
GO_CLIENT = REPO / "clients" / "go"
MATRIX = "84459d2b-93a9-5e6e-b438-8459be9c905f"  # demo film ids are stable
BUILD_TIMEOUT = 900.0  # a cold build downloads and compiles grpc-go
RUN_TIMEOUT = 60.0

pytestmark = pytest.mark.timeout(BUILD_TIMEOUT + RUN_TIMEOUT + 60)


def _go_on_path() -> dict[str, str]:
    env = dict(os.environ)
    if Path("/usr/local/go/bin").is_dir():
        env["PATH"] = f"{env.get('PATH', '')}{os.pathsep}/usr/local/go/bin"
    if shutil.which("go", path=env["PATH"]) is None:
        pytest.fail("go is not installed: the Go client test needs Go 1.24 or newer")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # buf, python
    return env


async def _run(command: list[str], env: dict[str, str], limit: float) -> tuple[int, str, str]:
    return await run(*command, cwd=REPO, env=env, limit=limit)


@pytest.fixture(scope="module")
async def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The quickstart binary, freshly generated and built."""
    bin_dir = tmp_path_factory.mktemp("go-bin")
    code, out, err = await _run(
        ["bash", str(GO_CLIENT / "generate.sh"), str(bin_dir)], _go_on_path(), BUILD_TIMEOUT
    )
    assert code == 0, f"clients/go/generate.sh failed ({code}):\n{out}\n{err}"
    binary = bin_dir / "quickstart"
    assert binary.is_file(), err
    return binary


def _addresses(topology: Topology) -> list[str]:
    """The quickstart's flags that point it at each service's own address."""
    return [arg for name, at in topology.targets.items() for arg in (f"-{name}-addr", at)]


async def test_the_go_quickstart_likes_a_film_and_reads_recommendations(
    quickstart: Path, production_topology: Topology
) -> None:
    command = [str(quickstart), *_addresses(production_topology), "-login", "go-client"]
    code, out, err = await _run(command, _go_on_path(), RUN_TIMEOUT)
    assert code == 0, f"quickstart failed ({code}):\n{out}\n{err}"
    lines = out.splitlines()
    assert "registered go-client" in lines, out
    assert any(line.startswith("logged in as go-client (user ") for line in lines), out
    assert f'liked {MATRIX} "The Matrix" (changed=true)' in lines, out
    assert "recommendations page 1 (fallback=false" in out, out
    assert "recommendations page 2 (fallback=false" in out, out  # page_token followed
    assert "done: 10 recommendations" in lines, out
    items = [line for line in lines if line.startswith("  ") and " score=" in line]
    assert len(items) == 10, out
    assert not any(MATRIX in line for line in items), "a liked film was recommended"
    assert any("sources=content" in line for line in items), out  # made from the like

    # Run again: the login is taken, so it logs in; the same like changes nothing.
    code, out, err = await _run(command, _go_on_path(), RUN_TIMEOUT)
    assert code == 0, f"second quickstart failed ({code}):\n{out}\n{err}"
    assert "login go-client exists; logging in" in out, out
    assert f'liked {MATRIX} "The Matrix" (changed=false)' in out, out


async def test_the_go_quickstart_exits_1_with_the_grpc_status(
    quickstart: Path, production_topology: Topology
) -> None:
    addresses = _addresses(production_topology)
    command = [str(quickstart), *addresses, "-login", "x", "-password", "short"]
    code, out, err = await _run(command, _go_on_path(), RUN_TIMEOUT)
    assert code == 1, (code, out, err)
    assert "code = InvalidArgument" in err and "status: InvalidArgument" in err, err
    assert "  field login: " in err and "  field password: " in err, err

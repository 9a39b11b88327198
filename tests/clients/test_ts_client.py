"""The TypeScript client (clients/ts, issue 14) as another team builds and runs it.

`npm ci` installs exactly package-lock.json (protoc-gen-es, Connect, buf and tsc from the npm
registry; npm's cache under the backends cache, so a warm run needs no network), `npm run
generate` runs buf from node_modules with the local protoc-gen-es over protos/ (googleapis
from third_party/, as scripts/protos.py resolves them), `npm run build` compiles with tsc,
and Node runs the quickstart over native gRPC (HTTP/2) against the production topology, each
service at its own address (tests/fixtures/production.py). Nothing
here skips: no node or npm, or an unreachable registry on a cold cache, fails the test.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from tests.clients.processes import run
from topology.harness import Topology

REPO = Path(__file__).resolve().parents[2]
CLIENT = REPO / "clients" / "ts"
QUICKSTART = CLIENT / "dist" / "quickstart.js"
STEP_TIMEOUT = 240.0  # a cold npm cache downloads ~20 MB (buf, typescript): not the usual case
MATRIX = "84459d2b-93a9-5e6e-b438-8459be9c905f"  # demo film ids are stable

pytestmark = pytest.mark.timeout(600)


def _npm_cache() -> Path:
    cache = os.environ.get("CINEMA_BACKENDS_CACHE") or Path.home() / ".cache" / "cinema-backends"
    return Path(cache) / "npm"


def _env() -> dict[str, str]:
    """This environment without the caller's CINEMA_* settings, npm quiet and non-interactive."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("CINEMA_")}
    env.update(npm_config_update_notifier="false", npm_config_fund="false", NO_COLOR="1")
    return env


async def _run(
    *command: str | Path, env: dict[str, str], cwd: Path = CLIENT
) -> tuple[int, str, str]:
    return await run(*command, cwd=cwd, env=env, limit=STEP_TIMEOUT)


async def _ok(*command: str | Path, env: dict[str, str], cwd: Path = CLIENT) -> str:
    code, out, err = await _run(*command, env=env, cwd=cwd)
    assert code == 0, f"{command} exited {code}:\n{out}\n{err}"
    return out


@pytest.fixture(scope="module")
async def quickstart() -> tuple[str, ...]:
    """clients/ts installed from its lock file, generated and compiled: the node command."""
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "node and npm are needed for clients/ts (Node.js 20 or newer)"
    env = _env()
    version = (await _ok(node, "--version", env=env)).strip()
    assert int(version.lstrip("v").split(".")[0]) >= 20, f"clients/ts needs Node >= 20: {version}"
    timings: dict[str, float] = {}

    async def step(name: str, *command: str | Path) -> str:
        started = time.monotonic()
        out = await _ok(*command, env=env)
        timings[name] = time.monotonic() - started
        return out

    # The googleapis protos our protos import, where buf.yaml's workspace expects them.
    await step("deps", sys.executable, REPO / "scripts" / "protos.py", "deps")
    # --ignore-scripts: no package's install script runs (buf's only swaps its JS launcher
    # for the binary); the cache makes a warm run offline.
    install = ("ci", "--cache", _npm_cache(), "--prefer-offline", "--no-audit", "--ignore-scripts")
    await step("npm ci", npm, *install)
    await step("generate", npm, "run", "--silent", "generate")
    await step("build", npm, "run", "--silent", "build")
    print("clients/ts build:", ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    generated = CLIENT / "src" / "gen"
    for stub in ("cinema/recommendations/v1/recommendations_pb.ts", "google/api/http_pb.ts"):
        assert (generated / stub).is_file(), f"not generated: {stub}"
    assert QUICKSTART.is_file()
    return (node, str(QUICKSTART))


def _addresses(topology: Topology) -> dict[str, str]:
    """The quickstart's variables that point it at each service's own address."""
    return {f"CINEMA_{name.upper()}_ADDRESS": at for name, at in topology.targets.items()}


async def test_the_node_quickstart_logs_in_likes_a_film_and_reads_recommendations(
    quickstart: tuple[str, ...], production_topology: Topology, tmp_path: Path
) -> None:
    account = {"CINEMA_LOGIN": "ts-quickstart", "CINEMA_PASSWORD": "long enough pw"}
    env = _env() | _addresses(production_topology) | account
    code, out, err = await _run(*quickstart, env=env, cwd=tmp_path)
    assert code == 0, f"quickstart exited {code}:\n{out}\n{err}"
    lines = out.splitlines()
    assert lines[0].startswith("registered ts-quickstart (user "), out
    assert lines[1].startswith("logged in as ts-quickstart (user "), out
    assert lines[2].startswith(f"found: The Matrix (1999) {MATRIX} of "), out
    assert lines[3] == "liked: The Matrix changed=true", out
    assert lines[4].startswith("recommendations: fallback="), out
    listed = [line for line in lines if line.startswith("  ") and " score=" in line]
    assert [line.split(".")[0].strip() for line in listed] == [str(n) for n in range(1, 11)], out
    assert not [line for line in listed if line.endswith(MATRIX)], "a rated film recommended"
    assert "recommendations shown: 10" in lines, out  # two pages: it followed next_page_token
    assert any(line.startswith("watch: a list of 3 ") for line in lines), out  # server stream
    assert lines[-1] == "done", out

    # The same login again: ALREADY_EXISTS is handled by logging in; the like is not new.
    code, out, err = await _run(*quickstart, env=env, cwd=tmp_path)
    assert code == 0, f"second quickstart exited {code}:\n{out}\n{err}"
    assert out.startswith("ts-quickstart exists; logging in\n"), out
    assert "liked: The Matrix changed=false\n" in out, out


async def test_errors_exit_with_the_grpc_code_and_print_the_details(
    quickstart: tuple[str, ...], production_topology: Topology, tmp_path: Path
) -> None:
    addresses = _addresses(production_topology)
    short = _env() | addresses | {"CINEMA_LOGIN": "ts-short", "CINEMA_PASSWORD": "short"}
    code, out, err = await _run(*quickstart, env=short, cwd=tmp_path)
    assert code == 3, f"a short password: exit {code}:\n{out}\n{err}"
    assert err.startswith("error: INVALID_ARGUMENT (3): "), err
    assert "\n  field password: " in err, err  # google.rpc.BadRequest decoded

    forged = _env() | addresses | {"CINEMA_TOKEN": "not.a.token"}
    code, out, err = await _run(*quickstart, env=forged, cwd=tmp_path)
    assert code == 16, f"a forged token: exit {code}:\n{out}\n{err}"
    assert err.startswith("error: UNAUTHENTICATED (16): "), err
    assert "found: The Matrix" in out  # the public search ignored it; RateFilm did not

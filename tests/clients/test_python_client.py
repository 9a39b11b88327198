"""The `cinema-api` wheel as another team uses it (issue 14): built from `cinema/`, installed
alone into a clean virtualenv, and its quickstart run there against the production topology
(tests/fixtures/production.py: one process, one address, per service).

The virtualenv has none of our code: only the wheel and its declared dependencies (grpcio,
protobuf, googleapis-common-protos), resolved by uv from its cache or PyPI. The example
runs with `python -I` from a scratch directory, so neither this repository nor PYTHONPATH
is on its sys.path; it must import `cinema` from the venv's site-packages. Nothing here
skips: a missing tool or an unreachable index fails the test.
"""

from __future__ import annotations

import os
import sys
import zipfile
from pathlib import Path

import pytest

from tests.clients.processes import run
from topology.harness import Topology

REPO = Path(__file__).resolve().parents[2]
CLIENT = REPO / "clients" / "python"
QUICKSTART = CLIENT / "examples" / "quickstart.py"
UV = Path(sys.executable).parent / "uv"
STEP_TIMEOUT = 120.0  # a cold uv cache downloads grpcio and protobuf: not the usual case


async def _run(*command: str | Path, cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    return await run(*command, cwd=cwd, env=env, limit=STEP_TIMEOUT)


async def _ok(*command: str | Path, cwd: Path, env: dict[str, str]) -> str:
    code, out, err = await _run(*command, cwd=cwd, env=env)
    assert code == 0, f"{command} exited {code}:\n{out}\n{err}"
    return out


def _clean_env() -> dict[str, str]:
    """This environment without anything that points Python or uv at our virtualenv."""
    dropped = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT"}
    return {
        name: value
        for name, value in os.environ.items()
        if name not in dropped and not name.startswith("CINEMA_")
    }


@pytest.fixture(scope="module")
async def client_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtualenv holding the freshly built cinema-api wheel: its python."""
    assert UV.exists(), f"uv is a dev dependency of the project, expected at {UV}"
    scratch = tmp_path_factory.mktemp("cinema-api")
    env = _clean_env()
    built = await _ok(
        sys.executable, CLIENT / "make_wheel.py", "--out", scratch / "dist", cwd=REPO, env=env
    )
    wheel = Path(built.strip().splitlines()[-1])
    assert wheel.name == "cinema_api-1.0.0-py3-none-any.whl", wheel
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert {name.split("/")[0] for name in names} == {"cinema", "cinema_api-1.0.0.dist-info"}
    assert "cinema/py.typed" in names and "cinema/auth/v1/auth_pb2.pyi" in names
    assert not [name for name in names if name.endswith(".binpb")]

    venv = scratch / "venv"
    await _ok(UV, "venv", "--python", sys.executable, venv, cwd=scratch, env=env)
    python = venv / "bin" / "python"
    await _ok(UV, "pip", "install", "--python", python, wheel, cwd=scratch, env=env)
    return python


def _targets(topology: Topology) -> list[str]:
    """The quickstart's arguments that point it at each service's own address."""
    return [arg for name, at in topology.targets.items() for arg in (f"--{name}-target", at)]


async def test_the_wheel_installs_alone_and_holds_only_the_generated_code(
    client_venv: Path, tmp_path: Path
) -> None:
    probe = (
        "import importlib.util, cinema, google.rpc.status_pb2, grpc;"
        "print(cinema.__file__);"
        "print([n for n in ('services', 'gateway', 'mesh', 'etl')"
        " if importlib.util.find_spec(n)])"
    )
    out = await _ok(client_venv, "-I", "-c", probe, cwd=tmp_path, env=_clean_env())
    location, ours = out.splitlines()
    assert Path(location).is_relative_to(client_venv.parent.parent), location
    assert "site-packages" in Path(location).parts, location
    assert ours == "[]", f"our own packages are importable in the client venv: {ours}"


async def test_the_quickstart_logs_in_likes_a_film_and_reads_recommendations(
    client_venv: Path, production_topology: Topology, tmp_path: Path
) -> None:
    targets = _targets(production_topology)
    env = _clean_env()
    args = [*targets, "--login", "quickstart-user", "--password", "long enough pw"]
    code, out, err = await _run(client_venv, "-I", QUICKSTART, *args, cwd=tmp_path, env=env)
    assert code == 0, f"quickstart exited {code}:\n{out}\n{err}"
    lines = out.splitlines()
    assert lines[0].startswith("registered quickstart-user (user "), out
    assert "logged in as quickstart-user" in lines[1], out
    assert any(line.startswith("found The Matrix (1999) ") for line in lines), out
    assert "liked The Matrix (changed: True)" in lines, out
    assert any(line.startswith("watch: personal list of ") for line in lines), out
    assert "recommendations page 1 (personal):" in lines, out
    assert "recommendations page 2 (personal):" in lines, out  # it followed next_page_token
    assert "recommendations page 3 (personal):" not in lines, out  # --pages 2, the default
    assert any(line.startswith("   1. ") and "score" in line for line in lines), out
    assert any(line.startswith("  10. ") for line in lines), out
    assert lines[-1] == "10 recommendations shown", out

    # Again with the same login: ALREADY_EXISTS is handled, and it logs in.
    code, out, err = await _run(client_venv, "-I", QUICKSTART, *args, cwd=tmp_path, env=env)
    assert code == 0, f"second quickstart exited {code}:\n{out}\n{err}"
    assert out.startswith("quickstart-user is already registered; logging in\n"), out
    assert "liked The Matrix (changed: False)" in out, out

    # A refused call: the status code and its google.rpc BadRequest, decoded in the venv.
    bad = [*targets, "--login", "quickstart-short", "--password", "short"]
    code, out, err = await _run(client_venv, "-I", QUICKSTART, *bad, cwd=tmp_path, env=env)
    assert code == 1, f"quickstart with a short password exited {code}:\n{out}\n{err}"
    assert err.startswith("call failed: INVALID_ARGUMENT: "), err
    assert "\n  field password: " in err, err

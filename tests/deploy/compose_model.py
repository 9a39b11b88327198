"""The compose files as a real compose implementation reads them, and what runs in them.

tools/compose-check is a small Go program on compose-go (the Compose Specification's
reference library, pinned in its go.mod and go.sum): it loads each file with the spec's JSON
schema, interpolation, normalization and consistency checks, as `docker compose config`
does, and prints the normalized model as JSON. It is built once per go.mod, go.sum and
main.go under $CINEMA_BACKENDS_CACHE (as clients/go caches its plugins), with modules from
the Go module proxy; the first build takes a minute, later runs a fraction of a second.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CHECKER = REPO / "tools" / "compose-check"
STACK = "docker-compose.yml"
BACKENDS = "docker-compose.backends.yml"
#: What an operator must set (docker-compose.yml refuses to load without them).
REQUIRED_SECRETS = {
    "POSTGRES_PASSWORD": "compose-check-password",
    "CINEMA_PAGE_TOKEN_SECRET": "compose-check-page-token-secret",
}
BUILD_TIMEOUT = 600
SHELL_OPERATORS = {"&&", "||", ";", "|", "&"}


def _go_env() -> dict[str, str]:
    cache = Path(os.environ.get("CINEMA_BACKENDS_CACHE", Path.home() / ".cache/cinema-backends"))
    env = dict(os.environ)
    if Path("/usr/local/go/bin").is_dir():
        env["PATH"] = f"{env.get('PATH', '')}{os.pathsep}/usr/local/go/bin"
    # The module cache clients/go and scripts/backends.sh share; a build cache of our own.
    env.update(
        GOPATH=str(cache / "go" / "path"),
        GOMODCACHE=str(cache / "go" / "mod"),
        GOCACHE=str(cache / "go" / "build-compose-check"),
        GOFLAGS="-modcacherw",
        GOTOOLCHAIN="local",
        CINEMA_BACKENDS_CACHE=str(cache),
    )
    return env


def build_checker() -> Path:
    """The compose-check binary for the committed sources, built on first use."""
    env = _go_env()
    go = shutil.which("go", path=env["PATH"])
    if go is None:
        pytest.fail("go is not installed: the compose check needs Go 1.24 or newer")
    digest = hashlib.sha256()
    for name in ("go.mod", "go.sum", "main.go"):
        digest.update((CHECKER / name).read_bytes())
    binary = Path(env["CINEMA_BACKENDS_CACHE"]) / "compose-check" / digest.hexdigest()[:16]
    binary = binary / "compose-check"
    if not binary.is_file():
        partial = binary.with_name("compose-check.partial")
        partial.parent.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [go, "build", "-o", str(partial), "."],
            cwd=CHECKER,
            env=env,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
            check=False,
        )
        assert result.returncode == 0, f"building tools/compose-check failed:\n{result.stderr}"
        partial.replace(binary)
    return binary


def run_checker(binary: Path, *files: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """compose-check on ``files`` in a clean environment: only PATH, HOME and ``env``."""
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(Path.home()), **env}
    return subprocess.run(
        [str(binary), *files],
        cwd=REPO,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def cinema_invocations(command: list[str]) -> list[list[str]]:
    """The `cinema ...` commands a container's command runs: itself, or each one inside an
    `sh -c` script (redirections left out)."""
    if command[:2] == ["sh", "-c"]:
        lexer = shlex.shlex(command[2], posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        found: list[list[str]] = []
        current: list[str] = []
        words = list(lexer)
        index = 0
        while index < len(words):
            word = words[index]
            if word in SHELL_OPERATORS:
                found.append(current)
                current = []
            elif word in (">", ">>", "<", "2>"):
                index += 1  # and the file it names
            else:
                current.append(word)
            index += 1
        found.append(current)
        commands = [words[1:] if words[:1] == ["exec"] else words for words in found]
        return [words for words in commands if words[:1] == ["cinema"]]
    return [command] if command[:1] == ["cinema"] else []


def services(model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = model["services"]
    return found


def is_job(service: dict[str, Any]) -> bool:
    """A one-shot job: run to completion, never restarted."""
    return service.get("restart") in (None, "no")

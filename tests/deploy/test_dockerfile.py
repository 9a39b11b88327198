"""The Dockerfile, read as far as a machine without Docker can: the locked runtime
dependencies only, built in one stage and run from another, not as root."""

from __future__ import annotations

import os
import re
import shlex

from tests.deploy.compose_model import REPO

DOCKERFILE = REPO / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments left out."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, rest = line.partition(" ")
            found.append((instruction.upper(), rest.strip()))
    return found


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction, rest in _instructions():
        if instruction == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((instruction, rest))
    return stages


def test_the_image_is_built_in_one_stage_and_run_from_another() -> None:
    build, runtime = _stages()
    assert any(op == "RUN" and "uv sync" in rest for op, rest in build)
    assert any(rest.startswith("--from=build ") for op, rest in runtime if op == "COPY")
    assert not any("uv" in rest for op, rest in runtime if op == "RUN")


def test_dependencies_come_from_the_lock_without_the_dev_group() -> None:
    syncs = [rest for op, rest in _instructions() if op == "RUN" and "uv sync" in rest]
    assert syncs
    for sync in syncs:
        words = shlex.split(sync)
        assert "--frozen" in words and "--no-dev" in words, sync


def test_uv_is_the_version_the_makefile_pins() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    (pinned,) = re.findall(r"^UV_VERSION := (\S+)$", makefile, re.MULTILINE)
    args = [rest for op, rest in _instructions() if op == "ARG" and rest.startswith("UV_VERSION=")]
    assert args == [f"UV_VERSION={pinned}"]


def test_the_container_runs_as_an_unprivileged_user() -> None:
    users = [rest for op, rest in _stages()[-1] if op == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0")


def test_every_file_the_image_copies_from_the_repository_exists() -> None:
    for op, rest in _instructions():
        if op != "COPY" or rest.startswith("--from="):
            continue
        *sources, _ = shlex.split(rest)
        for source in sources:
            assert (REPO / source).exists(), source
            assert not _ignored(source), f"{source} is in .dockerignore"
    entrypoint = REPO / "docker" / "entrypoint.sh"
    assert os.access(entrypoint, os.X_OK)


def _ignored(source: str) -> bool:
    patterns = (REPO / ".dockerignore").read_text(encoding="utf-8").split("\n")
    top = source.rstrip("/").split("/")[0]
    return any(p.strip() == top for p in patterns if p.strip() and not p.startswith("#"))

"""Every shell snippet in README.md runs, against a live `cinema up`, as a reader pastes it.

The README's addresses are the defaults (127.0.0.1:50051, localhost:8000); each snippet
is pointed at the stack this test started on free ports. Each runs in its own directory
under `bash -euo pipefail`, with `.venv/bin` first on PATH (cinema, grpcurl) and with
curl failing on an HTTP error, so a wrong field, route or status fails the test.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from tests.e2e.processes import BIN, RunningCinema
from tests.e2e.readme_snippets import Snippet, shell_snippets

RUNNABLE = [snippet for snippet in shell_snippets() if snippet.runs]

# An HTTP error status fails the snippet, as a non-OK status fails grpcurl; each answer
# ends its line, so a stream's first event starts one.
PRELUDE = "curl() { command curl -sS --fail-with-body --write-out '\\n' \"$@\"; }\n"

# `export X=$(cinema ...)` hides the command's exit status; its error message does not.
FAILED = re.compile(r"^(Traceback|cinema[\w -]*: )", re.MULTILINE)


def pointed_at(code: str, cinema: RunningCinema) -> str:
    http = cinema.http_base.removeprefix("http://")
    for default, live in (
        ("127.0.0.1:50051", cinema.grpc_address),
        ("localhost:8000", http),
        ("127.0.0.1:8000", http),
    ):
        code = code.replace(default, live)
    return code


def shell(snippet: Snippet, cinema: RunningCinema, cwd: Path) -> subprocess.Popen[str]:
    env = {**cinema.env, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", PRELUDE + pointed_at(snippet.code, cinema)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a stream's whole process group is stopped at once
    )


def first_event(process: subprocess.Popen[str]) -> tuple[str, str] | None:
    """(event type, data) of the stream's first Server-Sent Event; None if none came."""
    assert process.stdout is not None
    kind = "message"
    for line in process.stdout:
        if line.startswith("event:"):
            kind = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            return kind, line
    return None


@pytest.mark.parametrize("snippet", RUNNABLE, ids=[snippet.name for snippet in RUNNABLE])
def test_readme_snippet_runs(snippet: Snippet, cinema_up: RunningCinema, tmp_path: Path) -> None:
    process = shell(snippet, cinema_up, tmp_path)
    where = f"README.md line {snippet.line} ({snippet.name})"
    if "stream" in snippet.markers:
        try:
            event = first_event(process)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
        assert event is not None, f"{where}: no event streamed\n{stderr}"
        assert event[0] != "error", f"{where} streamed an error: {event[1]}"
        return
    try:
        stdout, stderr = process.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    assert process.returncode == 0, f"{where} failed:\n{stdout}\n{stderr}"
    assert not FAILED.search(stderr), f"{where} printed an error:\n{stderr}"

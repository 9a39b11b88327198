"""The load tools, installed once on first use: ``ghz`` (gRPC) and ``wrk`` (HTTP).

ghz is built from the Go module proxy into ``~/.cache/cinema-bench/`` (override with
``$CINEMA_BENCH_CACHE``), so a fresh clone needs only Go. wrk comes from the system's
package manager (apt); when it is already on ``$PATH`` that one is used.

    from bench.tools import ghz, wrk
    subprocess.run([str(ghz()), "--version"])
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from bench.report import progress

GHZ_MODULE = "github.com/bojand/ghz/cmd/ghz"
GHZ_VERSION = "v0.120.0"
CACHE = Path(
    os.environ.get("CINEMA_BENCH_CACHE", Path.home() / ".cache" / "cinema-bench")
).expanduser()
GO_CANDIDATES = ("/usr/local/go/bin/go", "/usr/lib/go/bin/go")


class ToolError(RuntimeError):
    """A load tool could not be found or installed."""


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    """One installer at a time, across the benchmark processes of a run."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / f".{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _go() -> str:
    found = shutil.which("go")
    if found:
        return found
    for candidate in GO_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    raise ToolError("ghz is built with Go, and no `go` is on PATH or in /usr/local/go/bin")


def ghz() -> Path:
    """The ghz binary, ``go install``-ed into the cache on first use."""
    binary = CACHE / GHZ_VERSION / "ghz"
    if binary.exists():
        return binary
    with _locked("ghz"):
        if binary.exists():
            return binary
        binary.parent.mkdir(parents=True, exist_ok=True)
        progress(f"installing ghz {GHZ_VERSION} into {binary.parent} (go install, once)")
        env = {**os.environ, "GOBIN": str(binary.parent), "CGO_ENABLED": "0"}
        done = subprocess.run(
            [_go(), "install", f"{GHZ_MODULE}@{GHZ_VERSION}"],
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0 or not binary.exists():
            raise ToolError(f"go install {GHZ_MODULE}@{GHZ_VERSION} failed:\n{done.stderr}")
    return binary


def _apt_install(package: str) -> None:
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [*sudo, "apt-get", "install", "-y", "-q", package]
    if subprocess.run(install, env=env, capture_output=True).returncode == 0:
        return
    # A fresh machine's package lists are often empty or stale: refresh once, then retry.
    subprocess.run([*sudo, "apt-get", "update", "-q"], env=env, capture_output=True)
    done = subprocess.run(install, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise ToolError(f"apt-get install {package} failed:\n{done.stderr}")


def wrk() -> Path:
    """The wrk binary: the one on PATH, else installed with apt-get on first use."""
    found = shutil.which("wrk")
    if found:
        return Path(found)
    if not shutil.which("apt-get"):
        raise ToolError("wrk is not on PATH and there is no apt-get to install it with")
    with _locked("wrk"):
        found = shutil.which("wrk")
        if not found:
            progress("installing wrk with apt-get (once)")
            _apt_install("wrk")
            found = shutil.which("wrk")
    if not found:
        raise ToolError("apt-get installed wrk, but it is not on PATH")
    return Path(found)


def main() -> None:
    """``python -m bench.tools``: install both and print where they are."""
    print(ghz())
    print(wrk())


if __name__ == "__main__":
    main()

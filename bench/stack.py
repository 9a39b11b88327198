"""`cinema up` in a subprocess for a benchmark: free loopback ports, a throwaway data dir.

    with CinemaUp() as stack:              # ready: gRPC and HTTP serve, the catalog has films
        user = stack.register()
        ghz_run(stack.grpc_address, METHOD, metadata=user.metadata, ...)
        wrk_run(f"{stack.http_url}/v1/me/recommendations", headers=user.headers, ...)

Both ports are picked by `cinema up` itself (port 0) and read from the lines it announces,
so two benchmarks never race for a port. ``env`` adds or overrides ``CINEMA_*`` settings
(e.g. a FerretDB ``CINEMA_LIKES_DSN``); the rest of the environment is inherited.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import grpc

from bench.report import progress
from cinema.auth.v1 import auth_pb2, auth_pb2_grpc
from cinema.catalog.v1 import catalog_pb2, catalog_pb2_grpc

HOST = "127.0.0.1"
#: `cinema up` on a busy 2-core machine imports and fits for a while.
START_SECONDS = 180.0
_ANNOUNCED = {
    "grpc": re.compile(r"^gRPC\s+(\S+:\d+)", re.MULTILINE),
    "http": re.compile(r"^HTTP\s+http://(\S+:\d+)", re.MULTILINE),
}


class StackError(RuntimeError):
    """`cinema up` did not become ready; the message ends with the tail of its log."""


@dataclass(frozen=True)
class User:
    """A registered user and their access token."""

    login: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        """gRPC metadata (grpc.aio calls)."""
        return (("authorization", f"Bearer {self.access_token}"),)

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers (gateway) and ghz ``--metadata``: both take a plain mapping."""
        return {"authorization": f"Bearer {self.access_token}"}


def free_port() -> int:
    """A loopback port free right now (for servers that cannot bind port 0 themselves)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def wait_until(check: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll ``check`` (gRPC errors count as "not yet") until true or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except grpc.RpcError:
            pass
        time.sleep(0.2)
    raise StackError(f"gave up waiting for {what} after {seconds:.0f}s")


def stop_process(process: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Server:
    """A process a benchmark starts, and its work dir: a context manager that stops both."""

    keep = False  # keep the work dir (logs) after stopping

    def __init__(self, prefix: str) -> None:
        self.work = Path(tempfile.mkdtemp(prefix=prefix))
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        if self._process is not None:
            stop_process(self._process)
        if self.keep:
            progress(f"kept {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


class CinemaUp(Server):
    """`cinema up` (embedded stack, demo catalog by default) for the life of a ``with`` block.

    ``min_films``: ready also means ``ListFilms`` returns at least that many (0: don't wait
    for the catalog). ``keep``: leave the work dir (data, ``cinema.log``) for a post-mortem.
    After start: ``grpc_address``, ``http_address``, ``http_url``, ``pid``, ``ready_seconds``
    (from the spawn to ready), ``work`` (the throwaway dir) and ``log``.
    """

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        demo_catalog: bool = True,
        min_films: int = 20,
        keep: bool = False,
        start_seconds: float = START_SECONDS,
    ) -> None:
        super().__init__("bench-cinema-")
        self.log = self.work / "cinema.log"
        self._announce = self.work / "cinema.out"
        self.env = {
            **os.environ,
            "CINEMA_DATA_DIR": str(self.work / "data"),
            "CINEMA_GRPC_HOST": HOST,
            "CINEMA_GRPC_PORT": "0",
            "CINEMA_HTTP_HOST": HOST,
            "CINEMA_HTTP_PORT": "0",
            "CINEMA_METRICS_PORT": "0",
            "CINEMA_DEMO_CATALOG": "true" if demo_catalog else "false",
            **(env or {}),
        }
        self.min_films = min_films
        self.keep = keep
        self.start_seconds = start_seconds
        self.grpc_address = ""
        self.http_address = ""
        self.ready_seconds = 0.0

    @property
    def http_url(self) -> str:
        return f"http://{self.http_address}"

    @property
    def pid(self) -> int:
        if self._process is None:
            raise StackError("cinema up is not running")
        return self._process.pid

    def start(self) -> CinemaUp:
        cinema = Path(sys.executable).with_name("cinema")
        began = time.monotonic()
        with self.log.open("wb") as log, self._announce.open("wb") as out:
            self._process = subprocess.Popen(
                [str(cinema), "up"], env=self.env, stdout=out, stderr=log
            )
        progress(f"cinema up starting, pid {self._process.pid}, work dir {self.work}")
        try:
            wait_until(self._announced, self.start_seconds, "cinema up to announce its ports")
            if self.min_films:
                left = self.start_seconds - (time.monotonic() - began)
                wait_until(self._catalog_ready, max(left, 1.0), "the catalog")
        except BaseException as error:
            self.stop()
            if isinstance(error, StackError):
                raise StackError(f"{error}; cinema up log:\n{self.log_tail()}") from None
            raise
        self.ready_seconds = time.monotonic() - began
        progress(f"cinema up ready in {self.ready_seconds:.1f}s: gRPC {self.grpc_address}")
        return self

    def _announced(self) -> bool:
        assert self._process is not None
        if self._process.poll() is not None:
            raise StackError(f"cinema up exited with {self._process.returncode}")
        text = self._announce.read_text(errors="replace")
        found = {name: pattern.search(text) for name, pattern in _ANNOUNCED.items()}
        if not all(found.values()):
            return False
        self.grpc_address = found["grpc"].group(1)  # type: ignore[union-attr]
        self.http_address = found["http"].group(1)  # type: ignore[union-attr]
        return True

    def _catalog_ready(self) -> bool:
        assert self._process is not None
        if self._process.poll() is not None:
            raise StackError(f"cinema up exited with {self._process.returncode}")
        with grpc.insecure_channel(self.grpc_address) as channel:
            catalog = catalog_pb2_grpc.CatalogServiceStub(channel)
            answer = catalog.ListFilms(
                catalog_pb2.ListFilmsRequest(page_size=self.min_films), timeout=5
            )
        return len(answer.films) >= self.min_films

    def register(self, login: str | None = None, password: str | None = None) -> User:
        """A new user (a random login unless given), logged in."""
        login = login or f"bench-{uuid.uuid4().hex[:12]}"
        password = password or uuid.uuid4().hex
        with grpc.insecure_channel(self.grpc_address) as channel:
            auth = auth_pb2_grpc.AuthServiceStub(channel)
            auth.Register(auth_pb2.RegisterRequest(login=login, password=password), timeout=30)
            answer = auth.Login(auth_pb2.LoginRequest(login=login, password=password), timeout=30)
        tokens = answer.tokens
        return User(login, password, tokens.access_token, tokens.refresh_token)

    def rss_bytes(self) -> int:
        """Resident memory of the `cinema up` process now (Linux /proc)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

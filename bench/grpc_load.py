"""gRPC load with ghz, and a bare grpc.aio server to compare against.

    with BareGrpc({METHOD: answer_bytes}) as bare:       # answers with exactly those bytes
        pair = interleaved(
            {"project": lambda: ghz_run(stack.grpc_address, METHOD, concurrency=16, seconds=3),
             "baseline": lambda: ghz_run(bare.address, METHOD, concurrency=16, seconds=3)},
            rounds=3,
        )
        pair["project"].rps, pair["baseline"].p99_ms

``METHOD`` is the full path ``/package.Service/Method``. ghz gets the contract as a
protoset built from the generated Python descriptors (the bare server has no reflection).
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format
from google.protobuf.message import Message

from bench.loads import Load
from bench.report import progress
from bench.stack import HOST, Server, StackError, free_port, wait_until
from bench.tools import ghz

#: The generated packages whose services a benchmark may call.
PROTO_PACKAGES = ("cinema",)
_CUT_OFF = ("use of closed network connection", "client connection is closing")


@cache
def _import_generated() -> None:
    """Imports every ``*_pb2`` module, so the default pool knows every message and service."""
    for name in PROTO_PACKAGES:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, f"{name}."):
            if module.name.endswith("_pb2"):
                importlib.import_module(module.name)


def _method_name(method: str) -> str:
    """``/pkg.Service/Method`` -> ``pkg.Service.Method`` (the descriptor pool's name)."""
    return method.strip("/").replace("/", ".")


@cache
def protoset(method: str) -> Path:
    """A FileDescriptorSet with the method's file and everything it imports, for ghz."""
    _import_generated()
    pool = descriptor_pool.Default()
    service = pool.FindMethodByName(_method_name(method)).containing_service
    files: list[descriptor_pb2.FileDescriptorProto] = []
    seen: set[str] = set()

    def add(file: Any) -> None:
        if file.name in seen:
            return
        seen.add(file.name)
        for dependency in file.dependencies:
            add(dependency)
        proto = descriptor_pb2.FileDescriptorProto()
        file.CopyToProto(proto)
        files.append(proto)

    add(service.file)
    handle, path = tempfile.mkstemp(prefix="bench-", suffix=".protoset")
    with os.fdopen(handle, "wb") as out:
        out.write(descriptor_pb2.FileDescriptorSet(file=files).SerializeToString())
    return Path(path)


def ghz_run(
    address: str,
    method: str,
    *,
    data: Mapping[str, Any] | Message | None = None,
    metadata: Mapping[str, str] | None = None,
    concurrency: int = 16,
    seconds: float = 5.0,
    rate: int | None = None,
    connections: int = 1,
    timeout_seconds: float = 20.0,
) -> Load:
    """Loads ``method`` at ``address`` (host:port, plaintext) with ghz for ``seconds``.

    ``data`` is the request, as a message or as its JSON form (protobuf field names);
    ``rate`` caps the requests per second (``None``: as fast as the server answers).
    """
    command = [
        str(ghz()),
        "--insecure",
        f"--protoset={protoset(method)}",
        f"--call={_method_name(method)}",
        f"--concurrency={concurrency}",
        f"--connections={connections}",
        f"--duration={seconds}s",
        f"--timeout={timeout_seconds}s",
        "--format=json",
    ]
    if rate:
        command.append(f"--rps={rate}")
    if metadata:
        command.append(f"--metadata={json.dumps(dict(metadata))}")
    if isinstance(data, Message):
        data = json_format.MessageToDict(data, preserving_proto_field_name=True)
    command += [f"--data={json.dumps(dict(data or {}))}", address]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    if not done.stdout.strip():
        raise RuntimeError(f"ghz failed ({done.returncode}): {done.stderr.strip()[:2000]}")
    return parse_ghz(json.loads(done.stdout), concurrency, seconds)


def parse_ghz(report: Mapping[str, Any], concurrency: int, seconds: float) -> Load:
    """A ``ghz --format json`` report -> :class:`Load` (ghz's latencies are nanoseconds)."""
    cuts = {
        int(point["percentage"]): point["latency"] / 1e6
        for point in report.get("latencyDistribution") or ()
    }
    codes: Mapping[str, int] = report.get("statusCodeDistribution") or {}
    ok = int(codes.get("OK", 0))
    # Calls still in flight when ghz closes its connections at the end are not errors.
    cut_off = sum(
        count
        for message, count in (report.get("errorDistribution") or {}).items()
        if any(sign in message for sign in _CUT_OFF)
    )
    if os.environ.get("CINEMA_BENCH_DEBUG"):
        progress(f"ghz statuses {dict(codes)}, errors {report.get('errorDistribution')}")
    total_seconds = float(report.get("total", 0)) / 1e9
    return Load(
        rps=round(ok / total_seconds, 1) if total_seconds else 0.0,
        p50_ms=round(cuts.get(50, 0.0), 2),
        p99_ms=round(cuts.get(99, 0.0), 2),
        requests=ok,
        errors=int(report.get("count", 0)) - ok - cut_off,
        concurrency=concurrency,
        seconds=seconds,
    )


_BARE_SERVER = """
import asyncio, importlib, os, pkgutil, sys
import grpc
from google.protobuf import descriptor_pool, message_factory

def generated(name):
    package = importlib.import_module(name)
    for module in pkgutil.walk_packages(package.__path__, name + "."):
        if module.name.endswith("_pb2"):
            importlib.import_module(module.name)

async def main(port, packages, pairs):
    for name in packages:
        generated(name)
    pool = descriptor_pool.Default()
    services = {}
    for method, path in pairs:
        service_name, method_name = method.strip("/").split("/")
        found = pool.FindMethodByName(service_name + "." + method_name)
        request = message_factory.GetMessageClass(found.input_type)
        reply = message_factory.GetMessageClass(found.output_type)
        with open(path, "rb") as f:
            answer = reply.FromString(f.read())

        def handler(answer=answer, request=request, reply=reply):
            async def call(message, context):
                return answer
            return grpc.unary_unary_rpc_method_handler(
                call,
                request_deserializer=request.FromString,
                response_serializer=reply.SerializeToString,
            )

        services.setdefault(service_name, {})[method_name] = handler()
    interceptors = []
    if os.environ.get("BENCH_BARE_KIT"):
        # The kit's per-RPC stages, as every project server installs them, every method public.
        from services.kit.interceptors import (
            AccessPolicy, AuthInterceptor, ErrorInterceptor, LoggingInterceptor, MetricsInterceptor,
        )
        from services.kit.logs import configure_logging
        configure_logging()
        policy = AccessPolicy(public=frozenset(m for m, _ in pairs), service_only=frozenset())
        interceptors = [LoggingInterceptor(), MetricsInterceptor(), ErrorInterceptor()]
        interceptors.append(AuthInterceptor(None, policy))
    server = grpc.aio.server(interceptors=interceptors)
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler(name, methods) for name, methods in services.items()]
    )
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print("ready", flush=True)
    await server.wait_for_termination()

args = sys.argv[3:]
asyncio.run(main(int(sys.argv[1]), sys.argv[2].split(","), list(zip(args[::2], args[1::2]))))
"""


class BareGrpc(Server):
    """A bare grpc.aio server in a subprocess that answers each method with fixed bytes.

    It still parses each request and serialises the (pre-parsed) answer, as any servicer
    must: what it leaves out is everything the project does between the two.
    """

    def __init__(self, answers: Mapping[str, bytes], kit: bool = False) -> None:
        self.answers = dict(answers)
        self.kit = kit
        super().__init__("bench-bare-")
        self.address = ""

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def start(self) -> BareGrpc:
        port = free_port()
        pairs: list[str] = []
        for index, (method, answer) in enumerate(self.answers.items()):
            path = self.work / f"answer-{index}.bin"
            path.write_bytes(answer)
            pairs += [method, str(path)]
        log = self.work / "bare.log"
        with log.open("wb") as out:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _BARE_SERVER, str(port), ",".join(PROTO_PACKAGES), *pairs],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "BENCH_BARE_KIT": "1"} if self.kit else None,
            )
        self.address = f"{HOST}:{port}"
        method = next(iter(self.answers))

        def ready() -> bool:
            assert self._process is not None
            if self._process.poll() is not None:
                raise StackError(f"the bare server exited: {log.read_text(errors='replace')}")
            with grpc.insecure_channel(self.address) as channel:
                channel.unary_unary(method)(b"", timeout=1)
            return True

        began = time.monotonic()
        wait_until(ready, 30.0, "the bare gRPC server")
        what = "bare grpc.aio with the kit's interceptors" if self.kit else "bare grpc.aio"
        progress(f"{what} ready in {time.monotonic() - began:.1f}s at {self.address}")
        return self

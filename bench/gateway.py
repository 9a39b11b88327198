"""The REST gateway against a bare FastAPI/uvicorn app answering the same JSON bytes.

Starts `cinema up` (embedded, demo catalog; bench.stack.CinemaUp), registers a user and
warms their list (bench.recommendations.warm_list). A bare FastAPI app in another
subprocess, under uvicorn with the gateway's own settings (h11, the same head limit),
then answers each route with the exact bytes the gateway returned, and wrk loads both,
interleaved (project, bare, project, bare ...), with the same connections and duration:

- ``gateway.film``: ``GET /v1/films/{film_id}`` (public);
- ``gateway.recommendations``: ``GET /v1/me/recommendations`` with the user's token.

    .venv/bin/python -m bench.gateway [--quick] [--connections 32] [--seconds 10]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import urllib.request
from collections.abc import Mapping

import grpc

from bench.loads import Load, interleaved
from bench.recommendations import warm_list
from bench.report import Result, emit, progress
from bench.stack import HOST, CinemaUp, Server, StackError, free_port, wait_until
from bench.tools import wrk
from cinema.catalog.v1 import catalog_pb2, catalog_pb2_grpc

TARGET = "ratio >= 0.5"
MIN_RATIO = 0.5
THREADS = 2
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
_LATENCY = re.compile(r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_REQUESTS = re.compile(r"^\s+(\d+) requests in ", re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def parse_wrk(output: str, connections: int, seconds: float) -> Load:
    """``wrk --latency`` output -> :class:`Load`; non-2xx answers and socket errors count."""
    cuts = {int(p): float(v) * _UNITS[unit] for p, v, unit in _LATENCY.findall(output)}
    rps = _RPS.search(output)
    requests = _REQUESTS.search(output)
    if rps is None or requests is None:
        raise RuntimeError(f"unreadable wrk output:\n{output}")
    errors = sum(int(n) for n in _NON_2XX.findall(output))
    sockets = _SOCKET_ERRORS.search(output)
    if sockets is not None:
        # Connections cut at the end of the run are not failures of the server.
        errors += sum(int(n) for n in sockets.groups()[:2]) + int(sockets.group(4))
    return Load(
        rps=round(float(rps.group(1)), 1),
        p50_ms=round(cuts.get(50, 0.0), 2),
        p99_ms=round(cuts.get(99, 0.0), 2),
        requests=int(requests.group(1)),
        errors=errors,
        concurrency=connections,
        seconds=seconds,
    )


def wrk_run(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    connections: int = 32,
    seconds: float = 10.0,
    threads: int = THREADS,
) -> Load:
    """Loads ``url`` with wrk (GET, keep-alive) for ``seconds``."""
    command = [
        str(wrk()),
        f"-t{max(1, min(threads, connections))}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout=20s",
        "--latency",
    ]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    done = subprocess.run([*command, url], capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()[:2000]}")
    return parse_wrk(done.stdout, connections, seconds)


_BARE_APP = """
import sys
import uvicorn
from fastapi import FastAPI
from starlette.responses import Response
from gateway.app import uvicorn_options
from gateway.settings import GatewaySettings

port, film_id, film_path, list_path = sys.argv[1:5]
film = open(film_path, "rb").read()
recommendations = open(list_path, "rb").read()
app = FastAPI()

@app.get("/v1/films/{film_id}")
async def get_film(film_id: str) -> Response:
    return Response(film, media_type="application/json")

@app.get("/v1/me/recommendations")
async def get_my_recommendations() -> Response:
    return Response(recommendations, media_type="application/json")

@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}

uvicorn.run(
    app,
    host="127.0.0.1",
    port=int(port),
    log_config=None,
    lifespan="on",
    proxy_headers=False,
    **uvicorn_options(GatewaySettings()),
)
"""


class BareFastApi(Server):
    """A bare FastAPI app under uvicorn (the gateway's settings) answering fixed bytes."""

    def __init__(self, film_id: str, film: bytes, recommendations: bytes) -> None:
        self.film_id = film_id
        super().__init__("bench-bare-http-")
        (self.work / "film.json").write_bytes(film)
        (self.work / "recommendations.json").write_bytes(recommendations)
        self.url = ""

    def start(self) -> BareFastApi:
        port = free_port()
        log = self.work / "bare.log"
        with log.open("wb") as out:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _BARE_APP,
                    str(port),
                    self.film_id,
                    str(self.work / "film.json"),
                    str(self.work / "recommendations.json"),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.url = f"http://{HOST}:{port}"

        def ready() -> bool:
            assert self._process is not None
            if self._process.poll() is not None:
                raise StackError(f"the bare app exited: {log.read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as answer:
                    return bool(answer.status == 200)
            except OSError:
                return False

        wait_until(ready, 60.0, "the bare FastAPI app")
        progress(f"bare FastAPI/uvicorn ready at {self.url}")
        return self


def fetch(url: str, headers: Mapping[str, str] | None = None) -> bytes:
    """The body of a GET that must answer 200."""
    request = urllib.request.Request(url, headers=dict(headers or {}))
    with urllib.request.urlopen(request, timeout=30) as answer:
        if answer.status != 200:
            raise StackError(f"GET {url}: {answer.status}")
        return bytes(answer.read())


def first_film(stack: CinemaUp) -> str:
    with grpc.insecure_channel(stack.grpc_address) as channel:
        catalog = catalog_pb2_grpc.CatalogServiceStub(channel)
        films = catalog.ListFilms(catalog_pb2.ListFilmsRequest(page_size=1), timeout=30).films
    return str(films[0].id)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 s rounds (under a minute)")
    parser.add_argument("--connections", type=int, default=32, help="wrk -c (1-512)")
    parser.add_argument("--seconds", type=float, default=None, help="per round and side")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds per side")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs)")
    args = parser.parse_args(argv)
    connections = max(1, min(args.connections, 512))
    seconds = max(1.0, min(args.seconds or (3.0 if args.quick else 10.0), 120.0))
    rounds = max(1, args.rounds or (1 if args.quick else 2))

    with CinemaUp(keep=args.keep) as stack:
        user = stack.register()
        warm_list(stack, user)
        film_id = first_film(stack)
        routes = {
            "gateway.film": (f"/v1/films/{film_id}", {}),
            "gateway.recommendations": ("/v1/me/recommendations", user.headers),
        }
        bodies = {
            name: fetch(stack.http_url + path, headers) for name, (path, headers) in routes.items()
        }
        for name, body in bodies.items():
            progress(f"{name}: {len(body)} bytes of JSON")
        bare_app = BareFastApi(film_id, bodies["gateway.film"], bodies["gateway.recommendations"])
        results: dict[str, dict[str, Load]] = {}
        with bare_app as bare:
            for name, (path, headers) in routes.items():
                if fetch(bare.url + path) != bodies[name]:
                    raise StackError(f"the bare app does not answer {path} as the gateway did")

                def project(path: str = path, headers: Mapping[str, str] = headers) -> Load:
                    return wrk_run(
                        stack.http_url + path,
                        headers=headers,
                        connections=connections,
                        seconds=seconds,
                    )

                def baseline(path: str = path, headers: Mapping[str, str] = headers) -> Load:
                    url = bare.url + path
                    return wrk_run(url, headers=headers, connections=connections, seconds=seconds)

                progress(f"{name}: warming both sides")
                wrk_run(stack.http_url + path, headers=headers, connections=connections, seconds=1)
                wrk_run(bare.url + path, headers=headers, connections=connections, seconds=1)
                progress(f"{name}: -c{connections} -t{THREADS}, {rounds} x {seconds:g}s per side")
                results[name] = interleaved({"project": project, "baseline": baseline}, rounds)

    for name, pair in results.items():
        ours, bare_load = pair["project"], pair["baseline"]
        ratio = round(ours.rps / bare_load.rps, 3) if bare_load.rps else 0.0
        path = routes[name][0]
        emit(
            Result(
                name=name,
                target=TARGET,
                met=ratio >= MIN_RATIO and ours.errors == 0,
                ratio=ratio,
                project={**ours.absolutes(), "response_bytes": len(bodies[name])},
                baseline=bare_load.absolutes(),
                notes=(
                    f"wrk -c{connections} -t{THREADS}, {rounds} interleaved rounds of"
                    f" {seconds:g}s per side on GET {path.replace(film_id, '{film_id}')};"
                    f" the gateway in front of cinema up (embedded, demo catalog) against a"
                    f" bare FastAPI app under uvicorn (h11, same settings) answering the same"
                    f" {len(bodies[name])} bytes"
                ),
            )
        )


if __name__ == "__main__":
    main()

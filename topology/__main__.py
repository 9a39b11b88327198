"""``python -m topology``: the production topology on this machine, until Ctrl-C.

Needs the backend servers (``scripts/backends.sh up``; their addresses from the
``CINEMA_TEST_*`` variables it exports, or its default ports). ``make run-prod`` starts
them and then this. It prints where everything listens, one line each; Ctrl-C (or SIGTERM)
stops every process and drops this run's database, indices, topic and Redis database.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
from dataclasses import fields
from pathlib import Path

from topology.harness import SERVICES, Ports, Topology
from topology.processes import StartFailed
from topology.resources import Backends, BackendUnavailable


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m topology",
        description="Run the production topology (one process per service, the ETL, the "
        "gateway and Envoy) on the test backends, until Ctrl-C.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface every process binds")
    defaults = Ports()
    for field in fields(Ports):
        flag = "--" + field.name.replace("_", "-") + "-port"
        parser.add_argument(
            flag,
            dest=field.name,
            type=int,
            default=getattr(defaults, field.name),
            help=f"{field.name.replace('_', ' ')} port (default %(default)s)",
        )
    parser.add_argument(
        "--free-ports", action="store_true", help="pick free ports instead of the fixed ones"
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        help="where the logs and the generated Envoy config go (default: a new temporary folder)",
    )
    parser.add_argument(
        "--start-timeout", type=float, default=120.0, help="seconds to wait for everything"
    )
    return parser


def announce(topology: Topology) -> None:
    """Where everything listens, one line each (like `cinema up`), then how long it took."""
    for name in SERVICES:
        target, metrics = topology.targets[name], topology.metrics_urls[name]
        print(f"{name:<16} gRPC  {target}  (grpcurl -plaintext {target} list; metrics: {metrics})")
    gateway, envoy = topology.gateway_url, topology.envoy_url
    print(f"{'gateway':<16} HTTP  {gateway}  (OpenAPI: {gateway}/docs)")
    print(f"{'envoy':<16} HTTP  {envoy}  (admin: {topology.envoy_admin_url})")
    print(f"{'logs':<16}       {topology.logs_dir}")
    print(f"started in {topology.start_seconds:.1f} s (run {topology.run_id}); Ctrl-C stops it")
    sys.stdout.flush()


async def _run(topology: Topology) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    starting = asyncio.create_task(topology.start())
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({starting, stopped}, return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():  # stopped while starting: start() stops what it started
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        return 130
    stopped.cancel()
    starting.result()  # a failed start raises here
    announce(topology)
    await stop.wait()
    print("stopping", flush=True)
    codes = await topology.stop()
    print(f"stopped; run {topology.run_id}'s stores dropped, its logs kept in {topology.logs_dir}")
    unclean = {name: code for name, code in codes.items() if code != 0}
    if unclean:
        print(f"topology: not a clean exit (exit statuses): {unclean}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.free_ports:
        ports = Ports.free(args.host)
    else:
        ports = Ports(**{field.name: getattr(args, field.name) for field in fields(Ports)})
    state_dir = args.state_dir or Path(tempfile.mkdtemp(prefix="cinema-topology-"))
    topology = Topology(
        Backends.from_environment(), ports, state_dir, args.host, start_timeout=args.start_timeout
    )
    try:
        return asyncio.run(_run(topology))
    except (StartFailed, BackendUnavailable) as error:
        print(f"topology: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

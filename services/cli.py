"""The ``cinema`` command: run the embedded stack or one service."""

from __future__ import annotations

import argparse
import asyncio
import sys

from services.kit.config import Settings
from services.kit.logs import configure_logging
from services.stack import SERVICES, Stack, run_until_signalled


def _announce(stack: Stack) -> None:
    if stack.grpc_address:
        print(f"gRPC  {stack.grpc_address}  (grpcurl -plaintext {stack.grpc_address} list)")
    if stack.http_address:
        print(f"HTTP  http://{stack.http_address}  (OpenAPI: http://{stack.http_address}/docs)")
    sys.stdout.flush()


def _up(settings: Settings) -> Stack:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Stack(settings, SERVICES, gateway=True)


def _serve(settings: Settings, name: str) -> Stack:
    if name == "gateway":
        return Stack(settings, (), gateway=True)
    return Stack(settings, (name,), gateway=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cinema", description="Cinema recommendation service.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "up", help="run all services, the gateway and the workers in one process (embedded)"
    )
    serve = commands.add_parser("serve", help="run one service alone (production entry point)")
    serve.add_argument("service", choices=[*SERVICES, "gateway"])
    args = parser.parse_args(argv)

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    stack = _up(settings) if args.command == "up" else _serve(settings, args.service)
    try:
        asyncio.run(run_until_signalled(stack, _announce))
    except OSError as error:
        print(f"cinema: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

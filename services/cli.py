"""The ``cinema`` command: run the embedded stack or one service."""

from __future__ import annotations

import argparse
import asyncio
import sys

from etl import cli as etl_cli
from services.auth.credentials import grant_role, issue_service_token
from services.kit.config import Settings
from services.kit.errors import CinemaError
from services.kit.logs import configure_logging
from services.recommendations.evaluation import cli as eval_cli
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


def _issue_service_token(settings: Settings, name: str) -> int:
    # Only the token goes to stdout: `export CINEMA_SERVICE_TOKEN=$(cinema auth ...)`.
    try:
        token, expires = asyncio.run(issue_service_token(settings, name))
    except CinemaError as error:
        print(f"cinema: {error.message}", file=sys.stderr)
        return 2
    print(token)
    print(f"service token for {name!r} expires {expires.isoformat()}", file=sys.stderr)
    return 0


def _grant_role(settings: Settings, login: str, role: str) -> int:
    try:
        roles = asyncio.run(grant_role(settings, login, role))
    except CinemaError as error:
        print(f"cinema: {error.message}", file=sys.stderr)
        return 2
    print(f"{login}: {', '.join(roles)}")
    return 0


def _auth(args: argparse.Namespace, settings: Settings) -> int:
    if args.auth_command == "grant-role":
        return _grant_role(settings, args.login, args.role)
    return _issue_service_token(settings, args.name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cinema", description="Cinema recommendation service.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "up", help="run all services, the gateway and the workers in one process (embedded)"
    )
    serve = commands.add_parser("serve", help="run one service alone (production entry point)")
    serve.add_argument("service", choices=[*SERVICES, "gateway"])
    auth = commands.add_parser("auth", help="manage credentials in the auth store")
    auth_commands = auth.add_subparsers(dest="auth_command", required=True)
    issue = auth_commands.add_parser(
        "issue-service-token",
        help="print an access token with the `service` role (for CINEMA_SERVICE_TOKEN)",
    )
    issue.add_argument("--name", required=True, help="the service, e.g. recommendations")
    grant = auth_commands.add_parser("grant-role", help="give a registered user a role")
    grant.add_argument("--login", required=True, help="the user's login")
    grant.add_argument("--role", required=True, choices=["admin", "user"])
    etl_cli.add_commands(commands)
    eval_cli.add_commands(commands)
    args = parser.parse_args(argv)
    if args.command == "eval":  # offline, needs no settings or stores
        return eval_cli.run(args)

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    if args.command == "etl":
        return etl_cli.run(args, settings)
    if args.command == "auth":
        return _auth(args, settings)
    stack = _up(settings) if args.command == "up" else _serve(settings, args.service)
    try:
        asyncio.run(run_until_signalled(stack, _announce))
    except OSError as error:
        print(f"cinema: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

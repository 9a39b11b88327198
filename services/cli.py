"""The ``cinema`` command: run the embedded stack or one service.

Building the parser imports nothing heavy: each command imports what it runs only when it
runs, so ``cinema --help`` answers at once (the engines and their scikit-learn and scipy
alone take seconds to import).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from etl import cli as etl_cli
from services.kit.requirements import REQUIREMENTS, SERVICES, missing_settings
from services.recommendations.evaluation import arguments as eval_arguments

if TYPE_CHECKING:
    from services.settings import Settings
    from services.stack import Stack


def _announce(stack: Stack) -> None:
    if stack.grpc_address:
        print(f"gRPC  {stack.grpc_address}  (grpcurl -plaintext {stack.grpc_address} list)")
    if stack.http_address:
        print(f"HTTP  http://{stack.http_address}  (OpenAPI: http://{stack.http_address}/docs)")
    sys.stdout.flush()


def _run_stack(settings: Settings, services: tuple[str, ...], gateway: bool) -> int:
    from services.stack import Stack, run_until_signalled

    stack = Stack(settings, services, gateway=gateway)
    try:
        asyncio.run(run_until_signalled(stack, _announce))
    except OSError as error:
        print(f"cinema: {error}", file=sys.stderr)
        return 1
    return 0


def _up(settings: Settings) -> int:
    settings.process.data_dir.mkdir(parents=True, exist_ok=True)
    return _run_stack(settings, SERVICES, gateway=True)


def _serve(settings: Settings, name: str) -> int:
    missing = missing_settings(settings.mesh, name)
    if missing:
        print(
            f"cinema serve {name}: missing {', '.join(missing)}"
            f" (what each is for: `cinema serve {name} --help`)",
            file=sys.stderr,
        )
        return 2
    if name == "gateway":
        return _run_stack(settings, (), gateway=True)
    return _run_stack(settings, (name,), gateway=False)


#: The parts whose stores have migrations (SQL, Alembic), in the order `cinema migrate` runs.
MIGRATED = ("auth", "recommendations")


def _migrate(settings: Settings) -> int:
    from services.auth.store import open_store as open_auth_store
    from services.recommendations.store import open_store as open_recommendations_store

    async def migrate(name: str) -> None:
        # Opening a store applies the migrations it has not applied yet.
        if name == "auth":
            auth = await open_auth_store(settings.auth.auth_dsn)
            await auth.close()
        else:
            store = await open_recommendations_store(settings.recommendations.recommendations_dsn)
            await store.close()

    for name in MIGRATED:
        try:
            asyncio.run(migrate(name))
        except Exception as error:  # the step fails naming the store and its variable
            variable = f"CINEMA_{name.upper()}_DSN"
            print(f"cinema migrate: {name} ({variable}): {error}", file=sys.stderr)
            return 1
        print(f"{name}: schema up to date")
    return 0


def _auth(args: argparse.Namespace, settings: Settings) -> int:
    from services.auth.credentials import grant_role, issue_service_token
    from services.kit.errors import CinemaError

    try:
        if args.auth_command == "grant-role":
            roles = asyncio.run(grant_role(settings.auth, settings.mesh, args.login, args.role))
            print(f"{args.login}: {', '.join(roles)}")
            return 0
        token, expires = asyncio.run(issue_service_token(settings.auth, settings.mesh, args.name))
    except CinemaError as error:
        print(f"cinema: {error.message}", file=sys.stderr)
        return 2
    # Only the token goes to stdout: `export CINEMA_SERVICE_TOKEN=$(cinema auth ...)`.
    print(token)
    print(f"service token for {args.name!r} expires {expires.isoformat()}", file=sys.stderr)
    return 0


def _requirements_epilog(name: str) -> str:
    needs = REQUIREMENTS[name]
    if not needs:
        return "needs no other service's address."
    lines = [f"running alone, {name} needs:"]
    for need in needs:
        unless = " (not with CINEMA_EVENTS_URL=kafka://)" if need.unless_kafka else ""
        lines.append(f"  {need.variable:<30} {need.why}{unless}")
    return "\n".join(lines)


def _add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve",
        help="run one service alone (production entry point)",
        description="Run one service alone, as production deploys it.",
    )
    services = serve.add_subparsers(dest="service", required=True, metavar="SERVICE")
    for name in (*SERVICES, "gateway"):
        where = "REST on CINEMA_HTTP_PORT" if name == "gateway" else "gRPC on CINEMA_GRPC_PORT"
        services.add_parser(
            name,
            help=f"the {name} {'edge' if name == 'gateway' else 'service'} ({where})",
            epilog=_requirements_epilog(name),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )


def _add_auth(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cinema", description="Cinema recommendation service.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "up", help="run all services, the gateway and the workers in one process (embedded)"
    )
    _add_serve(commands)
    commands.add_parser(
        "migrate",
        help="bring the SQL stores (auth, recommendations) to their newest schema, then exit",
        description="Apply the Alembic migrations of the auth and recommendations stores: the"
        " one-shot step before replicas start (each also migrates when it opens its store).",
    )
    _add_auth(commands)
    etl_cli.add_commands(commands)
    eval_arguments.add_commands(commands)
    return parser


def _parts(args: argparse.Namespace) -> tuple[str, ...]:
    """The parts of the system a command runs, whose settings it reads."""
    if args.command == "up":
        return (*SERVICES, "gateway")
    if args.command == "serve":
        return (args.service,)
    if args.command == "migrate":
        return MIGRATED
    return (args.command,)  # auth, etl


def _settings(parts: tuple[str, ...]) -> Settings | None:
    """The settings of ``parts`` from the environment, or None after naming each invalid
    one. Other parts' sections are not read: a bad one cannot stop this command."""
    from pydantic import ValidationError

    from services.settings import Settings

    try:
        settings = Settings()
        settings.check(*parts)
        return settings
    except ValidationError as error:
        for problem in error.errors():
            name = "CINEMA_" + "_".join(map(str, problem["loc"])).upper()
            print(f"cinema: {name}: {problem['msg']}", file=sys.stderr)
        return None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "eval":  # offline, needs no settings or stores
        from services.recommendations.evaluation import cli as eval_cli

        return eval_cli.run(args)

    settings = _settings(_parts(args))
    if settings is None:
        return 2
    from services.kit.logs import configure_logging

    configure_logging(settings.process.log_level, settings.process.log_format)
    if args.command == "etl":
        return etl_cli.run(args, settings.catalog)
    if args.command == "auth":
        return _auth(args, settings)
    if args.command == "up":
        return _up(settings)
    if args.command == "migrate":
        return _migrate(settings)
    return _serve(settings, args.service)


if __name__ == "__main__":
    raise SystemExit(main())

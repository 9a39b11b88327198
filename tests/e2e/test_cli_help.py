"""`cinema --help` answers at once: it must not load the engines, the stores or gRPC."""

from __future__ import annotations

import subprocess
import sys

import pytest

# What made every command take seconds to start: none of it is needed to print help.
HEAVY = (
    "sklearn",
    "scipy",
    "numpy",
    "grpc",
    "sqlalchemy",
    "fastapi",
    "uvicorn",
    "elasticsearch",
    "gigachat",
    "gateway",
    "services.stack",
)

# The console script's own entry point, then the names of every module it loaded.
PROBE = """
import sys
from services.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("\\n".join(sys.modules), file=sys.stderr)
"""


def loaded_modules(*argv: str) -> tuple[str, set[str]]:
    """(printed help, modules imported) of `cinema *argv` in a fresh interpreter."""
    run = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return run.stdout, set(run.stderr.split())


@pytest.mark.parametrize(
    "argv",
    [
        ("--help",),
        ("up", "--help"),
        ("serve", "--help"),
        ("serve", "recommendations", "--help"),
        ("serve", "gateway", "--help"),
        ("auth", "issue-service-token", "--help"),
        ("etl", "--help"),
        ("etl", "sync", "--help"),
        ("eval", "--help"),
    ],
)
def test_help_loads_none_of_the_stack(argv: tuple[str, ...]) -> None:
    printed, modules = loaded_modules(*argv)
    assert printed.startswith("usage: cinema")
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY)
    assert not heavy, f"`cinema {' '.join(argv)}` imported {heavy[:10]}"


def test_serve_help_lists_the_variables_a_lone_service_needs() -> None:
    printed, _ = loaded_modules("serve", "recommendations", "--help")
    for variable in (
        "CINEMA_AUTH_TARGET",
        "CINEMA_CATALOG_TARGET",
        "CINEMA_LIKES_TARGET",
        "CINEMA_SERVICE_TOKEN",
    ):
        assert variable in printed, printed

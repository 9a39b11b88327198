"""Shared fixtures: real backend servers (tests.fixtures.backends), the production topology on
them (tests.fixtures.production), the embedded stack, and a guard that no test leaves a thread
that would keep pytest from exiting (tests.fixtures.threads)."""

pytest_plugins = [
    "tests.fixtures.backends",
    "tests.fixtures.production",
    "tests.fixtures.stack",
    "tests.fixtures.threads",
]
